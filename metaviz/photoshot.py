"""Few-shot on your photos: a pretrained ImageNet backbone, frozen, and a simple head on its features.

    from metaviz import photoshot
    support = photoshot.embed(images)            # PIL images, uint8 [H, W, 3] arrays, or preprocessed [M, 3, 224, 224]
    queries = photoshot.embed(query_images)
    p = photoshot.classify_embedded(support, labels, queries, ("cat", "dog"), head="prototype")
    p.probabilities  # [Q, 2], calibrated with the temperature fitted for this backbone and head

The idea (Tian et al. 2020, :mod:`metaviz.photo_heads`): a network trained on ImageNet's 1.3 million
photos of 1000 classes already maps photos to features in which new classes fall apart; a few
examples and a nearest-prototype or logistic head are enough, and fine-tuning the last block with a
few MAML-style inner steps can adapt the features themselves. Meta-learning's "learn to learn" is
replaced here by "learn a good embedding once" -- the baseline that meta-learners are measured against.

How unlike ImageNet a photo is (:func:`shift` and :func:`familiarity`) is measured with the network's
own statistics, not with a data set: every BatchNorm layer stores the running mean mu_c and variance
sigma_c^2 of its input channel c over ImageNet training images. For an image x with spatial mean
m_c(x) of channel c, the law of total variance gives, over ImageNet images,

    E[(m_c(x) - mu_c)^2] = Var(m_c) = sigma_c^2 - E[within-image variance] <= sigma_c^2,

so the shift  D(x) = mean over layers and channels of (m_c(x) - mu_c)^2 / sigma_c^2  has mean at most 1
on the training distribution (the BatchNorm statistics come from augmented training crops, so this is a
guide, not a guarantee). The bound is loose and the statistic is weak, said plainly: measured with
EfficientNet-Lite0, 24 crops of scikit-learn's two sample photos score 0.12 to 0.41, six Omniglot
drawings 0.36 to 0.39, flat greys 0.37 to 0.42, black 0.44, white 0.50, pure red 0.75 and a
checkerboard 1.14 (docs/benchmarks.md). So D > :data:`SHIFT_LIMIT` flags images far from any photo
(flat bright colours, patterns), while pen drawings on paper overlap with photos and are *not* reliably
flagged: an ImageNet network sees a drawing as a picture of some object. So :func:`familiarity` also asks
a plain image question, :mod:`metaviz.drawing_check` (mostly even light paper with some dark ink?), which
does flag pen drawings and Omniglot's characters and almost no photo crops. A hint, not a verdict.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from metaviz import backbones, drawing_check, photo_heads
from metaviz.calibration import softmax
from metaviz.data.uploads import Preprocessing, QuerySet, SupportSet, preprocess

MODEL_NAME = "photos"  # the zoo name (``python -m metaviz predict --model photos``)
PREPROCESSING = Preprocessing(backbones.INPUT_SIZE, 3, ink=False, source="ImageNet photos", crop=True)
CALIBRATION_FILE = Path(__file__).resolve().parent / "zoo" / "photos.json"
SHIFT_LIMIT = 0.45  # D(x) above this: unlike ImageNet's photos (measured values: docs/benchmarks.md)
BATCH = 16  # images per forward pass
MAX_HELD_OUT = 60


@dataclass(frozen=True)
class Embedded:
    """What the backbone makes of M images: ``features`` [M, D] (pooled penultimate layer), ``trunk``
    [M, C, h, w] (the input of the last block, for :func:`metaviz.photo_heads.finetune`), ``shift`` [M]
    (:func:`shift`), ``imagenet`` [M, 1000] (ImageNet class probabilities) and ``paper``, ``ink`` [M]
    (:func:`metaviz.drawing_check.paper_and_ink`: does it look like a drawing). ``backbone``: its name."""

    features: np.ndarray
    trunk: np.ndarray
    shift: np.ndarray
    imagenet: np.ndarray
    paper: np.ndarray
    ink: np.ndarray
    backbone: str

    ARRAYS = ("features", "trunk", "shift", "imagenet", "paper", "ink")

    def __len__(self) -> int:
        return len(self.features)

    def take(self, index) -> Embedded:
        return Embedded(*(getattr(self, f)[index] for f in self.ARRAYS), self.backbone)

    def __add__(self, other: Embedded) -> Embedded:
        """Both sets, this one first (same backbone)."""
        if other.backbone != self.backbone:
            raise ValueError(f"cannot join features of {self.backbone} and {other.backbone}")
        return Embedded(*(np.concatenate([getattr(self, f), getattr(other, f)]) for f in self.ARRAYS), self.backbone)


def as_inputs(images) -> np.ndarray:
    """Images -> float32 [M, 3, 224, 224] in [0, 1] (:data:`PREPROCESSING`: RGB, shorter side 256, centre
    crop). Takes PIL images, uint8 [H, W, 3] (or [H, W]) arrays, or an already preprocessed array."""
    if isinstance(images, np.ndarray) and images.ndim == 4 and images.shape[1:] == PREPROCESSING.image_shape:
        return images.astype(np.float32, copy=False)
    out = []
    for img in images:
        if not isinstance(img, Image.Image):
            img = Image.fromarray(np.asarray(img, dtype=np.uint8))
        out.append(preprocess(img.convert("RGB"), PREPROCESSING))
    return np.stack(out).astype(np.float32) if out else np.zeros((0, *PREPROCESSING.image_shape), np.float32)


def normalised(x: np.ndarray, backbone: str) -> torch.Tensor:
    """[M, 3, H, W] in [0, 1] -> (x - mean) / std with the backbone's own mean and std."""
    spec = backbones.get(backbone)
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    return (torch.as_tensor(x, dtype=torch.float32) - mean) / std


