"""Checkpoints: a learner's meta-parameters plus the run config that built them, in one safetensors file.

    checkpoint.save("maml.safetensors", run.config, run.learner.state_numpy(), run.step)
    loaded = checkpoint.load("maml.safetensors")     # or the bytes of an uploaded file
    learner = checkpoint.build(loaded, device="cpu")  # ready to adapt and predict

A safetensors file is raw tensor bytes and a JSON header: loading one runs no
code and unpickles nothing, so a checkpoint from a stranger is safe to open.
The header's metadata holds the ``RunConfig`` as JSON, the step, the format and
the metaviz version. ``load`` checks all of it and ``build`` checks every
parameter's name and shape against a freshly built learner, so a mismatched file
gets an error that says what is wrong instead of a cryptic failure later.

Checkpoints that ship with the app live in ``metaviz/zoo/`` (see ``zoo()``);
``scripts/train_zoo.py`` reproduces them.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import safetensors.numpy

import metaviz
from metaviz.messages import KeyedError

FORMAT = "metaviz-checkpoint/1"
SUFFIX = ".safetensors"
ZOO_DIR = Path(__file__).resolve().parent / "zoo"
MAX_HEADER = 1_000_000  # bytes of JSON header; real ones are a few kB
MAX_TENSORS = 10_000  # a learner has a few dozen
ITEM_SIZE = {"F64": 8, "F32": 4, "F16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


class CheckpointError(KeyedError):
    """A file that is not a usable metaviz checkpoint; the message says why (its key: :mod:`metaviz.messages`)."""


@dataclass(frozen=True)
class Loaded:
    """What a checkpoint holds. ``params``: name -> array, as ``MetaLearner.state_numpy()`` gives them."""

    config: object  # metaviz.train.RunConfig (imported lazily: train imports the learners)
    step: int
    params: dict[str, np.ndarray]
    metadata: dict[str, str]

    @property
    def temperature(self) -> float:
        """The calibration temperature T (probabilities softmax(logits / T), :mod:`metaviz.calibration`),
        fitted on meta-validation tasks; 1.0 for checkpoints saved without one."""
        return float(self.metadata.get("temperature", 1.0))

    @property
    def copies(self) -> int:
        """Test-time copies of each image (``metaviz.fewshot.classify``), chosen on meta-validation tasks;
        0 for checkpoints saved without."""
        return int(self.metadata.get("test_time_copies", 0))


def save(path: str | Path, config, params: Mapping[str, np.ndarray], step: int,
         metrics: Mapping[str, float] | None = None, temperature: float | None = None, copies: int = 0) -> Path:
    """Write ``params`` and ``config`` (a RunConfig) to ``path``; returns the path. ``temperature``: the
    calibration temperature to store (see :attr:`Loaded.temperature`); ``copies``: the test-time copies
    (:attr:`Loaded.copies`); ``params`` may be an :func:`ensemble`."""
    path = Path(path)
    metadata = {"format": FORMAT, "metaviz": metaviz.__version__, "config": json.dumps(config.to_dict()),
                "step": str(int(step)), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "metrics": json.dumps({k: float(v) for k, v in (metrics or {}).items()})}
    if temperature is not None:
        if not temperature > 0:
            raise ValueError(f"the calibration temperature must be positive, not {temperature}")
        metadata["temperature"] = repr(float(temperature))
    if copies:
        metadata["test_time_copies"] = str(int(copies))
    tensors = {k: np.ascontiguousarray(v) for k, v in params.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
    tmp.replace(path)  # atomic: a crash never leaves half a checkpoint under the real name
    return path


MAX_COPIES = 32  # test-time copies of each image at most (metaviz.fewshot.MAX_COPIES)
MEMBER = "member."  # an ensemble's tensors are named "member.<i>.<parameter>"


def members(params: Mapping[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """The member models of ``params``: an ensemble's (tensors "member.<i>.<name>", all of one config), or
    ``[params]`` for a single model. Raises ValueError for a mix of both or members numbered with gaps."""
    if not any(k.startswith(MEMBER) for k in params):
        return [dict(params)]
    groups: dict[int, dict[str, np.ndarray]] = {}
    for key, value in params.items():
        index, _, name = key[len(MEMBER):].partition(".") if key.startswith(MEMBER) else ("", "", "")
        if not (index.isdigit() and name):
            raise ValueError(f"tensor {key[:80]!r} is not named {MEMBER}<i>.<parameter> like the ensemble's others")
        groups.setdefault(int(index), {})[name] = value
    if sorted(groups) != list(range(len(groups))):
        raise ValueError(f"an ensemble's members must be numbered 0..{len(groups) - 1}, not {sorted(groups)[:10]}")
    return [groups[i] for i in range(len(groups))]


def ensemble(member_params: list[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The tensors of an ensemble of models of one config (each a ``state_numpy()``): what :func:`save` stores
    and :func:`members` splits again. Its prediction is the members' mean probability (``metaviz.fewshot``)."""
    if not member_params:
        raise ValueError("an ensemble needs at least one member")
    return {f"{MEMBER}{i}.{k}": v for i, p in enumerate(member_params) for k, v in p.items()}


