"""Small backbones used across the meta-learning literature.

* :class:`MLP`: the sinusoid network of the MAML paper, 1 -> 40 -> 40 -> 1 with ReLU.
* :class:`Conv4`: four blocks of 3x3 conv (64 filters), BatchNorm, ReLU and 2x2
  max-pooling (Vinyals et al. 2016; Finn et al. 2017), then a linear head.

BatchNorm uses the statistics of the batch it sees and keeps no running
averages (``track_running_stats=False``), as in MAML's reference code: each
task is normalised by its own support or query set, and the network stays a
pure function of its parameters (no buffers to update).
"""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """x [..., in_dim] -> [..., out_dim]."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 40, layers: int = 2):
        super().__init__()
        dims = [in_dim] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(a, b), nn.ReLU()]
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(dims[-1], out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1),
                         nn.BatchNorm2d(c_out, track_running_stats=False),
                         nn.ReLU(), nn.MaxPool2d(2))


class Conv4(nn.Module):
    """x [B, C, H, W] -> [B, out_dim]; 28x28 inputs give a 64-dim feature (1x1 after 4 poolings)."""

    def __init__(self, in_shape: tuple[int, int, int], out_dim: int, hidden: int = 64):
        super().__init__()
        c, h, w = in_shape
        self.body = nn.Sequential(conv_block(c, hidden), conv_block(hidden, hidden),
                                  conv_block(hidden, hidden), conv_block(hidden, hidden), nn.Flatten())
        feat = hidden * max(h // 16, 1) * max(w // 16, 1)
        self.head = nn.Linear(feat, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_model(in_shape: tuple[int, ...], out_dim: int, hidden: int, layers: int,
                seed: int) -> nn.Module:
    """An MLP for vector inputs, a Conv4 for images, initialised from ``seed`` alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if len(in_shape) == 1:
            return MLP(in_shape[0], out_dim, hidden=hidden, layers=layers)
        if len(in_shape) == 3:
            return Conv4(in_shape, out_dim, hidden=hidden)
    raise ValueError(f"no backbone for inputs of shape {in_shape}: expected (D,) or (C, H, W)")