def _shift_hooks(net: nn.Module, out: list[torch.Tensor]):
    def hook(module, inputs, _output):
        m = inputs[0].mean((2, 3))  # [B, C]
        out.append(((m - module.running_mean) ** 2 / (module.running_var + module.eps)).mean(1))
    return [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.BatchNorm2d)]


def embed(images, backbone: str = backbones.DEFAULT, weights: str | Path | None = None,
          net: nn.Module | None = None) -> Embedded:
    """Run the frozen backbone over ``images`` (see :func:`as_inputs`) in batches of :data:`BATCH`.
    ``net``: an already loaded backbone (default: ``backbones.load(backbone, weights)``). Each image's
    outputs depend on that image alone (BatchNorm uses running statistics)."""
    net = backbones.load(backbone, weights) if net is None else net
    x = as_inputs(images)
    feats, trunks, shifts, probs = [], [], [], []
    for start in range(0, len(x), BATCH):
        layer_shifts: list[torch.Tensor] = []
        hooks = _shift_hooks(net, layer_shifts)
        try:
            with torch.no_grad():
                trunk = net(normalised(x[start:start + BATCH], backbone), part="trunk")
                f = net(trunk, part="tail")
        finally:
            for h in hooks:
                h.remove()
        trunks.append(trunk.numpy())
        feats.append(f.numpy())
        shifts.append(torch.stack(layer_shifts).mean(0).numpy())
        with torch.no_grad():
            probs.append(torch.softmax(net.imagenet_logits(f), -1).numpy())
    if not feats:
        dim = backbones.get(backbone).feature_dim
        return Embedded(np.zeros((0, dim), np.float32), np.zeros((0, 1, 1, 1), np.float32), np.zeros(0),
                        np.zeros((0, 1000), np.float32), np.zeros(0), np.zeros(0), backbone)
    paper, ink = drawing_check.paper_and_ink(x)
    return Embedded(np.concatenate(feats), np.concatenate(trunks), np.concatenate(shifts).astype(np.float64),
                    np.concatenate(probs), paper, ink, backbone)


