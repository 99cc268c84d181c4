"""Write an AutoML search (and its baselines) to the run store as it runs, and read a stored one back as events.

    runs = search_runs(config)
    with AutoMLRecorder.start(Store(), runs, source="cli") as recorder:
        for who, event in paired(runs):          # "method", "baseline" (random search or cells), "grid"
            recorder.record(who, event)
    # leaving the block: status "done" (or "stopped", "error"); the run's ``result`` holds every choice

A search is a run of kind "automl" (:mod:`metaviz.store`): its config is ``AutoMLConfig.to_dict()``, its steps
are the method's outer steps, and each outer step is one row of metrics (:func:`scalars`): ``val_loss``,
``val_accuracy``, ``compute_steps`` and the hyperparameters it holds then (``lr.<layer>``, the learning rate of
each layer averaged over the inner steps; ``weight_decay.<layer>``; ``alpha.<edge>.<op>``, DARTS's softmax
weights). A baseline's best validation loss so far goes in ``baseline_val_loss`` (``grid_val_loss``) at the first
outer step of the method that has spent as much compute (``baseline_compute_steps``), so the curves can be read at
equal compute. The final choices, trained and scored on the test split, are ``test_loss``, ``test_accuracy`` (and
``baseline_``, ``grid_`` ones) and the run's ``result``: ``{"method": Result.to_dict(), "baseline": ..., ...}``.
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

from metaviz import automl
from metaviz.automl.methods.base import Result
from metaviz.automl.search import BASELINES, AutoMLConfig, AutoMLRun, OuterStepEvent, ResultEvent
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


def events_of(history, config: AutoMLConfig) -> tuple[tuple[OuterStepEvent, ...], dict[str, tuple]]:
    """The outer steps of a stored search and of each baseline (by who), rebuilt from :func:`scalars`' columns
    (the learning rates as [1, L]: per layer, the mean over inner steps is what was kept)."""
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
    others = {who: tuple(OuterStepEvent(int(s), int(table[f"{who}_compute_steps"][i]),
                                        float(table[f"{who}_val_loss"][i]), None, {}, 0.0)
                         for i, s in enumerate(steps) if present(f"{who}_compute_steps", i))
              for who in BASELINES[automl.get(config.method).kind]}
    return method, others


def results_of(record) -> dict[str, Result | None]:
    """Who -> final :class:`Result` of a stored search ("method", "baseline", ...), None where it has none."""
    stored = {"method": None, **(record.result or {})}
    return {k: None if v is None else Result.from_dict(v) for k, v in stored.items()}


class AutoMLRecorder:
    """Consumes one search's paired events (from one thread) and writes them to the store."""

    def __init__(self, store: Store, runs: dict[str, AutoMLRun], run_id: str, token: str,
                 flush_seconds: float = 0.5):
        self.store, self.runs, self.id, self._token = store, runs, run_id, token
        self.flush_seconds = flush_seconds
        self.status, self.closed = "running", False
        self.wall_time = 0.0
        self.results: dict[str, Result | None] = dict.fromkeys(runs)
        self._rows: list[tuple[int, str, float | None]] = []
        self._flushed = time.monotonic()
        self._best = dict.fromkeys(runs, math.inf)  # each baseline's best validation loss so far
        self._lost: Exception | None = None
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name=f"metaviz-heartbeat-{run_id}", daemon=True)
        self._beat.start()

    @classmethod
    def start(cls, store: Store, runs: dict[str, AutoMLRun], *, source: str = "", name: str = "",
              status: str = "running", **options) -> AutoMLRecorder:
        """A new stored run of kind "automl" for ``runs["method"]`` (with its baselines beside it)."""
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
        """One (who, event) of :func:`~metaviz.automl.search.paired` (buffered)."""
        if self._lost is not None:
            raise self._lost
        if self.closed:
            raise StoreError(f"run {self.id} is closed")
        if isinstance(event, OuterStepEvent):
            self.wall_time += event.seconds
            if who == "method":
                self._rows += [(event.step, k, v) for k, v in scalars(event).items()]
            else:
                self._best[who] = min(self._best[who], event.val_loss)
                cost = max(1, self.runs["method"].method.cost_per_step())
                at = min(-(-event.compute_steps // cost), self.runs["method"].config.outer_steps)
                self._rows += [(at, f"{who}_val_loss", self._best[who]),
                               (at, f"{who}_compute_steps", float(event.compute_steps))]
        elif isinstance(event, ResultEvent):
            self.add_result(who, event.result)
        elif isinstance(event, DoneEvent):
            return
        if time.monotonic() - self._flushed > self.flush_seconds:
            self.flush()

    def add_result(self, who: str, result: Result) -> None:
        """A search's final choice, trained and scored on the test split."""
        self.results[who] = result
        prefix = "" if who == "method" else f"{who}_"
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
        self._lost = self.store.beat_until(self.id, self._token, self._stop)  # deleted or taken over: stop writing
