"""The official Omniglot one-shot classification benchmark and its Modified Hausdorff baseline.

Lake, Salakhutdinov and Tenenbaum (2015), Science: 20 runs, each a 20-way one-shot problem
within one evaluation alphabet. A run has 20 training images (one drawing of each of 20
characters) and 20 test images (another person's drawing of each). For each test item a
method gives a cost to every training image; the cheapest one is the prediction. The error
of a run is the percentage of wrong predictions, the score the mean error over the runs.
Evaluate on it only: never train or tune on these images.

Baseline (the official demo, reimplemented): an image is the set of its ink pixels'
(row, col) coordinates, centred on their mean. With d(a, B) = min_b ||a - b||, the
Modified Hausdorff Distance (Dubuisson and Jain, 1994) is

    MHD(A, B) = max( mean_a d(a, B), mean_b d(b, A) ).

It scores 38.75% mean error (the official README rounds to 38.8%).

Layout of ``all_runs.zip`` (or of the folder it extracts to)::

    run01/class_labels.txt   lines "run01/test/item01.png run01/training/class08.png"
    run01/training/class01.png ... class20.png;   run01/test/item01.png ... item20.png
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from metaviz.data.omniglot import Archive, find_or_download


class Run(NamedTuple):
    """One 20-way one-shot problem. Images are ink masks (True where the pixel is black)."""

    name: str            # "run01"
    train: np.ndarray    # [20, 105, 105] bool, sorted by file name (class01 ... class20)
    test: np.ndarray     # [20, 105, 105] bool, sorted by file name (item01 ... item20)
    answers: np.ndarray  # [20] int64: index into ``train`` of each test item's character


class Score(NamedTuple):
    errors: np.ndarray  # [R] percent error of each run
    mean: float         # mean of ``errors``, percent


CostFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

_RUN = re.compile(r"(?:^|/)run\d+$")


def _has_runs(folder: Path) -> bool:
    return any(p.is_dir() and _RUN.search(p.name) for p in folder.iterdir())


def find_runs(data_dir: str | os.PathLike | None = None, download: bool = False) -> Path:
    """``data_dir`` itself when it holds the extracted runs (run01/ ...), else ``all_runs.zip`` or an
    ``all_runs/`` folder on the usual search path (see :func:`metaviz.data.omniglot.search_dirs`)."""
    if data_dir and Path(data_dir).is_dir() and _has_runs(Path(data_dir)):
        return Path(data_dir)
    return find_or_download("all_runs.zip", data_dir, download)


def read_ink(png: bytes) -> np.ndarray:
    """bool [H, W], True on black pixels: the official demo's ``not imread(..., flatten=True)``."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("L")) == 0


def load_runs(path: str | os.PathLike) -> list[Run]:
    """All runs of ``all_runs.zip``, of its extracted folder, or of a folder holding either."""
    path = Path(path)
    if path.is_dir() and not _has_runs(path):
        path = find_runs(path)
    runs = []
    with Archive(path) as archive:
        labels = [f for f in archive.files if PurePosixPath(f).name == "class_labels.txt"]
        for label_file in sorted(labels):
            run_dir = PurePosixPath(label_file).parent
            root = "" if str(run_dir.parent) == "." else f"{run_dir.parent}/"  # the paths inside are from here
            pairs = [line.split() for line in archive.read(label_file).decode().splitlines() if line.strip()]
            answer = dict(pairs)                      # test file -> its training file
            tests, trains = sorted(answer), sorted(set(answer.values()))
            runs.append(Run(run_dir.name,
                            np.stack([read_ink(archive.read(root + f)) for f in trains]),
                            np.stack([read_ink(archive.read(root + f)) for f in tests]),
                            np.array([trains.index(answer[t]) for t in tests], dtype=np.int64)))
    if not runs:
        raise ValueError(f"no runNN/class_labels.txt in {path}: is it the official all_runs.zip?")
    return runs


def points(image: np.ndarray) -> np.ndarray:
    """Ink pixels of a bool image [H, W] as float [n, 2] (row, col) coordinates minus their mean."""
    p = np.argwhere(image).astype(float)
    if len(p) == 0:
        raise ValueError("an image without ink has no points to compare")
    return p - p.mean(axis=0)


def modified_hausdorff(a_points: np.ndarray, b_points: np.ndarray) -> float:
    """MHD(A, B) = max(mean_a min_b ||a-b||, mean_b min_a ||a-b||) for point sets [n, 2] and [m, 2]."""
    d = cdist(a_points, b_points)  # [n, m]
    return float(max(d.min(axis=1).mean(), d.min(axis=0).mean()))


def mean_nearest(query_sets: Sequence[np.ndarray], target_sets: Sequence[np.ndarray]) -> np.ndarray:
    """[len(query_sets), len(target_sets)]: entry (i, j) = mean over a in query i of min_b ||a - b||, b in target j.

    Exactly the row/column means of ``cdist`` in :func:`modified_hausdorff`, but found with a KD-tree per
    target: all-pairs ``cdist`` over 20 runs is 6.5e9 distances (about 45 s); this is ~1.4e7 tree queries.
    """
    sizes = np.array([len(p) for p in query_sets])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    stacked = np.concatenate(query_sets)  # one query call per target for all query sets: fewer Python calls
    return np.stack([np.add.reduceat(cKDTree(t).query(stacked, workers=-1)[0], starts) / sizes
                     for t in target_sets], axis=1)


def mhd_cost(train_images: np.ndarray, test_images: np.ndarray) -> np.ndarray:
    """Cost matrix [n_test, n_train] of :func:`modified_hausdorff` between the centred ink points
    of each test and each training image (the official baseline's cost)."""
    train = [points(im) for im in train_images]
    test = [points(im) for im in test_images]
    return np.maximum(mean_nearest(test, train), mean_nearest(train, test).T)


def score(runs: Sequence[Run], cost_fn: CostFn = mhd_cost) -> Score:
    """Percent error of each run and their mean. ``cost_fn(train_images, test_images)`` returns
    costs [n_test, n_train], lower meaning more alike; ties go to the first training image."""
    errors = []
    for run in runs:
        cost = np.asarray(cost_fn(run.train, run.test))
        if cost.shape != (len(run.test), len(run.train)):
            raise ValueError(f"cost_fn gave shape {cost.shape} for {run.name}; expected "
                             f"[n_test, n_train] = {(len(run.test), len(run.train))}")
        errors.append(100.0 * np.mean(cost.argmin(axis=1) != run.answers))
    errors_ = np.array(errors)
    return Score(errors_, float(errors_.mean()))


def to_tensor(images: np.ndarray, size: int = 28) -> torch.Tensor:
    """Run images as a model's input: float32 [n, 1, size, size], ink 1, resized exactly as
    :func:`metaviz.data.omniglot.preprocess` resizes training data (Lanczos)."""
    resized = [np.asarray(Image.fromarray(im.astype(np.uint8) * 255).resize((size, size), Image.Resampling.LANCZOS),
                          dtype=np.float32) / 255.0 for im in images]
    return torch.from_numpy(np.stack(resized))[:, None]
