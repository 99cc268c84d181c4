"""Run training in a background thread; commands in, snapshots out.

The worker owns one :class:`~metaviz.train.Run` and pulls events from
:func:`~metaviz.train.train` one at a time, checking its command queue between
events, so pause, step, stop and live hyperparameter changes apply within one
meta-iteration. It never touches any UI: a page reads :meth:`Worker.snapshot`,
a frozen copy made under a lock, as often as it likes.

Before it trains, a worker takes a slot of the process-wide :mod:`metaviz.scheduler` (at most
METAVIZ_MAX_JOBS runs train at once; the others are "queued", with ``queue_position``), and gives
it back whenever its run pauses or ends; per-session limits (METAVIZ_MAX_STEPS,
METAVIZ_MAX_SECONDS) stop a run with status "limited".
"""

from __future__ import annotations

import atexit
import queue
import threading
import time
import traceback
import weakref
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import torch

from metaviz.device import device_label, leave_a_core_free
from metaviz.events import DivergedEvent, DoneEvent, EvalEvent, StepEvent
from metaviz.scheduler import Limits, Scheduler, default_scheduler
from metaviz.train import Run, RunConfig, train

_LIVE: weakref.WeakSet = weakref.WeakSet()  # closed at exit, so no thread dies inside torch

HISTORY = 5000          # points kept per curve
EVAL_KEYS = tuple(f"{who}{split}_{metric}" for metric in ("loss", "accuracy")
                  for split in ("val", "test", "train") for who in ("", "baseline_"))
CHECKPOINT_EVERY = 1.0  # seconds between parameter copies for the analysis views
KEEP_CHECKPOINTS = 32   # evaluation-step checkpoints kept per run, evenly thinned as the run grows


