"""2-D classification: N Gaussian blobs with random centres, one per class.

Small enough to see everything: each task places N class centres uniformly in
the square [-spread, spread]^2 and draws each class's points from an isotropic
Gaussian around its centre. Labels are the order in which the centres were
drawn, so they mean nothing across tasks: a network cannot memorise "class 0 is
on the left" and must use the support points of each new task. Decision regions
and embeddings of 2-D inputs can be plotted directly, which makes this family
the place to look at what metric-based and gradient-based learners do.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.tasks.base import Episode, EpisodeConfig, TaskBatch, TaskDistribution


@dataclass(frozen=True)
class BlobsConfig(EpisodeConfig):
    n_way: int = param(3, "N-way (classes per task)", min=2, max=10, step=1)
    k_shot: int = param(5, "K-shot (examples per class)", min=1, max=50, step=1)
    n_query: int = param(10, "Queries per class", min=1, max=50, step=1)
    spread: float = param(3.0, "Centre range", min=0.5, max=10.0, step=0.5,
                          help="Centres are uniform in [-range, range] on both axes.")
    std: float = param(0.6, "Blob width (std)", min=0.05, max=5.0, step=0.05)


class Blobs(TaskDistribution):
    __doc__ = __doc__
    name = "blobs"
    title = "2-D blobs (N-way points)"
    kind = "classification"
    Config = BlobsConfig

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def out_dim(self) -> int:
        return self.config.n_way

    def sample(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> TaskBatch:
        c = self.config
        centres = c.spread * (2 * torch.rand(n_tasks, c.n_way, 2, generator=generator) - 1)   # [T, N, 2]

        def draw(per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
            noise = c.std * torch.randn(n_tasks, c.n_way, per_class, 2, generator=generator)
            x = (centres[:, :, None] + noise).reshape(n_tasks, c.n_way * per_class, 2)          # [T, N*K, 2]
            y = torch.arange(c.n_way).repeat_interleave(per_class).expand(n_tasks, -1).clone()  # [T, N*K]
            return x, y

        return TaskBatch(Episode(*draw(c.k_shot), *draw(c.n_query)), {"centres": centres})