def save_run(path: str | Path, run) -> Path:
    """Checkpoint a ``metaviz.train.Run`` at its current step."""
    return save(path, run.config, run.learner.state_numpy(), run.step)


def _header(data: bytes) -> dict:
    if len(data) < 8:
        raise CheckpointError("not a safetensors file: it is shorter than its 8-byte header length",
                              "err_checkpoint.too_short")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise CheckpointError("not a safetensors file: its header length is impossible (truncated or another "
                              "format, such as a pickled .pt file, which is refused because unpickling can run code)",
                              "err_checkpoint.bad_header")
    try:
        header = json.loads(data[8:8 + n])
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"not a safetensors file: its header is not JSON ({error})", "err_checkpoint.not_json",
                              error=str(error)) from None
    if not isinstance(header, dict) or not isinstance(header.get("__metadata__") or {}, dict):
        error = "the header and its __metadata__ must be objects"
        raise CheckpointError(f"not a safetensors file: its header is not JSON ({error})", "err_checkpoint.not_json",
                              error=error)
    return header


def _check_tensors(header: dict, size: int) -> None:
    """Every tensor's dtype, shape and byte range (within the ``size`` bytes after the header), from the header,
    before a single array is allocated."""
    def bad(name, reason: str):
        raise CheckpointError(f"tensor {str(name)[:80]!r}: {reason}", "sec.checkpoint_tensor",
                              name=repr(str(name)[:80]), reason=reason)

    if not isinstance(header, dict):
        bad("(header)", "the header must be an object")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if len(tensors) > MAX_TENSORS:
        bad("(header)", f"{len(tensors)} tensors; at most {MAX_TENSORS}")
    for name, info in tensors.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            bad(name, "needs exactly dtype, shape and data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in ITEM_SIZE:
            bad(name, f"dtype {str(dtype)[:20]!r} is not one of {sorted(ITEM_SIZE)}")
        if not (isinstance(shape, list) and len(shape) <= 8 and isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in [*shape, *offsets])):
            bad(name, "shape must be up to 8 sizes and data_offsets two byte offsets, all whole numbers >= 0")
        begin, end = offsets
        if not begin <= end <= size or int(np.prod(shape, dtype=object)) * ITEM_SIZE[dtype] != end - begin:
            bad(name, f"shape {shape} of {dtype} does not fit its bytes {begin}..{end} of {size} (a corrupt or "
                "truncated file)")


def load(source: str | Path | bytes) -> Loaded:
    """Read a checkpoint from a path or from bytes (an upload). Raises CheckpointError when it is not one."""
    from metaviz.train import RunConfig

    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise CheckpointError(f"cannot read checkpoint {source}: {error.strerror or error}") from None
    else:
        data = bytes(source)
    metadata = _header(data).get("__metadata__") or {}
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"a safetensors file, but not a metaviz checkpoint (format {metadata.get('format')!r}, "
                              f"expected {FORMAT!r}): save one with metaviz.checkpoint.save or the app's export",
                              "err_checkpoint.not_metaviz", format=repr(metadata.get("format")),
                              expected=repr(FORMAT))
    _check_tensors(_header(data), len(data) - 8 - struct.unpack("<Q", data[:8])[0])
    try:
        params = safetensors.numpy.load(data)
    except Exception as error:  # noqa: BLE001 - the library raises its own types for corrupt files
        raise CheckpointError(f"the checkpoint's tensors are corrupt: {error}", "err_checkpoint.corrupt",
                              error=str(error)) from None
    try:
        config = RunConfig.from_dict(json.loads(metadata["config"]))
        step = int(metadata.get("step", 0))
        if not 0 < float(metadata.get("temperature", 1.0)) < float("inf"):
            raise ValueError(f"its calibration temperature {metadata['temperature']!r} is not a positive number")
        if not 0 <= int(metadata.get("test_time_copies", 0)) <= MAX_COPIES:
            raise ValueError(f"its test-time copies {metadata['test_time_copies']!r} are not 0..{MAX_COPIES}")
    except (KeyError, ValueError, TypeError, RecursionError) as error:
        raise CheckpointError(f"the checkpoint's run config is not usable by this version of metaviz "
                              f"({metaviz.__version__}): {error}", "err_checkpoint.config",
                              version=metaviz.__version__, error=str(error)) from None
    return Loaded(config, step, params, dict(metadata))