_WARM_LOCK = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Pay, once per process and off the path of a click, what the first run in a process would pay on Start:
    building the first torch optimizer imports ``torch._dynamo`` (2-3 s on a small CPU, measured here)."""
    global _warmed
    with _WARM_LOCK:
        if not _warmed:
            torch.optim.Adam([torch.zeros(1, requires_grad=True)])
            _warmed = True


@dataclass(frozen=True)
class Checkpoint:
    """Parameters of the learner (and baseline) at one step, as numpy arrays on the CPU."""

    step: int
    config: RunConfig  # with the live values (learning rates) in force at that step
    learner: dict[str, np.ndarray]
    baseline: dict[str, np.ndarray] | None


@dataclass(frozen=True)
class Snapshot:
    """What a page needs to draw a run, copied out of the worker."""

    version: int = 0
    handled: int = 0  # id of the last command the worker has carried out
    status: str = "idle"  # idle, starting, queued, running, stepping, paused, done, diverged, error, limited
    message: str = ""
    config: RunConfig | None = None
    step: int = 0
    tasks_per_second: float = 0.0
    device: str = ""
    train: dict[str, np.ndarray] = field(default_factory=dict)  # step, loss, baseline_loss
    evals: dict[str, np.ndarray] = field(default_factory=dict)  # step and EVAL_KEYS (NaN where absent)
    last_eval: EvalEvent | None = None
    checkpoint: Checkpoint | None = None
    checkpoints: tuple[Checkpoint, ...] = ()  # at evaluation steps, step 0 and the latest included
    run_id: str = ""  # the run's id in the run store, when the worker has one (Worker(store=...))
    queue_position: int = 0  # status "queued": 1 when this run trains next, 2 after one more, ...

    @property
    def active(self) -> bool:
        """A run exists and can still train."""
        return self.status in ("starting", "queued", "running", "stepping", "paused")

    @property
    def live(self) -> bool:
        """The snapshot is about to change without any command: pages should keep polling."""
        return self.status in ("starting", "queued", "running", "stepping")


class Worker:
    """One background training thread. All methods are safe to call from any thread."""

    def __init__(self, store=None, scheduler: Scheduler | None = None, limits: Limits | None = None):
        """``store``: a :class:`metaviz.store.Store` to record every run in (and resume stored ones from);
        ``scheduler``: whose slots to train in (default: the process's); ``limits``: this session's (default:
        from the environment)."""
        leave_a_core_free()
        self._scheduler = scheduler if scheduler is not None else default_scheduler()
        self._limits = limits if limits is not None else Limits.from_env()
        self._ticket = None
        self._wanted = "running"  # what a queued run does once it has a slot: running or stepping
        self._used_steps, self._used_seconds = 0, 0.0  # what this session has trained, for the limits
        if store is not None:
            from metaviz.recorder import Recording
        self._recording = None if store is None else Recording(store)
        self._commands: queue.Queue = queue.Queue()
        self._next_id = 0
        self._id_lock = threading.Lock()
        self._lock = threading.Lock()
        self._snapshot = Snapshot()
        self._run: Run | None = None
        self._events = None
        self._pending_steps = 0
        self._last_checkpoint = 0.0
        self._kept: list[tuple[int, Checkpoint]] = []  # (evaluation index, checkpoint), every stride-th
        self._stride, self._n_evals = 1, 0
        self._thread = threading.Thread(target=self._loop, name="metaviz-worker", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    # ---- commands (any thread) ----------------------------------------------------------------
    # Each command returns its id; ``sync(id)`` waits until the worker has carried it out.
    def start(self, config: RunConfig, paused: bool = False) -> int:
        """Start a new run with ``config``, replacing any current one (``paused``: wait for step or resume)."""
        return self._submit("start", (config, paused))

    def resume_stored(self, run_id: str, paused: bool = False) -> int:
        """Continue a stored run from its last checkpoint, replacing any current one (needs a store)."""
        return self._submit("open", (run_id, paused))

    def pause(self) -> int:
        return self._submit("pause")

    def resume(self) -> int:
        return self._submit("resume")

    def step(self, n: int = 1) -> int:
        """Do ``n`` more meta-iterations, then pause."""
        return self._submit("step", n)

    def stop(self) -> int:
        """Forget the current run."""
        return self._submit("stop")

    def set(self, *, meta_lr: float | None = None, inner_lr: float | None = None) -> int:
        """Change learning rates of the running run; they apply from the next meta-iteration."""
        return self._submit("set", {"meta_lr": meta_lr, "inner_lr": inner_lr})

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and free the run (and its GPU memory)."""
        self._submit("close")
        self._thread.join(timeout)

    def _submit(self, command: str, arg=None) -> int:
        with self._id_lock:
            self._next_id += 1
            self._commands.put((self._next_id, command, arg))
            return self._next_id

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def sync(self, command_id: int, timeout: float = 10.0) -> Snapshot:
        """The first snapshot taken after command ``command_id`` was carried out (or the latest
        after ``timeout``: a run being built on a slow device may take a while)."""
        try:
            return self.wait(lambda s: s.handled >= command_id, timeout)
        except TimeoutError:
            return self.snapshot()

    def wait(self, predicate, timeout: float = 30.0, poll: float = 0.01) -> Snapshot:
        """Block until ``predicate(snapshot)`` holds (for scripts and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = self.snapshot()
            if predicate(snap):
                return snap
            time.sleep(poll)
        raise TimeoutError(f"worker did not reach the expected state in {timeout}s; now {self.snapshot()}")

    # ---- the thread ------------------------------------------------------------------------------
    def _loop(self) -> None:
        warm_up()  # commands sent meanwhile wait in the queue
        while True:
            busy = (self._snapshot.status == "running" or self._pending_steps > 0) and self._snapshot.status != "queued"
            try:
                command_id, command, arg = self._commands.get(block=not busy)
            except queue.Empty:
                command_id, command = None, None
            if command == "close":
                self._clear()
                return
            try:
                if command is not None:
                    self._handle(command, arg)
                else:
                    self._advance()
            except Exception as error:  # noqa: BLE001 - anything a run raises becomes its status
                self._fail(error)
            if command_id is not None:
                self._publish(handled=command_id)

    def _handle(self, command: str, arg) -> None:
        if command == "wake":  # from the scheduler: a slot is free, or the queue moved
            if self._snapshot.status == "queued":
                self._train_when_free(self._wanted)
        elif command == "start":
            self._clear()
            config, paused = arg
            self._publish(status="starting", config=config)
            self._new_run(config)
            if paused:
                self._publish(status="paused", checkpoint=True)
            else:
                self._train_when_free("running", checkpoint=True)
        elif command == "open":
            self._clear()
            if self._recording is None:
                raise RuntimeError("this worker has no run store to resume from: create it with Worker(store=...)")
            run_id, paused = arg
            run, history = self._recording.resume(run_id)
            self._new_run(run.config, run, history)
            if paused:
                self._publish(status="paused", checkpoint=True)
            else:
                self._train_when_free("running", checkpoint=True)
        elif command == "stop":
            self._clear()
        elif self._run is None or self._snapshot.status in ("done", "diverged", "error", "limited"):
            return  # nothing to pause, resume, step or tune
        elif command == "pause":
            self._pending_steps = 0
            self._publish(status="paused", checkpoint=True)
        elif command == "resume":
            self._train_when_free("running")
        elif command == "step":
            self._pending_steps += int(arg)
            self._train_when_free("stepping")
        elif command == "set":
            if arg.get("meta_lr") is not None:
                self._run.set_meta_lr(float(arg["meta_lr"]))
            if arg.get("inner_lr") is not None:
                self._run.set_inner_lr(float(arg["inner_lr"]))
            self._publish(config=self._run.config, checkpoint=True)

    def _new_run(self, config: RunConfig, run: Run | None = None, stored=None) -> None:
        """A new run, or ``run`` resumed from the store with its ``stored`` History so far."""
        self._kept, self._stride, self._n_evals = [], 1, 0
        self._run = run or Run(config)
        if run is None and self._recording is not None:
            self._recording.start(self._run)
        self._events = train(self._run, config.train.n_steps)
        with self._lock:
            self._history = {"train": {k: deque(maxlen=HISTORY) for k in ("step", "loss", "baseline_loss")},
                             "evals": {k: deque(maxlen=HISTORY) for k in ("step", *EVAL_KEYS)}}
            for part, table in (("train", stored and stored.train), ("evals", stored and stored.evals)):
                n = len(table["step"]) if table else 0  # every curve as long as its steps (NaN where absent)
                for key, curve in self._history[part].items():
                    curve.extend(table[key].tolist() if n and key in table else [np.nan] * n)
            self._snapshot = Snapshot(version=self._snapshot.version + 1, status="starting", config=config,
                                      device=device_label(str(self._run.device.type)), step=self._run.step,
                                      run_id=self._recording.run_id if self._recording is not None else "")

    def _train_when_free(self, status: str, **publish) -> None:
        """Go on ``status`` (running or stepping) now if this worker holds a slot or gets one, else wait as
        "queued"; the scheduler wakes the worker when the queue moves. Refused past the session's limits."""
        if self._stop_at_limit():
            return
        if self._ticket is None:
            self._ticket = self._scheduler.request(wake=lambda: self._commands.put((None, "wake", None)),
                                                   alive=self._thread.is_alive)
        self._wanted = status
        position = self._scheduler.position(self._ticket)
        if position == 0:
            self._publish(status=status, queue_position=0, **publish)
        else:
            self._publish(status="queued", queue_position=max(position, 0), **publish)

    def _stop_at_limit(self) -> bool:
        message = self._limits.reached(self._used_steps, self._used_seconds)
        if not message:
            return False
        self._pending_steps = 0
        if self._recording is not None:  # saved as stopped, with a checkpoint, so it can be resumed elsewhere
            self._recording.stop()
        self._publish(status="limited", message=message, checkpoint=True)
        return True

    def _advance(self) -> None:
        """Pull events until one meta-iteration is done (or the run ends)."""
        if self._stop_at_limit():
            return
        began = time.perf_counter()
        try:
            self._advance_one()
        finally:
            self._used_seconds += time.perf_counter() - began

    def _advance_one(self) -> None:
        while True:
            event = next(self._events, None)
            if event is None or isinstance(event, DoneEvent):
                self._pending_steps = 0
                self._publish(status="done", checkpoint=True)
                return
            if isinstance(event, DivergedEvent):
                self._pending_steps = 0
                self._publish(status="diverged", message=event.message, checkpoint=True)
                return
            self._record(event)
            if isinstance(event, StepEvent):
                self._used_steps += 1
                if self._pending_steps > 0:
                    self._pending_steps -= 1
                    if self._pending_steps == 0:
                        self._publish(status="paused", checkpoint=True)
                return

    def _record(self, event) -> None:
        if self._recording is not None:
            self._recording.event(event)
        with self._lock:
            if isinstance(event, StepEvent):
                h = self._history["train"]
                h["step"].append(event.step), h["loss"].append(event.loss)
                h["baseline_loss"].append(np.nan if event.baseline_loss is None else event.baseline_loss)
            else:
                h, scalars = self._history["evals"], event.scalars()
                h["step"].append(event.step)
                for key in EVAL_KEYS:
                    h[key].append(scalars.get(key, np.nan))
        extra = {"step": event.step}
        if isinstance(event, StepEvent):
            extra["tasks_per_second"] = event.tasks_per_second
        else:
            extra["last_eval"] = event
        evaluation = isinstance(event, EvalEvent)
        due = time.monotonic() - self._last_checkpoint > CHECKPOINT_EVERY or evaluation
        self._publish(checkpoint=due, keep=evaluation, **extra)

    def _keep(self, checkpoint: Checkpoint) -> tuple[Checkpoint, ...]:
        """Add an evaluation-step checkpoint to the history; keep at most KEEP_CHECKPOINTS, evenly spaced
        (every stride-th evaluation; the stride doubles when the history is full), plus the latest."""
        if self._n_evals % self._stride == 0:
            self._kept.append((self._n_evals, checkpoint))
            if len(self._kept) > KEEP_CHECKPOINTS:
                self._stride *= 2
                self._kept = [(i, c) for i, c in self._kept if i % self._stride == 0]
        self._n_evals += 1
        kept = tuple(c for _, c in self._kept)
        return kept if kept[-1] is checkpoint else (*kept, checkpoint)

    def _publish(self, checkpoint: bool = False, keep: bool = False, **changes) -> None:
        """Replace the snapshot with a new frozen one (histories copied to numpy)."""
        if self._recording is not None and "status" in changes:
            self._recording.status(changes["status"], changes.get("message", ""))
        if changes.get("status") not in (None, "running", "stepping", "queued"):  # paused or ended: free the slot
            self._release_slot()
        if changes.get("status") not in (None, "queued"):
            changes.setdefault("queue_position", 0)
        if checkpoint and self._run is not None:
            run = self._run
            changes["checkpoint"] = Checkpoint(run.step, run.config, run.learner.state_numpy(),
                                               run.baseline.state_numpy() if run.baseline else None)
            if keep:
                changes["checkpoints"] = self._keep(changes["checkpoint"])
            self._last_checkpoint = time.monotonic()
        with self._lock:
            if self._run is not None:
                changes.setdefault("train", {k: np.asarray(v, float) for k, v in self._history["train"].items()})
                changes.setdefault("evals", {k: np.asarray(v, float) for k, v in self._history["evals"].items()})
            self._snapshot = _replace(self._snapshot, version=self._snapshot.version + 1, **changes)

    def _fail(self, error: Exception) -> None:
        self._pending_steps = 0
        if isinstance(error, torch.OutOfMemoryError):
            message = ("Out of memory. Lower the meta-batch, the number of inner steps or the network "
                       "size, or choose first-order MAML, then press Reset.")
        else:
            message = f"{type(error).__name__}: {error}"
        self._publish(status="error", message=message + "\n\n" + traceback.format_exc(limit=3))
        if self._run is not None and self._run.device.type == "cuda":
            torch.cuda.empty_cache()

    def _release_slot(self) -> None:
        ticket, self._ticket = self._ticket, None
        self._scheduler.release(ticket)

    def _clear(self) -> None:
        self._release_slot()
        if self._recording is not None:
            self._recording.stop()
        self._run, self._events, self._pending_steps = None, None, 0
        with self._lock:
            self._snapshot = Snapshot(version=self._snapshot.version + 1, handled=self._snapshot.handled)


@atexit.register
def _close_all() -> None:
    for worker in list(_LIVE):
        worker.close(timeout=2.0)


def _replace(snapshot: Snapshot, **changes) -> Snapshot:
    import dataclasses
    return dataclasses.replace(snapshot, **changes)
