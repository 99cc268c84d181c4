"""What an exported run's files may hold, checked before anything reaches the run store.

An exported run is a file strangers pass around, so every field is data to check, never to trust:
``run.json`` and ``evals.json`` are read through strict pydantic models (unknown keys, wrong types,
NaN or infinity where a number is required, and oversized text or lists are refused; an AutoML search's
``result`` too); ``config.json`` through the config dataclasses of the run's kind
(:meth:`metaviz.train.RunConfig.from_dict` or ``AutoMLConfig.from_dict``: the widgets' ranges);
``metrics.csv`` row by row, with steps inside the run and at most one row per step. Each refusal is an
:class:`ImportRefused` naming the file, the field and the reason.
"""

from __future__ import annotations

import csv
import io
import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metaviz.messages import KeyedError
from metaviz.store import KINDS, STATUSES, StoreError, config_class

MAX_TEXT = 10_000  # characters of a free-text field (a name, a device, a message)
MAX_COLUMNS = 64  # metric columns of metrics.csv; a run records about a dozen
MAX_INNER_STEPS = 1000  # points of an evaluation curve - 1
METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Name = Annotated[str, Field(pattern=f"^{METRIC_NAME.pattern}$")]  # anchored: pydantic searches, it does not match
Count = Annotated[int, Field(ge=0, le=10**12)]
Seconds = Annotated[float, Field(ge=0)]


class ExportError(KeyedError):
    """An exported run that cannot be imported; the message says which file and why."""


class ImportRefused(ExportError):
    """A file of an exported run that cannot be imported: ``file``, ``field`` and ``reason`` say why."""

    def __init__(self, file: str, field: str, reason: str):
        super().__init__(f"{file}: {field}: {reason}", "sec.import_refused", file=file, field=field, reason=reason)
        self.file, self.field, self.reason = file, field, reason


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


Word = Annotated[str, Field(max_length=200)]
HyperValue = float | int | Word | Annotated[list[float | int | Word], Field(max_length=1000)]


class ChosenResult(_Strict):
    """What an AutoML search chose (hyperparameters, or a cell), trained and scored (``Result.to_dict()``)."""

    hyperparameters: Annotated[dict[Name, HyperValue], Field(max_length=32)]
    val_loss: float | None = None
    test_loss: float | None = None
    test_accuracy: Annotated[float, Field(ge=0, le=1)] | None = None
    retrain_steps: Count = 0


class RunResult(_Strict):
    method: ChosenResult | None = None
    baseline: ChosenResult | None = None
    grid: ChosenResult | None = None


class RunMeta(_Strict):
    """``run.json``: what the exporting store knew. Only ``format`` is required; free text is kept as data."""

    format: Literal["metaviz-run/1"]
    id: Annotated[str, Field(max_length=64)] = ""
    name: Text = ""
    task: Annotated[str, Field(max_length=64)] = ""
    learner: Annotated[str, Field(max_length=64)] = ""
    config: dict = {}
    seed: Count = 0
    version: Text = "unknown"
    git_commit: Text | None = None
    device: Text = ""
    status: Literal[STATUSES] = "interrupted"
    message: Text = ""
    step: Count | None = None
    n_steps: Count = 0
    created: Seconds = 0.0
    updated: Seconds = 0.0
    heartbeat: Seconds = 0.0
    wall_time: Seconds = 0.0
    peak_rss: Count | None = None
    peak_device: Count | None = None
    source: Text = ""
    group_id: Text | None = None
    parent: Text | None = None
    created_iso: Text = ""
    updated_iso: Text = ""
    checkpoint_step: Count | None = None
    kind: Literal[KINDS] = "meta"
    result: RunResult | None = None


Curve = Annotated[list[float], Field(max_length=MAX_INNER_STEPS + 1)]


class Curves(_Strict):
    loss: Curve
    accuracy: Curve | None = None


class EvalEntry(_Strict):
    step: Count
    inner_steps: Annotated[int, Field(ge=0, le=MAX_INNER_STEPS)]
    curves: Annotated[dict[Name, Curves], Field(max_length=16)]


