"""Omniglot on disk: find (or download) the official zips and decode them into tensors.

Lake, Salakhutdinov and Tenenbaum (2015), *Human-level concept learning through
probabilistic program induction*, Science 350(6266); data from
https://github.com/brendenlake/omniglot (MIT licence).

Layout of every image zip (and of the folder it extracts to)::

    images_background_small1/<Alphabet>/character01/0108_01.png   (105x105, 1-bit, black ink on white)

Where files are looked for, in order (:func:`search_dirs`): ``data_dir`` when given,
``$METAVIZ_DATA``, the repository's ``../shared/data/omniglot`` and the cache folder
``~/.cache/metaviz/omniglot``. Each place may hold the zip or its extracted folder.
Images are read straight from the zip; nothing is extracted.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, ImageChops


class RemoteFile(NamedTuple):
    url: str
    algorithm: str  # hashlib name of the checksum
    digest: str


_BASE = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python"
OMNIGLOT_FILES: dict[str, RemoteFile] = {
    # md5 as listed by torchvision's Omniglot dataset; sha256 as measured for /work/shared/data/README.md
    "images_background.zip": RemoteFile(f"{_BASE}/images_background.zip", "md5",
                                        "68d2efa1b9178cc56df9314c21c6e718"),
    "images_evaluation.zip": RemoteFile(f"{_BASE}/images_evaluation.zip", "md5",
                                        "6b91aef0f799c5bb55b94e3f2daec811"),
    "images_background_small1.zip": RemoteFile(
        f"{_BASE}/images_background_small1.zip", "sha256",
        "f38eb80f801274ac2b4dff5b24289016bfaba4a7d5bb50deebf27104ad6cb8a4"),
    "images_background_small2.zip": RemoteFile(
        f"{_BASE}/images_background_small2.zip", "sha256",
        "3ccaa407515a8778e5d0861875af38b17e418f301ad5bb3b5a6b65d901a41c7f"),
    "all_runs.zip": RemoteFile(
        f"{_BASE}/one-shot-classification/all_runs.zip", "sha256",
        "437c1eeab0af8484112e1b4cc0f3d541ec727f7c47b9b202da738af9dfd6c325"),
}

# Named sets of characters -> the zips they come from (earlier zips win on duplicate characters).
SOURCES: dict[str, tuple[str, ...]] = {
    "small1": ("images_background_small1",),
    "small2": ("images_background_small2",),
    "minimal": ("images_background_small1", "images_background_small2"),  # 8 alphabets, 242 characters
    "background": ("images_background",),  # 30 alphabets, 964 characters
    "evaluation": ("images_evaluation",),  # 20 alphabets, 659 characters
}

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = REPO_ROOT.parent / "shared" / "data" / "omniglot"  # CI clones the repo beside shared/


def cache_dir() -> Path:
    """Where downloads go: ``$METAVIZ_DATA`` or ``~/.cache/metaviz/omniglot``."""
    return Path(os.environ.get("METAVIZ_DATA") or "~/.cache/metaviz/omniglot").expanduser()


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched, in order: data_dir, $METAVIZ_DATA, the repo's ../shared/data/omniglot, the cache."""
    dirs = [Path(data_dir).expanduser()] if data_dir else []
    if os.environ.get("METAVIZ_DATA"):
        dirs.append(Path(os.environ["METAVIZ_DATA"]).expanduser())
    dirs += [SHARED_DIR, Path("~/.cache/metaviz/omniglot").expanduser()]
    return list(dict.fromkeys(dirs))  # drop repeats, keep order


def _remote(name: str) -> tuple[str, RemoteFile]:
    file = name if name.endswith(".zip") else f"{name}.zip"
    if file not in OMNIGLOT_FILES:
        raise ValueError(f"unknown Omniglot file {name!r}; known: {sorted(OMNIGLOT_FILES)}")
    return file, OMNIGLOT_FILES[file]


def find_or_download(name: str, data_dir: str | os.PathLike | None = None, download: bool = False) -> Path:
    """Path of the zip ``name`` (e.g. "images_background" or "all_runs.zip") or of its extracted folder.

    Searches :func:`search_dirs`; when absent and ``download`` is true, fetches the official URL into
    ``data_dir`` (or :func:`cache_dir`), checks its checksum and only then moves it into place.
    """
    file, remote = _remote(name)
    stem = file.removesuffix(".zip")
    dirs = search_dirs(data_dir)
    for d in dirs:
        if (d / file).is_file():
            return d / file
        if (d / stem).is_dir():
            return d / stem
    target = Path(data_dir).expanduser() if data_dir else cache_dir()
    if download:
        return _download(remote, target / file)
    cli = " or `python -m metaviz eval omniglot-oneshot --download`" if stem == "all_runs" else ""
    raise FileNotFoundError(
        f"Omniglot file {file} not found. Looked for {file} or its extracted folder {stem}/ in: "
        f"{', '.join(map(str, dirs))}. Put {file} into {target} (or pass data_dir=..., or set METAVIZ_DATA "
        f"to the folder that holds it), or download it from {remote.url} - or let MetaViz fetch and verify "
        f"it: metaviz.data.omniglot.find_or_download({stem!r}, download=True){cli}.")


