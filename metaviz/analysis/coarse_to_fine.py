"""The loss landscape, coarse to fine: a picture within seconds, then the full grid, cancellable.

A Conv4 landscape on the CPU costs about a tenth of a second per grid point (one inner step on the
support set and a forward pass of the queries, per task): a 41 x 41 grid is minutes. So instead of
evaluating the grid row by row, :func:`landscape_stream` evaluates it level by level. Level k is the
sub-grid of every s_k-th point along each axis, where the strides s_k are the divisors of (R - 1) / 2
from the largest down to 1, so that every level is symmetric and holds the centre (the
meta-parameters), of at least 5 points. For R = 41 the levels are 5, 9, 11, 21 and 41 points per axis.

Every level is a subset of the final grid, and a point is evaluated once, when the first level that
holds it is drawn: the whole stream costs exactly the R x R points of the full grid, and its last level
is the landscape :func:`metaviz.analysis.landscape.compute_landscape` returns (the same evaluator, the
same plane, the same values). The generator yields a :class:`Partial` after every batch of points, with
the finest complete level so far; closing it (or dropping it) stops the work at the next batch.

The meta-loss is a mean over tasks, so the coarsest level comes in two parts: first over the first task
alone (a *preview*, labelled as what it is: its ``config.task`` is 0, the landscape of that one task), then
over the other tasks, whose mean completes the level's exact values. The preview costs 1 / n_tasks of the
level (a 5 x 5 Conv4 picture over 4 tasks: about 1 CPU second instead of 4) and nothing in all: the two
parts are the level's own evaluation, split.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from metaviz.analysis.landscape import (
    Evaluator,
    Landscape,
    LandscapeConfig,
    Trajectory,
    describe,
    grid_axes,
    make_plane,
)
from metaviz.analysis.stages import Progressed
from metaviz.train import RunConfig

MIN_LEVEL = 5   # points per axis of the coarsest level (the landscape's smallest grid)
DEFAULT = LandscapeConfig()
LOOP_BATCH = 4  # grid points between two yields when the evaluator loops (about half a second for Conv4 on a CPU)


@dataclass(frozen=True)
class Partial(Progressed):
    """The stream's state after a batch: ``landscape`` is the finest complete level (None before the first),
    ``done`` of ``total`` grid points are evaluated, ``levels`` are the resolutions the stream goes through."""

    landscape: Landscape | None
    done: int
    total: int
    levels: tuple[int, ...]
    preview: bool = False  # the landscape is the first task's alone, before the coarsest level is complete


def strides(resolution: int) -> tuple[int, ...]:
    """Strides of the levels of a ``resolution`` x ``resolution`` grid (odd), coarsest first, ending in 1:
    the divisors of (resolution - 1) / 2, so that every level holds the centre and both ends of each axis,
    that give at least ``MIN_LEVEL`` points per axis."""
    if resolution < 3 or resolution % 2 == 0:
        raise ValueError(f"resolution={resolution}: use an odd number of at least 3")
    half = (resolution - 1) // 2
    return tuple(s for s in range(half, 0, -1) if half % s == 0 and (half // s >= MIN_LEVEL // 2 or s == 1))


def levels(resolution: int) -> tuple[int, ...]:
    """Points per axis of each level, coarsest first: 41 -> (5, 9, 11, 21, 41)."""
    return tuple((resolution - 1) // s + 1 for s in strides(resolution))


def evaluation_order(resolution: int) -> list[np.ndarray]:
    """For each level, the flat indices (row * R + column) of the grid points it adds, coarsest level first.
    Together they hold every point of the grid exactly once."""
    seen = np.zeros((resolution, resolution), bool)
    order = []
    for s in strides(resolution):
        mask = np.zeros_like(seen)
        mask[::s, ::s] = True
        new = mask & ~seen
        order.append(np.flatnonzero(new))
        seen |= mask
    return order


def grid_coords(axis: np.ndarray) -> np.ndarray:
    """(a, b) of every grid point [R*R, 2], row by row (rows over b, columns over a)."""
    b_grid, a_grid = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([a_grid.ravel(), b_grid.ravel()], 1)


def refine(at_coords: Callable[[np.ndarray], np.ndarray], axis: np.ndarray, batch: int,
           known: np.ndarray | None = None) -> Iterator[tuple[int, np.ndarray | None]]:
    """The grid L(a_i, b_j) over ``axis`` [R] on both directions, level by level: ``at_coords(coords [M, 2])
    -> [M]`` is called on ``batch`` new points at a time (``known`` [R*R]: values already computed, NaN
    elsewhere, taken as they are). Yields (points done, the finest complete level's grid [n, n] or None)
    after every batch."""
    r = len(axis)
    coords = grid_coords(axis)                                    # [R*R, 2]
    loss = np.full(r * r, np.nan) if known is None else np.array(known, float)
    done, grid = 0, None
    for stride, new in zip(strides(r), evaluation_order(r)):
        for first in range(0, len(new), batch):
            rows = new[first:first + batch]
            todo = rows[np.isnan(loss[rows])]
            if len(todo):
                loss[todo] = at_coords(coords[todo])
            done += len(rows)
            complete = first + batch >= len(new)
            if complete:  # the level is complete: it becomes the picture
                grid = loss.reshape(r, r)[::stride, ::stride].copy()
            if len(todo) or complete:  # known points cost nothing: no progress to report
                yield done, grid


def refine_by_tasks(at: Callable[[np.ndarray, int, int], np.ndarray], n_tasks: int, axis: np.ndarray, batch: int,
                    preview: bool = True) -> Iterator[tuple[int, np.ndarray | None, bool]]:
    """:func:`refine` of a mean over ``n_tasks`` tasks, ``at(coords [M, 2], first, stop) -> [M]`` the mean over
    tasks ``first:stop``. With ``preview`` the coarsest level comes first over task 0 alone, then over the
    others (their mean completes each point). Yields (points done, grid or None, whether it is the preview)."""
    r, known = len(axis), None
    if preview and n_tasks > 1:
        coarsest, stride = evaluation_order(r)[0], strides(r)[0]
        coords = grid_coords(axis)
        known = np.full(r * r, np.nan)
        known[coarsest] = at(coords[coarsest], 0, 1)
        grid = known.reshape(r, r)[::stride, ::stride].copy()
        yield 0, grid, True
        for first in range(0, len(coarsest), batch):  # a point is done once every task has been evaluated on it
            rows = coarsest[first:first + batch]
            known[rows] = (known[rows] + (n_tasks - 1) * at(coords[rows], 1, n_tasks)) / n_tasks
            yield first + len(rows), grid, True
    for done, grid in refine(lambda coords: at(coords, 0, n_tasks), axis, batch, known):
        yield done, grid, False


def landscape_stream(config: RunConfig, trajectory: Trajectory, lconfig: LandscapeConfig = DEFAULT,
                     step: int | None = None, device: torch.device | str | None = None,
                     batch: int | None = None, preview: bool = True) -> Iterator[Partial]:
    """The grid of :func:`metaviz.analysis.landscape.compute_landscape` (same arguments), level by level.

    Yields a :class:`Partial` after every ``batch`` grid points (default: the evaluator's vmap chunk, or
    ``LOOP_BATCH`` points where it loops); the last one has ``final`` True and the full grid. With ``preview``
    (and a mean over several tasks) the first one holds the coarsest level over the first task alone."""
    start = time.perf_counter()
    ev = Evaluator(config, lconfig, device)
    plane = make_plane(ev.learner, trajectory, step, lconfig)
    axis = grid_axes(plane, trajectory, ev.learner, lconfig)
    batch = batch or (ev.chunk if ev.strategy == "vmap" else LOOP_BATCH)
    sizes, shown, r = levels(len(axis)), None, len(axis)

    def picture(grid: np.ndarray, level_config: LandscapeConfig) -> Landscape:
        if ev.device.type == "cuda":
            torch.cuda.synchronize(ev.device)
        stride, mid = (r - 1) // (len(grid) - 1), len(grid) // 2
        return Landscape(plane, axis[::stride].copy(), axis[::stride].copy(), grid, float(grid[mid, mid]),
                         describe(config, level_config), level_config, config, time.perf_counter() - start,
                         str(ev.device))

    n_tasks, parts = ev.episodes.n_tasks, {}

    def at(coords: np.ndarray, first: int, stop: int) -> np.ndarray:
        if (first, stop) not in parts:
            parts[first, stop] = ev if (first, stop) == (0, n_tasks) else ev.restricted(first, stop)
        return parts[first, stop].at_coords(plane, coords)

    shown_preview = False
    for done, grid, is_preview in refine_by_tasks(at, n_tasks, axis, batch, preview):
        if grid is not None and (shown is None or len(grid) != len(shown.a) or is_preview != shown_preview):
            level = dataclasses.replace(lconfig, resolution=len(grid), **({"task": 0} if is_preview else {}))
            shown, shown_preview = picture(grid, level), is_preview
        yield Partial(shown, done, r * r, sizes, preview=is_preview)
