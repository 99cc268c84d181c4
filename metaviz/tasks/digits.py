"""Handwritten digits (scikit-learn's 8x8 ``load_digits``), with classes split by the user.

Real images that ship with scikit-learn: 1,797 greyscale 8x8 digits, about 180
per class (UCI optical recognition data set, Alpaydin and Kaynak 1998). With
only ten classes, the split between meta-training and meta-testing classes is
the whole point: meta-train on 0 to 4 and meta-test on 5 to 9, and the learner
has never seen a single 7 before it must learn "7" from one example. Inputs are
the 64 pixel intensities scaled to [0, 1] (an MLP backbone).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.tasks.base import ClassPool, EpisodeConfig, PoolTasks


def parse_classes(text: str, field: str) -> tuple[int, ...]:
    """'0-4' or '0,1,2' or '01234' -> (0, 1, 2, 3, 4), with actionable errors."""
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            lo, _, hi = part.partition("-")
            if not (lo.isdigit() and hi.isdigit()) or int(lo) > int(hi):
                raise ValueError(f"{field}: cannot read {part!r}; write ranges like 0-4")
            out += range(int(lo), int(hi) + 1)
        elif part.isdigit():
            out += [int(ch) for ch in part] if len(part) > 1 else [int(part)]
        else:
            raise ValueError(f"{field}: cannot read {part!r}; write digits like 0-4 or 5,6,7")
    if any(d > 9 for d in out) or len(set(out)) != len(out):
        raise ValueError(f"{field}: digits must be 0 to 9, each once (got {text!r})")
    return tuple(out)


@dataclass(frozen=True)
class DigitsConfig(EpisodeConfig):
    n_way: int = param(3, "N-way (classes per task)", min=2, max=10, step=1)
    k_shot: int = param(1, "K-shot (examples per class)", min=1, max=50, step=1)
    n_query: int = param(10, "Queries per class", min=1, max=100, step=1)
    train_classes: str = param("0-4", "Meta-train digits", help="For example 0-4, or 0,2,4,6,8.")
    test_classes: str = param("5-9", "Meta-test digits",
                              help="Also used for meta-validation: ten digits leave no room for a third split.")

    def __post_init__(self):
        super().__post_init__()
        train = parse_classes(self.train_classes, "Meta-train digits")
        test = parse_classes(self.test_classes, "Meta-test digits")
        if set(train) & set(test):
            raise ValueError(f"meta-train and meta-test digits overlap on {sorted(set(train) & set(test))}: "
                             "the point is to test on digits never trained on")
        for name, classes in (("Meta-train", train), ("Meta-test", test)):
            if len(classes) < self.n_way:
                raise ValueError(f"{name} digits ({len(classes)}) are fewer than N-way ({self.n_way})")


@functools.cache
def digit_images() -> tuple[torch.Tensor, torch.Tensor]:
    """All of load_digits: inputs [1797, 64] in [0, 1], labels [1797]."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return torch.tensor(data.data / 16.0, dtype=torch.float32), torch.tensor(data.target)


class Digits(PoolTasks):
    __doc__ = __doc__
    name = "digits"
    title = "Digits 8x8 (scikit-learn)"
    Config = DigitsConfig
    image_shape = (1, 8, 8)  # how to draw an input; the network sees the 64 pixels as a vector

    def __init__(self, config: DigitsConfig | None = None):
        super().__init__(config)
        inputs, labels = digit_images()
        test = parse_classes(self.config.test_classes, "test")
        self.pool = ClassPool(inputs, labels, tuple(str(d) for d in range(10)),
                              {"train": parse_classes(self.config.train_classes, "train"), "val": test, "test": test})

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (64,)

