"""metaviz.analysis.theory against references that share no code with it: per-task gradients against central finite
differences in float64, the cosines against a plain loop, and MAML's / FOMAML's meta-gradients written out by hand
with torch.func (their MAML gradient checked by finite differences), with the second-order term O(alpha)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch.func import functional_call, grad

from metaviz.analysis import theory
from metaviz.analysis.adaptation import heldout_batch, initial_state
from metaviz.figures.theory import alignment_figure, gap_figure
from metaviz.train import RunConfig, TrainConfig, build_learner

CONFIG = RunConfig(task="sinusoid", learner="maml", seed=3, device="cpu",
                   train=TrainConfig(n_steps=1, meta_batch=4, eval_every=1, n_eval_tasks=1, eval_steps=0))


@pytest.fixture(scope="module")
def net_and_state():
    learner = build_learner(CONFIG)
    state = initial_state(CONFIG, "scratch")
    return learner.net.double(), state


def mse(net, params, x, y) -> torch.Tensor:
    return ((functional_call(net, params, (x,)) - y) ** 2).mean()


def as64(state) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.asarray(v), dtype=torch.float64) for k, v in state.items()}


def test_task_gradients_match_central_differences(net_and_state):
    net, state = net_and_state
    support, query = theory.task_gradients(CONFIG, state, n_tasks=2, seed=1)
    params = as64(state)
    names = list(params)
    sizes = [params[k].numel() for k in names]
    batch = heldout_batch(CONFIG, 2, 1)
    rng = np.random.default_rng(0)
    coordinates = rng.choice(sum(sizes), size=40, replace=False)
    h = 1e-6
    for task in range(2):
        e = batch.task(task)
        for x, y, got in ((e.support_x, e.support_y, support), (e.query_x, e.query_y, query)):
            x, y = x.double(), y.double()
            for c in coordinates:
                layer = int(np.searchsorted(np.cumsum(sizes), c, side="right"))
                offset = c - sum(sizes[:layer])
                values = []
                for sign in (1, -1):
                    moved = {k: v.clone() for k, v in params.items()}
                    moved[names[layer]].view(-1)[offset] += sign * h
                    values.append(float(mse(net, moved, x, y)))
                finite = (values[0] - values[1]) / (2 * h)
                assert math.isclose(float(got[task, c]), finite, rel_tol=1e-5, abs_tol=1e-7), (task, c)


def test_alignment_cosines_match_a_loop(net_and_state):
    _, state = net_and_state
    result = theory.gradient_alignment(CONFIG, {"a": state}, n_tasks=5, seed=2)
    support, query = (g.numpy() for g in theory.task_gradients(CONFIG, state, n_tasks=5, seed=2))
    cos = lambda u, v: float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))  # noqa: E731
    assert np.allclose(result.within[0], [cos(support[i], query[i]) for i in range(5)], atol=1e-12)
    pairs = [(i, j) for i in range(5) for j in range(i + 1, 5)]
    assert np.allclose(result.across[0], [cos(support[i], support[j]) for i, j in pairs], atol=1e-12)
    assert np.allclose(result.across_dot[0], [support[i] @ support[j] for i, j in pairs], rtol=1e-12)
    assert result.names == ("a",) and result.within.shape == (1, 5) and result.across.shape == (1, 10)


def reference_gradients(net, state, alpha: float, n_tasks: int, seed: int):
    """MAML's and FOMAML's mean meta-gradients for one inner step, written out with torch.func in float64."""
    params = as64(state)
    batch = heldout_batch(CONFIG, n_tasks, seed)

    def adapted(p, e):
        g = grad(lambda q: mse(net, q, e.support_x.double(), e.support_y.double()))(p)
        return {k: p[k] - alpha * g[k] for k in p}

    def maml_objective(p):
        return sum(mse(net, adapted(p, e), e.query_x.double(), e.query_y.double())
                   for e in map(batch.task, range(n_tasks))) / n_tasks

    full = grad(maml_objective)(params)
    first = {k: torch.zeros_like(v) for k, v in params.items()}
    for e in map(batch.task, range(n_tasks)):
        at = {k: v.detach() for k, v in adapted(params, e).items()}
        g = grad(lambda q, e=e: mse(net, q, e.query_x.double(), e.query_y.double()))(at)
        first = {k: first[k] + g[k] / n_tasks for k in first}
    flat = lambda d: torch.cat([v.reshape(-1) for v in d.values()])  # noqa: E731
    return flat(full), flat(first), maml_objective, params


def test_the_reference_maml_gradient_matches_finite_differences(net_and_state):
    net, state = net_and_state
    full, _, objective, params = reference_gradients(net, state, 0.01, 3, 0)
    direction = {k: torch.randn(v.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
                 for k, v in params.items()}
    h = 1e-5
    plus = objective({k: params[k] + h * direction[k] for k in params})
    minus = objective({k: params[k] - h * direction[k] for k in params})
    flat_direction = torch.cat([v.reshape(-1) for v in direction.values()])
    assert math.isclose(float((plus - minus) / (2 * h)), float(full @ flat_direction), rel_tol=1e-6)


@pytest.mark.parametrize("alpha", [0.003, 0.03])
def test_first_order_gap_matches_the_reference(net_and_state, alpha):
    net, state = net_and_state
    full, first, _, _ = reference_gradients(net, state, alpha, 4, 0)
    gap = theory.first_order_gap(CONFIG, state, [alpha], [1], n_tasks=4, seed=0)
    share = float((full - first).norm() / full.norm())
    cosine = float(full @ first / (full.norm() * first.norm()))
    assert gap.share.shape == (1, 1) and gap.inner_steps == (1,)
    assert math.isclose(gap.share[0, 0], share, rel_tol=2e-3)
    assert math.isclose(gap.cosine[0, 0], cosine, rel_tol=1e-4)


def test_the_second_order_share_is_order_alpha_and_grows_with_steps():
    state = initial_state(CONFIG, "scratch")
    gap = theory.first_order_gap(CONFIG, state, [1e-4, 1e-3], [1, 2], n_tasks=3)
    ratio = gap.share[:, 1] / gap.share[:, 0]
    assert np.allclose(ratio, 10, rtol=0.05), ratio  # tenfold alpha, tenfold share: O(alpha)
    assert np.allclose(gap.share[1] / gap.share[0], 2, rtol=0.05)  # two steps: about twice the term
    assert np.all(gap.cosine > 0.999)


def test_the_figures_draw_one_line_per_step_count_and_two_boxes_per_state(net_and_state):
    _, state = net_and_state
    gap = theory.FirstOrderGap(np.array([0.01, 0.1]), (1, 5), np.array([[0.1, 0.5], [0.3, np.nan]]),
                               np.array([[0.99, 0.8], [0.9, np.nan]]))
    fig = gap_figure(gap, text=dict(steps="k={k}"))
    assert [t.name for t in fig.data] == ["k=1", "k=5"]
    assert list(fig.data[1].x) == [0.01] and fig.layout.xaxis.type == "log"  # the diverged point is left out
    aligned = theory.gradient_alignment(dataclasses.replace(CONFIG), {"s": state, "t": state}, n_tasks=3)
    boxes = alignment_figure(aligned, names={"s": "start"})
    assert [b.type for b in boxes.data] == ["box", "box"] and len(boxes.data[1].y) == 2 * 3
    assert set(boxes.data[0].x) == {"start", "t"}
