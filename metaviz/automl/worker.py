"""Run an AutoML search and its baseline in a background thread; commands in, snapshots out.

Like :class:`metaviz.worker.Worker` one level up: the thread pulls events from
:func:`~metaviz.automl.search.paired` (the chosen method and its baseline at equal compute) one outer step at a
time and obeys commands between them: Pause holds before the next outer step, Step does exactly one more outer
step of the method (and the baseline trials that keep it level in compute), Resume goes on, Stop (and Reset,
which also forgets the run) ends it. It never touches any UI; a page reads :meth:`AutoMLWorker.snapshot`.

It trains only while it holds a slot of the process's :mod:`metaviz.scheduler` (status "queued" until then) and
gives the slot back while paused, so AutoML searches and meta-training runs share the machine's limit on
concurrent jobs. With a ``store``, every search is a stored run of kind "automl" (:mod:`metaviz.automl.record`):
listed on the Runs page, exported and imported like the others. Recording never stops a search: if the store
fails, ``snapshot().problem`` says so and the search goes on unsaved.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from metaviz.automl.methods.base import Result
from metaviz.automl.search import AutoMLConfig, OuterStepEvent, ResultEvent, baseline_config, paired, search_runs
from metaviz.scheduler import Scheduler, default_scheduler
from metaviz.store import HEARTBEAT_S

__all__ = ["AutoMLSnapshot", "AutoMLWorker", "baseline_config", "curve", "stored_snapshot"]
FIELDS = {"method": ("steps", "result"), "baseline": ("baseline_steps", "baseline_result"),
          "grid": ("grid_steps", "grid_result")}  # who -> the snapshot's (events, result) fields


@dataclass(frozen=True)
class AutoMLSnapshot:
    status: str = "idle"   # idle, queued, running, stepping, paused, done, stopped, error
    message: str = ""
    config: AutoMLConfig | None = None
    steps: tuple[OuterStepEvent, ...] = ()
    baseline_steps: tuple[OuterStepEvent, ...] = ()
    result: Result | None = None
    baseline_result: Result | None = None
    grid_steps: tuple[OuterStepEvent, ...] = ()  # grid search, beside a hyperparameter method
    grid_result: Result | None = None
    extra: dict = field(default_factory=dict)
    run_id: str = ""       # the search's id in the run store, when recorded
    problem: str = ""      # why it is not (or no longer) recorded

    @property
    def live(self) -> bool:
        """About to change without a command: pages keep polling."""
        return self.status in ("queued", "running", "stepping")

    @property
    def active(self) -> bool:
        """A search exists and can still go on (Pause, Step and Reset apply)."""
        return self.live or self.status == "paused"


def stored_snapshot(store, run_id: str) -> AutoMLSnapshot:
    """A stored AutoML run drawn like a live one (the Runs page uses the AutoML page's views)."""
    from metaviz.automl.record import events_of, results_of

    record = store.get(run_id)
    config = record.run_config()
    steps, others = events_of(store.history(record.id), config)
    results = results_of(record)
    return AutoMLSnapshot(record.status, record.message, config, steps, others.get("baseline", ()), results["method"],
                          results.get("baseline"), others.get("grid", ()), results.get("grid"), run_id=record.id)


class AutoMLWorker:
    def __init__(self, scheduler: Scheduler | None = None, store=None):
        self._scheduler = scheduler if scheduler is not None else default_scheduler()
        self._store = store
        self._cv = threading.Condition()
        self._lock = threading.Lock()
        self._snapshot = AutoMLSnapshot()
        self._stop = threading.Event()  # one per search: a search that outlives stop()'s wait still ends
        self._paused = False
        self._steps = 0        # outer steps of the method still to do before holding again
        self._thread: threading.Thread | None = None

    # ---- commands (any thread) ----------------------------------------------------------------
    def start(self, config: AutoMLConfig, paused: bool = False) -> None:
        """A new search with ``config``, replacing any current one (``paused``: wait for Step or Resume)."""
        self.stop()
        with self._cv:
            self._stop, self._paused, self._steps = threading.Event(), paused, 0
        self._publish_all(AutoMLSnapshot(status="paused" if paused else "queued", config=config))
        self._thread = threading.Thread(target=self._loop, args=(config, self._stop), daemon=True,
                                        name="metaviz-automl")
        self._thread.start()

    def pause(self) -> None:
        self._command(False, paused=True)

    def resume(self) -> None:
        self._command("running", paused=False)

    def step(self, n: int = 1) -> None:
        """Exactly ``n`` more outer steps of the method, then hold (after its last one: finish the run)."""
        self._command("stepping", paused=True, more=int(n))

    def start_stepping(self, config: AutoMLConfig, n: int = 1) -> None:
        """A new search that does ``n`` outer steps, then holds (the page's Step before any Start)."""
        self.start(config, paused=True)
        self.step(n)

    def stop(self, timeout: float = 30.0) -> None:
        """End the search after the current outer step; its snapshot (and stored run) stay, status "stopped"."""
        if self._thread is not None and self._thread.is_alive():
            with self._cv:
                self._stop.set()
                self._cv.notify_all()
            self._thread.join(timeout)
            if self.snapshot().active:
                self._publish(status="stopped")

    def reset(self) -> None:
        """Stop and forget the search: the page is empty again (a recorded run stays in the store)."""
        self.stop()
        self._publish_all(AutoMLSnapshot())

    def _command(self, shown: str | bool, paused: bool, more: int = 0) -> None:
        """Set the thread's orders; a held search shows ``shown`` at once, so a page drawn right after the click
        polls (under the condition's lock: the thread cannot publish an older status after this one)."""
        with self._cv:
            self._paused, self._steps = paused, self._steps + more if more else 0
            if shown and self.snapshot().status == "paused":
                self._publish(status=shown)
            self._cv.notify_all()

    # ---- reading (any thread) -----------------------------------------------------------------
    def snapshot(self) -> AutoMLSnapshot:
        with self._lock:
            return self._snapshot

    def wait(self, timeout: float = 60.0) -> AutoMLSnapshot:
        """Until the thread ends (the search finished or stopped)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot()

    def wait_for(self, predicate, timeout: float = 60.0, poll: float = 0.01) -> AutoMLSnapshot:
        """Until ``predicate(snapshot)`` holds (for scripts and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(snap := self.snapshot()):
                return snap
            time.sleep(poll)
        raise TimeoutError(f"the AutoML worker did not reach the expected state in {timeout}s; now "
                           f"{self.snapshot().status} after {len(self.snapshot().steps)} steps")

    def _publish(self, **changes) -> None:
        with self._lock:
            if self._stale():
                return
            self._snapshot = dataclasses.replace(self._snapshot, **changes)

    def _stale(self) -> bool:
        """Called from a search thread that a newer Start or Reset replaced: it must not draw over the new one."""
        me = threading.current_thread()
        return me.name == "metaviz-automl" and me is not self._thread

    def _publish_all(self, snapshot: AutoMLSnapshot) -> None:
        with self._lock:
            self._snapshot = snapshot

    # ---- the thread ---------------------------------------------------------------------------
    def _wake(self) -> None:
        with self._cv:
            self._cv.notify_all()

    def _gate(self, ticket, recorder, finishing: bool, stop: threading.Event):
        """Hold while paused with no step to do (without a slot), unless ``finishing`` (the method took its last
        outer step: what is left is the baseline's catching up and both results); then wait for a slot. Returns
        the ticket held, or None when stopped (the slot given back)."""
        while True:
            with self._cv:
                stopped = stop.is_set()
                holding = self._paused and self._steps == 0 and not stopped and not finishing and not self._stale()
            if stopped:
                self._scheduler.release(ticket)
                return None
            if holding:
                if ticket is not None:
                    self._scheduler.release(ticket)
                    ticket = None
                self._status("paused", recorder)
                with self._cv:
                    if self._paused and self._steps == 0 and not stop.is_set():
                        self._cv.wait(HEARTBEAT_S)
                continue
            if ticket is None:
                ticket = self._scheduler.request(wake=self._wake, alive=threading.current_thread().is_alive)
            if self._scheduler.granted(ticket):
                with self._cv:
                    stepping = self._paused
                self._status("stepping" if stepping else "running", recorder)
                return ticket
            self._status("queued", recorder)
            with self._cv:
                if not stop.is_set():
                    self._cv.wait(1.0)

    def _status(self, status: str, recorder) -> None:
        if self.snapshot().status != status:
            self._publish(status=status)
        # The recorder is told even when the snapshot already shows ``status``: a Step click publishes
        # "stepping" at once, and the stored run must still go running -> paused around that step, which is
        # when it flushes the step's rows (set_status ignores a status it already has).
        self._guard(recorder, lambda r: r.set_status("running" if status in ("running", "stepping") else "paused"))

    def _guard(self, recorder, action) -> None:
        """Write to the store, or note why not; the search goes on either way."""
        if recorder is None or recorder.closed:
            return
        try:
            action(recorder)
        except Exception as error:  # noqa: BLE001 - the search runs on, unsaved from here
            recorder.closed = True
            self._publish(problem=f"The run store stopped recording this search: {error}")

    def _record_start(self, runs):
        if self._store is None:
            return None
        from metaviz.automl.record import AutoMLRecorder

        try:
            recorder = AutoMLRecorder.start(self._store, runs, source="app", status="paused")
        except Exception as error:  # noqa: BLE001 - search anyway, unsaved
            self._publish(problem=f"This search is not saved in the run store: {error}")
            return None
        self._publish(run_id=recorder.id)
        return recorder

    def _loop(self, config: AutoMLConfig, stop: threading.Event) -> None:
        import torch

        torch.set_num_threads(1)
        ticket, recorder = None, None
        try:
            runs = search_runs(config)
            recorder = self._record_start(runs)
            events = paired(runs)
            while (ticket := self._gate(ticket, recorder, runs["method"].step >= config.outer_steps, stop)) is not None:
                pulled = next(events, None)
                if pulled is None:
                    break
                who, event = pulled
                self._guard(recorder, lambda r, who=who, event=event: r.record(who, event))
                if isinstance(event, OuterStepEvent):
                    name = FIELDS[who][0]
                    self._publish(**{name: getattr(self.snapshot(), name) + (event,)})
                    if who == "method" and not self._stale():
                        with self._cv:
                            self._steps = max(0, self._steps - 1)
                elif isinstance(event, ResultEvent):
                    self._publish(**{FIELDS[who][1]: event.result})
            final = "stopped" if ticket is None else "done"
            self._publish(status=final)
            self._guard(recorder, lambda r: r.close(final))
        except Exception as error:  # shown on the page; the traceback for the log
            message = f"{type(error).__name__}: {error}"
            self._publish(status="error", message=message, extra={"traceback": traceback.format_exc()})
            self._guard(recorder, lambda r: r.close("error", message))
        finally:
            if ticket is not None:
                self._scheduler.release(ticket)


def curve(events: tuple[OuterStepEvent, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(compute steps [N], best validation loss so far [N]): what a search has found after each outer step."""
    if not events:
        return np.zeros(0), np.zeros(0)
    return (np.array([e.compute_steps for e in events]),
            np.minimum.accumulate(np.array([e.val_loss for e in events], dtype=float)))
