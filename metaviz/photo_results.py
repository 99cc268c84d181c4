"""What the Your Data page shows for the photo model: embeddings cached per upload, a head's predictions,
leave-one-out with probabilities (for a reliability diagram of the chosen model on the user's own photos),
and whether images look like photos or drawings (to suggest a model).

The backbone runs once per set of images (:func:`embed_sets`, ~0.1 s an image on a CPU); the heads then work
on the stored features, so switching between nearest prototype, logistic regression and fine-tuning is instant
for the first two (Tian et al. 2020, :mod:`metaviz.photo_heads`). Everything returned is numpy.

Reliability on the user's own examples. Each support example of a class with at least two is held out and
classified from the rest with the chosen head (as :func:`metaviz.photoshot.leave_one_out`), and its
probabilities are kept, with the head's temperature (``photoshot.temperature``) and without (T = 1), so the
page can draw the confidence against the accuracy of both (:func:`metaviz.calibration.reliability`, 15 bins).
With a dozen photos the bins are coarse: the diagram says what this model does on *these* photos.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaviz import backbones, photoshot
from metaviz.calibration import Reliability, reliability, softmax

MAX_HELD_OUT = photoshot.MAX_HELD_OUT
MAX_HELD_OUT_FINETUNE = 12  # fine-tuning runs its inner loop once per held-out example: ~1 s each on a CPU
COLOURFUL = 0.06  # mean (max - min) over the RGB channels above which an image counts as a colour photo


@dataclass(frozen=True)
class HeldOut:
    """Leave-one-out on the support set: scored [S] bool, probabilities [S, n] at the head's temperature and
    raw [S, n] at T = 1 (NaN rows where not scored), labels [S]."""

    scored: np.ndarray
    probabilities: np.ndarray
    raw: np.ndarray
    labels: np.ndarray

    @property
    def accuracy(self) -> float:
        s = self.scored
        return float((self.probabilities[s].argmax(-1) == self.labels[s]).mean()) if s.any() else float("nan")

    def reliability(self, calibrated: bool = True) -> Reliability:
        s = self.scored
        return reliability((self.probabilities if calibrated else self.raw)[s], self.labels[s])


@dataclass(frozen=True)
class PhotoResult:
    prediction: photoshot.PhotoPrediction | None
    held_out: HeldOut
    familiarity: photoshot.Familiarity
    temperature: float
    stored: dict  # the engine's stored calibration for this backbone and head ({} when none)


def embed_sets(support_images: np.ndarray, query_images: np.ndarray | None, backbone: str = backbones.DEFAULT):
    """(support, queries or None) as ``photoshot.Embedded``, one pass of the frozen backbone over both."""
    net = backbones.load(backbone)
    everything = support_images if query_images is None else np.concatenate([support_images, query_images])
    both = photoshot.embed(everything, backbone, net=net)
    s = len(support_images)
    return both.take(np.arange(s)), None if query_images is None else both.take(np.arange(s, len(both)))


def held_out(support: photoshot.Embedded, labels: np.ndarray, head: str, n_classes: int, seed: int = 0) -> HeldOut:
    """Leave-one-out (module docstring) with probabilities, at most :data:`MAX_HELD_OUT` examples
    (:data:`MAX_HELD_OUT_FINETUNE` for the fine-tuning head)."""
    y = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(y, minlength=n_classes)
    cap = MAX_HELD_OUT_FINETUNE if head == "finetune" else MAX_HELD_OUT
    held = [i for i in range(len(y)) if counts[y[i]] >= 2][:cap]
    t = photoshot.temperature(support.backbone, head)
    net = backbones.load(support.backbone) if head == "finetune" else None
    probabilities, raw = np.full((len(y), n_classes), np.nan), np.full((len(y), n_classes), np.nan)
    for i in held:
        keep = np.arange(len(y)) != i
        logits = photoshot.head_logits(head, support.take(keep), y[keep], support.take([i]), n_classes, seed, net)
        probabilities[i], raw[i] = softmax(logits, t)[0], softmax(logits, 1.0)[0]
    scored = np.zeros(len(y), bool)
    scored[held] = True
    return HeldOut(scored, probabilities, raw, y)


def result(support: photoshot.Embedded, labels: np.ndarray, queries: photoshot.Embedded | None,
           classes: tuple[str, ...], head: str, seed: int = 0) -> PhotoResult:
    """The chosen head's predictions for ``queries`` (None without queries), leave-one-out and familiarity."""
    if len(classes) < 2:
        raise ValueError(f"classification needs at least two classes with images; there are {len(classes)}")
    net = backbones.load(support.backbone) if head == "finetune" else None
    prediction = None if queries is None or not len(queries) else photoshot.classify_embedded(
        support, labels, queries, classes, head, seed=seed, net=net)
    everything = support if queries is None else support + queries
    return PhotoResult(prediction, held_out(support, labels, head, len(classes), seed),
                       photoshot.familiarity(everything), photoshot.temperature(support.backbone, head),
                       dict(photoshot.calibration().get(support.backbone, {}).get(head, {})))




