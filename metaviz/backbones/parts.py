"""What every photo backbone shares: frozen BatchNorm statistics and ``forward(x, part)``.

A backbone defines ``trunk(x)`` (everything before its last block), ``tail(trunk)`` (the last block, the
head and the global pool: the pooled penultimate features) and ``imagenet_logits(features)``; then

    net(x)                   -> ImageNet logits [B, 1000]
    net(x, part="features")  -> the pooled penultimate features [B, D]
    net(x, part="trunk")     -> the input of the last block (what fine-tuning starts from)
    net(t, part="tail")      -> features from a trunk (so ``torch.func.functional_call`` can adapt the tail)
"""

from __future__ import annotations

import torch
from torch import nn

PARTS = ("logits", "features", "trunk", "tail")


class Backbone(nn.Module):
    """Base class: subclasses set ``feature_dim`` and ``tail_prefixes`` (the parameter names fine-tuning adapts)
    and define ``trunk``, ``tail`` and ``imagenet_logits``."""

    feature_dim: int
    tail_prefixes: tuple[str, ...]

    def train(self, mode: bool = True):
        return super().train(False)  # frozen BatchNorm statistics (and no dropout), even when asked to train

    def forward(self, x: torch.Tensor, part: str = "logits") -> torch.Tensor:
        if part not in PARTS:
            raise ValueError(f"unknown part {part!r}: one of {', '.join(PARTS)}")
        if part == "tail":
            return self.tail(x)
        trunk = self.trunk(x)
        if part == "trunk":
            return trunk
        features = self.tail(trunk)
        return features if part == "features" else self.imagenet_logits(features)
