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

from metaviz.config import param
from metaviz.tasks.base import CurveConfig, CurveTasks


@dataclass(frozen=True)
class SinusoidConfig(CurveConfig):
    amp_min: float = param(0.1, "Amplitude min", min=0.01, max=10.0, step=0.1)
    amp_max: float = param(5.0, "Amplitude max", min=0.01, max=10.0, step=0.1)
    phase_min: float = param(0.0, "Phase min (rad)", min=0.0, max=2 * math.pi, step=0.1)
    phase_max: float = param(math.pi, "Phase max (rad)", min=0.0, max=2 * math.pi, step=0.1)

    def __post_init__(self):
        super().__post_init__()
        for lo, hi in (("amp_min", "amp_max"), ("phase_min", "phase_max")):
            if getattr(self, lo) > getattr(self, hi):
                raise ValueError(f"SinusoidConfig: {lo} must not exceed {hi}")


class Sinusoid(CurveTasks):
    __doc__ = __doc__
    name = "sinusoid"
    title = "Sine waves (MAML regression)"
    Config = SinusoidConfig

    def function(self, truth: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """y = A sin(x - phi); ``truth`` values are [T], x is [T, N, 1] -> y [T, N, 1]."""
        return truth["amplitude"][:, None, None] * torch.sin(x - truth["phase"][:, None, None])

    def draw_truth(self, n_tasks: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        c = self.config
        return {"amplitude": c.amp_min + (c.amp_max - c.amp_min) * torch.rand(n_tasks, generator=generator),
                "phase": c.phase_min + (c.phase_max - c.phase_min) * torch.rand(n_tasks, generator=generator)}
