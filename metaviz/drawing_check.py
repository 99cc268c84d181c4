"""Does an image look like a drawing on paper? A simple image statistic for the photo model's warning.

The photo model's BatchNorm shift (:func:`metaviz.photoshot.familiarity`) flags flat colours and patterns but
not pen drawings: an ImageNet network sees a drawing as a picture of some object. A drawing has a plain look
that is easy to measure directly. On the luma L of the preprocessed image (224 x 224, [0, 1]):

    background  B = Gaussian blur (sigma 4 px) of the grey closing of L (15 px: removes strokes thinner than that)
    paper share P = share of pixels with |L - B| < 0.05 where B > 0.45  (even, light background)
    ink share   I = share of pixels with L < B - 0.15                    (darker than the paper around them)

An image "looks drawn" when P >= :data:`PAPER_LIMIT` and I >= :data:`INK_LIMIT`: three quarters of it is
even light paper and some of it is ink (a blank page or a white wall has no ink). The closing follows slow
changes of light, so a drawing photographed under a lamp (a brightness ramp) still counts.

Measured (``scripts/calibrate_photos.py`` stores the photo side in ``metaviz/zoo/photos.json``): 102 random
crops of the 17 bundled photos, P 0.00 to 0.99 and I 0.000 to 0.59, of which 1 passes both limits (a crop
with a plain light area and dark detail); the 17 whole photos, none; 6 Omniglot drawings P 0.87 to 0.92,
I 0.08 to 0.12; 16 synthetic pen drawings (3 to 7 strokes, black or blue pen, off-white paper, a light ramp,
noise, JPEG) P 0.81 to 0.94, I 0.055 to 0.16: all pass. Scanned text and a silhouette pass as well, which is
right for the purpose: they are not photos either. A hint, not a verdict.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

PAPER_LIMIT = 0.75
INK_LIMIT = 0.02
LUMA = np.array([0.299, 0.587, 0.114])


def paper_and_ink(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(paper share P [M], ink share I [M]) of ``images`` [M, 3, H, W] in [0, 1] (module docstring)."""
    paper, ink = np.zeros(len(images)), np.zeros(len(images))
    for i, x in enumerate(np.asarray(images, dtype=np.float64)):
        luma = np.tensordot(LUMA, x, 1)                                               # [H, W]
        background = ndimage.gaussian_filter(ndimage.grey_closing(luma, size=15), 4)
        paper[i] = float(((np.abs(luma - background) < 0.05) & (background > 0.45)).mean())
        ink[i] = float((luma < background - 0.15).mean())
    return paper, ink


def looks_drawn(paper: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """[M] bool: mostly even light paper with some ink."""
    return (np.asarray(paper) >= PAPER_LIMIT) & (np.asarray(ink) >= INK_LIMIT)


def reference(photos: np.ndarray) -> dict:
    """What the statistic says on reference photos [M, 3, H, W] (for ``metaviz/zoo/photos.json``)."""
    paper, ink = paper_and_ink(photos)
    drawn = looks_drawn(paper, ink)
    return {"paper_limit": PAPER_LIMIT, "ink_limit": INK_LIMIT, "photos": len(paper),
            "photos_looking_drawn": int(drawn.sum()), "paper_range": [round(float(paper.min()), 3),
                                                                       round(float(paper.max()), 3)],
            "ink_range": [round(float(ink.min()), 3), round(float(ink.max()), 3)]}
