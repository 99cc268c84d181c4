"""Hypergradients against references in float64: the closed form on a quadratic, finite differences."""

import math

import pytest
import torch

from metaviz.automl.hyper import unroll
from metaviz.automl.methods.implicit import ImplicitConfig, ImplicitHypergradient, implicit_hypergradient
from metaviz.automl.methods.unrolled import UnrolledConfig, UnrolledHypergradient
from metaviz.automl.problem import make_problem

D = torch.float64


def quadratic(n=5, seed=0):
    """L_train = 1/2 w'Aw - b'w + 1/2 sum exp(lam) w^2, L_val = 1/2 |w - c|^2, and the closed-form hypergradient."""
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(n, n, generator=g, dtype=D)
    a = m @ m.T / n + 0.5 * torch.eye(n, dtype=D)
    b, c = torch.randn(n, generator=g, dtype=D), torch.randn(n, generator=g, dtype=D)
    lam = torch.randn(n, generator=g, dtype=D) * 0.5 - 1.0

    def train_loss(p, lam):
        w = p["w"]
        return 0.5 * w @ a @ w - b @ w + 0.5 * (lam.exp() * w ** 2).sum()

    def val_loss(p):
        return 0.5 * ((p["w"] - c) ** 2).sum()

    def optimum(lam):
        return torch.linalg.solve(a + torch.diag(lam.exp()), b)

    def exact(lam):  # dL_val/dlam = -diag(e^lam w*) (A + D)^{-1} (w* - c)
        w = optimum(lam)
        return -(lam.exp() * w) * torch.linalg.solve(a + torch.diag(lam.exp()), w - c)

    return a, train_loss, val_loss, optimum, exact, lam


def test_implicit_hypergradient_matches_the_closed_form_and_improves_with_neumann_terms():
    a, train_loss, val_loss, optimum, exact, lam = quadratic()
    lam = lam.clone().requires_grad_(True)
    w_star = {"w": optimum(lam.detach())}
    alpha = 1.0 / float(torch.linalg.eigvalsh(a + torch.diag(lam.detach().exp())).max())
    errors = [float((implicit_hypergradient(train_loss, val_loss, w_star, lam, k, alpha) - exact(lam.detach())).norm())
              for k in (0, 5, 400)]
    assert errors[2] < 1e-8 * max(1.0, float(exact(lam.detach()).norm()))
    assert errors[0] > errors[1] > errors[2]


def test_unrolled_hypergradient_approaches_the_closed_form_with_long_inner_runs():
    a, train_loss, val_loss, optimum, exact, lam0 = quadratic(seed=1)
    lam = lam0.clone().requires_grad_(True)
    alpha = 1.0 / float(torch.linalg.eigvalsh(a + torch.diag(lam0.exp())).max())
    w0 = {"w": torch.zeros(len(lam0), dtype=D, requires_grad=True)}
    errors = []
    for steps in (10, 600):
        lrs = torch.full((steps, 1), alpha, dtype=D)
        w_t, _ = unroll(lambda p: train_loss(p, lam), w0, lrs, {"w": 0}, create_graph=True)
        (grad,) = torch.autograd.grad(val_loss(w_t), lam)
        errors.append(float((grad - exact(lam0)).norm()))
    assert errors[1] < 1e-8 and errors[0] > 1e3 * errors[1]


def test_unrolled_hypergradient_of_per_step_rates_equals_finite_differences():
    _, train_loss, val_loss, _, _, lam = quadratic(seed=2)
    w0 = {"w": torch.ones(len(lam), dtype=D, requires_grad=True)}
    lrs = torch.tensor([[0.1], [0.3], [0.2], [0.05]], dtype=D, requires_grad=True)

    def loss_of(rates):
        w_t, _ = unroll(lambda p: train_loss(p, lam), w0, rates, {"w": 0}, create_graph=True)
        return val_loss(w_t)

    (grad,) = torch.autograd.grad(loss_of(lrs), lrs)
    eps = 1e-6
    for t in range(4):
        e = torch.zeros_like(lrs)
        e[t, 0] = eps
        fd = (loss_of(lrs.detach() + e) - loss_of(lrs.detach() - e)) / (2 * eps)
        assert float(grad[t, 0].detach()) == pytest.approx(float(fd), rel=1e-6, abs=1e-9)


def test_the_unrolled_method_on_an_mlp_matches_finite_differences_per_layer_and_for_weight_decay():
    problem = make_problem("sinusoid", seed=3, dtype=D)
    method = UnrolledHypergradient(UnrolledConfig(inner_steps=5, hidden=8), problem, seed=0, dtype=D)
    _, g_lr, g_wd = method.hypergradient()

    def val_at(log_lr, log_wd):
        lrs = log_lr.exp().expand(5, -1)
        return float(method.net.loss_on("val")(method.net.train(lrs, log_wd.exp())))

    eps = 1e-6
    base_lr, base_wd = method.log_lr.detach(), method.log_wd.detach()
    for t, layer in ((0, 0), (4, 2)):
        e = torch.zeros_like(base_lr)
        e[t, layer] = eps
        fd = (val_at(base_lr + e, base_wd) - val_at(base_lr - e, base_wd)) / (2 * eps)
        assert float(g_lr[t, layer]) == pytest.approx(fd, rel=1e-5, abs=1e-10)
    e = torch.zeros_like(base_wd)
    e[1] = eps
    fd = (val_at(base_lr, base_wd + e) - val_at(base_lr, base_wd - e)) / (2 * eps)
    assert float(g_wd[1]) == pytest.approx(fd, rel=1e-5, abs=1e-10)


def test_learning_the_rates_lowers_the_validation_loss_of_the_inner_run():
    torch.manual_seed(0)
    problem = make_problem("sinusoid", seed=0)
    config = UnrolledConfig(inner_steps=20, init_lr=0.005, hidden=20, outer_lr=0.1)
    method = UnrolledHypergradient(config, problem, seed=0)
    first = method.outer_step(0).val_loss
    for step in range(1, 25):
        report = method.outer_step(step)
    assert report.val_loss < 0.6 * first
    assert report.hyperparameters["lr"].shape == (20, 3) and report.hyperparameters["lr"].mean() > 0.005


def test_the_implicit_method_learns_one_weight_decay_per_weight_and_stays_finite():
    problem = make_problem("blobs", seed=0)
    method = ImplicitHypergradient(ImplicitConfig(hidden=10, steps_per_outer=5, neumann_steps=5), problem, seed=0)
    before = method.log_wd.detach().clone()
    for step in range(5):
        report = method.outer_step(step)
    assert method.log_wd.numel() == sum(p.numel() for p in method.params.values())
    assert not torch.equal(before, method.log_wd.detach())
    assert math.isfinite(report.val_loss) and report.val_accuracy is not None
    result = method.result()
    assert result.hyperparameters["n_hyperparameters"] == method.log_wd.numel()
