"""ResNet-18, with torchvision's state-dict names, so that torchvision's ImageNet weights file loads as it is.

Paper: He, Zhang, Ren and Sun (2016), *Deep Residual Learning for Image Recognition*, CVPR.

Idea: each block learns a residual F(x) that is added to its input, so a deep stack starts near
the identity and trains well:

    BasicBlock(x) = ReLU(BN(conv3x3(ReLU(BN(conv3x3/s(x))))) + P(x)),  P = identity, or conv1x1/s + BN
    x -> conv7x7/2 (64) -> BN -> ReLU -> maxpool3x3/2 -> 4 stages of 2 blocks (64, 128, 256, 512 channels,
      the last three halve the resolution) -> global average pool -> f(x) in R^512 -> linear -> 1000 logits

Why it is written here: PyPI's torchvision 0.28.0 is a CUDA build; beside this project's CPU build of
torch 2.13.0 its compiled operators do not register ("operator torchvision::nms does not exist") and
``import torchvision`` fails. The names (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``,
..., ``fc``) are torchvision's, so ``resnet18-f37072fd.pth`` loads with ``strict=True``. Input: RGB, resized
so the shorter side is 256, centre crop 224, ImageNet mean/std. BatchNorm always uses its running
statistics, so a photo's features never depend on the rest of its batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from metaviz.backbones.parts import Backbone

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
FEATURE_DIM = 512


class BasicBlock(nn.Module):
    """x [B, c_in, H, W] -> [B, c_out, H / s, W / s]."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                           if stride != 1 or c_in != c_out else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNet18(Backbone):
    """images [B, 3, H, W] (normalised) -> ``part``: "logits" [B, 1000], "features" [B, 512] (pooled),
    "trunk" [B, 512, H/32, W/32] (all but the last block) or "tail" (trunk -> features).

    ``width``: a narrower network of the same layout for tests (divides every channel count)."""

    def __init__(self, num_classes: int = 1000, width: int = 1, blocks: tuple[int, ...] = (2, 2, 2, 2)):
        super().__init__()
        c = lambda n: max(1, n // width)  # noqa: E731
        self.conv1 = nn.Conv2d(3, c(64), 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(c(64))
        channels = c(64)
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), blocks)):
            stage = [BasicBlock(channels if j == 0 else c(planes), c(planes), 2 if i and j == 0 else 1)
                     for j in range(n)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
            channels = c(planes)
        self.fc = nn.Linear(channels, num_classes)
        self.feature_dim = channels
        self.tail_prefixes = (f"layer4.{blocks[-1] - 1}.",)  # the parameters fine-tuning adapts
        self.eval()

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        h = self.layer3(self.layer2(self.layer1(h)))
        for block in self.layer4[:-1]:
            h = block(h)
        return h

    def tail(self, trunk: torch.Tensor) -> torch.Tensor:
        return self.layer4[-1](trunk).mean((2, 3))

    def imagenet_logits(self, features: torch.Tensor) -> torch.Tensor:
        """features [B, D] -> ImageNet's 1000 class scores [B, 1000]."""
        return self.fc(features)
