"""Omniglot: few-shot classification of handwritten characters.

Lake, Salakhutdinov and Tenenbaum (2015), *Human-level concept learning through
probabilistic program induction*, Science 350(6266). Omniglot has 1623
characters from 50 alphabets, each drawn once by 20 different people: many
classes with few examples each, the "transpose" of MNIST. People learn a new
character from a single drawing; the dataset was made to ask machines to do
the same.

A task is an N-way K-shot problem: pick N characters never seen in training,
give K drawings of each as the support set (labels 0..N-1 in random order)
and ask for the labels of other drawings of the same N characters (the query
set). Vinyals et al. (2016), *Matching Networks for One Shot Learning*, set the
5-way and 20-way, 1-shot and 5-shot protocol used since, on 28x28 images.
Santoro et al. (2016), *Meta-Learning with Memory-Augmented Neural Networks*,
added rotations by 90, 180 and 270 degrees as new classes (a rotated "b" is
not a "b"), which quadruples the classes; a rotated copy stays in the split of
its original, else a test character would leak into training.

Splits are disjoint sets of classes: meta-training sees only "train"
characters, model selection uses "val", and the score is on "test". Splitting
by *alphabet* is harder than by character, since test characters then come
from scripts never seen at all. Sources: "minimal" is the two small
background sets of the official repository (8 alphabets, 242 characters;
kept in the shared data folder, so it works offline); "background" the 964 characters of 30
alphabets; "background+evaluation" trains on background and tests on the 659
characters of the 20 official evaluation alphabets, as in Lake et al.
"Within alphabet" draws all N classes of a task from one alphabet, as the
official one-shot benchmark does: look-alike letters make it harder.
"Warp the training drawings" applies :mod:`metaviz.data.augment` to every
meta-training drawing (small affine warps, stroke thickness; Lake et al. 2019).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.data import augment
from metaviz.data.omniglot import Characters, load_characters
from metaviz.tasks.base import SPLITS, ClassPool, Episode, EpisodeConfig, TaskBatch, TaskDistribution


@dataclass(frozen=True)
class OmniglotConfig(EpisodeConfig):
    source: str = param("minimal", "Characters", options=("minimal", "background", "background+evaluation"),
                        help="minimal: 8 alphabets shipped with the project; background: 30 alphabets; "
                             "background+evaluation: train on background, test on the official evaluation set.")
    size: int = param(28, "Image size (pixels)", min=8, max=105, step=1,
                      help="Drawings are resized from 105x105 with antialiasing; 28 is the usual benchmark size.")
    rotations: bool = param(False, "Rotations as new classes",
                            help="Rotations by 90, 180 and 270 degrees count as 3 more classes (Santoro et al.).")
    split_by: str = param("character", "Split by", options=("character", "alphabet"),
                          help="alphabet: test characters come from scripts never seen in training (harder).")
    val_fraction: float = param(0.15, "Validation fraction", min=0.0, max=0.5, step=0.05)
    test_fraction: float = param(0.25, "Test fraction", min=0.0, max=0.5, step=0.05,
                                 help="Ignored for background+evaluation, whose test split is the evaluation set.")
    within_alphabet: bool = param(False, "Classes from one alphabet",
                                  help="All N classes of a task come from the same alphabet.")
    data_dir: str = param("", "Data folder",
                          help="Folder with the Omniglot zips; empty: $METAVIZ_DATA, the shared data, the cache.")
    split_seed: int = param(0, "Split seed", min=0, max=1_000_000, step=1,
                            help="Which characters (or alphabets) go to which split.")
    augment: bool = param(False, "Warp the training drawings",
                          help="Each meta-training drawing is turned, sheared, shifted and scaled a little, and "
                               "its strokes made thicker or thinner (validation and test drawings are left as "
                               "they are).")

    def __post_init__(self):
        super().__post_init__()
        test = 0.0 if self.source == "background+evaluation" else self.test_fraction
        if self.val_fraction + test >= 1.0:
            raise ValueError("OmniglotConfig: val_fraction + test_fraction must stay below 1 to leave training "
                             "classes")


@dataclass(frozen=True, eq=False)
class OmniglotPool:
    """The classes of one config. ``pool``: all classes with splits "train"/"val"/"test";
    ``alphabet[c]``: alphabet id of class c (names in ``alphabets``)."""

    pool: ClassPool
    alphabet: torch.Tensor  # [C] int64
    alphabets: tuple[str, ...]

    @functools.cached_property
    def by_alphabet(self) -> ClassPool:
        """The same examples with one split per (split, alphabet), named "train/Greek": for within-alphabet
        tasks. Built on first use only (it indexes every class again)."""
        alphabet = self.alphabet.tolist()
        splits = {f"{s}/{a}": tuple(c for c in self.pool.splits[s] if alphabet[c] == i)
                  for s in SPLITS for i, a in enumerate(self.alphabets)}
        return ClassPool(self.pool.inputs, self.pool.labels, self.pool.names, splits)


def _split(groups: list[int], fractions: dict[str, float], seed: int) -> dict[str, set[int]]:
    """Assign whole groups (characters or alphabets) to splits at random: round(fraction * count) of
    them, at least one when the fraction is positive; "train" gets the rest."""
    order = torch.randperm(len(groups), generator=torch.Generator().manual_seed(seed)).tolist()
    out, start = {}, 0
    for split, fraction in fractions.items():
        n = max(1, round(fraction * len(groups))) if fraction > 0 else 0
        out[split] = {groups[i] for i in order[start:start + n]}
        start += n
    out["train"] = {groups[i] for i in order[start:]}
    return out


@functools.lru_cache(maxsize=2)  # a rotated pool of the full sets is large: keep few
def build_pool(source: str, size: int, rotations: bool, split_by: str, val_fraction: float,
               test_fraction: float, data_dir: str, split_seed: int) -> OmniglotPool:
    """Load the characters and split them; cached, as configs differing only in N, K or Q share it."""
    parts: list[Characters] = []
    if source == "background+evaluation":
        parts = [load_characters("background", data_dir or None, size),
                 load_characters("evaluation", data_dir or None, size)]
    else:
        parts = [load_characters(source, data_dir or None, size)]
    alphabets = tuple(dict.fromkeys(a for p in parts for a in p.alphabets))
    base_alphabet = [alphabets.index(a) for p in parts for a in p.alphabets]        # per base character
    base_names = [f"{a}/{n}" for p in parts for a, n in zip(p.alphabets, p.names)]
    offsets = [sum(len(p) for p in parts[:i]) for i in range(len(parts))]
    images = torch.cat([p.images for p in parts])                                   # [M, 1, S, S]
    labels = torch.cat([p.labels + o for p, o in zip(parts, offsets)])               # [M] base character ids

    # Split whole characters or whole alphabets; the evaluation set, when used, is the test split.
    n_fit = len(parts[0])
    fractions = {"val": val_fraction} if len(parts) == 2 else {"test": test_fraction, "val": val_fraction}
    groups = sorted(set(base_alphabet[:n_fit])) if split_by == "alphabet" else list(range(n_fit))
    chosen = _split(groups, fractions, split_seed)
    key = base_alphabet if split_by == "alphabet" else list(range(len(base_names)))
    base_splits = {s: [c for c in range(n_fit) if key[c] in chosen[s]] for s in chosen}
    if len(parts) == 2:
        base_splits["test"] = list(range(n_fit, len(base_names)))

    if rotations:  # class 4c + r is base character c turned by r * 90 degrees, in c's split
        images = torch.cat([torch.rot90(images, r, dims=(-2, -1)) for r in range(4)])
        labels = torch.cat([labels * 4 + r for r in range(4)])
        names = tuple(f"{n} rot{90 * r}" if r else n for n in base_names for r in range(4))
        class_alphabet = torch.tensor(base_alphabet).repeat_interleave(4)
        splits = {s: tuple(4 * c + r for c in cs for r in range(4)) for s, cs in base_splits.items()}
    else:
        names, class_alphabet = tuple(base_names), torch.tensor(base_alphabet)
        splits = {s: tuple(cs) for s, cs in base_splits.items()}
    groups = tuple(alphabets[a] for a in class_alphabet.tolist())
    return OmniglotPool(ClassPool(images, labels, names, splits, groups), class_alphabet, alphabets)


class Omniglot(TaskDistribution):
    __doc__ = __doc__
    name = "omniglot"
    title = "Omniglot characters (few-shot classification)"
    kind = "classification"
    Config = OmniglotConfig

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (1, self.config.size, self.config.size)

    @property
    def out_dim(self) -> int:
        return self.config.n_way

    @property
    def data(self) -> OmniglotPool:
        """Classes and splits of this config, loaded on first use (FileNotFoundError says where to put data)."""
        c = self.config
        return build_pool(c.source, c.size, c.rotations, c.split_by, c.val_fraction, c.test_fraction, c.data_dir,
                          c.split_seed)

    @property
    def pool(self) -> ClassPool:
        """All classes and their splits (what the Task Builder draws)."""
        return self.data.pool

    def sample(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> TaskBatch:
        """support_x [T, N*K, 1, S, S] float32, support_y [T, N*K] int64 (0..N-1); query_x/y likewise with Q;
        truth["classes"] [T, N] class ids, truth["alphabet"] [T, N] alphabet ids."""
        batch = self._sample(n_tasks, generator, split)
        if not (self.config.augment and split == "train"):
            return batch
        e = batch.episode
        return TaskBatch(Episode(augment.warp(e.support_x, generator), e.support_y,
                                 augment.warp(e.query_x, generator), e.query_y), batch.truth)

    def _sample(self, n_tasks: int, generator: torch.Generator, split: str) -> TaskBatch:
        c, data = self.config, self.data
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        n_classes = len(data.pool.splits[split])
        if n_classes < c.n_way:
            raise ValueError(f"Omniglot's {split} split has {n_classes} classes (source={c.source}, "
                             f"split_by={c.split_by}) but N-way = {c.n_way}: lower N-way, turn on rotations, "
                             f"use a larger source or raise the {split} fraction")
        data.pool.check(split, c.n_way, c.k_shot + c.n_query)
        if not c.within_alphabet:
            batch = data.pool.episodes(n_tasks, generator, split, c.n_way, c.k_shot, c.n_query)
            return TaskBatch(batch.episode, {**batch.truth, "alphabet": data.alphabet[batch.truth["classes"]]})

        pool = data.by_alphabet
        eligible = [a for a in data.alphabets if len(pool.splits[f"{split}/{a}"]) >= c.n_way]
        if not eligible:
            largest = max(len(pool.splits[f"{split}/{a}"]) for a in data.alphabets)
            raise ValueError(f"within_alphabet needs an alphabet with at least N-way = {c.n_way} classes in the "
                             f"{split} split, but the largest has {largest}: lower N-way, turn on rotations or "
                             f"split by alphabet")
        picks = torch.randint(len(eligible), (n_tasks,), generator=generator).tolist()  # uniform over alphabets
        tasks = [pool.episodes(1, generator, f"{split}/{eligible[i]}", c.n_way, c.k_shot, c.n_query)
                 for i in picks]
        episode = Episode(*(torch.cat(parts) for parts in zip(*(t.episode for t in tasks))))
        classes = torch.cat([t.truth["classes"] for t in tasks])
        return TaskBatch(episode, {"classes": classes, "alphabet": data.alphabet[classes]})
