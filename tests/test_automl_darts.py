"""DARTS against references in float64: the exact unrolled gradient, the softmax chain rule by hand."""

import pytest
import torch

from metaviz.automl.methods.darts import Darts, DartsConfig, architecture_gradient, exact_unrolled_gradient
from metaviz.automl.methods.random_nas import RandomArchitectures, RandomNASConfig
from metaviz.automl.problem import make_problem
from metaviz.automl.space import OPS, Supernet, all_architectures, derive, edges, one_hot

D = torch.float64


def tiny(task="sinusoid", nodes=2, seed=0):
    problem = make_problem(task, seed=seed, dtype=D)
    net = Supernet(problem, width=6, nodes=nodes, seed=seed, dtype=D)
    alpha = (0.3 * torch.randn(len(edges(nodes)), len(OPS), generator=torch.Generator().manual_seed(seed),
                               dtype=D)).requires_grad_(True)
    return problem, net, alpha


@pytest.mark.parametrize("task", ["sinusoid", "blobs"])
def test_second_order_darts_matches_the_exact_unrolled_gradient(task):
    _, net, alpha = tiny(task)
    xi = 0.05
    exact = exact_unrolled_gradient(net, net.init, alpha, xi)
    first = architecture_gradient(net, net.init, alpha, xi, second_order=False)
    errors = [float((architecture_gradient(net, net.init, alpha, xi, True, scale) - exact).norm())
              for scale in (0.01, 0.001)]
    assert errors[0] < 1e-2 * float(exact.norm())   # the paper's step
    assert errors[1] < 1e-2 * errors[0]             # a central difference: error shrinks with eps squared
    assert float((first - exact).norm()) > 10 * errors[0]  # the second-order term matters here


def test_first_order_darts_is_the_softmax_chain_rule_of_the_mixed_edge():
    problem, net, alpha = tiny(nodes=1)
    x, y = problem.val_x, problem.val_y
    cell = net.cell
    h = cell.stem(x)
    outputs = torch.stack([cell.head(op(h)) - cell.head.bias for op in cell.mixed[0]])   # [len(OPS), B, 1]
    p = alpha.detach().softmax(-1)[0]
    prediction = (p[:, None, None] * outputs).sum(0) + cell.head.bias                 # [B, 1]
    d_prediction = 2 * (prediction - y) / prediction.numel()                           # MSE
    d_p = (outputs * d_prediction).sum((1, 2))                                         # [len(OPS)]
    expected = p * (d_p - (p * d_p).sum())                                             # softmax Jacobian
    got = architecture_gradient(net, net.init, alpha, 0.05, second_order=False)[0]
    assert torch.allclose(got, expected.detach(), rtol=1e-9, atol=1e-12)


def test_derive_skips_zero_and_the_space_lists_every_cell():
    alpha = torch.tensor([[5.0, 1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 3.0, 0.0], [9.0, 0.0, 0.0, 0.0, 1.0]])
    assert derive(alpha) == (2, 3, 4)
    cells = all_architectures(2)
    assert len(cells) == (len(OPS) - 1) ** 3 and len(set(cells)) == len(cells)
    assert torch.equal(one_hot((1, 2, 4)).argmax(-1), torch.tensor([1, 2, 4]))


def test_a_one_hot_cell_is_the_discrete_network():
    problem, net, _ = tiny()
    x = problem.val_x
    got = torch.func.functional_call(net.cell, net.init, (x, one_hot((1, 2, 4), D)))
    cell = net.cell
    h0 = cell.stem(x)
    h1 = h0                                    # 0->1 skip
    h2 = cell.mixed[1][2](h0) + cell.mixed[2][4](h1)
    assert torch.allclose(got, cell.head(h2))


@pytest.mark.parametrize("second_order", [False, True])
def test_darts_moves_alpha_trains_the_weights_and_retrains_a_derived_cell(second_order):
    problem = make_problem("blobs", seed=0)
    method = Darts(DartsConfig(second_order=second_order, retrain_steps=30, width=8), problem, seed=0)
    first = method.outer_step(0)
    for step in range(1, 40):
        report = method.outer_step(step)
    assert report.hyperparameters["alpha"].shape == (3, len(OPS))
    assert not torch.allclose(method.alpha.detach(), torch.zeros_like(method.alpha))
    assert report.val_loss < first.val_loss
    result = method.result()
    assert tuple(result.hyperparameters["choice"]) == derive(method.alpha)
    assert result.test_accuracy is not None and 0.0 <= result.test_accuracy <= 1.0


def test_random_architecture_search_keeps_the_best_validation_cell():
    problem = make_problem("blobs", seed=0)
    method = RandomArchitectures(RandomNASConfig(train_steps=20, width=8), problem, seed=0)
    losses = [(method.outer_step(step).val_loss, method.candidate(step)) for step in range(4)]
    assert method.best == min(losses)
    assert method.result().hyperparameters["choice"] == list(min(losses)[1])