# ---- calibration -------------------------------------------------------------------------------------------

@functools.cache
def calibration() -> dict:
    """The stored calibration (``metaviz/zoo/photos.json``, written by ``scripts/calibrate_photos.py``):
    {backbone: {head: {"temperature": T, "ece_before": ..., "ece_after": ..., ...}}, "data": how}."""
    if not CALIBRATION_FILE.is_file():
        return {}
    return json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))


def temperature(backbone: str, head: str) -> float:
    """The temperature fitted for this backbone and head on meta-validation tasks (1.0 if none is stored)."""
    return float(calibration().get(backbone, {}).get(head, {}).get("temperature", 1.0))


# ---- classifying -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PhotoPrediction:
    """probabilities [Q, n] = softmax(logits / temperature), predicted [Q], logits [Q, n] (before the
    temperature), the head and backbone used, and the queries' :func:`shift` values [Q]."""

    classes: tuple[str, ...]
    probabilities: np.ndarray
    predicted: np.ndarray
    logits: np.ndarray
    temperature: float
    head: str
    backbone: str
    shift: np.ndarray


def head_logits(head: str, support: Embedded, support_y: np.ndarray, query: Embedded, n_classes: int,
                seed: int = 0, net: nn.Module | None = None, **options) -> np.ndarray:
    """logits [Q, n] of one head of :mod:`metaviz.photo_heads` (``finetune`` needs the backbone ``net``)."""
    if head not in photo_heads.HEADS:
        raise ValueError(f"unknown head {head!r}: choose one of {', '.join(photo_heads.HEADS)}")
    if n_classes < 2:
        raise ValueError(f"classification needs at least two classes with images; there are {n_classes}")
    if head == "finetune":
        net = backbones.load(support.backbone) if net is None else net
        return photo_heads.finetune(net, support.trunk, support_y, query.trunk, n_classes, seed, **options)
    return photo_heads.HEADS[head](support.features, support_y, query.features, n_classes, seed, **options)


def classify_embedded(support: Embedded, support_y: np.ndarray, query: Embedded, classes: Sequence[str],
                      head: str = "prototype", temperature: float | None = None, seed: int = 0,
                      net: nn.Module | None = None, **options) -> PhotoPrediction:
    """Classify embedded queries from an embedded support set (support_y [S] in 0..n-1). ``temperature``:
    default, the stored calibration for this backbone and head (:func:`temperature`)."""
    t = globals()["temperature"](support.backbone, head) if temperature is None else float(temperature)
    logits = head_logits(head, support, np.asarray(support_y), query, len(classes), seed, net, **options)
    p = softmax(logits, t)
    return PhotoPrediction(tuple(classes), p, p.argmax(-1), logits, t, head, support.backbone, query.shift)


def classify(support_images, support_y, query_images, classes: Sequence[str], head: str = "prototype",
             backbone: str = backbones.DEFAULT, weights: str | Path | None = None,
             temperature: float | None = None, seed: int = 0, **options) -> PhotoPrediction:
    """:func:`embed` both sets with ``backbone`` and :func:`classify_embedded`."""
    net = backbones.load(backbone, weights)
    support = embed(support_images, backbone, net=net)
    query = embed(query_images, backbone, net=net)
    return classify_embedded(support, support_y, query, classes, head, temperature, seed, net, **options)


def leave_one_out(support: Embedded, support_y: np.ndarray, head: str = "prototype", seed: int = 0,
                  net: nn.Module | None = None) -> tuple[float | None, int]:
    """Accuracy from holding out each support example (of a class with >= 2) and classifying it from the
    rest (at most :data:`MAX_HELD_OUT`); -> (accuracy or None when nothing could be held out, count)."""
    y = np.asarray(support_y, dtype=np.int64)
    n = int(y.max()) + 1 if len(y) else 0
    counts = np.bincount(y, minlength=n)
    held = [i for i in range(len(y)) if counts[y[i]] >= 2][:MAX_HELD_OUT]
    right = 0
    for i in held:
        keep = np.arange(len(y)) != i
        logits = head_logits(head, support.take(keep), y[keep], support.take([i]), n, seed, net)
        right += int(logits[0].argmax() == y[i])
    return (right / len(held) if held else None), len(held)


