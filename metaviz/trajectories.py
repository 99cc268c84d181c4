"""Shipped meta-training trajectories: the short runs some pages meta-train when they open, trained once.

The Loss Landscape page draws MAML on sine waves when the session has no run of its own; meta-training it (150
meta-iterations, a checkpoint every 10) cost a first visit seconds before its first figure. ``scripts/
train_demo_zoo.py`` trains the same run with the same code and stores its checkpoints in
``metaviz/zoo/demo/<name>.safetensors``; :func:`cached` returns them when the stored ``RunConfig`` is the one asked
for, and trains otherwise (a different seed, or no file). A test retrains the shipped run and compares.

Format: safetensors (never a pickle), one float32 tensor per parameter and checkpoint named
``"<step>/<parameter>"``; the header's metadata holds the ``RunConfig`` as JSON and the format name.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import safetensors
import safetensors.numpy

from metaviz.train import RunConfig

DEMO_DIR = Path(__file__).resolve().parent / "zoo" / "demo"
FORMAT = "metaviz-trajectory-1"
Trajectory = tuple[tuple[int, dict[str, np.ndarray]], ...]


def save(path: Path, config: RunConfig, trajectory: Trajectory, arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``trajectory`` and, named ``"arrays/<key>"``, any other float arrays of the run (evaluation curves)."""
    tensors = {f"{step}/{name}": np.ascontiguousarray(value, np.float32)
               for step, params in trajectory for name, value in params.items()}
    tensors.update({f"arrays/{k}": np.ascontiguousarray(v, np.float64) for k, v in (arrays or {}).items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(safetensors.numpy.save(tensors, metadata={"format": FORMAT,
                                                               "config": json.dumps(config.to_dict())}))
    return path


def load(path: Path) -> tuple[RunConfig, Trajectory, dict[str, np.ndarray]]:
    """(config, trajectory, arrays) from ``path``; a clear error naming the file when it is not one of ours."""
    data = path.read_bytes()
    try:
        with safetensors.safe_open(str(path), "numpy") as f:
            metadata = f.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise ValueError(f"format {metadata.get('format')!r}, not {FORMAT!r}")
        config = RunConfig.from_dict(json.loads(metadata["config"]))
        tensors = safetensors.numpy.load(data)
    except (ValueError, KeyError, OSError, safetensors.SafetensorError) as error:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path}: not a metaviz trajectory ({error})") from error
    steps: dict[int, dict[str, np.ndarray]] = {}
    arrays = {}
    for key, value in tensors.items():
        step, _, name = key.partition("/")
        if step == "arrays":
            arrays[name] = value
        else:
            steps.setdefault(int(step), {})[name] = value
    return config, tuple((s, steps[s]) for s in sorted(steps)), arrays


def fingerprint(config: RunConfig, *extra) -> str:
    """A short name for ``config`` (and ``extra`` values): the first 12 hex digits of a SHA-256 of its JSON."""
    text = json.dumps([config.to_dict(), *map(repr, extra)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cached_parts(name: str, config: RunConfig,
                 train: Callable[[], tuple[Trajectory, dict[str, np.ndarray]]]) -> tuple[Trajectory, dict]:
    """The shipped (trajectory, arrays) ``name`` if it was trained with ``config``, else ``train()``.

    With ``METAVIZ_RECORD_DEMOS=1`` in the environment, what is trained for a name with no file is saved under
    that name (``scripts/train_demo_zoo.py --lessons`` opens the lessons so)."""
    path = DEMO_DIR / f"{name}.safetensors"
    if path.exists():
        stored, trajectory, arrays = load(path)
        if stored == config:
            return trajectory, arrays
    trajectory, arrays = train()
    if os.environ.get("METAVIZ_RECORD_DEMOS") == "1" and not path.exists():
        save(path, config, trajectory, arrays)
    return trajectory, arrays


def cached(name: str, config: RunConfig, train: Callable[[], Trajectory]) -> Trajectory:
    """The shipped trajectory ``name`` if it was trained with ``config``, else ``train()``."""
    return cached_parts(name, config, lambda: (train(), {}))[0]
