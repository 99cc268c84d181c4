"""Few-shot photo tasks that can be built offline, for calibrating and scoring the photo heads.

Natural-image few-shot benchmarks (mini-ImageNet, CUB, ...) need downloads. What ships inside
installed wheels is a handful of photographs: scikit-learn's two sample images (china.jpg, flower.jpg)
and scikit-image's bundled ``skimage.data`` images. A *class* here is one source photo; an example is
a random square crop of it (side 35 to 70% of the photo's shorter side, anywhere, mirrored half the
time). An N-way task draws N source photos, then K support and Q query crops of each.

The photos are split once, by name, into a meta-validation set (the temperature is fitted on its
tasks) and a meta-test set (ECE before and after is reported on its tasks); no photo is in both, and
the issue's own test pair (china.jpg, flower.jpg) is in the meta-test set.

The weakness, said plainly: telling crops of one photo from crops of another is *instance*
recognition. Crops of the same photo share its colours, light and texture, so these tasks are easier
than telling new object classes apart, and a temperature fitted on them may leave the head somewhat
over-confident on harder tasks (real classes). 9 + 8 source photos are few; the numbers are a sanity
check of calibration, not a benchmark of few-shot accuracy.

The *hard* splits ("hard-validation", "hard-test": same photos, other crops) make the instance cue weak, so
that a temperature can be fitted where the heads make mistakes: small crops (8 to 20% of the shorter side,
so a few texture patches instead of a scene), always turned to grey (no colour cue), random contrast and
brightness (x 0.6 to 1.4, +-40 grey levels), a Gaussian blur (radius 0 to 2 pixels of the crop) and a random
quarter turn. A class is still one photo; what remains to tell two photos apart is their texture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VALIDATION = ("astronaut", "coffee", "hubble_deep_field", "immunohistochemistry", "brick", "grass", "camera",
              "coins", "moon")
TEST = ("chelsea", "rocket", "retina", "stereo_motorcycle", "gravel", "clock", "china", "flower")
CROPS_PER_PHOTO = 24
CROP_RANGE = (0.35, 0.70)
HARD_CROP_RANGE = (0.08, 0.20)


def source_photo(name: str) -> np.ndarray:
    """A bundled photo as uint8 [H, W, 3] (greyscale ones repeated over the channels)."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        image = load_sample_image(f"{name}.jpg")
    else:
        try:
            import skimage.data
        except ImportError as error:
            raise FileNotFoundError("the offline photo tasks need scikit-image's bundled photos: pip install "
                                    "scikit-image") from error
        image = getattr(skimage.data, name)()
    if isinstance(image, tuple):  # stereo_motorcycle: (left, right, disparity)
        image = image[0]
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, 2)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


