"""Small backbones used across the meta-learning literature.

* :class:`MLP`: the sinusoid network of the MAML paper, 1 -> 40 -> 40 -> 1 with ReLU.
* :class:`Conv4`: four blocks of 3x3 conv (64 filters), BatchNorm, ReLU and 2x2
  max-pooling (Vinyals et al. 2016; Finn et al. 2017), then a linear head.
* :class:`metaviz.resnet.ResNet12`: four residual blocks (Lee et al. 2019), for natural images
  (``TrainConfig.backbone = "resnet12"``).
* :class:`TextEncoder`: for token ids (``metaviz.data.tokenizer``): a bag of hashed character n-gram
  embeddings summed over the tokens that are not padding and divided by the square root of their count
  (fastText, Joulin et al. 2017; Bojanowski et al. 2017, who average), then an MLP.

BatchNorm uses the statistics of the batch it sees and keeps no running
averages (``track_running_stats=False``), as in MAML's reference code: each
task is normalised by its own support or query set, and the network stays a
pure function of its parameters (no buffers to update).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from metaviz.functional import _inside_torch_func
from metaviz.resnet import ResNet12


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


def conv_block(c_in: int, c_out: int, pool: tuple[int, int] = (2, 2)) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1),
                         nn.BatchNorm2d(c_out, track_running_stats=False),
                         nn.ReLU(), nn.MaxPool2d(pool))


class Conv4(nn.Module):
    """x [B, C, H, W] -> [B, out_dim]; 28x28 inputs give a 64-dim feature (1x1 after 4 poolings).

    Each block halves the height and width; a side that is already 1 pixel is not pooled any more (kernel
    1 on that side), so inputs under 16 pixels (8 x 8 is 4, 2, 1, 1) still give a 1 x 1 map instead of an
    empty one. From 16 pixels up every block pools by 2, as in the papers (no parameter depends on this)."""

    channels_last: ClassVar[bool] = True  # the CPU layout below; False gives the plain NCHW path (benchmarks)

    def __init__(self, in_shape: tuple[int, int, int], out_dim: int, hidden: int = 64):
        super().__init__()
        c, h, w = in_shape
        blocks = []
        for i in range(4):
            pool = (2 if h >= 2 else 1, 2 if w >= 2 else 1)
            blocks.append(conv_block(c if i == 0 else hidden, hidden, pool))
            h, w = h // pool[0], w // pool[1]
        self.body = nn.Sequential(*blocks, nn.Flatten())
        feat = hidden * h * w
        self.head = nn.Linear(feat, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.channels_last and x.dim() == 4 and x.device.type == "cpu" and not _inside_torch_func()):
            return self.head(self.body(x))
        # On the CPU, BatchNorm and max-pooling of NCHW activations measured 4 to 8 times slower than of
        # channels-last ones (75 x 64 x 28 x 28, torch 2.13): the first conv's output is stored channels-last
        # (a 1-channel input cannot carry the layout itself) and the layers after it keep that layout.
        # Same values to float rounding. Not inside torch.func transforms, which batch only contiguous layouts.
        first, *rest = self.body
        h = first[0](x).contiguous(memory_format=torch.channels_last)
        for layer in (*first[1:], *rest):
            h = layer(h)
        return self.head(h)


class NgramBag(nn.Module):
    """ids [..., L] int64 (0 pads) -> [..., dim]: the sum of the ids' embeddings over real tokens / sqrt(count).

    Not the mean: the mean of n N(0, 1) rows has a spread of 1 / sqrt(n), so with ~60 n-grams a sentence a
    randomly initialised encoder gave every sentence nearly the same output (measured: logits varying ~0.007
    across sentences against ~0.04 between output biases), and gradient learners (MAML, the baselines) sat at
    chance. Sum / sqrt(n) keeps each coordinate's spread at 1 whatever the sentence's length.

    The tokenizer hashes n-grams into ``vocab`` buckets; the table folds them into ``table`` rows (a second
    hash: id -> 1 + (id - 1) mod (table - 1)), so that a checkpoint stays a few MB while the TF-IDF features
    keep the finer buckets. Padding never changes an embedding."""

    def __init__(self, vocab: int, dim: int = 64, table: int = 1 << 14):
        super().__init__()
        self.table = min(table, vocab)
        self.embed = nn.Embedding(self.table, dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != 0).to(self.embed.weight.dtype)                          # [..., L]
        rows = torch.where(ids > 0, 1 + (ids - 1) % (self.table - 1), 0)       # [..., L]
        vectors = self.embed(rows) * mask[..., None]                           # [..., L, dim]
        return vectors.sum(-2) / mask.sum(-1, keepdim=True).clamp(min=1).sqrt()  # [..., dim]


class TextEncoder(nn.Module):
    """ids [..., L] int64 (0 pads) -> [..., out_dim]: an :class:`NgramBag`, then ReLU layers (``body``) and a
    linear ``head``, as the other backbones, so head-only learners (ANIL) and the penultimate-layer views
    work unchanged. No batch statistics: each sentence is embedded on its own."""

    def __init__(self, vocab: int, out_dim: int, hidden: int = 256, layers: int = 1, dim: int = 64):
        super().__init__()
        blocks: list[nn.Module] = [NgramBag(vocab, dim)]
        for a, b in zip([dim] + [hidden] * (layers - 1), [hidden] * layers):
            blocks += [nn.Linear(a, b), nn.ReLU()]
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(hidden, out_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(ids))


IMAGE_BACKBONES = ("conv4", "resnet12")  # TrainConfig.backbone: what images go through


def build_model(in_shape: tuple[int, ...], out_dim: int, hidden: int, layers: int,
                seed: int, vocab_size: int = 0, backbone: str = "conv4") -> nn.Module:
    """An MLP for vector inputs, a Conv4 or a ResNet-12 (``backbone``) for images with the task's channels, a
    :class:`TextEncoder` for token ids (``vocab_size`` > 0, see ``TaskDistribution.vocab_size``), initialised
    from ``seed`` alone."""
    if backbone not in IMAGE_BACKBONES:
        raise ValueError(f"no image backbone {backbone!r}: choose one of {IMAGE_BACKBONES}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if vocab_size > 0:
            return TextEncoder(vocab_size, out_dim, hidden=hidden, layers=layers)
        if len(in_shape) == 1:
            return MLP(in_shape[0], out_dim, hidden=hidden, layers=layers)
        if len(in_shape) == 3 and backbone == "resnet12":
            return ResNet12(in_shape, out_dim, hidden=hidden)
        if len(in_shape) == 3:
            return Conv4(in_shape, out_dim, hidden=hidden)
    raise ValueError(f"no backbone for inputs of shape {in_shape}: expected (D,) or (C, H, W)")
