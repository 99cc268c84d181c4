"""Write an AutoML search (and its baseline) to the run store as it runs, and read a stored one back as events.

    with AutoMLRecorder.start(Store(), runs, source="cli") as recorder:
        for who, event in paired(runs):          # "method" or "baseline"
            recorder.record(who, event)
    # leaving the block: status "done" (or "stopped", "error"); the run's ``result`` holds both choices

A search is a run of kind "automl" (:mod:`metaviz.store`): its config is ``AutoMLConfig.to_dict()``, its steps
are the method's outer steps, and each outer step is one row of metrics (:func:`scalars`): ``val_loss``,
``val_accuracy``, ``compute_steps`` and the hyperparameters it holds then (``lr.<layer>``, the learning rate of
each layer averaged over the inner steps; ``weight_decay.<layer>``; ``alpha.<edge>.<op>``, DARTS's softmax
weights). The baseline's best validation loss so far goes in ``baseline_val_loss`` at the first outer step of
the method that has spent as much compute (``baseline_compute_steps``), so both curves can be read at equal
compute. The final choices, trained and scored on the test split, are ``test_loss``, ``test_accuracy`` (and
``baseline_`` ones) and the run's ``result``: ``{"method": Result.to_dict(), "baseline": ... or None}``.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import threading
import time

import numpy as np
import torch

from metaviz.automl.methods.base import Result
from metaviz.automl.search import AutoMLConfig, AutoMLRun, OuterStepEvent, ResultEvent
from metaviz.events import DoneEvent
from metaviz.store import HEARTBEAT_S, Store, StoreError

KIND = "automl"
_INDEXED = re.compile(r"(lr|weight_decay)\.(\d+)|alpha\.(\d+)\.(\d+)")


def scalars(event: OuterStepEvent) -> dict[str, float]:
    """The metric columns of one outer step: lr [T, L] is kept per layer (mean over the T inner steps, columns
    numbered from 1 like the page's layers), alpha [E, K] per edge and operation, a 1-element array by its name."""
    out = {"val_loss": event.val_loss, "compute_steps": float(event.compute_steps)}
    if event.val_accuracy is not None:
        out["val_accuracy"] = event.val_accuracy
    for key, value in event.hyperparameters.items():
        array = np.asarray(value, float)
        if key == "alpha":
            out |= {f"alpha.{e}.{k}": float(array[e, k]) for e in range(array.shape[0]) for k in range(array.shape[1])}
        elif key == "lr" and array.ndim == 2:
            out |= {f"lr.{layer + 1}": float(v) for layer, v in enumerate(array.mean(0))}
        elif array.size == 1:
            out[key] = float(array.reshape(()))
        else:
            out |= {f"{key}.{i + 1}": float(v) for i, v in enumerate(array.reshape(-1))}
    return out


def events_of(history, config: AutoMLConfig) -> tuple[tuple[OuterStepEvent, ...], tuple[OuterStepEvent, ...]]:
    """The outer steps of a stored search and of its baseline, rebuilt from :func:`scalars`' columns (the
    learning rates as [1, L]: per layer, the mean over inner steps is what was kept)."""
    table = history.evals
    steps = table.get("step", np.zeros(0))
    indexed: dict[str, dict[tuple[int, ...], str]] = {}
    for name in table:
        if match := _INDEXED.fullmatch(name):
            if match.group(1):
                indexed.setdefault(match.group(1), {})[(int(match.group(2)) - 1,)] = name
            else:
                indexed.setdefault("alpha", {})[(int(match.group(3)), int(match.group(4)))] = name
    plain = [k for k in ("lr", "weight_decay", "best_val_loss") if k in table]

    def hyper(i: int) -> dict[str, np.ndarray]:
        out = {k: np.array([table[k][i]]) for k in plain}
        for key, cells in indexed.items():
            shape = tuple(max(c[d] for c in cells) + 1 for d in range(len(next(iter(cells)))))
            array = np.full(shape, np.nan)
            for cell, name in cells.items():
                array[cell] = table[name][i]
            out[key] = array[None, :] if key == "lr" else array
        return out

    def present(key: str, i: int) -> bool:
        return key in table and math.isfinite(table[key][i])

    accuracy = (lambda i: float(table["val_accuracy"][i]) if present("val_accuracy", i) else None)
    method = tuple(OuterStepEvent(int(s), int(table["compute_steps"][i]), float(table["val_loss"][i]), accuracy(i),
                                  hyper(i), 0.0)
                   for i, s in enumerate(steps) if present("compute_steps", i) and present("val_loss", i))
    baseline = tuple(OuterStepEvent(int(s), int(table["baseline_compute_steps"][i]),
                                    float(table["baseline_val_loss"][i]), None, {}, 0.0)
                     for i, s in enumerate(steps) if present("baseline_compute_steps", i))
    return method, baseline


def results_of(record) -> tuple[Result | None, Result | None]:
    """(method's, baseline's) final :class:`Result` of a stored search, None where it has none."""
    stored = record.result or {}
    return tuple(None if stored.get(k) is None else Result.from_dict(stored[k]) for k in ("method", "baseline"))


class AutoMLRecorder:
    """Consumes one search's paired events (from one thread) and writes them to the store."""

    def __init__(self, store: Store, runs: dict[str, AutoMLRun], run_id: str, token: str,
                 flush_seconds: float = 0.5):
        self.store, self.runs, self.id, self._token = store, runs, run_id, token
        self.flush_seconds = flush_seconds
        self.status, self.closed = "running", False
        self.wall_time = 0.0
        self.results: dict[str, Result | None] = {"method": None, "baseline": None}
        self._rows: list[tuple[int, str, float | None]] = []
        self._flushed = time.monotonic()
        self._best_baseline = math.inf
        self._lost: Exception | None = None
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name=f"metaviz-heartbeat-{run_id}", daemon=True)
        self._beat.start()

    @classmethod
    def start(cls, store: Store, runs: dict[str, AutoMLRun], *, source: str = "", name: str = "",
              status: str = "running", **options) -> AutoMLRecorder:
        """A new stored run of kind "automl" for ``runs["method"]`` (with ``runs["baseline"]`` beside it)."""
        token = secrets.token_hex(16)
        run_id = store.create_run(runs["method"].config.to_dict(), kind=KIND, device="cpu", source=source, name=name,
                                  owner_token=token, status=status)
        recorder = cls(store, runs, run_id, token, **options)
        recorder.status = status
        return recorder

    @property
    def step(self) -> int:
        return self.runs["method"].step

    def record(self, who: str, event) -> None:
        """One ("method" or "baseline", event) of :func:`~metaviz.automl.search.paired` (buffered)."""
        if self._lost is not None:
            raise self._lost
        if self.closed:
            raise StoreError(f"run {self.id} is closed")
        if isinstance(event, OuterStepEvent):
            self.wall_time += event.seconds
            if who == "method":
                self._rows += [(event.step, k, v) for k, v in scalars(event).items()]
            else:
                self._best_baseline = min(self._best_baseline, event.val_loss)
                cost = max(1, self.runs["method"].method.cost_per_step())
                at = min(-(-event.compute_steps // cost), self.runs["method"].config.outer_steps)
                self._rows += [(at, "baseline_val_loss", self._best_baseline),
                               (at, "baseline_compute_steps", float(event.compute_steps))]
        elif isinstance(event, ResultEvent):
            self.add_result(who, event.result)
        elif isinstance(event, DoneEvent):
            return
        if time.monotonic() - self._flushed > self.flush_seconds:
            self.flush()

    def add_result(self, who: str, result: Result) -> None:
        """A search's final choice, trained and scored on the test split."""
        self.results[who] = result
        prefix = "" if who == "method" else "baseline_"
        self._rows.append((self.step, f"{prefix}test_loss", result.test_loss))
        if result.test_accuracy is not None:
            self._rows.append((self.step, f"{prefix}test_accuracy", result.test_accuracy))
        self.flush()

    def flush(self) -> None:
        from metaviz.recorder import peak_memory

        rss, _ = peak_memory(torch.device("cpu"))  # AutoML searches run on the CPU
        result = {k: None if r is None else r.to_dict() for k, r in self.results.items()}
        self.store.add_metrics(self.id, self._rows, token=self._token, step=self.step, wall_time=self.wall_time,
                               peak_rss=rss, result=json.dumps(result) if any(result.values()) else None)
        self._rows = []
        self._flushed = time.monotonic()

    def set_status(self, status: str) -> None:
        """"running" or "paused" (the app's Pause, or waiting for a slot)."""
        if status != self.status and not self.closed:
            self.flush()
            self.store.update(self.id, self._token, status=status)
            self.status = status

    def close(self, status: str, message: str = "") -> None:
        """Write what is buffered and the final status; the run is no longer held. Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        try:
            if self._lost is None:
                self.flush()
                self.store.release(self.id, self._token, status, message, step=self.step)
                self.status = status
        finally:
            if self._beat is not threading.current_thread():
                self._beat.join(timeout=2 * HEARTBEAT_S)

    def __enter__(self) -> AutoMLRecorder:
        return self

    def __exit__(self, kind, error, tb) -> None:
        if kind is None:
            self.close("done" if self.step >= self.runs["method"].config.outer_steps else "stopped")
        elif issubclass(kind, KeyboardInterrupt):
            self.close("stopped", "stopped by Ctrl-C")
        else:
            self.close("error", f"{kind.__name__}: {error}")

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.store.heartbeat(self.id, self._token)
            except StoreError as error:  # deleted or taken over: the writer must stop
                self._lost = error
                return
            except Exception:  # noqa: BLE001, S112 - a busy database: beat again next time
                continue