def random_crops(image: np.ndarray, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` square crops of ``image`` [H, W, 3]: side a uniform share of the shorter side in :data:`CROP_RANGE`,
    position uniform, mirrored with probability 1/2."""
    h, w = image.shape[:2]
    out = []
    for _ in range(n):
        side = int(rng.uniform(*CROP_RANGE) * min(h, w))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = image[top:top + side, left:left + side]
        out.append(crop[:, ::-1].copy() if rng.random() < 0.5 else crop.copy())
    return out


def hard_crops(image: np.ndarray, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` crops of the hard splits (module docstring): small, grey, jittered, blurred, turned; uint8 [s, s, 3]."""
    from PIL import Image, ImageFilter

    h, w = image.shape[:2]
    out = []
    for _ in range(n):
        side = max(8, int(rng.uniform(*HARD_CROP_RANGE) * min(h, w)))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        grey = image[top:top + side, left:left + side].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        grey = (grey - grey.mean()) * rng.uniform(0.6, 1.4) + grey.mean() + rng.uniform(-40, 40)
        pil = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))
        blurred = np.asarray(pil.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 2)))))
        turned = np.rot90(blurred, int(rng.integers(4)))
        out.append(np.ascontiguousarray(np.repeat(turned[..., None], 3, 2)))
    return out


@dataclass(frozen=True)
class CropPool:
    """``crops_per_photo`` crops of each photo in ``names``: ``images`` (uint8 arrays, photo by photo) and
    ``labels`` [M] (the photo's index in ``names``)."""

    names: tuple[str, ...]
    images: tuple[np.ndarray, ...]
    labels: np.ndarray


def crop_pool(names=TEST, crops_per_photo: int = CROPS_PER_PHOTO, seed: int = 0, hard: bool = False) -> CropPool:
    """Crops of each photo (:func:`random_crops`, or :func:`hard_crops` when ``hard``)."""
    rng = np.random.default_rng(seed)
    crops = hard_crops if hard else random_crops
    images, labels = [], []
    for i, name in enumerate(names):
        images += crops(source_photo(name), crops_per_photo, rng)
        labels += [i] * crops_per_photo
    return CropPool(tuple(names), tuple(images), np.array(labels, np.int64))


@dataclass(frozen=True)
class Task:
    """Indices into a pool: ``support`` [N * K] and ``query`` [N * Q], and their labels 0..N-1 in the task."""

    support: np.ndarray
    support_y: np.ndarray
    query: np.ndarray
    query_y: np.ndarray


def sample_tasks(labels: np.ndarray, n_tasks: int, n_way: int = 5, k_shot: int = 3, n_query: int = 6,
                 seed: int = 0) -> list[Task]:
    """``n_tasks`` N-way K-shot tasks from a pool's ``labels``; support and query crops never overlap."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    if n_way > len(classes):
        raise ValueError(f"{n_way}-way tasks need {n_way} photos; the pool has {len(classes)}")
    tasks = []
    for _ in range(n_tasks):
        chosen = rng.choice(classes, n_way, replace=False)
        s, q = [], []
        for c in chosen:
            members = rng.permutation(np.flatnonzero(labels == c))[:k_shot + n_query]
            s.append(members[:k_shot])
            q.append(members[k_shot:])
        tasks.append(Task(np.concatenate(s), np.repeat(np.arange(n_way), k_shot), np.concatenate(q),
                          np.repeat(np.arange(n_way), n_query)))
    return tasks


@dataclass(frozen=True)
class Scores:
    """One head on many tasks: ``logits`` [A, N] and ``labels`` [A] of every query answer (A = tasks x N x Q)."""

    logits: np.ndarray
    labels: np.ndarray

    @property
    def accuracy(self) -> float:
        return float((self.logits.argmax(1) == self.labels).mean())


def score_heads(embedded, labels: np.ndarray, heads, n_tasks: int, seed: int = 0, n_way: int = 5, k_shot: int = 3,
                n_query: int = 6, net=None, tasks_for: dict[str, int] | None = None) -> dict[str, Scores]:
    """Each head of ``heads`` on ``n_tasks`` tasks (``tasks_for[head]`` overrides the count, e.g. fewer for the
    slower fine-tuning) sampled from a pool embedded once (``embedded``: :class:`metaviz.photoshot.Embedded`
    of the pool's images, ``labels`` its photo labels). The same tasks (same seed) for every head."""
    from metaviz import photoshot

    tasks = sample_tasks(labels, n_tasks, n_way, k_shot, n_query, seed)
    out = {}
    for head in heads:
        count = (tasks_for or {}).get(head, n_tasks)
        logits, answers = [], []
        for task in tasks[:count]:
            logits.append(photoshot.head_logits(head, embedded.take(task.support), task.support_y,
                                                embedded.take(task.query), n_way, seed, net))
            answers.append(task.query_y)
        out[head] = Scores(np.concatenate(logits), np.concatenate(answers))
    return out


# photos, crop seed and crop style (hard or not) of each split
SPLITS = {"validation": (VALIDATION, 1, False), "test": (TEST, 2, False),
          "hard-validation": (VALIDATION, 3, True), "hard-test": (TEST, 4, True)}


def split_scores(split: str, backbone: str, net=None, n_tasks: int = 200, tasks_for: dict[str, int] | None = None,
                 heads=None) -> dict[str, Scores]:
    """:func:`score_heads` on the tasks of ``split`` (a key of :data:`SPLITS`), the pool embedded by ``backbone``
    (what ``scripts/calibrate_photos.py`` and ``python -m metaviz eval photos`` both run)."""
    from metaviz import photo_heads, photoshot

    photos, seed, hard = SPLITS[split]
    pool = crop_pool(photos, CROPS_PER_PHOTO, seed, hard)
    embedded = photoshot.embed(list(pool.images), backbone, net=net)
    return score_heads(embedded, pool.labels, heads or tuple(photo_heads.HEADS), n_tasks, seed, net=net,
                       tasks_for=tasks_for)
