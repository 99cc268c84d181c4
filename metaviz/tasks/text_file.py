"""Your own sentences: a CSV (``text,label``) or JSON-lines file of labelled sentences, few-shot.

For intents, support tickets, reviews or any labelled sentences a user brings, in any language. The
file is taken in by ``metaviz.data.texts`` (size, row and length limits; bad rows named with their line
number and kept out, the valid rows kept). The labels are split at random (seeded) into disjoint
meta-train, meta-validation and meta-test classes, so that evaluation is always on classes never trained
on, as in Vinyals et al. (2016), *Matching Networks for One Shot Learning*; each task then draws N classes
of one split and K + Q sentences of each, with labels in random order. Sentences become token ids of
hashed character n-grams (``metaviz.data.tokenizer``), which works for Chinese as well as English.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.data.texts import read_sentences
from metaviz.data.tokenizer import encode_batch
from metaviz.tasks.base import SPLITS, ClassPool, EpisodeConfig
from metaviz.tasks.image_folder import split_classes
from metaviz.tasks.intents import TextTasks


@dataclass(frozen=True)
class TextFileConfig(EpisodeConfig):
    path: str = param("", "Sentences file", help="CSV with text and label columns, or JSON lines.")
    n_way: int = param(3, "N-way (classes per task)", min=2, max=30, step=1)
    k_shot: int = param(2, "K-shot (examples per class)", min=1, max=50, step=1)
    n_query: int = param(2, "Queries per class", min=1, max=50, step=1)
    val_fraction: float = param(0.2, "Meta-validation classes (share)", min=0.0, max=0.5, step=0.05)
    test_fraction: float = param(0.2, "Meta-test classes (share)", min=0.0, max=0.5, step=0.05)
    split_seed: int = param(0, "Class split seed", min=0, max=10_000, step=1)


@functools.lru_cache(maxsize=4)
def file_pool(path: str, val_fraction: float, test_fraction: float, seed: int) -> tuple[ClassPool, tuple]:
    """The file's classes split three ways, and its rejected rows."""
    rows = read_sentences(path)
    names = tuple(sorted(rows.counts()))
    if len(names) < 3:
        raise ValueError(f"{path}: {len(names)} labels with usable rows; few-shot tasks need at least 3 "
                         "(meta-train and meta-test classes are disjoint)")
    index = {n: i for i, n in enumerate(names)}
    pool = ClassPool(encode_batch(rows.texts), torch.tensor([index[y] for y in rows.labels]), names,
                     split_classes(len(names), val_fraction, test_fraction, seed))
    return pool, tuple(rows.rejected)


class TextFile(TextTasks):
    __doc__ = __doc__
    name = "text-file"
    title = "Sentences file (your own labelled text)"
    Config = TextFileConfig

    def __init__(self, config: TextFileConfig | None = None):
        super().__init__(config)
        c = self.config
        if not c.path:
            raise ValueError("choose a sentences file: a CSV with text and label columns, or JSON lines")
        self.pool, self.rejected = file_pool(c.path, c.val_fraction, c.test_fraction, c.split_seed)
        for split in SPLITS:  # fail now, with the reason, rather than at the first sample
            self.pool.check(split, c.n_way, c.k_shot + c.n_query)
