"""Run an AutoML search and its baseline in a background thread; commands in, snapshots out.

Like :class:`metaviz.worker.Worker` one level up: the thread pulls events from :func:`~metaviz.automl.search.search`
one outer step at a time and checks for Stop between them; it never touches any UI. Beside the chosen method it
runs the baseline at equal compute (random search for hyperparameters, random cells for an architecture), one
outer step of the baseline whenever it has spent less compute than the method. A page reads :meth:`snapshot`.
It trains only while it holds a slot of the process's :mod:`metaviz.scheduler` (status "queued" until then), so
AutoML searches and meta-training runs share the machine's limit on concurrent jobs.
"""

from __future__ import annotations

import dataclasses
import threading
import traceback
from dataclasses import dataclass, field

import numpy as np

from metaviz import automl
from metaviz.automl.methods.base import Result
from metaviz.automl.search import AutoMLConfig, AutoMLRun, OuterStepEvent, ResultEvent, search
from metaviz.scheduler import Scheduler, default_scheduler

BASELINE = {"hyperparameters": "random_search", "architecture": "random_nas"}


def baseline_config(config: AutoMLConfig) -> AutoMLConfig:
    """The baseline of ``config``'s method on the same problem, with a trial as long as the method's inner run."""
    method = automl.get(config.method)
    name = BASELINE[method.kind]
    mine = config.method_config
    fields = ({"inner_steps": getattr(mine, "inner_steps", 40)} if name == "random_search"
              else {"train_steps": getattr(mine, "retrain_steps", 300)})
    probe = automl.get(config.method)(mine, AutoMLRun.problem_of(config), config.seed)
    total = probe.cost_per_step() * config.outer_steps
    steps = max(1, total // next(iter(fields.values())))
    return AutoMLConfig(config.task, name, automl.get(name).Config(**fields), steps, config.seed)


@dataclass(frozen=True)
class AutoMLSnapshot:
    status: str = "idle"   # idle, queued, running, done, stopped, error
    message: str = ""
    config: AutoMLConfig | None = None
    steps: tuple[OuterStepEvent, ...] = ()
    baseline_steps: tuple[OuterStepEvent, ...] = ()
    result: Result | None = None
    baseline_result: Result | None = None
    extra: dict = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.status in ("queued", "running")


class AutoMLWorker:
    def __init__(self, scheduler: Scheduler | None = None):
        self._scheduler = scheduler if scheduler is not None else default_scheduler()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._snapshot = AutoMLSnapshot()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> AutoMLSnapshot:
        with self._lock:
            return self._snapshot

    def _publish(self, **changes) -> None:
        with self._lock:
            self._snapshot = dataclasses.replace(self._snapshot, **changes)

    def start(self, config: AutoMLConfig) -> None:
        self.stop()
        self._stop.clear()
        self._snapshot = AutoMLSnapshot(status="running", config=config)
        self._thread = threading.Thread(target=self._loop, args=(config,), daemon=True, name="metaviz-automl")
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout)
            if self.snapshot().live:
                self._publish(status="stopped")

    def wait(self, timeout: float = 60.0) -> AutoMLSnapshot:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot()

    def _loop(self, config: AutoMLConfig) -> None:
        import torch

        torch.set_num_threads(1)
        ticket = self._scheduler.request(wake=self._wake.set, alive=threading.current_thread().is_alive)
        try:
            while not self._scheduler.granted(ticket) and not self._stop.is_set():
                self._publish(status="queued")
                self._wake.wait(1.0)
                self._wake.clear()
            self._publish(status="running")
            runs = {"method": AutoMLRun(config), "baseline": AutoMLRun(baseline_config(config))}
            streams = {k: search(run, run.config.outer_steps) for k, run in runs.items()}
            open_streams = set(streams)
            while open_streams and not self._stop.is_set():
                # the one that has spent less compute goes next: both curves advance at equal compute
                who = min(open_streams, key=lambda k: (runs[k].compute, k))
                event = next(streams[who])
                if isinstance(event, OuterStepEvent):
                    name = "steps" if who == "method" else "baseline_steps"
                    self._publish(**{name: self.snapshot().__dict__[name] + (event,)})
                elif isinstance(event, ResultEvent):
                    self._publish(**{"result" if who == "method" else "baseline_result": event.result})
                else:
                    open_streams.discard(who)
            self._publish(status="stopped" if self._stop.is_set() else "done")
        except Exception as error:  # shown on the page; the traceback for the log
            self._publish(status="error", message=f"{type(error).__name__}: {error}",
                          extra={"traceback": traceback.format_exc()})
        finally:
            self._scheduler.release(ticket)


def curve(events: tuple[OuterStepEvent, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(compute steps [N], best validation loss so far [N]): what a search has found after each outer step."""
    if not events:
        return np.zeros(0), np.zeros(0)
    return (np.array([e.compute_steps for e in events]),
            np.minimum.accumulate(np.array([e.val_loss for e in events], dtype=float)))