def _refused(file: str, error: ValidationError) -> ImportRefused:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(the whole file)"
    return ImportRefused(file, field, first["msg"])


def run_meta(data) -> RunMeta:
    try:
        return RunMeta.model_validate(data)
    except ValidationError as error:
        raise _refused("run.json", error) from None


def run_config(data, kind: str = "meta"):
    """The config of ``config.json`` for a run of ``kind`` (a RunConfig, or an AutoMLConfig), every field inside
    the widgets' ranges."""
    try:
        return config_class(kind).from_dict(data)
    except StoreError as error:
        raise ImportRefused("run.json", "kind", str(error)) from None
    except (KeyError, ValueError, TypeError) as error:
        field = str(error).split(":")[0].split("=")[0] if ":" in str(error) else "(the config)"
        raise ImportRefused("config.json", field, str(error)) from None


def evals(data, n_steps: int) -> list[tuple[int, int, dict]]:
    """``evals.json``: at most one entry per step of the run (``n_steps`` + 1)."""
    if not isinstance(data, list):
        raise ImportRefused("evals.json", "(the whole file)", "must be a list of evaluations")
    if len(data) > n_steps + 1:
        raise ImportRefused("evals.json", "(the whole file)", f"{len(data):,} evaluations; a run of {n_steps:,} "
                            f"steps has at most {n_steps + 1:,}")
    out = []
    for i, entry in enumerate(data):
        try:
            e = EvalEntry.model_validate(entry)
        except ValidationError as error:
            refused = _refused("evals.json", error)
            raise ImportRefused("evals.json", f"[{i}].{refused.field}", refused.reason) from None
        if e.step > n_steps:
            raise ImportRefused("evals.json", f"[{i}].step", f"{e.step} is past the run's {n_steps} steps")
        out.append((e.step, e.inner_steps, {k: c.model_dump() for k, c in e.curves.items()}))
    return out


def metrics(text: str, n_steps: int) -> list[tuple[int, str, float | None]]:
    """(step, name, value) rows of ``metrics.csv``: a header ``step,NAME,...`` of metric names, then at most
    one row per step 0..``n_steps``, each cell empty or a finite number."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if not header or header[0] != "step" or len(set(header)) != len(header):
            raise ImportRefused("metrics.csv", "line 1", "the header must be 'step,NAME,...' with distinct names")
        if len(header) > MAX_COLUMNS + 1:
            raise ImportRefused("metrics.csv", "line 1", f"{len(header) - 1} metrics; at most {MAX_COLUMNS}")
        for name in header[1:]:
            if not METRIC_NAME.fullmatch(name):
                raise ImportRefused("metrics.csv", "line 1", f"{name[:80]!r} is not a metric name (a letter, then "
                                    "up to 63 letters, digits, '_', '.' or '-')")
        rows, seen = [], set()
        for line, values in enumerate(reader, start=2):
            if not values:
                continue
            if len(seen) > n_steps:
                raise ImportRefused("metrics.csv", f"line {line}", f"more rows than the run's {n_steps + 1:,} steps")
            if len(values) != len(header):
                raise ImportRefused("metrics.csv", f"line {line}", f"{len(values)} cells, the header has "
                                    f"{len(header)}")
            step = _cell(values[0], int, line, "step")
            if not 0 <= step <= n_steps or step in seen:
                raise ImportRefused("metrics.csv", f"line {line}.step", f"{step} is outside 0..{n_steps} or repeated")
            seen.add(step)
            rows += [(step, name, _cell(v, float, line, name)) for name, v in zip(header[1:], values[1:]) if v != ""]
    except csv.Error as error:
        raise ImportRefused("metrics.csv", "(the whole file)", f"not CSV ({error})") from None
    return rows


def _cell(text: str, kind: type, line: int, name: str):
    try:
        value = kind(text)
    except ValueError:
        raise ImportRefused("metrics.csv", f"line {line}.{name}", f"{text[:40]!r} is not a number") from None
    if kind is float and not math.isfinite(value):
        raise ImportRefused("metrics.csv", f"line {line}.{name}", f"{text[:40]!r} is not a finite number")
    return value
