"""The landscape coarse to fine: levels nest in the final grid, the stream ends at compute_landscape's grid, the
batched grid equals the point-by-point loop (sine MLP and Conv4), closing the stream stops the work, and Conv4's
channels-last CPU path gives the NCHW path's values and gradients."""

import dataclasses

import numpy as np
import pytest
import torch
from helpers import task_for

from metaviz import learners, speed
from metaviz.analysis.coarse_to_fine import evaluation_order, landscape_stream, levels, strides
from metaviz.analysis.landscape import (
    Evaluator,
    LandscapeConfig,
    compute_landscape,
    default_run,
    evaluate,
    landscape_tasks,
    objective,
)
from metaviz.functional import detach, unflatten
from metaviz.learners.base import MetaLearner
from metaviz.learners.maml import MAML
from metaviz.models import Conv4
from metaviz.train import RunConfig, TrainConfig, build_learner

GRID = LandscapeConfig(directions="random", resolution=9, span=0.5, n_tasks=3, n_paths=0)


@pytest.fixture(scope="module")
def run():
    return default_run(seed=0, n_steps=20, every=5)


def test_levels_are_nested_symmetric_and_end_at_the_full_grid():
    assert levels(41) == (5, 9, 11, 21, 41)
    assert levels(5) == (5,) and levels(3) == (3,) and levels(23) == (23,) and levels(101) == (5, 11, 21, 51, 101)
    for r in (3, 5, 9, 41, 101):
        half = (r - 1) // 2
        assert strides(r)[-1] == 1 and all(half % s == 0 for s in strides(r))  # each level holds the centre
        order = np.concatenate(evaluation_order(r))
        assert sorted(order) == list(range(r * r))  # every grid point exactly once
    with pytest.raises(ValueError, match="odd"):
        strides(10)


def test_stream_ends_at_the_full_grid_and_each_level_is_a_subgrid_of_it(run):
    config, trajectory = run
    parts = list(landscape_stream(config, trajectory, GRID))
    final = parts[-1]
    assert final.final and final.done == 81 and [p.done for p in parts] == sorted(p.done for p in parts)
    full = compute_landscape(config, trajectory, GRID)
    np.testing.assert_allclose(final.landscape.loss, full.loss, rtol=1e-5)
    np.testing.assert_array_equal(final.landscape.a, full.a)
    assert final.landscape.config == GRID
    shown = {p.landscape.config.resolution: p.landscape for p in parts if p.landscape is not None}
    assert sorted(shown) == list(levels(9))
    for size, level in shown.items():
        stride = 8 // (size - 1)
        np.testing.assert_array_equal(level.loss, final.landscape.loss[::stride, ::stride])
        np.testing.assert_array_equal(level.a, final.landscape.a[::stride])
        assert level.centre_loss == final.landscape.centre_loss


def test_batched_stream_equals_the_point_by_point_loop(run):
    config, trajectory = run
    batched = list(landscape_stream(config, trajectory, dataclasses.replace(GRID, strategy="vmap")))[-1]
    looped = list(landscape_stream(config, trajectory, dataclasses.replace(GRID, strategy="loop")))[-1]
    np.testing.assert_allclose(batched.landscape.loss, looped.landscape.loss, rtol=1e-5)


