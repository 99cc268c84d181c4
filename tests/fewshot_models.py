"""The meta-trained models the few-shot tests use: the checkpoints that ship in metaviz/zoo/."""

from __future__ import annotations

from pathlib import Path

import pytest


def omniglot_available() -> bool:
    from metaviz.data.omniglot import search_dirs

    return any((d / "images_background_small1.zip").is_file() or (d / "images_background_small1").is_dir()
               for d in search_dirs())


def zoo_path(name: str) -> Path:
    """The shipped checkpoint ``name``; the test is skipped, saying why, when it is missing."""
    from metaviz import checkpoint

    found = checkpoint.zoo()
    if name not in found:
        pytest.skip(f"the zoo checkpoint {name!r} is missing from {checkpoint.ZOO_DIR} (found {sorted(found)}); "
                    "scripts/train_zoo.py makes it")
    return found[name]
