"""The photo model's "unlike its training images" check for drawings (metaviz.drawing_check) and the hard
offline photo tasks that the temperatures are fitted on (metaviz.photo_tasks)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from sklearn.datasets import load_sample_image

from metaviz import drawing_check, photo_tasks, photoshot


def pen_drawing(seed: int, size: int = 320) -> np.ndarray:
    """A photographed pen drawing: strokes on off-white paper, a light ramp across it, sensor noise."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), (246, 243, 232))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        draw.line([tuple(rng.uniform(30, size - 30, 2)) for _ in range(4)], fill=(25, 25, 35), width=4)
    a = np.asarray(img, np.float64) * np.linspace(0.75, 1.0, size)[:, None, None] + rng.normal(0, 3, (size, size, 3))
    return np.clip(a, 0, 255).astype(np.uint8)


def photo_crops(n: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [c for name in ("china.jpg", "flower.jpg") for c in
            photo_tasks.random_crops(load_sample_image(name), n // 2, rng)]


def test_paper_and_ink_shares_match_a_hand_count():
    x = np.full((1, 3, 64, 64), 0.9)
    x[0, :, 10:12, 5:60] = 0.1                      # a 2-pixel dark line of 110 pixels on even light paper
    paper, ink = drawing_check.paper_and_ink(x)
    assert ink[0] == 110 / 64 ** 2 and paper[0] == 1 - 110 / 64 ** 2
    blank = drawing_check.paper_and_ink(np.full((1, 3, 64, 64), 0.95))
    assert blank[0][0] == 1.0 and blank[1][0] == 0.0
    assert not drawing_check.looks_drawn(*blank)[0]  # a blank page has no ink: not a drawing
    dark = drawing_check.paper_and_ink(np.full((1, 3, 64, 64), 0.2))
    assert dark[0][0] == 0.0                        # an even dark area (night sky) is not paper


def test_a_pen_drawing_is_flagged_and_photos_are_not():
    drawings = photoshot.embed([pen_drawing(s) for s in range(2)])
    photos = photoshot.embed(photo_crops())
    assert drawings.paper.min() >= drawing_check.PAPER_LIMIT and drawings.ink.min() >= drawing_check.INK_LIMIT
    fam = photoshot.familiarity(drawings, ["cat.png", "dog.png"])
    assert fam.drawn.all() and fam.unlike.all() and fam.verdict == "unlike"
    assert "drawings on paper" in fam.message and "cat.png" in fam.message
    assert not fam.outside.any()  # the BatchNorm shift alone would have called them familiar
    clean = photoshot.familiarity(photos)
    assert clean.verdict == "familiar" and not clean.drawn.any()
    mixed = photoshot.familiarity(photos + drawings)
    assert mixed.verdict == "some" and list(mixed.drawn) == [False] * 6 + [True] * 2
    assert np.allclose(photos.take([0, 1]).paper, photos.paper[:2])


def test_hard_crops_are_small_grey_and_reproducible():
    image = load_sample_image("china.jpg")
    crops = photo_tasks.hard_crops(image, 20, np.random.default_rng(0))
    shorter = min(image.shape[:2])
    for c in crops:
        assert c.dtype == np.uint8 and c.shape[0] == c.shape[1] and c.shape[2] == 3
        low, high = photo_tasks.HARD_CROP_RANGE
        assert int(low * shorter) - 1 <= c.shape[0] <= high * shorter
        assert (c[..., 0] == c[..., 1]).all() and (c[..., 1] == c[..., 2]).all()  # grey: no colour cue
    again = photo_tasks.hard_crops(image, 20, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(crops, again))
    for split in ("hard-validation", "hard-test"):
        assert photo_tasks.SPLITS[split][2] is True
    assert set(photo_tasks.SPLITS["hard-validation"][0]).isdisjoint(photo_tasks.SPLITS["hard-test"][0])
