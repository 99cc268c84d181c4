"""A user's own examples, taken in safely and preprocessed exactly as the model's meta-training data.

What comes in (from a browser upload, a drawing canvas or the command line):

* class by class: ``{"cat": [("a.png", bytes), ...], "dog": [...]}``;
* one zip file, or one folder, with a subfolder of images per class
  (``cat/a.png``, ``dog/b.jpg``; one enclosing folder, as in ``animals/cat/a.png``, is fine);
* queries: a folder, a zip, a list of files or a single image;
* a drawing: an RGBA array from the canvas.

Safety. Every limit lives in :class:`Limits` (the page states them). A zip is
never extracted to disk: its entries are read in memory, and an entry with an
absolute path or a ``..`` component is refused (path traversal), as are entries
past the entry cap or the total uncompressed size (zip bombs). The sizes a zip
*declares* are checked before anything is decompressed, and the bytes actually
produced are counted while reading, since a zip bomb may lie about its sizes.
Images are decoded by :func:`metaviz.data.images.open_image` (only PNG, JPEG,
GIF, BMP and WebP decoders, a pixel limit checked before decoding, modes
normalised). Anything that fails is listed in ``rejected`` with the file's name
and the reason; one bad file never loses the others. Errors, reasons and notes
carry a catalogue key beside their English (:mod:`metaviz.messages`), so that the
app can show them in its reader's language.

Preprocessing (:class:`Preprocessing`, from the model's task config by
:func:`preprocessing_for`) gives each image the exact form the model was
meta-trained on:

* image folders: greyscale (ITU-R 601-2 luma) or RGB, size x size (Lanczos), in
  [0, 1]: the same function that read the training folder;
* Omniglot and the 8x8 digits: greyscale with **ink = 1 on paper = 0**. The
  Omniglot scans are black strokes on white, inverted when loaded. A user's image
  may be dark on light (pen on paper, the canvas) or light on dark (chalk on a
  board). The *paper* is what covers the image's border: when the median of the
  outermost pixels (a ring 1/32 of the side wide) is light (above mid-grey), the
  image is inverted; otherwise it is kept. Levels are then stretched so that
  paper is 0 and the darkest stroke 1 (the Omniglot scans are 1-bit), and the
  image is resized with Lanczos (Omniglot) or by area averaging (the digits were
  made by counting pixels in 4x4 blocks). An image with no ink left (an empty
  canvas) is rejected.
"""

from __future__ import annotations

import dataclasses
import io
import re
import stat
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps

from metaviz.data.images import SUFFIXES, ImageError, open_image
from metaviz.messages import KeyedError, Note


class UploadError(KeyedError):
    """A whole input is refused (not a zip, too many entries, a missing path, an empty support set, a model
    that does not classify images); the message says why. One refused image is an
    :class:`~metaviz.data.images.ImageError`."""


@dataclass(frozen=True)
class Limits:
    """Every limit on user input, in one place (the page shows :meth:`lines`)."""

    max_file_bytes: int = 10_000_000          # one image file
    max_archive_bytes: int = 50_000_000       # one zip file as uploaded (compressed)
    max_files: int = 400                      # images in one upload (support or query), accepted or not
    max_classes: int = 20                     # classes in the support set
    max_image_pixels: int = 20_000_000        # one image, width x height (decompression bombs)
    max_total_pixels: int = 200_000_000       # all images of one upload together
    max_zip_entries: int = 2_000              # entries of one zip, folders and non-images included
    max_zip_bytes: int = 200_000_000          # total uncompressed size of one zip
    max_stored_bytes: int = 100_000_000       # all files one browser session keeps (in memory only)

    def lines(self) -> list[str]:
        """The limits in words."""
        mb = 1_000_000
        return [f"{self.max_file_bytes / mb:g} MB per image file, {self.max_archive_bytes / mb:g} MB per zip",
                f"{self.max_files} images per upload, {self.max_classes} classes",
                f"{self.max_image_pixels / 1e6:g} megapixels per image, {self.max_total_pixels / 1e6:g} "
                "megapixels per upload",
                f"zip files: {self.max_zip_entries:,} entries, {self.max_zip_bytes / mb:g} MB uncompressed, no "
                "absolute paths or '..'",
                f"{self.max_stored_bytes / mb:g} MB of files kept per browser session, in memory only"]


