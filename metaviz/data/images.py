"""Folders of class subfolders of images, read safely.

    root/
      cat/  a.png b.jpg ...
      dog/  ...

Only PNG, JPEG, GIF, BMP and WebP files are read (Pillow is told to try no other
decoder); anything else is ignored. Every image is decoded with Pillow under a
pixel limit (a decompression bomb is refused, not decoded) and brought to one
of two modes by :func:`normalize`, the single conversion shared by meta-training
on a folder and by the images a user uploads (``metaviz.data.uploads``):

* the EXIF orientation is applied (phone photos are stored sideways);
* transparency (palette, LA, RGBA) is composited onto white paper;
* CMYK, YCbCr and other colour spaces go to RGB;
* 16-bit and 32-bit integer greyscale is scaled from 0..65535 to 0..255 (Pillow's
  own conversion would clip it to white).

The result is then converted to greyscale (ITU-R 601-2 luma) or RGB, resized to
size x size with Lanczos and scaled to [0, 1]. Unreadable files are skipped and
listed, so one bad file does not lose the rest. Nothing is unpickled, nothing is
executed.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from metaviz.messages import KeyedError

SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")  # the only decoders Pillow may try (JPEG covers MPO)
MAX_PIXELS = 40_000_000     # per image; larger is refused as a possible decompression bomb
MAX_IMAGES = 50_000         # per folder, to keep memory bounded


class ImageError(KeyedError):
    """One image file that cannot be used; the message says why (see :mod:`metaviz.messages` for its key)."""


@dataclass(frozen=True)
class ImageSet:
    """images [M, C, size, size] in [0, 1], labels [M], class names, and files that could not be read."""

    images: torch.Tensor
    labels: torch.Tensor
    names: tuple[str, ...]
    skipped: tuple[str, ...]


def normalize(image: Image.Image) -> Image.Image:
    """A decoded image in mode "L" or "RGB": EXIF orientation applied, transparency on white,
    colour spaces to RGB, 16/32-bit greyscale scaled to 8 bits (see the module docstring)."""
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("1", "L", "RGB"):
        return image.convert("L") if mode == "1" else image
    if mode.startswith("I;16") or mode == "I":
        # 16-bit greyscale ("I;16") or 32-bit integers holding 16-bit values (PNG in older Pillow)
        values = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8), "L")
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8), "L")
    if mode in ("P", "PA", "LA", "La", "RGBA", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(paper, rgba).convert("RGB")
        return flat.convert("L") if mode in ("LA", "La") else flat
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, ...


def open_image(data_or_path, max_pixels: int | None = None) -> Image.Image:
    """Decode one image fully and :func:`normalize` it; raises :class:`ImageError` (with the reason) for a file
    that is not a PNG/JPEG/GIF/BMP/WebP image, is corrupt or truncated, or declares more than
    ``max_pixels`` pixels (default :data:`MAX_PIXELS`), which is checked before any pixel is decoded."""
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(data_or_path, formats=FORMATS) as img:
                if img.width * img.height > limit:
                    raise ImageError(f"{img.width}x{img.height} pixels is over the limit of {limit:,}",
                                     "err_upload.image_pixels", width=str(img.width), height=str(img.height),
                                     limit=f"{limit:,}")
                img.load()  # decode now, inside the try: truncated or corrupt data fails here
                return normalize(img)
        except Image.DecompressionBombError as error:
            raise ImageError(f"declares too many pixels to decode safely ({error})", "err_upload.image_bomb",
                             error=str(error)) from error
        except (OSError, Image.DecompressionBombWarning, SyntaxError, EOFError) as error:
            raise ImageError(f"not a readable image ({error})", "err_upload.unreadable", error=str(error)) from error


def decode(data_or_path, size: int, rgb: bool, max_pixels: int | None = None) -> np.ndarray:
    """One image -> float32 [C, size, size] in [0, 1]; raises ValueError for anything unreadable."""
    img = open_image(data_or_path, max_pixels)
    img = img.convert("RGB" if rgb else "L").resize((size, size), Image.Resampling.LANCZOS)
    array = np.asarray(img, dtype=np.float32) / 255.0
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
