"""Loss-landscape timings for ``bench speed``: before and after, batched against the loop, coarse to fine.

The workload is :mod:`metaviz.speed`'s (MAML, one inner step, a plane of two filter-normalized random
directions, 41 x 41 points). Each row times the same grid points in the same process:

* ``landscape 41x41``: the grid as the Landscape page evaluates it now (``Evaluator.at_coords``'s rule:
  batches of points under vmap for MLPs, one point at a time for conv nets on the CPU);
* ``landscape 41x41, task_loss with its graph (before)``: Conv4 only, the loop evaluating the meta-loss as
  training does (second-order inner step, an autograd graph through the queries) instead of its value alone;
* ``landscape 41x41, NCHW (before)``: Conv4 only, the same loop with the activations in PyTorch's default
  NCHW layout, as before channels-last (``Conv4.channels_last = False``);
* ``landscape 41x41, vmap over points``: Conv4 only, batches of grid points under ``torch.func.vmap``; its
  batching rule for conv2d folds the points into the convolution's groups, which is what folding points
  into the conv batch would do (their weights differ, so they cannot share one plain batch);
* ``landscape coarse to fine: first NxN``: measured from the start of :func:`coarse_to_fine.refine_by_tasks` to
  the moment its level of N x N points is complete (the first row: the coarsest level over the first task
  alone, the page's preview) (for Conv4 on the CPU up to 11 x 11, for the MLP the whole
  stream). The coarse-to-fine order costs no extra points: the 41 x 41 grid follows at the full grid's time.

The rows of one run share the machine's load, so their ratios hold where the seconds do not.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np
import torch

from metaviz.functional import detach, unflatten
from metaviz.models import Conv4

GRID = 41


def grid_function(w, device: torch.device, tasks: tuple[int, int] | None = None, graph: bool = False
                  ) -> tuple[Callable[[torch.Tensor], torch.Tensor], str, int, bool]:
    """(L at plane coordinates (a, b) [2], the page's strategy, its vmap chunk, whether the net is a Conv4).

    ``tasks`` (first, stop): the mean over those tasks alone; ``graph``: the loss as training computes it
    (``task_loss``, with what its meta-gradient needs), not the page's value-only ``task_value``."""
    from metaviz import speed
    from metaviz.analysis.landscape import LandscapeConfig, auto_chunk, make_plane, objective
    from metaviz.tasks.base import Episode

    w = dataclasses.replace(w, inner_steps=1)
    learner = speed.make_learner(w, "second", device)
    lconfig = LandscapeConfig("random", n_tasks=w.landscape_tasks, resolution=GRID)
    plane = make_plane(learner, [(0, learner.state_numpy())], None, lconfig)
    episodes = speed.make_batch(learner, w.landscape_tasks, seed=2)
    if tasks is not None:
        episodes = Episode(*(t[tasks[0]:tasks[1]] for t in episodes))
    if graph:
        learner.task_value = learner.task_loss  # this benchmark's own learner: the row before task_value
    loss = objective(learner, episodes, "post")
    strategy = "loop" if learner.resolved_strategy() == "loop" else "vmap"
    chunk = auto_chunk(learner, episodes, w.inner_steps)
    like = detach(learner.params)
    c, d1, d2 = (torch.as_tensor(v, dtype=torch.float32, device=device) for v in (plane.centre, plane.d1, plane.d2))
    return (lambda ab: loss(unflatten(c + ab[0] * d1 + ab[1] * d2, like))), strategy, chunk, isinstance(
        learner.net, Conv4)


def grid_coords(max_points: int | None = None) -> np.ndarray:
    """The 41 x 41 grid's (a, b) [M, 2]; ``max_points`` of them spread over the grid, so the values are typical."""
    axis = np.linspace(-1, 1, GRID)
    b, a = np.meshgrid(axis, axis, indexing="ij")
    coords = np.stack([a.ravel(), b.ravel()], 1)
    if max_points is not None and max_points < len(coords):
        coords = coords[np.linspace(0, len(coords) - 1, max_points).round().astype(int)]
    return coords


def seconds(fn: Callable[[], np.ndarray], device: torch.device) -> tuple[tuple[float, float], np.ndarray]:
    """((wall seconds, this process's CPU seconds), values) of ``fn()``."""
    from metaviz.speed import sync

    sync(device)
    start, cpu = time.perf_counter(), time.process_time()
    values = fn()
    sync(device)
    if not np.isfinite(values).any():
        raise RuntimeError("the landscape grid gave no finite loss: the timing would mean nothing")
    return (time.perf_counter() - start, time.process_time() - cpu), values


def extra_timings(w, device: torch.device, max_points: int | None, label: str, page_s: float, stop: int):
    """The rows besides the page's own (``page_s``: its seconds for the whole grid, timed on ``max_points``);
    the coarse-to-fine stream runs until its level of ``stop`` points per axis is complete."""
    from metaviz.analysis.coarse_to_fine import LOOP_BATCH, levels, refine_by_tasks
    from metaviz.analysis.landscape import evaluate
    from metaviz.speed import Timing

    at, strategy, chunk, conv = grid_function(w, device)
    rows = []
    cpu_conv = conv and device.type == "cpu"
    if cpu_conv:
        points = torch.as_tensor(grid_coords(max_points), dtype=torch.float32, device=device)
        with_graph = grid_function(w, device, graph=True)[0]
        evaluate(with_graph, points[:1], "loop")
        (before, before_cpu), _ = seconds(lambda: evaluate(with_graph, points, "loop"), device)
        scale = GRID**2 / len(points)
        how = f"one point at a time; the value alone is {before * scale / page_s:.2f}x faster, the same numbers"
        rows.append(Timing(f"landscape {GRID}x{GRID}, task_loss with its graph (before)", label, before * scale,
                           GRID**2, len(points), how, before_cpu * scale))
        Conv4.channels_last = False
        try:
            evaluate(at, points[:1], "loop")
            (before, before_cpu), _ = seconds(lambda: evaluate(at, points, "loop"), device)
        finally:
            Conv4.channels_last = True
        scale = GRID**2 / len(points)
        rows.append(Timing(f"landscape {GRID}x{GRID}, NCHW (before)", label, before * scale, GRID**2, len(points),
                           f"one point at a time; channels-last is {before * scale / page_s:.1f}x faster",
                           before_cpu * scale))
        few = points[:max(2, min(len(points), 4))]
        evaluate(at, few[:2], "vmap", 2)
        (batched, batched_cpu), _ = seconds(lambda: evaluate(at, few, "vmap", 2), device)
        scale = GRID**2 / len(few)
        rows.append(Timing(f"landscape {GRID}x{GRID}, vmap over points", label, batched * scale, GRID**2, len(few),
                           f"batches of 2 points (conv groups); the loop is {batched * scale / page_s:.1f}x faster",
                           batched_cpu * scale))
    batch = chunk if strategy == "vmap" else LOOP_BATCH
    n_tasks, fns = w.landscape_tasks, {(0, w.landscape_tasks): at}
    for key in ((0, 1), (1, n_tasks)) if n_tasks > 1 else ():
        fns[key] = grid_function(w, device, key)[0]

    def run(coords: np.ndarray, first: int, stop: int) -> np.ndarray:
        return evaluate(fns[first, stop], torch.as_tensor(coords, dtype=torch.float32, device=device), strategy, chunk)

    for key in fns:
        run(grid_coords(2), *key)  # warm-up
    start, cpu, reached = time.perf_counter(), time.process_time(), set()
    for done, grid, preview in refine_by_tasks(run, n_tasks, np.linspace(-1, 1, GRID), batch):
        if grid is not None and (len(grid), preview) not in reached:
            reached.add((len(grid), preview))
            what = f"first {len(grid)}x{len(grid)}" + (f", task 0 of {n_tasks} (a preview)" if preview else "")
            points = len(grid)**2 if preview else done
            rows.append(Timing(f"landscape coarse to fine: {what}", label, time.perf_counter() - start, points,
                               points, f"measured; levels {levels(GRID)}" + (", then the other tasks" * preview),
                               time.process_time() - cpu))
            if len(grid) >= stop and not preview:
                break
    return rows