# ---- how unlike ImageNet ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Familiarity:
    """verdict "familiar", "some" or "unlike" (at least half the images); shift [M] (:func:`shift`);
    outside [M] bool (shift > limit); drawn [M] bool (:func:`metaviz.drawing_check.looks_drawn`); message in
    plain words."""

    verdict: str
    message: str
    shift: np.ndarray
    outside: np.ndarray
    drawn: np.ndarray
    limit: float = SHIFT_LIMIT

    @property
    def unlike(self) -> np.ndarray:
        """[M] bool: unlike ImageNet's photos by either check."""
        return self.outside | self.drawn


def familiarity(embedded: Embedded, names: Sequence[str] = ()) -> Familiarity:
    """Whether the images look like ImageNet's photos to the backbone (the BatchNorm shift, module docstring)
    and whether they look like drawings on paper (:mod:`metaviz.drawing_check`)."""
    d = np.asarray(embedded.shift, dtype=np.float64)
    outside = d > SHIFT_LIMIT
    drawn = drawing_check.looks_drawn(embedded.paper, embedded.ink)
    unlike = outside | drawn
    m, k = len(d), int(unlike.sum())
    title = backbones.get(embedded.backbone).title
    if m == 0:
        return Familiarity("familiar", "No images to check.", d, outside, drawn)
    if k == 0:
        return Familiarity("familiar", f"Your images look like the photos {title} was trained on (ImageNet): their "
                           f"BatchNorm shift is at most {d.max():.2f}, under the limit of {SHIFT_LIMIT:g}, and none "
                           "looks like a drawing on paper.", d, outside, drawn)
    verdict = "unlike" if 2 * k >= m else "some"
    parts = []
    if outside.any():
        which = _listed(names, outside)
        parts.append(f"{int(outside.sum())} of your {m} images{which} look unlike the photos {title} was trained on "
                     f"(ImageNet): their BatchNorm shift is {d[outside].mean():.2f} on average, over the limit of "
                     f"{SHIFT_LIMIT:g} (photos scored 0.12 to 0.41 in our checks). Its features for them may mean "
                     "little.")
    if drawn.any():
        parts.append(f"{int(drawn.sum())} of your {m} images{_listed(names, drawn)} look like drawings on paper "
                     f"(mostly even light background with dark strokes); {title} was trained on photos: a model "
                     "meta-trained on drawings (Omniglot) may suit them better.")
    return Familiarity(verdict, " ".join(parts), d, outside, drawn)


def _listed(names: Sequence[str], which: np.ndarray) -> str:
    shown = [names[i] for i in np.flatnonzero(which)[:5]] if len(names) == len(which) else []
    return f" ({', '.join(shown)}{', ...' if int(which.sum()) > len(shown) else ''})" if shown else ""


def describe() -> dict:
    """The photo model for pickers: what it suits, its backbones (None: usable; else how to get the weights)
    and its heads."""
    return {"suits": "photos", "kind": "pretrained", "title": "pretrained ImageNet backbone + few-shot head",
            "preprocessing": PREPROCESSING.describe(), "backbones": backbones.available(),
            "default_backbone": backbones.DEFAULT, "heads": dict(photo_heads.TITLES)}


def arrays(support: SupportSet, queries: QuerySet | None = None):
    """(support images [S, 3, 224, 224], labels [S], query images [Q, ...] or None) from sets taken in with
    :data:`PREPROCESSING` (``metaviz.data.uploads``)."""
    x, y = support.arrays()
    return x, y, (queries.arrays() if queries is not None and queries.examples else None)
