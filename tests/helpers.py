"""Small task families built inside the tests (no downloads, no files)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.config import Config, param
from metaviz.tasks.base import Episode, TaskBatch, TaskDistribution


@dataclass(frozen=True)
class BlobImagesConfig(Config):
    n_way: int = param(3, "N-way", min=2, max=10)
    k_shot: int = param(2, "K-shot", min=1, max=10)
    n_query: int = param(2, "Queries per class", min=1, max=10)
    size: int = param(16, "Image size", min=16, max=32)


class BlobImages(TaskDistribution):
    """N-way image classification: each class is a random template plus noise (tests only)."""

    name = "test-blob-images"
    kind = "classification"
    Config = BlobImagesConfig

    @property
    def in_shape(self):
        return (1, self.config.size, self.config.size)

    @property
    def out_dim(self):
        return self.config.n_way

    def sample(self, n_tasks, generator):
        c = self.config
        templates = torch.rand(n_tasks, c.n_way, 1, 1, c.size, c.size, generator=generator)

        def draw(per_class):
            noise = 0.3 * torch.randn(n_tasks, c.n_way, per_class, 1, c.size, c.size, generator=generator)
            x = (templates + noise).reshape(n_tasks, c.n_way * per_class, 1, c.size, c.size)
            y = torch.arange(c.n_way).repeat_interleave(per_class).expand(n_tasks, -1)
            return x, y.clone()

        sx, sy = draw(c.k_shot)
        qx, qy = draw(c.n_query)
        return TaskBatch(Episode(sx, sy, qx, qy), {"templates": templates})
