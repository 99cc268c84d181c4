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

from metaviz.config import Config, param
from metaviz.tasks.base import Episode, TaskBatch, TaskDistribution
from metaviz.tasks.polynomial import Polynomial, PolynomialConfig
from metaviz.tasks.sinusoid import Sinusoid, SinusoidConfig


@dataclass(frozen=True)
class MixtureConfig(Config):
    k_shot: int = param(10, "K-shot (support points)", min=1, max=100, step=1)
    n_query: int = param(10, "Query points", min=1, max=200, step=1)
    p_sine: float = param(0.5, "Share of sine tasks", min=0.0, max=1.0, step=0.05,
                          help="The rest are polynomials.")
    degree: int = param(1, "Polynomial degree", min=0, max=5, step=1)
    amp_max: float = param(5.0, "Sine amplitude max", min=0.1, max=10.0, step=0.1)
    x_min: float = param(-5.0, "x min", min=-20.0, max=20.0, step=0.5)
    x_max: float = param(5.0, "x max", min=-20.0, max=20.0, step=0.5)

    def __post_init__(self):
        super().__post_init__()
        if self.x_min >= self.x_max:
            raise ValueError("MixtureConfig: x_min must be below x_max")


class Mixture(TaskDistribution):
    __doc__ = __doc__
    name = "mixture"
    title = "Mixture: sines and polynomials"
    kind = "regression"
    Config = MixtureConfig

    def __init__(self, config: MixtureConfig | None = None):
        super().__init__(config)
        c = self.config
        self.sine = Sinusoid(SinusoidConfig(k_shot=c.k_shot, n_query=c.n_query, amp_max=c.amp_max,
                                            x_min=c.x_min, x_max=c.x_max))
        self.poly = Polynomial(PolynomialConfig(k_shot=c.k_shot, n_query=c.n_query, degree=c.degree,
                                                x_min=c.x_min, x_max=c.x_max))

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (1,)

    @property
    def out_dim(self) -> int:
        return 1

    def function(self, truth: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Each task's own family: truth["is_sine"] [T] selects sine or polynomial; x [T, N, 1]."""
        chosen = truth["is_sine"][:, None, None].bool()
        return torch.where(chosen, self.sine.function(truth, x), self.poly.function(truth, x))

    def sample(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> TaskBatch:
        c = self.config
        sines, polys = self.sine.sample(n_tasks, generator), self.poly.sample(n_tasks, generator)
        is_sine = (torch.rand(n_tasks, generator=generator) < c.p_sine).float()       # [T]
        truth = {**sines.truth, **polys.truth, "is_sine": is_sine}
        x = torch.where(is_sine[:, None, None].bool(), torch.cat([sines.episode.support_x, sines.episode.query_x], 1),
                        torch.cat([polys.episode.support_x, polys.episode.query_x], 1))
        y = self.function(truth, x)
        return TaskBatch(Episode(x[:, :c.k_shot], y[:, :c.k_shot], x[:, c.k_shot:], y[:, c.k_shot:]), truth)
