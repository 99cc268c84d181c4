"""The DARTS convolutional search space for small images (scikit-learn's 8x8 digits), after Liu et al. 2019.

    h_0 = stem(x)                                  conv 3x3, 1 -> C channels, on x [B, 1, 8, 8]
    h_j = sum_{i<j} sum_o w_{ij,o} * o(h_i)        o in CONV_OPS, each [B, C, 8, 8] -> [B, C, 8, 8]
    y   = head(mean over the 8x8 positions of h_N)  linear, C -> classes

The operations are DARTS's own, shrunk: ReLU then a 3x3 or 5x5 convolution (zero padding, stride 1), 3x3 max
pooling, the identity (skip) and zero. No batch normalisation: each prediction depends on its own image alone,
so no test example influences another's score. With C = 8 channels and 2 nodes the supernet has about 6,000
weights: a DARTS search and its retrain take seconds on one CPU core.
"""

from __future__ import annotations

import torch
from torch import nn

from metaviz.automl.cell import edges, run_cell

CONV_OPS = ("zero", "skip", "conv3", "conv5", "pool")


class ConvOp(nn.Module):
    """One candidate operation on [B, C, H, W] feature maps, shape-preserving."""

    def __init__(self, kind: str, channels: int):
        super().__init__()
        self.kind = kind
        if kind in ("conv3", "conv5"):
            size = 3 if kind == "conv3" else 5
            self.conv = nn.Conv2d(channels, channels, size, padding=size // 2)
        elif kind == "pool":
            self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.kind == "zero":
            return torch.zeros_like(h)
        if self.kind == "skip":
            return h
        if self.kind == "pool":
            return self.pool(h)
        return self.conv(torch.relu(h))


class ConvCell(nn.Module):
    """x [B, prod(image_shape)] (the task's flat pixels), weights [E, len(CONV_OPS)] -> [B, out_dim]."""

    def __init__(self, image_shape: tuple[int, int, int], out_dim: int, width: int = 8, nodes: int = 2):
        super().__init__()
        self.image_shape, self.nodes = tuple(image_shape), nodes
        self.stem = nn.Conv2d(image_shape[0], width, 3, padding=1)
        self.mixed = nn.ModuleList(nn.ModuleList(ConvOp(k, width) for k in CONV_OPS) for _ in edges(nodes))
        self.head = nn.Linear(width, out_dim)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        images = x.reshape(len(x), *self.image_shape)                  # [B, 1, 8, 8]
        last = run_cell(self.stem(images), weights, self.mixed, self.nodes)  # [B, C, 8, 8]
        return self.head(last.mean((-2, -1)))                          # [B, out_dim]