LIMITS = Limits()


@dataclass(frozen=True)
class Preprocessing:
    """How images become model inputs: ``size`` x ``size``, ``channels`` 1 or 3, ``ink`` (True: ink = 1 on
    paper = 0, see the module docstring), ``flat`` (the model takes the pixels as one vector: digits),
    ``crop`` (photos for ImageNet backbones: the shorter side resized to size / 0.875, bilinear, then the
    centre size x size, the standard ImageNet evaluation transform; otherwise the whole image is resized)."""

    size: int = 28
    channels: int = 1
    ink: bool = True
    flat: bool = False
    source: str = "Omniglot"  # what the model was meta-trained on, in words
    crop: bool = False

    def __post_init__(self):
        if self.channels not in (1, 3) or not 4 <= self.size <= 256:
            raise ValueError(f"unsupported preprocessing {self}")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.size, self.size)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """What the network takes for one example."""
        return (self.channels * self.size * self.size,) if self.flat else self.image_shape

    def describe(self) -> str:
        colour = "RGB" if self.channels == 3 else "greyscale"
        ink = (", ink = 1 on paper = 0 (dark strokes on light paper are inverted)" if self.ink else "")
        return f"{self.size}x{self.size} {colour}{ink}, as in the meta-training data ({self.source})"


def preprocessing_for(config) -> Preprocessing:
    """The preprocessing that matches a run's meta-training data (``config``: a RunConfig)."""
    task, tc = config.task, config.task_config
    if task == "omniglot":
        return Preprocessing(tc.size, 1, ink=True, source="Omniglot characters")
    if task == "image-folder":
        return Preprocessing(tc.size, 3 if tc.rgb else 1, ink=False, source=f"the image folder {tc.path}")
    if task == "digits":
        return Preprocessing(8, 1, ink=True, flat=True, source="scikit-learn's 8x8 digits")
    from metaviz import tasks

    cls = tasks.get(task)
    if cls.kind != "classification":
        raise UploadError(f"this model was meta-trained on {cls.title or task}, a regression task: it cannot "
                          "classify images. Choose a model meta-trained on Omniglot, digits or an image folder",
                          "err_upload.regression_model", task=cls.title or task)
    shape = cls(tc).in_shape
    if len(shape) != 3 or shape[0] not in (1, 3) or shape[1] != shape[2]:
        raise UploadError(f"this model was meta-trained on {cls.title or task}, whose inputs ({shape}) are not "
                          "images: choose a model meta-trained on Omniglot, digits or an image folder",
                          "err_upload.not_image_model", task=cls.title or task, shape=str(shape))
    return Preprocessing(shape[1], shape[0], ink=False, source=cls.title or task)


@dataclass(frozen=True, eq=False)
class Example:
    """One accepted image: ``image`` float32 [C, S, S] in [0, 1], exactly what the model sees (a flat
    model gets it reshaped); ``preview`` uint8 [h, w, 3], the original at most 96 pixels a side."""

    name: str
    image: np.ndarray
    preview: np.ndarray
    pixels: int = 0  # width x height of the original


@dataclass(frozen=True)
class Rejected:
    """A file that was not taken, and why: ``reason`` in English, and optionally its catalogue ``key`` and
    ``params`` (:mod:`metaviz.messages`)."""

    file: str
    reason: str
    key: str | None = field(default=None, compare=False)
    params: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"

    @classmethod
    def of(cls, file: str, error: Exception, prefix: str = "") -> Rejected:
        """``file`` refused for ``error`` (its message without ``prefix``), keeping the error's key."""
        return cls(file, str(error).removeprefix(prefix), getattr(error, "key", None),
                   dict(getattr(error, "params", {})))


