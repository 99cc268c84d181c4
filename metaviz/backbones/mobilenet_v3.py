"""MobileNetV3-Small, with torchvision's state-dict names, so that torchvision's ImageNet weights file loads as it is.

Paper: Howard, Sandler, Chu, Chen, Chen, Tan, Wang, Zhu, Pang, Vasudevan, Le and Adam (2019),
*Searching for MobileNetV3*, ICCV.

Idea: inverted bottlenecks (1x1 expansion, k x k depthwise convolution, linear 1x1 projection,
a residual when the shape is kept) found by architecture search, with squeeze-and-excitation
in some blocks (per-channel gates from the pooled activations, s = hardsigmoid(W2 ReLU(W1 mean(h))),
h <- s * h) and the cheap hard-swish x * ReLU6(x + 3) / 6 in the later ones:

    x -> conv3x3/2 (16) -> 11 bottlenecks -> conv1x1 (576) -> pool -> linear (1024) -> hardswish
      = features f(x) in R^1024 -> (dropout) -> linear -> 1000 ImageNet logits

The penultimate 1024-d layer is the embedding (what Teachable Machine's MobileNet head reads too).
Why it is written here: see :mod:`metaviz.backbones.resnet` (PyPI's torchvision does not import beside
this CPU build of torch). Names (``features.0.0``, ``features.1.block.1.fc1``, ``classifier.0``, ...) are
torchvision's, so ``mobilenet_v3_small-047dcff4.pth`` loads with ``strict=True``. Input: RGB, shorter side
256, centre crop 224, ImageNet mean/std. BatchNorm (eps 1e-3) always uses its running statistics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from metaviz.backbones.parts import Backbone

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
FEATURE_DIM = 1024
# (c_in, kernel, expanded, c_out, squeeze-excite, hard-swish, stride): torchvision's "mobilenet_v3_small"
SETTING = ((16, 3, 16, 16, True, False, 2), (16, 3, 72, 24, False, False, 2), (24, 3, 88, 24, False, False, 1),
           (24, 5, 96, 40, True, True, 2), (40, 5, 240, 40, True, True, 1), (40, 5, 240, 40, True, True, 1),
           (40, 5, 120, 48, True, True, 1), (48, 5, 144, 48, True, True, 1), (48, 5, 288, 96, True, True, 2),
           (96, 5, 576, 96, True, True, 1), (96, 5, 576, 96, True, True, 1))


def divisible(v: float, divisor: int = 8) -> int:
    """The channel count rounded to a multiple of ``divisor``, never more than 10% down (TF's rule)."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


class ConvBN(nn.Sequential):
    """conv (no bias) as ``0``, BatchNorm as ``1``, then the activation: x -> act(BN(conv(x)))."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1, act=None):
        super().__init__(nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.01))
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = super().forward(x)
        return h if self.act is None else self.act(h)


class SqueezeExcite(nn.Module):
    """h -> hardsigmoid(fc2(ReLU(fc1(mean_hw h)))) * h, per channel."""

    def __init__(self, c: int, squeeze: int):
        super().__init__()
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.hardsigmoid(self.fc2(F.relu(self.fc1(h.mean((2, 3), keepdim=True))))) * h


class InvertedResidual(nn.Module):
    """x [B, c_in, H, W] -> [B, c_out, H / s, W / s] (layers in ``block``, as torchvision names them)."""

    def __init__(self, c_in: int, kernel: int, expanded: int, c_out: int, se: bool, hard: bool, stride: int):
        super().__init__()
        act = F.hardswish if hard else F.relu
        layers: list[nn.Module] = [ConvBN(c_in, expanded, act=act)] if expanded != c_in else []
        layers.append(ConvBN(expanded, expanded, kernel, stride, groups=expanded, act=act))
        if se:
            layers.append(SqueezeExcite(expanded, divisible(expanded // 4)))
        layers.append(ConvBN(expanded, c_out))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.block(x)
        return h + x if self.residual else h


class MobileNetV3Small(Backbone):
    """images [B, 3, H, W] (normalised) -> ``part``: "logits" [B, 1000], "features" [B, 1024] (penultimate),
    "trunk" [B, 96, H/32, W/32] (before the last bottleneck) or "tail" (trunk -> features).

    ``width``: a narrower network of the same layout for tests (divides every channel count, then
    rounds to a multiple of 8 as torchvision's width multiplier does)."""

    def __init__(self, num_classes: int = 1000, width: int = 1):
        super().__init__()
        c = lambda n: divisible(n / width)  # noqa: E731
        setting = [(c(a), k, c(e), c(b), se, hs, s) for a, k, e, b, se, hs, s in SETTING]
        last = setting[-1][3]
        layers: list[nn.Module] = [ConvBN(3, setting[0][0], 3, 2, act=F.hardswish)]
        layers += [InvertedResidual(*row) for row in setting]
        layers.append(ConvBN(last, 6 * last, act=F.hardswish))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(6 * last, c(FEATURE_DIM)), nn.Hardswish(), nn.Dropout(0.2),
                                        nn.Linear(c(FEATURE_DIM), num_classes))
        self.feature_dim = c(FEATURE_DIM)
        n = len(layers)
        self.tail_prefixes = (f"features.{n - 2}.", f"features.{n - 1}.", "classifier.0.")
        self.eval()

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for layer in self.features[:-2]:
            h = layer(h)
        return h

    def tail(self, trunk: torch.Tensor) -> torch.Tensor:
        h = self.features[-1](self.features[-2](trunk)).mean((2, 3))
        return F.hardswish(self.classifier[0](h))

    def imagenet_logits(self, features: torch.Tensor) -> torch.Tensor:
        """features [B, D] -> ImageNet's 1000 class scores [B, 1000]."""
        return self.classifier[3](features)