def test_closing_the_stream_stops_the_evaluation(run, monkeypatch):
    config, trajectory = run
    calls = []
    real = Evaluator.at_coords
    monkeypatch.setattr(Evaluator, "at_coords", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    stream = landscape_stream(config, trajectory, dataclasses.replace(GRID, strategy="loop"), batch=2, preview=False)
    first = next(stream)
    assert first.done == 2 and not first.final and first.landscape is None  # 5 x 5 needs 25 points
    stream.close()
    with pytest.raises(StopIteration):
        next(stream)
    assert len(calls) == 1


def test_the_first_picture_is_the_first_task_alone_then_replaced_by_the_exact_level(run):
    """The preview is compute_landscape's 5 x 5 grid of task 0 (labelled so by its config); the coarsest level
    that replaces it is the mean over every task, the one-shot grid's subgrid; the stream evaluates every
    (point, task) pair once: 25 points of the preview, the others in the final grid's count."""
    config, trajectory = run
    parts = list(landscape_stream(config, trajectory, GRID, batch=4))
    first = parts[0]
    assert first.preview and first.done == 0 and first.landscape.config == dataclasses.replace(GRID, resolution=5,
                                                                                               task=0)
    alone = compute_landscape(config, trajectory, dataclasses.replace(GRID, resolution=5, task=0))
    np.testing.assert_allclose(first.landscape.loss, alone.loss, rtol=1e-6)
    exact = next(p for p in parts if not p.preview)
    assert exact.landscape.config == dataclasses.replace(GRID, resolution=5) and exact.done == 25
    assert not np.allclose(exact.landscape.loss, first.landscape.loss)  # the cheap picture was replaced
    full = compute_landscape(config, trajectory, GRID)
    np.testing.assert_allclose(exact.landscape.loss, full.loss[::2, ::2], rtol=1e-6)
    np.testing.assert_allclose(parts[-1].landscape.loss, full.loss, rtol=1e-6)
    assert [p.done for p in parts] == sorted(p.done for p in parts)


def test_cancel_during_the_preview_keeps_the_first_task_picture_and_evaluates_no_more(run, monkeypatch):
    config, trajectory = run
    calls = []
    real = Evaluator.at_coords
    monkeypatch.setattr(Evaluator, "at_coords", lambda self, *a, **k: calls.append(len(a[1])) or real(self, *a, **k))
    stream = landscape_stream(config, trajectory, GRID, batch=4)
    first, second = next(stream), next(stream)
    stream.close()
    assert calls == [25, 4] and second.preview and second.done == 4 and second.landscape is first.landscape


def test_conv4_channels_last_path_matches_nchw_values_and_gradients(monkeypatch):
    torch.manual_seed(0)
    net = Conv4((1, 28, 28), 5, hidden=8).double()
    x = torch.randn(6, 1, 28, 28, dtype=torch.float64)
    out = {}
    for layout in (True, False):
        monkeypatch.setattr(Conv4, "channels_last", layout)
        net.zero_grad()
        y = net(x)
        y.square().sum().backward()
        out[layout] = (y.detach(), [p.grad.clone() for p in net.parameters()])
    torch.testing.assert_close(out[True][0], out[False][0])
    for a, b in zip(out[True][1], out[False][1]):
        torch.testing.assert_close(a, b)


def test_conv4_grid_batched_over_points_equals_the_loop():
    """vmap over grid points (the conv's batching rule folds the points into groups) against the loop."""
    w = dataclasses.replace(speed.workload("omniglot", quick=True), landscape_tasks=2)
    learner = speed.make_learner(w, "second", "cpu")
    episodes = speed.make_batch(learner, 2, seed=1)
    loss = objective(learner, episodes, "post")
    like = detach(learner.params)
    centre = torch.cat([v.reshape(-1) for v in like.values()])
    direction = torch.randn(centre.shape, generator=torch.Generator().manual_seed(0)) * 0.05
    points = torch.linspace(-1, 1, 4)[:, None]
    fn = lambda a: loss(unflatten(centre + a[0] * direction, like))  # noqa: E731
    np.testing.assert_allclose(evaluate(fn, points, "vmap", 2), evaluate(fn, points, "loop"), rtol=1e-4)


@pytest.mark.parametrize("name", [n for n in learners.available()
                                  if learners.get(n).kinds & {"regression", "classification"}])
def test_task_value_is_the_task_loss_of_every_learner(name):
    """The landscape's value-only objective (first-order inner loop, queries without autograd) is task_loss's
    number, away from the initialization too; it keeps no graph."""
    config = RunConfig(task=task_for(name), learner=name, train=TrainConfig(baseline=False), device="cpu")
    learner = build_learner(config)
    params = {k: v.detach() + 0.05 * torch.randn(v.shape, generator=torch.Generator().manual_seed(1))
              for k, v in learner.params.items()}
    episode = landscape_tasks(config, 1, 0).task(0)
    with torch.enable_grad():
        value, loss = learner.task_value(params, episode), learner.task_loss(params, episode)
    assert value.item() == pytest.approx(loss.item(), rel=1e-6, abs=1e-7)
    if type(learner).task_loss in (MetaLearner.task_loss, MAML.task_loss):  # those take the value-only path
        assert not value.requires_grad


def test_conv4_task_value_equals_the_second_order_task_loss():
    w = dataclasses.replace(speed.workload("omniglot", quick=True), landscape_tasks=2)
    learner = speed.make_learner(w, "second", "cpu")
    episode = speed.make_batch(learner, 1, seed=3).task(0)
    params = detach(learner.params)
    with torch.enable_grad():
        assert float(learner.task_value(params, episode)) == float(learner.task_loss(params, episode))