@dataclass(frozen=True, eq=False)
class SupportSet:
    """Accepted examples per class (in the order the classes came), the rejected files, and notes
    (ignored non-image files and the like)."""

    classes: dict[str, tuple[Example, ...]]
    rejected: tuple[Rejected, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.classes)

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.classes.items()}

    def __len__(self) -> int:
        return sum(len(v) for v in self.classes.values())

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """images [M, C, S, S] float32 and labels [M] int64 (the index of the class in ``names``)."""
        if not len(self):
            raise UploadError("the support set is empty: add images to at least two classes",
                              "err_upload.empty_support")
        x = np.stack([e.image for v in self.classes.values() for e in v]).astype(np.float32)
        y = np.concatenate([np.full(len(v), i, np.int64) for i, v in enumerate(self.classes.values())])
        return x, y

    def without(self, name: str, index: int) -> SupportSet:
        """This set without example ``index`` of class ``name`` (a class left empty is dropped)."""
        kept = {k: tuple(e for i, e in enumerate(v) if not (k == name and i == index))
                for k, v in self.classes.items()}
        return dataclasses.replace(self, classes={k: v for k, v in kept.items() if v})

    def merged(self, other: SupportSet, limits: Limits = LIMITS) -> SupportSet:
        """Both sets: examples of a class in both are joined; classes past ``limits.max_classes`` and
        images past ``limits.max_files`` (counting this set's) are rejected with the reason."""
        classes = {k: list(v) for k, v in self.classes.items()}
        rejected = list(self.rejected) + list(other.rejected)
        total = len(self)
        for name, examples in other.classes.items():
            if name not in classes and len(classes) >= limits.max_classes:
                rejected.append(Rejected(f"class {name!r}", f"over the limit of {limits.max_classes} classes",
                                         "err_upload.too_many_classes", dict(limit=str(limits.max_classes))))
                continue
            for e in examples:
                if total >= limits.max_files:
                    rejected.append(Rejected(e.name, f"over the limit of {limits.max_files} images",
                                             "err_upload.too_many_images", dict(limit=str(limits.max_files))))
                    continue
                classes.setdefault(name, []).append(e)
                total += 1
        return SupportSet({k: tuple(v) for k, v in classes.items() if v}, tuple(rejected),
                          tuple(dict.fromkeys(self.notes + other.notes)))


@dataclass(frozen=True, eq=False)
class QuerySet:
    """Accepted query images (in a stable order), the rejected files, and notes."""

    examples: tuple[Example, ...]
    rejected: tuple[Rejected, ...] = ()
    notes: tuple[str, ...] = ()

    def arrays(self) -> np.ndarray:
        """images [Q, C, S, S] float32."""
        if not self.examples:
            raise UploadError("there are no query images: add at least one", "err_upload.no_queries")
        return np.stack([e.image for e in self.examples]).astype(np.float32)


# ---- one image ---------------------------------------------------------------------------------------

def _preview(img: Image.Image) -> np.ndarray:
    small = img.convert("RGB")
    small.thumbnail((96, 96), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.uint8).copy()