THUMB = 32  # side of the photos kept with the embedding plane (the hover / selection thumbnails)


def embedding_plane(support: photoshot.Embedded, labels: np.ndarray, queries: photoshot.Embedded | None,
                    predicted: np.ndarray | None, classes: tuple[str, ...], images: np.ndarray | None = None,
                    grid: int = 80):
    """The user's support and query photos and the class prototypes in the backbone's feature space, as the
    prototype head sees it (features scaled to unit length, :func:`metaviz.photo_heads.prototype`), on the top
    two principal components of the photos: a ``metaviz.analysis.embedding.EmbeddingResult``. Queries are
    coloured by ``predicted``; ``nearest`` is each point's nearest prototype in the full space. ``images``
    [S + Q, 3, H, W] in [0, 1] (support then queries): kept as :data:`THUMB`-pixel thumbnails."""
    from metaviz.analysis import embedding as em

    def unit(f: np.ndarray) -> np.ndarray:
        return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)

    n, y = len(classes), np.asarray(labels, dtype=np.int64)
    zs = unit(np.asarray(support.features, np.float64))
    zq = unit(np.asarray(queries.features, np.float64)) if queries is not None else np.zeros((0, zs.shape[1]))
    prototypes = em.class_means(zs, y, n)
    points = np.concatenate([zs, zq])
    pca = em.fit_pca(points)
    coords = pca.transform(np.concatenate([points, prototypes]))
    q_labels = np.asarray(predicted, np.int64) if predicted is not None else em.nearest(zq, prototypes)
    x_range, y_range = em.padded_range(coords[:, 0]), em.padded_range(coords[:, 1])
    thumbs = None
    if images is not None and len(images):
        step = max(1, images.shape[-1] // THUMB)
        thumbs = np.ascontiguousarray(images[:, :, ::step, ::step])
    return em.EmbeddingResult(coords, np.concatenate([y, q_labels, np.arange(n)]),
                              np.array(["support"] * len(zs) + ["query"] * len(zq) + ["prototype"] * n), tuple(classes),
                              np.concatenate([em.nearest(points, prototypes), np.arange(n)]),
                              em.decision_regions(coords[-n:], x_range, y_range, grid), thumbs,
                              axis_titles=(f"PC 1 ({pca.explained[0]:.0%})", f"PC 2 ({pca.explained[1]:.0%})"))


def untempered(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits) from p = softmax(logits / T): softmax(T log p), exact (the normaliser of p cancels);
    rows of NaN stay NaN. For a reliability diagram at T = 1 of a model that stores only scaled probabilities."""
    with np.errstate(divide="ignore"):
        return softmax(temperature * np.log(np.asarray(probabilities, dtype=np.float64)), 1.0)


def image_kind(images: np.ndarray) -> str | None:
    """"photos" when most of ``images`` [M, 3, H, W] in [0, 1] are in colour, "drawings" when most are grey
    (pen on paper, a canvas, Omniglot), None for no images: which kind of model to suggest."""
    if len(images) == 0:
        return None
    spread = (images.max(1) - images.min(1)).mean((1, 2))  # [M]: 0 for grey pixels
    return "photos" if 2 * int((spread > COLOURFUL).sum()) > len(images) else "drawings"


def how_to_get(name: str) -> dict[str, str]:
    """The parts of ``Backbone.how_to_get`` for a translated sentence: title, url, file, package, cache, env."""
    import torch.hub

    b = backbones.get(name)
    return dict(backbone=b.title, url=b.url, file=b.filename, package=b.package.replace("_", "-"),
                cache=str(torch.hub.get_dir()) + "/checkpoints", env=backbones.ENV)


# ---- the lesson's photos: scikit-learn's two bundled sample images, no download -----------------------------

SAMPLES = {"palace": "china.jpg", "flower": "flower.jpg"}  # class -> scikit-learn's bundled photo


@dataclass(frozen=True)
class Contrast:
    """One photo task through two models: crops [S + Q] uint8 [side, side, 3] (support then queries), labels,
    and each model's query probabilities [Q, 2] (the photo model's with its temperature, the drawing model's with
    its checkpoint's)."""

    crops: np.ndarray
    support_y: np.ndarray
    query_y: np.ndarray
    classes: tuple[str, ...]
    photo: np.ndarray
    drawing: np.ndarray


def sample_crops(k_shot: int, n_query: int, seed: int, side: int = 112):
    """Random square crops of the bundled photos, resized to side x side: (crops [2 (K + Q), side, side, 3] uint8,
    labels); per class K support crops then Q query crops."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    rng = np.random.default_rng(seed)
    crops, labels = [], []
    for label, name in enumerate(SAMPLES.values()):
        photo = load_sample_image(name)  # [427, 640, 3]
        h, w = photo.shape[:2]
        for _ in range(k_shot + n_query):
            s = int(rng.integers(h // 3, h * 3 // 4))
            y, x = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
            crops.append(np.asarray(Image.fromarray(photo[y:y + s, x:x + s]).resize((side, side))))
            labels.append(label)
    return np.stack(crops), np.array(labels)


def contrast(config, params, temperature: float, k_shot: int = 3, n_query: int = 3, seed: int = 0) -> Contrast:
    """The same photo task (:func:`sample_crops`) through the photo model (EfficientNet-Lite0, nearest prototype)
    and through a meta-trained drawing model (``config``, ``params``: a checkpoint), each on its own preprocessing."""
    import io

    from PIL import Image

    from metaviz import fewshot
    from metaviz.data.uploads import example_from_bytes, preprocessing_for

    crops, labels = sample_crops(k_shot, n_query, seed)
    per = k_shot + n_query
    is_support = np.tile(np.arange(per) < k_shot, len(SAMPLES))
    classes = tuple(SAMPLES)
    emb = photoshot.embed(list(crops))
    photo = photoshot.classify_embedded(emb.take(is_support), labels[is_support], emb.take(~is_support), classes)
    spec = preprocessing_for(config)

    def as_drawing(i: int) -> np.ndarray:
        buffer = io.BytesIO()
        Image.fromarray(crops[i]).save(buffer, format="PNG")
        return example_from_bytes(f"{i}.png", buffer.getvalue(), spec).image  # as an upload would be

    seen = np.stack([as_drawing(i) for i in range(len(crops))])
    drawing = fewshot.classify(config, params, seen[is_support], labels[is_support], seen[~is_support], classes,
                               temperature=temperature)
    return Contrast(crops, labels[is_support], labels[~is_support], classes, photo.probabilities,
                    drawing.probabilities)