def build(loaded: Loaded, device: str = "cpu", task_config=None):
    """A learner built from the checkpoint's config with its parameters loaded (an ensemble's first member,
    after every member's tensors are checked; :func:`metaviz.fewshot.classify` uses them all).

    ``task_config``: build it for other tasks of the same family than it was meta-trained on, for
    example 5-way tasks for a Prototypical Network meta-trained on 60-way ones. Learners with an
    N-way output head only fit tasks of their own N; the error says so.
    """
    import dataclasses

    from metaviz.device import resolve_device
    from metaviz.train import build_learner

    config = loaded.config if task_config is None else dataclasses.replace(loaded.config, task_config=task_config)
    learner = build_learner(config, device=resolve_device(device))
    try:
        parts = members(loaded.params)
    except ValueError as error:
        details = f"its tensors are neither one model nor an ensemble ({error})"
        raise CheckpointError(f"the checkpoint does not fit a {loaded.config.learner} learner for "
                              f"{loaded.config.task}: {details}", "err_checkpoint.mismatch",
                              learner=loaded.config.learner, task=loaded.config.task, details=details) from None
    for part in parts[1:]:
        build(Loaded(loaded.config, loaded.step, part, loaded.metadata), device, task_config)
    loaded = Loaded(loaded.config, loaded.step, parts[0], loaded.metadata)
    # empty placeholders (a metric learner's support summary) are shaped by N-way and hold nothing
    expected = {k: tuple(v.shape) for k, v in learner.params.items() if v.numel()}
    found = {k: tuple(v.shape) for k, v in loaded.params.items() if v.size}
    if expected != found:
        missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
        wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
        details = "; ".join(filter(None, [
            missing and f"missing {missing}", extra and f"unexpected {extra}",
            wrong and "wrong shapes " + ", ".join(f"{k} {found[k]} (expected {expected[k]})" for k in wrong)]))
        raise CheckpointError(f"the checkpoint does not fit a {loaded.config.learner} learner for "
                              f"{loaded.config.task}: {details}", "err_checkpoint.mismatch",
                              learner=loaded.config.learner, task=loaded.config.task, details=details)
    learner.load_numpy(loaded.params)
    return learner


def zoo() -> dict[str, Path]:
    """The checkpoints that ship with the app: name -> path (e.g. "protonet-omniglot")."""
    return {p.name[:-len(SUFFIX)]: p for p in sorted(ZOO_DIR.glob(f"*{SUFFIX}"))}


def suits(config) -> str:
    """What a model meta-trained with ``config`` (a RunConfig) suits, for pickers: "drawings" (Omniglot,
    the digits: ink on paper), "photos" (an RGB image folder), "images" (a greyscale image folder),
    "sentences" (text) or "other" (regression, reinforcement learning)."""
    from metaviz import tasks

    family = tasks.get(config.task)
    if family.input_kind() == "tokens":
        return "sentences"
    if config.task in ("omniglot", "digits"):
        return "drawings"
    if config.task == "image-folder":
        return "photos" if getattr(config.task_config, "rgb", False) else "images"
    return "other"


def describe() -> dict[str, dict]:
    """Every model that ships: zoo checkpoints ({"suits", "kind": "checkpoint", "learner", "task", "step"}) and the
    pretrained photo model (``metaviz.photoshot.describe()``, "kind": "pretrained"), by name."""
    from metaviz import photoshot

    out = {}
    for name, path in zoo().items():
        loaded = load(path)
        out[name] = {"suits": suits(loaded.config), "kind": "checkpoint", "learner": loaded.config.learner,
                     "task": loaded.config.task, "step": loaded.step, "temperature": loaded.temperature}
    out[photoshot.MODEL_NAME] = photoshot.describe()
    return out