def border_is_light(grey: Image.Image) -> bool:
    """Whether the paper is light: the median of the outermost ring of pixels (1/32 of the side,
    at least one pixel) is above mid-grey."""
    a = np.asarray(grey)
    r = max(1, min(a.shape) // 32)
    ring = np.concatenate([a[:r].ravel(), a[-r:].ravel(), a[:, :r].ravel(), a[:, -r:].ravel()])
    return float(np.median(ring)) > 127.5


def to_ink(grey: Image.Image) -> Image.Image:
    """Greyscale with ink light on dark paper, levels stretched to 0 (paper) .. 255 (darkest ink)."""
    if border_is_light(grey):
        grey = ImageOps.invert(grey)
    return ImageOps.autocontrast(grey, cutoff=0)


def centre_crop(img: Image.Image, size: int, fraction: float = 0.875) -> Image.Image:
    """Shorter side to round(size / fraction) (bilinear, antialiased when shrinking), then the centre
    size x size (torchvision's Resize(256) + CenterCrop(224) for size 224)."""
    w, h = img.size
    short = round(size / fraction)
    long = max(short, int(short * max(w, h) / min(w, h)))  # truncated, as torchvision does
    img = img.resize((short, long) if w <= h else (long, short), Image.Resampling.BILINEAR)
    w, h = img.size
    left, top = int(round((w - size) / 2)), int(round((h - size) / 2))
    return img.crop((left, top, left + size, top + size))


def preprocess(img: Image.Image, spec: Preprocessing) -> np.ndarray:
    """A normalised ("L" or "RGB") image -> float32 [C, S, S] in [0, 1], as :class:`Preprocessing` says."""
    size = (spec.size, spec.size)
    if spec.ink:
        grey = to_ink(img.convert("L"))
        resample = Image.Resampling.BOX if spec.flat else Image.Resampling.LANCZOS
        array = np.asarray(grey.resize(size, resample), dtype=np.float32)[None] / 255.0
        if array.max() < 0.1:
            raise ImageError("blank: no strokes found (the image is all paper)", "err_upload.blank")
        return array
    if spec.crop:
        out = centre_crop(img.convert("RGB" if spec.channels == 3 else "L"), spec.size)
    else:
        out = img.convert("RGB" if spec.channels == 3 else "L").resize(size, Image.Resampling.LANCZOS)
    array = np.asarray(out, dtype=np.float32) / 255.0
    return array.transpose(2, 0, 1).copy() if spec.channels == 3 else array[None]


def example_from_bytes(name: str, data: bytes, spec: Preprocessing, limits: Limits = LIMITS) -> Example:
    """One image file -> :class:`Example`; raises :class:`ImageError` with the reason (not naming the file)."""
    if len(data) > limits.max_file_bytes:
        raise ImageError(f"{len(data):,} bytes is over the limit of {limits.max_file_bytes:,} per file",
                         "err_upload.file_too_big", size=f"{len(data):,}", limit=f"{limits.max_file_bytes:,}")
    img = open_image(io.BytesIO(data), limits.max_image_pixels)
    return Example(name, preprocess(img, spec), _preview(img), img.width * img.height)


def drawing_png(rgba: np.ndarray) -> bytes:
    """A canvas drawing, uint8 or float [H, W, 4] (RGBA) or [H, W, 3], as PNG bytes (so that drawings go
    through the same ingestion as uploaded files; transparent parts count as white paper)."""
    a = np.asarray(rgba)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or not 8 <= min(a.shape[:2]) <= max(a.shape[:2]) <= 4096:
        raise ValueError(f"a drawing must be an [H, W, 3 or 4] array of at most 4096 pixels a side, not {a.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGBA" if a.shape[2] == 4 else "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def example_from_drawing(name: str, rgba: np.ndarray, spec: Preprocessing) -> Example:
    """A canvas drawing (see :func:`drawing_png`) -> :class:`Example`; raises :class:`ImageError` for a blank
    one."""
    return example_from_bytes(name, drawing_png(rgba), spec)


# ---- many files --------------------------------------------------------------------------------------

class _Budget:
    """What one upload has used so far: files and decoded pixels."""

    def __init__(self, limits: Limits):
        self.limits, self.files, self.pixels = limits, 0, 0

    def take(self, name: str, data: bytes, spec: Preprocessing) -> Example:
        if self.files >= self.limits.max_files:
            raise ImageError(f"over the limit of {self.limits.max_files} images per upload",
                             "err_upload.too_many_files", limit=str(self.limits.max_files))
        if self.pixels >= self.limits.max_total_pixels:
            raise ImageError(f"over the limit of {self.limits.max_total_pixels:,} pixels per upload",
                             "err_upload.too_many_pixels", limit=f"{self.limits.max_total_pixels:,}")
        self.files += 1
        example = example_from_bytes(name, data, spec, self.limits)
        self.pixels += example.pixels
        return example


def _is_image(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in SUFFIXES


def _is_hidden(parts: Sequence[str]) -> bool:
    """macOS resource forks and dot files, which zip tools add beside real images."""
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _ignored_note(names: list[str], where: str) -> tuple[str, ...]:
    if not names:
        return ()
    listed = ", ".join(names[:5])
    more = len(names) - 5
    shown = listed + (f" and {more} more" if more > 0 else "")
    text = f"ignored {len(names)} file(s) in {where} that are not PNG, JPEG, GIF, BMP or WebP images: {shown}"
    if more > 0:
        return (Note(text, "err_upload.ignored_more", count=str(len(names)), where=where, names=listed,
                     more=str(more)),)
    return (Note(text, "err_upload.ignored", count=str(len(names)), where=where, names=listed),)


_UNSAFE = re.compile(r"^([/\\]|[A-Za-z]:)")


def _zip_entries(source: bytes | Path, label: str, limits: Limits, rejected: list[Rejected],
                 ignored: list[str]) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of each image entry of a zip that passes the checks; the others go to ``rejected``
    (unsafe, too big, corrupt, encrypted) or ``ignored`` (not images)."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if size > limits.max_archive_bytes:
        raise UploadError(f"{label}: {size:,} bytes is over the limit of {limits.max_archive_bytes:,} per zip file",
                          "err_upload.zip_too_big", size=f"{size:,}", limit=f"{limits.max_archive_bytes:,}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError) as error:
        raise UploadError(f"{label}: not a readable zip file ({error})", "err_upload.not_zip",
                          error=str(error)) from error
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_zip_entries:
            raise UploadError(f"{label}: {len(infos):,} entries is over the limit of {limits.max_zip_entries:,} "
                              "per zip file; split it into smaller zips", "err_upload.zip_entries",
                              count=f"{len(infos):,}", limit=f"{limits.max_zip_entries:,}")
        budget = limits.max_zip_bytes  # uncompressed bytes this zip may still produce
        for info in infos:
            name = info.filename
            where = f"{label}:{name}"
            if _UNSAFE.match(name) or "\x00" in name or ".." in re.split(r"[/\\]", name):
                rejected.append(Rejected(where, "unsafe path in the zip (absolute or with '..'): refused",
                                         "err_upload.unsafe_path"))
                continue
            parts = [p for p in name.replace("\\", "/").split("/") if p]
            if info.is_dir() or not parts or _is_hidden(parts):
                continue
            if not _is_image(name):
                ignored.append(name)
                continue
            if info.flag_bits & 0x1:
                rejected.append(Rejected(where, "encrypted zip entries are not supported", "err_upload.encrypted"))
                continue
            if info.file_size > limits.max_file_bytes:
                rejected.append(Rejected(where, f"declares {info.file_size:,} bytes uncompressed, over the limit "
                                                f"of {limits.max_file_bytes:,} per file", "err_upload.entry_too_big",
                                         dict(size=f"{info.file_size:,}", limit=f"{limits.max_file_bytes:,}")))
                continue
            if info.file_size > budget:
                rejected.append(Rejected(where, f"the zip's images add up to more than {limits.max_zip_bytes:,} "
                                                "bytes uncompressed (zip bomb?): the rest is refused",
                                         "err_upload.zip_bomb", dict(limit=f"{limits.max_zip_bytes:,}")))
                budget = 0
                continue
            cap = min(limits.max_file_bytes, budget)
            try:
                data = _read_capped(archive, info, cap)
            except ValueError as error:
                rejected.append(Rejected.of(where, error))
                budget -= min(cap, budget)
                continue
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as error:
                rejected.append(Rejected(where, f"corrupt zip entry ({error})", "err_upload.corrupt_entry",
                                         dict(error=str(error))))
                continue
            budget -= len(data)
            yield "/".join(parts), data


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """An entry's bytes, counted while decompressing: more than ``cap`` is refused, whatever the entry
    declares (a zip bomb can lie about its sizes)."""
    chunks, total = [], 0
    with archive.open(info) as f:
        while chunk := f.read(65536):
            total += len(chunk)
            if total > cap:
                raise ImageError(f"decompresses to more than {cap:,} bytes although it declares "
                                 f"{info.file_size:,} (zip bomb?): refused", "err_upload.zip_bomb_entry",
                                 cap=f"{cap:,}", declared=f"{info.file_size:,}")
            chunks.append(chunk)
    return b"".join(chunks)


def _folder_entries(root: Path, limits: Limits, rejected: list[Rejected],
                    ignored: list[str]) -> Iterator[tuple[str, bytes]]:
    """(relative path, bytes) of the image files under ``root`` (symbolic links are not followed)."""
    files = sorted(p for p in root.rglob("*") if not p.is_symlink() and p.is_file())
    if len(files) > limits.max_zip_entries:
        raise UploadError(f"{root}: {len(files):,} files is over the limit of {limits.max_zip_entries:,}; "
                          "use a smaller folder")
    for path in files:
        rel = path.relative_to(root).as_posix()
        parts = rel.split("/")
        if _is_hidden(parts):
            continue
        if not _is_image(rel):
            ignored.append(rel)
            continue
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            continue
        size = info.st_size
        if size > limits.max_file_bytes:
            rejected.append(Rejected(rel, f"{size:,} bytes is over the limit of {limits.max_file_bytes:,} per file"))
            continue
        yield rel, path.read_bytes()


def _by_class(entries: Sequence[tuple[str, bytes]], others: Sequence[str], rejected: list[Rejected],
              prefix: str) -> dict[str, list[tuple[str, bytes]]]:
    """Group image entries (path, bytes) by class folder: the first folder below the one enclosing
    folder that all entries share, if any. Images outside any class folder are rejected, and so are
    class folders that hold only other files (``others``: their paths)."""
    paths = [p.split("/") for p, _ in entries] + [p.split("/") for p in others]
    strip = 0
    while paths and all(len(p) >= strip + 3 for p in paths) and len({p[strip] for p in paths}) == 1:
        strip += 1
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for path, data in entries:
        rest = path.split("/")[strip:]
        if len(rest) < 2:
            rejected.append(Rejected(f"{prefix}{path}", "not inside a class folder: put each class's images in a "
                                                        "folder named after the class", "err_upload.no_class_folder"))
            continue
        groups.setdefault(rest[0], []).append((f"{prefix}{path}", data))
    empty = sorted({p.split("/")[strip:][0] for p in others if len(p.split("/")[strip:]) >= 2} - set(groups))
    for name in empty:
        rejected.append(Rejected(f"class {name!r}", "has no images (its folder holds only other files)",
                                 "err_upload.empty_folder"))
    return groups


def ingest_classes(files: Mapping[str, Sequence[tuple[str, bytes]]], spec: Preprocessing,
                   limits: Limits = LIMITS) -> SupportSet:
    """Class by class: ``{class name: [(file name, bytes), ...]}`` -> :class:`SupportSet`.

    Class names are trimmed (whitespace collapsed, at most 60 characters) and must not be empty; files
    of two entries with the same trimmed name join one class. A class whose files all fail is reported
    in ``rejected``, not kept empty; classes past ``limits.max_classes`` are refused."""
    budget = _Budget(limits)
    classes: dict[str, tuple[Example, ...]] = {}
    rejected: list[Rejected] = []
    for raw_name, items in files.items():
        name = " ".join(str(raw_name).split())[:60]
        if not name:
            rejected.append(Rejected(f"{len(items)} file(s) without a class name", "give the class a name",
                                     "err_upload.no_class_name"))
            continue
        if len(classes) >= limits.max_classes and name not in classes:
            rejected.append(Rejected(f"class {name!r}", f"over the limit of {limits.max_classes} classes",
                                     "err_upload.too_many_classes", dict(limit=str(limits.max_classes))))
            continue
        kept = []
        for file_name, data in items:
            if not _is_image(file_name):
                rejected.append(Rejected(file_name, "not a PNG, JPEG, GIF, BMP or WebP file (by its name)",
                                         "err_upload.not_image"))
                continue
            try:
                kept.append(budget.take(file_name, data, spec))
            except ValueError as error:
                rejected.append(Rejected.of(file_name, error))
        if kept:
            classes[name] = classes.get(name, ()) + tuple(kept)
        elif name not in classes and items:
            rejected.append(Rejected(f"class {name!r}", f"has no usable images (its {len(items)} file(s) were "
                                     "rejected)", "err_upload.class_unusable", dict(count=str(len(items)))))
        elif name not in classes:
            rejected.append(Rejected(f"class {name!r}", "has no usable images (no files were given)",
                                     "err_upload.class_no_files"))
    return SupportSet(classes, tuple(rejected))


def _support(entries: list[tuple[str, bytes]], ignored: list[str], rejected: list[Rejected], spec: Preprocessing,
             limits: Limits, prefix: str, where: str) -> SupportSet:
    groups = _by_class(entries, ignored, rejected, prefix)
    result = ingest_classes(groups, spec, limits)
    return SupportSet(result.classes, tuple(rejected) + result.rejected, _ignored_note(ignored, where))


def ingest_zip(data: bytes | str | Path, spec: Preprocessing, limits: Limits = LIMITS,
               label: str | None = None) -> SupportSet:
    """One zip of class subfolders -> :class:`SupportSet`; files are named ``label:path/in/zip``. Raises
    :class:`UploadError` for a zip refused as a whole (unreadable, too large, too many entries)."""
    source = data if isinstance(data, bytes) else Path(data)
    label = label or (source.name if isinstance(source, Path) else "upload.zip")
    rejected: list[Rejected] = []
    ignored: list[str] = []
    entries = list(_zip_entries(source, label, limits, rejected, ignored))
    return _support(entries, ignored, rejected, spec, limits, f"{label}:", label)


def ingest_folder(path: str | Path, spec: Preprocessing, limits: Limits = LIMITS) -> SupportSet:
    """A folder of class subfolders of images -> :class:`SupportSet`; files are named by their path
    relative to the folder."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise UploadError(f"{root} is not a folder: give a folder (or a zip) with one subfolder of images per class")
    rejected: list[Rejected] = []
    ignored: list[str] = []
    entries = list(_folder_entries(root, limits, rejected, ignored))
    return _support(entries, ignored, rejected, spec, limits, "", str(root))


def ingest_support(path: str | Path, spec: Preprocessing, limits: Limits = LIMITS) -> SupportSet:
    """A folder or a zip of class subfolders (the command line's ``--support``)."""
    p = Path(path).expanduser()
    if p.is_dir():
        return ingest_folder(p, spec, limits)
    if p.is_file():
        return ingest_zip(p, spec, limits)
    raise UploadError(f"{p} does not exist: give a folder or a zip with one subfolder of images per class")


def ingest_queries(source: str | Path | bytes | Sequence[tuple[str, bytes]], spec: Preprocessing,
                   limits: Limits = LIMITS, label: str | None = None) -> QuerySet:
    """Query images from a folder (searched recursively), a zip (bytes or a path), one image file, or a
    list of uploaded files ``[(name, bytes), ...]`` (images or zips of images), in a stable order (by name)."""
    rejected: list[Rejected] = []
    ignored: list[str] = []
    if isinstance(source, bytes):
        label = label or "queries.zip"
        entries = [(f"{label}:{p}", d) for p, d in _zip_entries(source, label, limits, rejected, ignored)]
    elif isinstance(source, (str, Path)):
        p = Path(source).expanduser()
        label = label or str(p)
        if p.is_dir():
            entries = list(_folder_entries(p, limits, rejected, ignored))
        elif p.is_file() and p.suffix.lower() == ".zip":
            entries = [(f"{p.name}:{q}", d) for q, d in _zip_entries(p, p.name, limits, rejected, ignored)]
        elif p.is_file():
            size = p.stat().st_size
            if size > limits.max_file_bytes:
                rejected.append(Rejected(p.name, f"{size:,} bytes is over the limit of {limits.max_file_bytes:,}"))
                entries = []
            else:
                entries = [(p.name, p.read_bytes())]
        else:
            raise UploadError(f"{p} does not exist: give a folder of images, a zip or an image file")
    else:
        label = label or "the uploaded files"
        entries = []
        for name, data in source:
            if _is_image(name):
                entries.append((name, data))
            elif name.lower().endswith(".zip"):
                try:
                    entries += [(f"{name}:{q}", d) for q, d in _zip_entries(data, name, limits, rejected, ignored)]
                except UploadError as error:
                    rejected.append(Rejected.of(name, error, prefix=f"{name}: "))
            else:
                rejected.append(Rejected(name, "not a PNG, JPEG, GIF, BMP or WebP file (by its name)",
                                         "err_upload.not_image"))
    budget = _Budget(limits)
    examples = []
    for name, data in sorted(entries, key=lambda e: e[0]):
        try:
            examples.append(budget.take(name, data, spec))
        except ValueError as error:
            rejected.append(Rejected.of(name, error))
    return QuerySet(tuple(examples), tuple(rejected), _ignored_note(ignored, label))


def ingest_any_support(uploads: Sequence[tuple[str, bytes]], spec: Preprocessing,
                       limits: Limits = LIMITS) -> SupportSet:
    """Several uploaded zips of class folders, merged (the page's one-zip upload)."""
    out = SupportSet({})
    for name, data in uploads:
        try:
            out = out.merged(ingest_zip(data, spec, limits, label=name), limits)
        except UploadError as error:
            out = out.merged(SupportSet({}, (Rejected.of(name, error, prefix=f"{name}: "),)), limits)
    return out

