"""Frozen config dataclasses whose fields carry UI metadata.

A field made with :func:`param` records its range, step and help text. The app
generates widgets from that metadata (``ui/forms.py``) and ``__post_init__``
checks the ranges, so a config built from a URL, a file or the command line is
validated the same way as one built from widgets.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UI:
    """How one config field is shown and checked."""

    label: str
    help: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple | None = None
    log: bool = False  # widget moves on a log scale (learning rates)
    live: bool = False  # may change while a run is training


def param(default: Any, label: str, *, help: str = "", min: float | None = None,
          max: float | None = None, step: float | None = None, options: tuple | None = None,
          log: bool = False, live: bool = False):
    """A dataclass field with UI metadata (see :class:`UI`)."""
    ui = UI(label=label, help=help, min=min, max=max, step=step, options=options, log=log, live=live)
    return dataclasses.field(default=default, metadata={"ui": ui})


@dataclass(frozen=True)
class Config:
    """Base of every config: checks each field against its declared range."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            ui = f.metadata.get("ui")
            value = getattr(self, f.name)
            if ui is None:
                continue
            if ui.options is not None and value not in ui.options:
                raise ValueError(f"{type(self).__name__}.{f.name}={value!r}: choose one of {ui.options}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if not math.isfinite(value):  # NaN passes every comparison below
                raise ValueError(f"{type(self).__name__}.{f.name}={value}: must be a finite number")
            if ui.min is not None and value < ui.min:
                raise ValueError(f"{type(self).__name__}.{f.name}={value}: must be >= {ui.min}")
            if ui.max is not None and value > ui.max:
                raise ValueError(f"{type(self).__name__}.{f.name}={value}: must be <= {ui.max}")

    @classmethod
    def ui_fields(cls) -> list[tuple[dataclasses.Field, UI]]:
        """The fields that have UI metadata, in declaration order."""
        return [(f, f.metadata["ui"]) for f in dataclasses.fields(cls) if "ui" in f.metadata]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Config:
        """Build from a plain dict (JSON, a URL, the command line); unknown keys are an error, missing
        keys keep their defaults, and strings are read as the field's type ("false" is False)."""
        if not isinstance(data, dict):
            raise ValueError(f"{cls.__name__}: expected an object of fields, got {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(fields)
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}; known: {sorted(fields)}")
        return cls(**{k: _coerce(v, type(fields[k].default), k) for k, v in data.items()})


def _coerce(value, kind: type, name: str):
    if kind is bool:
        if isinstance(value, str):
            if value.strip().lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError(f"{name}: {value!r} is not true or false")
            return value.strip().lower() in ("true", "1", "yes", "on")
        return bool(value)
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{name}: {value!r} is not a whole number")
    if kind in (int, float, str):
        if kind is str and not isinstance(value, str):
            raise ValueError(f"{name}: {value!r} is not text")
        try:
            return kind(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{name}: {value!r} is not a valid {kind.__name__}") from None
    return value
