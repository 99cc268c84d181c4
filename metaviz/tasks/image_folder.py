"""Your own images: any folder with one subfolder of images per class.

For data sets exported as folders (CIFAR-FS, mini-ImageNet, a class's own
photos) and for the upload page. The classes are split at random (seeded) into
disjoint meta-train, meta-validation and meta-test classes, so evaluation is
always on classes the learner has never trained on, as in Vinyals et al. (2016),
*Matching Networks for One Shot Learning*. Each task then draws N classes of one
split and K + Q images of each, with labels assigned in random order.

Photos are read in colour (RGB, three channels) at a chosen size: 84 x 84 is the
mini-ImageNet convention (Ravi and Larochelle 2017), 28 x 28 greyscale Omniglot's.
The backbone takes the channels from the task (``in_shape``); for photos, the
ResNet-12 backbone (``TrainConfig.backbone``) is the usual choice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.data.images import load_folder
from metaviz.tasks.base import SPLITS, ClassPool, EpisodeConfig, PoolTasks


@dataclass(frozen=True)
class ImageFolderConfig(EpisodeConfig):
    path: str = param("", "Image folder", help="A folder with one subfolder of images per class.")
    size: int = param(28, "Image size (pixels)", min=8, max=128, step=4,
                      help="Each image is resized to size x size: 28 for drawings (Omniglot), 84 for photos "
                      "(mini-ImageNet).")
    rgb: bool = param(False, "Colour (RGB)", help="On: three colour channels, for photos. Off: greyscale.")
    val_fraction: float = param(0.2, "Meta-validation classes (share)", min=0.0, max=0.5, step=0.05)
    test_fraction: float = param(0.2, "Meta-test classes (share)", min=0.0, max=0.5, step=0.05)
    split_seed: int = param(0, "Class split seed", min=0, max=10_000, step=1)


def split_classes(n: int, val_fraction: float, test_fraction: float, seed: int) -> dict[str, tuple[int, ...]]:
    """A seeded random partition of range(n) into train / val / test; val and test get at least one class
    when their fraction is positive."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    n_test = max(int(round(n * test_fraction)), 1 if test_fraction > 0 else 0)
    n_val = max(int(round(n * val_fraction)), 1 if val_fraction > 0 else 0)
    if n_test + n_val >= n:
        raise ValueError(f"{n} classes cannot be split into meta-train, meta-validation ({n_val}) and meta-test "
                         f"({n_test}) classes: lower the shares or add classes")
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return {"train": tuple(sorted(train)), "val": tuple(sorted(val or test)), "test": tuple(sorted(test or val))}


@functools.lru_cache(maxsize=8)
def folder_pool(path: str, size: int, rgb: bool, val_fraction: float, test_fraction: float, seed: int) -> ClassPool:
    data = load_folder(path, size, rgb)
    return ClassPool(data.images, data.labels, data.names,
                     split_classes(len(data.names), val_fraction, test_fraction, seed))


class ImageFolder(PoolTasks):
    __doc__ = __doc__
    name = "image-folder"
    title = "Image folder (your own classes)"
    Config = ImageFolderConfig

    def __init__(self, config: ImageFolderConfig | None = None):
        super().__init__(config)
        c = self.config
        if not c.path:
            raise ValueError("choose an image folder: one subfolder of images per class")
        self.pool = folder_pool(c.path, c.size, c.rgb, c.val_fraction, c.test_fraction, c.split_seed)
        for split in SPLITS:  # fail now, with the reason, rather than at the first sample
            self.pool.check(split, c.n_way, c.k_shot + c.n_query)

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (3 if self.config.rgb else 1, self.config.size, self.config.size)

