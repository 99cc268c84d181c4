"""Stroke-respecting augmentation of handwritten characters: small affine warps and stroke thickness.

Lake et al. (2019), *The Omniglot challenge: a 3-year progress report* (Current Opinion in Behavioral
Sciences 29), note that the best minimal-set results lean on data augmentation, since the two small
background sets hold only 8 alphabets. A person who draws a character twice moves the pen a little
differently each time: the drawing turns, shears, shifts and scales by a few percent, and the stroke
gets thicker or thinner with the pen. Both are what :func:`warp` draws, per image:

    x' = A_theta(x)                            (bilinear resampling on the warped grid)
    A  = R(alpha) S(s_x, s_y) Sh(h) + t,       alpha ~ U(-a, a), s ~ U(1 - s, 1 + s), h ~ U(-h, h), t ~ U(-d, d)
    x'' = x' + u (D(x') - x'),  u ~ U(-w, w)   (D: 3x3 max-pool for u > 0, min-pool for u < 0)

so u > 0 thickens the stroke (ink = 1 on paper = 0) and u < 0 thins it. A rotation by a quarter turn
is *not* a warp of this kind: rotated characters are new classes (Santoro et al., 2016), kept apart.
Everything is drawn from the caller's ``torch.Generator``: the same seed gives the same images.

Used in two places: meta-training on the "train" split (``OmniglotConfig.augment``), and at test time
(:func:`metaviz.fewshot.classify` with ``augment``), where each query and each support image gets its
own warped copies (a query's copies never meet another query's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Warp:
    """The ranges of one warp (see the module docstring): degrees, scale, shear, shift (share of the
    side), stroke thickness blend."""

    degrees: float = 10.0
    scale: float = 0.1
    shear: float = 0.15
    shift: float = 0.06
    thickness: float = 0.5


STROKES = Warp()          # meta-training
GENTLE = Warp(6.0, 0.06, 0.08, 0.04, 0.3)  # test-time copies: milder, so a copy stays its class


def _uniform(n: int, half_width: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1) * half_width


def draw(n: int, generator: torch.Generator, ranges: Warp = STROKES) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random warps: affine matrices theta [n, 2, 3] (grid coordinates in [-1, 1]) and stroke blends u [n]."""
    alpha = _uniform(n, math.radians(ranges.degrees), generator)
    sx, sy = 1 + _uniform(n, ranges.scale, generator), 1 + _uniform(n, ranges.scale, generator)
    shear = _uniform(n, ranges.shear, generator)
    shift = _uniform(2 * n, 2 * ranges.shift, generator).reshape(n, 2)   # grid coordinates span 2
    thick = _uniform(n, ranges.thickness, generator)
    cos, sin = torch.cos(alpha), torch.sin(alpha)
    rotation = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)    # [n, 2, 2]
    shape_matrix = torch.stack([torch.stack([sx, shear * sx], 1),
                                torch.stack([torch.zeros_like(sy), sy], 1)], 1)
    return torch.cat([rotation @ shape_matrix, shift[:, :, None]], 2).float(), thick.float()


def apply(images: torch.Tensor, theta: torch.Tensor, thick: torch.Tensor) -> torch.Tensor:
    """Warp image i of [n, C, H, W] (values in [0, 1]) by theta[i] and stroke blend thick[i] -> [n, C, H, W]."""
    x = images.float()
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    thicker = F.max_pool2d(out, 3, 1, 1)
    thinner = -F.max_pool2d(-out, 3, 1, 1)
    u = thick[:, None, None, None]
    out = torch.where(u > 0, out + u * (thicker - out), out + u.abs() * (thinner - out))
    return out.clamp(0, 1).to(images.dtype)


def warp(images: torch.Tensor, generator: torch.Generator, ranges: Warp = STROKES) -> torch.Tensor:
    """Warp each image [..., C, H, W] (values in [0, 1]) on its own -> same shape and dtype, values in [0, 1]."""
    x = images.reshape(-1, *images.shape[-3:])
    return apply(x, *draw(len(x), generator, ranges)).reshape(images.shape)


def copies(images: torch.Tensor, k: int, seed: int = 0, ranges: Warp = GENTLE) -> torch.Tensor:
    """Test-time copies: [M, C, H, W] -> [M, k + 1, C, H, W], copy 0 the image itself and copy j >= 1 warped
    by the j-th of ``k`` warps drawn from ``seed``, the same j-th warp for every image, so an image's copies
    depend on that image alone (not on the others beside it, nor on their order)."""
    theta, thick = draw(k, torch.Generator().manual_seed(seed), ranges)
    m = len(images)
    warped = apply(images.repeat_interleave(k, 0), theta.repeat(m, 1, 1), thick.repeat(m))
    warped = warped.reshape(m, k, *images.shape[1:])
    return torch.cat([images[:, None], warped], 1)
