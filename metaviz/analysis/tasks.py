"""Previews of a task distribution: a few sampled tasks as numpy arrays, ready to draw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from metaviz import tasks
from metaviz.config import Config
from metaviz.tasks.base import TaskDistribution

GRID = 200


@dataclass(frozen=True)
class TaskPreview:
    """``n`` tasks of one split. Inputs keep the task's layout ([T, N, ...]); images are [T, N, C, H, W].

    For 1-D regression, x_grid [G] and curves [T, G] give each task's true function."""

    family: str
    kind: str
    split: str
    support_x: np.ndarray
    support_y: np.ndarray
    query_x: np.ndarray
    query_y: np.ndarray
    x_grid: np.ndarray | None = None
    curves: np.ndarray | None = None
    class_names: tuple[tuple[str, ...], ...] | None = None  # per task, the class behind each label

    @property
    def is_image(self) -> bool:
        return self.support_x.ndim == 5


def image_shape(task: TaskDistribution) -> tuple[int, int, int] | None:
    """How to show one input as an image: (C, H, W), or None when inputs are not images."""
    shape = getattr(task, "image_shape", None) or task.in_shape
    return tuple(shape) if len(shape) == 3 else None


def preview(family: str, config: Config, split: str = "train", n_tasks: int = 3, seed: int = 0) -> TaskPreview:
    """Sample ``n_tasks`` tasks of ``family`` with ``config`` from ``split``, seeded."""
    task = tasks.get(family)(config)
    batch = task.sample(n_tasks, torch.Generator().manual_seed(seed), split)
    ep = batch.episode
    sx, qx = ep.support_x, ep.query_x
    shape = image_shape(task)
    if shape is not None:
        sx, qx = sx.reshape(*sx.shape[:2], *shape), qx.reshape(*qx.shape[:2], *shape)
    x_grid = curves = names = None
    if task.kind == "regression" and task.in_shape == (1,) and hasattr(task, "function"):
        grid = torch.linspace(config.x_min, config.x_max, GRID)
        curves = task.function(batch.truth, grid.expand(n_tasks, GRID)[..., None])[..., 0].numpy()
        x_grid = grid.numpy()
    pool = getattr(task, "pool", None)
    if pool is not None and "classes" in batch.truth:
        names = tuple(tuple(pool.names[c] for c in row) for row in batch.truth["classes"].tolist())
    return TaskPreview(family, task.kind, split, sx.numpy(), ep.support_y.numpy(), qx.numpy(), ep.query_y.numpy(),
                       x_grid, curves, names)


@dataclass(frozen=True)
class ClassSplit:
    """Which split each class belongs to: names [C], split index per class [C] (0 train, 1 val, 2 test,
    3 val and test, -1 unused) and an optional group per class (an alphabet) for ordering."""

    names: tuple[str, ...]
    split: np.ndarray
    groups: tuple[str, ...] | None = None


def class_split(family: str, config: Config) -> ClassSplit | None:
    """The class split of a family built on classes (None for continuous families such as sines)."""
    task = tasks.get(family)(config)
    pool = getattr(task, "pool", None)
    if pool is None:
        return None
    split = np.full(len(pool.names), -1)
    val, test = set(pool.splits.get("val", ())), set(pool.splits.get("test", ()))
    for c in range(len(pool.names)):
        if c in pool.splits.get("train", ()):
            split[c] = 0
        elif c in val and c in test:
            split[c] = 3
        elif c in val:
            split[c] = 1
        elif c in test:
            split[c] = 2
    return ClassSplit(tuple(pool.names), split, getattr(pool, "groups", None))
