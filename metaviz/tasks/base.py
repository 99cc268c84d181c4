"""Task distributions: what a meta-learner learns to learn from.

A *task* is a small supervised problem: a **support set** (the few labelled
examples the learner may adapt on) and a **query set** (held-out examples from
the same task on which the adapted learner is scored). A task distribution
p(T) samples whole tasks; meta-training draws many of them, meta-testing draws
new ones.

Shapes (T tasks, S support points, Q query points, D input features):
    support_x [T, S, D]   support_y [T, S, O]   (O outputs for regression)
    query_x   [T, Q, D]   query_y   [T, Q, O]
Classification tasks store integer labels ``[T, S]`` and ``[T, Q]`` instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F

from metaviz.config import Config


class Episode(NamedTuple):
    """Support and query tensors; batched over tasks (``[T, ...]``) or for one task."""

    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> Episode:
        def move(t: torch.Tensor) -> torch.Tensor:
            return t.to(device, dtype) if dtype is not None and t.is_floating_point() else t.to(device)
        return Episode(*(move(t) for t in self))

    def task(self, i: int) -> Episode:
        """The i-th task of a batch, without the task dimension."""
        return Episode(*(t[i] for t in self))

    @property
    def n_tasks(self) -> int:
        return self.support_x.shape[0]


class TaskBatch(NamedTuple):
    """A batch of tasks and, per task, the ground truth needed to draw it."""

    episode: Episode
    truth: dict[str, torch.Tensor]  # each value [T, ...]


class TaskDistribution(ABC):
    """Base of every task family: subclass it in one file of ``metaviz/tasks/``.

    Subclasses set ``name``, ``kind`` ("regression" or "classification"),
    ``Config`` and a docstring (paper, idea, how tasks are made), and implement
    :meth:`sample`.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    kind: ClassVar[str] = "regression"
    Config: ClassVar[type[Config]] = Config

    def __init__(self, config: Config | None = None):
        self.config = config if config is not None else self.Config()

    @property
    @abstractmethod
    def in_shape(self) -> tuple[int, ...]:
        """Shape of one input, without batch dimensions, for example ``(1,)``."""

    @property
    @abstractmethod
    def out_dim(self) -> int:
        """Outputs of the network: values for regression, classes for classification."""

    @abstractmethod
    def sample(self, n_tasks: int, generator: torch.Generator) -> TaskBatch:
        """Draw ``n_tasks`` tasks on the CPU, using only ``generator`` for randomness."""

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss over the points of one task: MSE, or cross-entropy for classes."""
        if self.kind == "classification":
            return F.cross_entropy(prediction, target)
        return F.mse_loss(prediction, target)
