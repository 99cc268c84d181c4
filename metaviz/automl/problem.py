"""One learning problem for AutoML: a single task of a family, split into train, validation and test.

Hyperparameters and architectures are chosen on the validation split and reported on the test split,
which no choice ever sees (the protocol of Li and Talwalkar 2019). The data comes from the task families
of :mod:`metaviz.tasks` (one task with many shots), so AutoML uses the same tasks as the rest of the app.

Shapes: train_x [N_tr, D], train_y [N_tr, O] (regression) or [N_tr] (class ids); likewise val, test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from metaviz import tasks

TASKS = ("sinusoid", "blobs", "digits")
# examples per split: per task for regression, per class for classification (the families' own limits)
SIZES = {"sinusoid": (20, 100, 100), "blobs": (5, 20, 30), "digits": (10, 40, 60)}
N_WAY = {"blobs": 3, "digits": 5}


@dataclass(frozen=True)
class Problem:
    task: str
    kind: str  # "regression" or "classification"
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    image_shape: tuple[int, ...] | None = None  # [C, H, W] of the flat inputs when they are images (digits)

    @property
    def in_dim(self) -> int:
        return self.train_x.shape[-1]

    @property
    def out_dim(self) -> int:
        return self.train_y.shape[-1] if self.kind == "regression" else int(self.train_y.max()) + 1

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.kind == "classification":
            return F.cross_entropy(prediction, target)
        return F.mse_loss(prediction, target)

    def accuracy(self, prediction: torch.Tensor, target: torch.Tensor) -> float | None:
        if self.kind != "classification":
            return None
        return float((prediction.argmax(-1) == target).double().mean())

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self, f"{name}_x"), getattr(self, f"{name}_y")


def make_problem(task: str, seed: int = 0, dtype: torch.dtype = torch.float32) -> Problem:
    """One task of the family ``task`` drawn from ``seed``, its query set cut into validation and test."""
    if task not in TASKS:
        raise ValueError(f"AutoML runs on the tasks {TASKS}, not {task!r}")
    n_train, n_val, n_test = SIZES[task]
    cls = tasks.get(task)
    config = dataclasses.replace(cls.Config(), k_shot=n_train, n_query=n_val + n_test,
                                 **({"n_way": N_WAY[task]} if task in N_WAY else {}))
    generator = torch.Generator().manual_seed(seed)
    episode = cls(config).sample(1, generator).episode.task(0)
    qx, qy = episode.query_x, episode.query_y
    order = torch.randperm(len(qx), generator=generator)
    n_val_total = n_val * (N_WAY.get(task, 1))
    val, test = order[:n_val_total], order[n_val_total:]

    def cast(t: torch.Tensor) -> torch.Tensor:
        return t.to(dtype) if t.is_floating_point() else t

    return Problem(task, cls.kind, cast(episode.support_x), cast(episode.support_y), cast(qx[val]), cast(qy[val]),
                   cast(qx[test]), cast(qy[test]), getattr(cls, "image_shape", None))
