"""Folders of class subfolders of images, read safely.

    root/
      cat/  a.png b.jpg ...
      dog/  ...

Only PNG, JPEG, GIF, BMP and WebP files are read; anything else is ignored.
Every image is decoded with Pillow under a pixel limit (a decompression bomb is
refused, not decoded), converted to greyscale or RGB, resized to size x size and
scaled to [0, 1]. Unreadable files are skipped and listed, so one bad file does
not lose the rest. Nothing is unpickled, nothing is executed.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}
MAX_PIXELS = 40_000_000     # per image; larger is refused as a possible decompression bomb
MAX_IMAGES = 50_000         # per folder, to keep memory bounded


@dataclass(frozen=True)
class ImageSet:
    """images [M, C, size, size] in [0, 1], labels [M], class names, and files that could not be read."""

    images: torch.Tensor
    labels: torch.Tensor
    names: tuple[str, ...]
    skipped: tuple[str, ...]


def decode(data_or_path, size: int, rgb: bool) -> np.ndarray:
    """One image -> float32 [C, size, size] in [0, 1]; raises ValueError for anything unreadable."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(data_or_path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise ValueError(f"{img.width}x{img.height} pixels is over the limit of {MAX_PIXELS:,}")
                img = img.convert("RGB" if rgb else "L").resize((size, size), Image.Resampling.LANCZOS)
                array = np.asarray(img, dtype=np.float32) / 255.0
        except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning, SyntaxError) as error:
            raise ValueError(f"not a readable image ({error})") from error
    return array.transpose(2, 0, 1) if rgb else array[None]


@functools.lru_cache(maxsize=8)
def _load(root: str, mtime: float, size: int, rgb: bool) -> ImageSet:
    folders = sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))
    images, labels, names, skipped = [], [], [], []
    for folder in folders:
        files = sorted(f for f in folder.iterdir() if f.suffix.lower() in SUFFIXES and f.is_file())
        decoded = []
        for f in files:
            if len(images) + len(decoded) >= MAX_IMAGES:
                raise ValueError(f"{root} holds more than {MAX_IMAGES:,} images; use a smaller folder")
            try:
                decoded.append(decode(f, size, rgb))
            except ValueError as error:
                skipped.append(f"{f.relative_to(root)}: {error}")
        if decoded:
            labels += [len(names)] * len(decoded)
            names.append(folder.name)
            images += decoded
    if len(names) < 2:
        raise ValueError(f"{root} needs at least two class subfolders with images in them (found {len(names)})")
    return ImageSet(torch.tensor(np.stack(images)), torch.tensor(labels), tuple(names), tuple(skipped))


def load_folder(root: str | Path, size: int = 28, rgb: bool = False) -> ImageSet:
    """Read ``root``'s class subfolders (cached until the folder changes)."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"image folder {str(path)!r} does not exist: give a folder with one subfolder "
                                "of images per class")
    mtime = max([path.stat().st_mtime] + [p.stat().st_mtime for p in path.iterdir() if p.is_dir()])
    return _load(str(path.resolve()), mtime, size, rgb)
