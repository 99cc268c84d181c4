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
    n_query: int = param(2, "Queries per class", min=1, max=20)
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

    def sample(self, n_tasks, generator, split="train"):
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


def make_image_folder(root, n_classes: int = 6, per_class: int = 8, size: int = 20, seed: int = 0):
    """A folder of class subfolders of small PNGs (each class a different bright square)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c in range(n_classes):
        folder = root / f"class_{c}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = rng.integers(0, 60, (size, size), dtype=np.uint8)
            r, col = divmod(c, 3)
            img[r * 8:r * 8 + 8, col * 6:col * 6 + 6] = 255
            Image.fromarray(img).save(folder / f"{i}.png")
    return root


def example_config(name: str, tmp_path):
    """A working config for each task family (defaults, or a generated folder where one is needed)."""
    from metaviz import tasks

    cls = tasks.get(name)
    if name == "image-folder":
        return cls.Config(path=str(make_image_folder(tmp_path / "images", n_classes=10)), n_way=2,
                          val_fraction=0.2, test_fraction=0.2)
    if name == "text-file":
        return cls.Config(path=str(make_sentences_file(tmp_path / "sentences.csv")), n_way=2,
                          val_fraction=0.2, test_fraction=0.2)
    return cls.Config()


def make_sentences_file(path, n_classes: int = 10, per_class: int = 6):
    """A CSV of labelled sentences: each class repeats its own word, with a counter."""
    rows = ["text,label"] + [f"please do {chr(97 + c) * 4} number {i},label_{c}"
                             for c in range(n_classes) for i in range(per_class)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def task_for(learner: str) -> str:
    """A small task family each learner can learn: sine waves for regression, blobs, sentences, or 2-D navigation."""
    from metaviz import learners

    cls = learners.get(learner)
    if "reinforcement" in cls.kinds:
        return "navigation"
    if "features" not in cls.inputs:
        return "intents"
    return "sinusoid" if "regression" in cls.kinds else "blobs"
