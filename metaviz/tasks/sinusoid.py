"""Sinusoid regression, the toy problem of the MAML paper.

Finn, Abbeel and Levine (2017), *Model-Agnostic Meta-Learning for Fast
Adaptation of Deep Networks*, ICML, section 5.1.

Each task is a sine wave y = A sin(x - phi) with its own amplitude A and phase
phi. From K points of one wave the learner must predict the whole wave. One
wave alone is hopeless to fit from K=5 points; but all waves share a shape, and
a meta-learner can learn that shape from many tasks. The paper draws
A ~ U[0.1, 5], phi ~ U[0, pi], x ~ U[-5, 5]. Changing the ranges here makes a
different task distribution, which is how the app shows distribution shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from metaviz.config import Config, param
from metaviz.tasks.base import Episode, TaskBatch, TaskDistribution


@dataclass(frozen=True)
class SinusoidConfig(Config):
    k_shot: int = param(10, "K-shot (support points)", min=1, max=100, step=1,
                        help="Labelled points the learner sees from each wave.")
    n_query: int = param(10, "Query points", min=1, max=200, step=1,
                         help="Points per wave on which the adapted learner is scored.")
    amp_min: float = param(0.1, "Amplitude min", min=0.01, max=10.0, step=0.1)
    amp_max: float = param(5.0, "Amplitude max", min=0.01, max=10.0, step=0.1)
    phase_min: float = param(0.0, "Phase min (rad)", min=0.0, max=2 * math.pi, step=0.1)
    phase_max: float = param(math.pi, "Phase max (rad)", min=0.0, max=2 * math.pi, step=0.1)
    x_min: float = param(-5.0, "x min", min=-20.0, max=20.0, step=0.5)
    x_max: float = param(5.0, "x max", min=-20.0, max=20.0, step=0.5)

    def __post_init__(self):
        super().__post_init__()
        for lo, hi in (("amp_min", "amp_max"), ("phase_min", "phase_max"), ("x_min", "x_max")):
            if getattr(self, lo) > getattr(self, hi):
                raise ValueError(f"SinusoidConfig: {lo} must not exceed {hi}")


class Sinusoid(TaskDistribution):
    __doc__ = __doc__
    name = "sinusoid"
    title = "Sine waves (MAML regression)"
    kind = "regression"
    Config = SinusoidConfig

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (1,)

    @property
    def out_dim(self) -> int:
        return 1

    @staticmethod
    def function(truth: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """y = A sin(x - phi); ``truth`` values are [T], x is [T, N, 1] -> y [T, N, 1]."""
        return truth["amplitude"][:, None, None] * torch.sin(x - truth["phase"][:, None, None])

    def sample(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> TaskBatch:
        c = self.config

        def uniform(lo: float, hi: float, *shape: int) -> torch.Tensor:
            return lo + (hi - lo) * torch.rand(*shape, generator=generator)

        truth = {"amplitude": uniform(c.amp_min, c.amp_max, n_tasks),   # [T]
                 "phase": uniform(c.phase_min, c.phase_max, n_tasks)}   # [T]
        x = uniform(c.x_min, c.x_max, n_tasks, c.k_shot + c.n_query, 1)  # [T, K+Q, 1]
        y = self.function(truth, x)                                       # [T, K+Q, 1]
        k = c.k_shot
        return TaskBatch(Episode(x[:, :k], y[:, :k], x[:, k:], y[:, k:]), truth)