def _download(remote: RemoteFile, path: Path) -> Path:
    """Stream ``remote`` into a temporary file beside ``path``, verify, then rename (never a half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.new(remote.algorithm)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(remote.url, timeout=60) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != remote.digest:
            raise OSError(f"download of {remote.url} is corrupt: {remote.algorithm} {digest.hexdigest()} "
                          f"!= {remote.digest}; try again")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def checksum(path: Path, algorithm: str = "sha256") -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


_UNSAFE = re.compile(r"^([/\\]|[A-Za-z]:)")


class Archive:
    """Files of a zip, or of a folder, by relative POSIX name. A zip with an absolute or ``..``
    entry is refused outright: it is either broken or an attack (path traversal)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if self.path.is_dir():
            self._zip = None
            self.files = sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file())
            return
        self._zip = zipfile.ZipFile(self.path)
        names = self._zip.namelist()
        for name in names:
            if _UNSAFE.match(name) or ".." in re.split(r"[/\\]", name):
                raise ValueError(f"unsafe entry {name!r} in {self.path}: absolute paths and '..' are refused; "
                                 f"replace the file with the official one")
        self.files = sorted(n for n in names if not n.endswith("/"))

    def read(self, name: str) -> bytes:
        return self._zip.read(name) if self._zip else (self.path / name).read_bytes()

    def close(self) -> None:
        if self._zip:
            self._zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def preprocess(png: bytes, size: int = 28) -> np.ndarray:
    """One drawing as float32 [size, size] in [0, 1]: ink 1, paper 0 (the PNGs are black on white),
    resized with PIL's antialiasing (Lanczos) so thin strokes turn grey instead of vanishing."""
    image = ImageChops.invert(Image.open(io.BytesIO(png)).convert("L"))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.float32) / 255.0


@dataclass(frozen=True, eq=False)
class Characters:
    """Drawings of handwritten characters. Cached and shared: never modify the tensors in place.

    images [M, 1, S, S] float32 (ink 1), labels [M] int64 character ids 0..C-1,
    alphabets[c] and names[c] (the folder name, e.g. "character07") for each character c.
    """

    images: torch.Tensor
    labels: torch.Tensor
    alphabets: tuple[str, ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.names)

    def counts(self) -> dict[str, int]:
        """Characters per alphabet."""
        out: dict[str, int] = {}
        for a in self.alphabets:
            out[a] = out.get(a, 0) + 1
        return out


def load_characters(sources: str | tuple[str, ...], data_dir: str | os.PathLike | None = None, size: int = 28,
                    download: bool = False) -> Characters:
    """Characters of one or more named sets (see :data:`SOURCES`), a character present in two sets once.

    Cached in-process: a second call with the same arguments returns the same object at once.
    """
    names = (sources,) if isinstance(sources, str) else tuple(sources)
    for s in names:
        if s not in SOURCES:
            raise ValueError(f"unknown Omniglot source {s!r}; choose from {sorted(SOURCES)}")
    return _load(names, str(data_dir) if data_dir else None, int(size), bool(download))


@functools.lru_cache(maxsize=4)
def _load(sources: tuple[str, ...], data_dir: str | None, size: int, download: bool) -> Characters:
    zips = list(dict.fromkeys(z for s in sources for z in SOURCES[s]))
    images: list[np.ndarray] = []
    labels: list[int] = []
    alphabets: list[str] = []
    names: list[str] = []
    seen: set[tuple[str, str]] = set()
    for stem in zips:
        with Archive(find_or_download(stem, data_dir, download)) as archive:
            drawings: dict[tuple[str, str], list[str]] = {}
            for f in archive.files:
                parts = PurePosixPath(f).parts
                if f.endswith(".png") and len(parts) >= 3:  # [top folder/] alphabet/character/drawing.png
                    drawings.setdefault((parts[-3], parts[-2]), []).append(f)
            for key in sorted(drawings):
                if key in seen:  # small1 and small2 share Greek and Latin (byte-identical)
                    continue
                seen.add(key)
                images += [preprocess(archive.read(f), size) for f in drawings[key]]
                labels += [len(names)] * len(drawings[key])
                alphabets.append(key[0])
                names.append(key[1])
    if not names:
        raise ValueError(f"no drawings (alphabet/character/*.png) found for {sources} in the Omniglot files")
    return Characters(torch.from_numpy(np.stack(images))[:, None], torch.tensor(labels, dtype=torch.int64),
                      tuple(alphabets), tuple(names))
