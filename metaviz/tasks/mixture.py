"""A mixture of regression families: each task is a sine wave or a polynomial.

Meta-learning assumes the tasks share structure; a mixture tests how far that
goes. Each task first draws its family (sine with probability p_sine, else a
polynomial), then its parameters from that family's ranges. One initialization
must now serve two shapes: MAML's single starting point has to sit where a few
steps reach both, which is harder than either family alone. Trained on sines and
tested on the mixture (or the reverse), it also shows distribution shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.tasks.base import CurveConfig, CurveTasks
from metaviz.tasks.polynomial import Polynomial, PolynomialConfig
from metaviz.tasks.sinusoid import Sinusoid, SinusoidConfig


@dataclass(frozen=True)
class MixtureConfig(CurveConfig):
    p_sine: float = param(0.5, "Share of sine tasks", min=0.0, max=1.0, step=0.05,
                          help="The rest are polynomials.")
    degree: int = param(1, "Polynomial degree", min=0, max=5, step=1)
    amp_max: float = param(5.0, "Sine amplitude max", min=0.1, max=10.0, step=0.1)


class Mixture(CurveTasks):
    __doc__ = __doc__
    name = "mixture"
    title = "Mixture: sines and polynomials"
    Config = MixtureConfig

    def __init__(self, config: MixtureConfig | None = None):
        super().__init__(config)
        c = self.config
        self.sine = Sinusoid(SinusoidConfig(amp_max=c.amp_max, x_min=c.x_min, x_max=c.x_max))
        self.poly = Polynomial(PolynomialConfig(degree=c.degree, x_min=c.x_min, x_max=c.x_max))

    def function(self, truth: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Each task's own family: truth["is_sine"] [T] selects sine or polynomial; x [T, N, 1]."""
        chosen = truth["is_sine"][:, None, None].bool()
        return torch.where(chosen, self.sine.function(truth, x), self.poly.function(truth, x))

    def draw_truth(self, n_tasks: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        is_sine = (torch.rand(n_tasks, generator=generator) < self.config.p_sine).float()   # [T]
        return {**self.sine.draw_truth(n_tasks, generator), **self.poly.draw_truth(n_tasks, generator),
                "is_sine": is_sine}
