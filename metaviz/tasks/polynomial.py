"""Polynomial regression: lines (degree 1), parabolas (degree 2) and beyond.

A second regression family beside the sine waves. Each task is a polynomial
y = c_0 + c_1 x + ... + c_d x^d with coefficients drawn uniformly from
[-coef_max, coef_max] (divided by scale^i so that every term spans a similar
range on [x_min, x_max]). With degree 1 every task is a line: two points
determine it exactly, so a good meta-learner should need almost no data, which
contrasts with the sine waves. Mixed with them (see the mixture family) it makes
a task distribution whose tasks disagree in shape, not only in parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.tasks.base import CurveConfig, CurveTasks


@dataclass(frozen=True)
class PolynomialConfig(CurveConfig):
    degree: int = param(1, "Degree", min=0, max=5, step=1, help="1: lines, 2: parabolas, ...")
    coef_max: float = param(3.0, "Largest coefficient", min=0.1, max=10.0, step=0.1)


class Polynomial(CurveTasks):
    __doc__ = __doc__
    name = "polynomial"
    title = "Polynomials (lines, parabolas)"
    Config = PolynomialConfig

    def function(self, truth: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """sum_i c_i (x / scale)^i; coefficients [T, d+1], x [T, N, 1] -> y [T, N, 1]."""
        scale = max(abs(self.config.x_min), abs(self.config.x_max))
        powers = torch.stack([(x / scale) ** i for i in range(truth["coefficients"].shape[1])], -1)  # [T,N,1,d+1]
        return (powers * truth["coefficients"][:, None, None, :]).sum(-1)

    def draw_truth(self, n_tasks: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        c = self.config
        return {"coefficients": c.coef_max * (2 * torch.rand(n_tasks, c.degree + 1, generator=generator) - 1)}
