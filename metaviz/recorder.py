"""Write a run's event stream to the run store as it trains, and bring a stored run back to resume it.

    run = Run(config)
    with Recorder.start(Store(), run, source="cli", checkpoint_every=100) as recorder:
        for event in train(run, config.train.n_steps):
            recorder.record(event)          # batched inserts; a checkpoint every 100 steps
    # leaving the block: a final checkpoint and status "done" (or "error" with the exception)

    recorder = Recorder.resume(Store(), "3fa2c1d0")   # the run rebuilt from its last checkpoint
    for event in train(recorder.run, ...): ...         # continues exactly where it stopped

Metrics are buffered and written in one transaction at most every ``flush_seconds`` (and before
every checkpoint and status change), so the app, reading the same database, shows the run
within about a second. A checkpoint is two files: the learner's parameters via
:func:`metaviz.checkpoint.save` (what ``eval --checkpoint`` and exports use), and the rest of the
training state, the baseline's parameters and both optimizers' state (Adam's moments), so a
resumed run takes the same steps as one that never stopped. Both are safetensors: nothing is
unpickled when they are read back.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import secrets
import sys
import threading
import time

import numpy as np
import safetensors.numpy
import torch

from metaviz import checkpoint
from metaviz.events import DivergedEvent, DoneEvent, EvalEvent, StepEvent
from metaviz.messages import run_message
from metaviz.store import HEARTBEAT_S, CheckpointRecord, Store, StoreError
from metaviz.train import Run

STATE_FORMAT = "metaviz-train-state/1"
CURVE_NAMES = ("val", "baseline_val", "test", "baseline_test", "train", "baseline_train")


# ---- training state beside the parameters -------------------------------------------------------
def _optimizer_arrays(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, np.ndarray], dict]:
    """An optimizer's state as named arrays plus a JSON-able description (param groups, scalars)."""
    state = optimizer.state_dict()
    arrays, scalars = {}, {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                arrays[f"{prefix}/{index}/{key}"] = value.detach().cpu().numpy().copy()
            else:
                scalars.setdefault(str(index), {})[key] = value
    return arrays, {"param_groups": state["param_groups"], "scalars": scalars}


def _load_optimizer(prefix: str, optimizer: torch.optim.Optimizer, arrays: dict[str, np.ndarray], meta: dict) -> None:
    state: dict[int, dict] = {int(i): dict(v) for i, v in meta["scalars"].items()}
    for name, value in arrays.items():
        if name.startswith(prefix + "/"):
            index, key = name[len(prefix) + 1:].split("/", 1)
            state.setdefault(int(index), {})[key] = torch.from_numpy(value.copy())
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_state(path, run: Run) -> None:
    """The baseline's parameters and both optimizers' state of ``run``, atomically."""
    arrays, meta = {}, {}
    if run.baseline is not None:
        arrays |= {f"baseline/{k}": v for k, v in run.baseline.state_numpy().items()}
    for name, opt in (("optimizer", run.optimizer), ("baseline_optimizer", run.baseline_optimizer)):
        if opt is not None:
            more, meta[name] = _optimizer_arrays(name, opt)
            arrays |= more
    metadata = {"format": STATE_FORMAT, "step": str(run.step), "state": json.dumps(meta)}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in arrays.items()},
                                           metadata=metadata))
    tmp.replace(path)


def load_state(path, run: Run) -> None:
    """Put the state saved by :func:`save_state` into ``run`` (built from the same config)."""
    data = path.read_bytes()
    try:
        checkpoint._header(data)  # refuses anything that is not safetensors before the library parses it
        with safetensors.safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
        arrays = safetensors.numpy.load(data)
    except checkpoint.CheckpointError:
        raise
    except Exception as error:  # noqa: BLE001 - the library raises its own types for corrupt files
        raise checkpoint.CheckpointError(f"{path.name}: the training state is corrupt: {error}") from None
    if metadata.get("format") != STATE_FORMAT:
        raise checkpoint.CheckpointError(f"{path.name} is not a metaviz training state ({metadata.get('format')!r})")
    meta = json.loads(metadata["state"])
    if run.baseline is not None:
        run.baseline.load_numpy({k[len("baseline/"):]: v for k, v in arrays.items() if k.startswith("baseline/")})
    for name, opt in (("optimizer", run.optimizer), ("baseline_optimizer", run.baseline_optimizer)):
        if opt is not None and name in meta:
            _load_optimizer(name, opt, arrays, meta[name])


def restore(found: CheckpointRecord, n_steps: int | None = None, device: str | None = None) -> Run:
    """A :class:`Run` at the stored checkpoint: parameters, step and, when saved, the baseline and the
    optimizers' state (else they restart, and the run no longer matches an uninterrupted one)."""
    loaded = checkpoint.load(found.path)
    config = loaded.config
    if n_steps is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, n_steps=int(n_steps)))
    if device is not None:
        config = dataclasses.replace(config, device=device)
    run = Run(config)
    expected = {k: tuple(v.shape) for k, v in run.learner.params.items()}
    if expected != {k: tuple(v.shape) for k, v in loaded.params.items()}:
        raise checkpoint.CheckpointError(f"{found.path.name} does not fit the {config.learner} learner that its "
                                         "config builds")
    run.learner.load_numpy(loaded.params)
    if found.state is not None:
        load_state(found.state, run)
    run.step = loaded.step
    return run


# ---- peak memory ---------------------------------------------------------------------------------
def peak_memory(device: torch.device) -> tuple[int, int | None]:
    """(peak resident memory of this process, peak CUDA memory allocated on ``device`` or None), bytes.
    In the app several sessions share one process, so the resident peak is the process's, not one run's."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss = rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB, macOS bytes
    gpu = int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None
    return int(rss), gpu


def auto_checkpoint_every(config) -> int:
    """A tenth of the run, rounded up to whole evaluation periods (so each lands after an evaluation)."""
    every = config.train.eval_every
    return max(every, -(-config.train.n_steps // 10 // every) * every)


# ---- the recorder --------------------------------------------------------------------------------
class Recorder:
    """Consumes one run's events (from one thread) and writes them to the store."""

    def __init__(self, store: Store, run: Run, run_id: str, token: str, *, checkpoint_every: int | None = None,
                 flush_seconds: float = 0.5, wall_time: float = 0.0, heartbeat: bool = True):
        self.store, self.run, self.id, self._token = store, run, run_id, token
        # None: every tenth of the run; 0: only at pauses, stops and the end
        self.checkpoint_every = auto_checkpoint_every(run.config) if checkpoint_every is None else int(checkpoint_every)
        self.flush_seconds = flush_seconds
        self.wall_time = wall_time
        self.closed = False
        self.status = "running"
        self.last_eval: dict[str, float] = {}
        self._rows: list[tuple[int, str, float | None]] = []
        self._evals: list[tuple[int, int, dict]] = []
        self._flushed = time.monotonic()
        self._clock: float | None = time.perf_counter()  # None while paused
        self._pending_checkpoint: int | None = None
        self._saved_step: int | None = None
        self._transient: int | None = None  # step of a checkpoint the next one replaces
        self._lost: Exception | None = None
        self._stop = threading.Event()
        self._beat = None
        if heartbeat:
            self._beat = threading.Thread(target=self._heartbeat, name=f"metaviz-heartbeat-{run_id}", daemon=True)
            self._beat.start()

    @classmethod
    def start(cls, store: Store, run: Run, *, source: str = "", name: str = "", group_id: str | None = None,
              parent: str | None = None, **options) -> Recorder:
        """A new stored run for ``run`` (status "running")."""
        token = secrets.token_hex(16)
        run_id = store.create_run(run.config.to_dict(), device=str(run.device), source=source, name=name,
                                  owner_token=token, group_id=group_id, parent=parent)
        return cls(store, run, run_id, token, **options)

    @classmethod
    def resume(cls, store: Store, run_id: str, *, n_steps: int | None = None, device: str | None = None,
               **options) -> Recorder:
        """Take over a stored run that nobody holds and rebuild it from its last checkpoint; what was
        recorded after that checkpoint is dropped (it will be recorded again, identically)."""
        token = secrets.token_hex(16)
        before = store.get(run_id)
        record = store.claim(run_id, token)
        try:
            found = store.last_checkpoint(record.id)
            if found is None:
                raise StoreError(f"run {record.id} has no checkpoint to resume from (it stopped before its first "
                                 "one); start it again instead")
            run = restore(found, n_steps=n_steps, device=device)
            if run.step >= run.config.train.n_steps:
                raise StoreError(f"run {record.id} already reached its {run.config.train.n_steps} steps; give more "
                                 f"steps (--steps) to continue it")
            store.truncate(record.id, found.step, token)
            store.update(record.id, token, config=run.config.to_dict(), n_steps=run.config.train.n_steps,
                         device=str(run.device))
        except BaseException:
            store.release(record.id, token, before.status if before.status not in ("running", "paused")
                          else "interrupted", before.message)
            raise
        recorder = cls(store, run, record.id, token, wall_time=record.wall_time, **options)
        recorder._saved_step = found.step
        return recorder

    # ---- events ---------------------------------------------------------------------------------
    def record(self, event) -> None:
        """Write one event of :func:`metaviz.train.train` (buffered). Diverged and finished runs close."""
        if self.closed:
            raise StoreError(f"run {self.id} is closed; start or resume a run to record more")
        self._check()
        self._tick()
        if isinstance(event, StepEvent):
            self._rows += [(event.step, "loss", event.loss), (event.step, "tasks_per_second", event.tasks_per_second)]
            if event.baseline_loss is not None:
                self._rows.append((event.step, "baseline_loss", event.baseline_loss))
            if self.checkpoint_every and event.step % self.checkpoint_every == 0:
                # wait for this step's evaluation, if one comes, so a resume does not miss it
                evaluated = (event.step % self.run.config.train.eval_every == 0
                             or event.step == self.run.config.train.n_steps)
                if evaluated:
                    self._pending_checkpoint = event.step
                else:
                    self.checkpoint()
        elif isinstance(event, EvalEvent):
            scalars = event.scalars()
            self.last_eval = scalars
            self._rows += [(event.step, k, v) for k, v in scalars.items()]
            curves = {name: {"loss": np.asarray(c.loss, float).tolist(),
                             "accuracy": None if c.accuracy is None else np.asarray(c.accuracy, float).tolist()}
                      for name in CURVE_NAMES if (c := getattr(event, name, None)) is not None}
            self._evals.append((event.step, event.inner_steps, curves))
            if self._pending_checkpoint == event.step:
                self.checkpoint()
        elif isinstance(event, DivergedEvent):
            self.close("diverged", event.message)
            return
        elif isinstance(event, DoneEvent):
            if event.finished:
                self.close("done")
            return
        if time.monotonic() - self._flushed > self.flush_seconds or len(self._rows) > 2000:
            self.flush()

    def consume(self, events):
        """Record each event and pass it on: ``for event in recorder.consume(train(run, n)): ...``."""
        for event in events:
            self.record(event)
            yield event

    def flush(self) -> None:
        """Write the buffered metrics and the run's progress in one transaction."""
        self._check()
        rss, gpu = peak_memory(self.run.device)
        self.store.add_metrics(self.id, self._rows, self._evals, token=self._token, step=self.run.step,
                               wall_time=self.wall_time, peak_rss=rss, peak_device=gpu)
        self._rows, self._evals = [], []
        self._flushed = time.monotonic()

    def checkpoint(self, transient: bool = False) -> None:
        """Save the run's parameters and training state now (unless this step already has them). A
        ``transient`` one (made at a pause) is replaced by the next checkpoint, so pressing Step many
        times does not leave a file per step."""
        self._pending_checkpoint = None
        self.flush()
        if self._saved_step == self.run.step:
            return
        path, state = self.store.checkpoint_paths(self.id, self.run.step)
        checkpoint.save(path, self.run.config, self.run.learner.state_numpy(), self.run.step, self.last_eval)
        save_state(state, self.run)
        self.store.add_checkpoint(self.id, self.run.step, path, state, token=self._token)
        if self._transient is not None:
            self.store.remove_checkpoint(self.id, self._transient, token=self._token)
        self._saved_step = self.run.step
        self._transient = self.run.step if transient else None

    # ---- status ---------------------------------------------------------------------------------
    def pause(self) -> None:
        """The run holds (the app's Pause): checkpoint, stop the wall clock."""
        self._tick()
        self._clock = None
        self.checkpoint(transient=True)
        self._set_status("paused")

    def unpause(self) -> None:
        self._clock = time.perf_counter()
        self._set_status("running")

    def _set_status(self, status: str) -> None:
        if self.status != status:
            self.store.update(self.id, self._token, status=status)
            self.status = status

    def close(self, status: str = "stopped", message: str = "", save_checkpoint: bool = True) -> None:
        """Final checkpoint (unless ``save_checkpoint`` is False: the state may be mid-update) and status;
        the run is no longer held. Safe to call twice."""
        if self.closed:
            return
        self._tick()
        self.closed = True
        self._stop.set()
        try:
            if self._lost is None:
                try:
                    if save_checkpoint:
                        self.checkpoint()
                    else:
                        self.flush()
                except Exception as error:  # noqa: BLE001 - the run's status must still be written
                    message = (message + "\n" if message else "") + f"(no final checkpoint: {error})"
                    self._rows, self._evals = [], []
                rss, gpu = peak_memory(self.run.device)
                self.store.release(self.id, self._token, status, message, step=self.run.step,
                                   wall_time=self.wall_time, peak_rss=rss, peak_device=gpu,
                                   config=self.run.config.to_dict())  # with the rates changed live
                self.status = status
        finally:
            if self._beat is not None and self._beat is not threading.current_thread():
                self._beat.join(timeout=2 * HEARTBEAT_S)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind, error, tb) -> None:
        if kind is None:
            self.close("done" if self.run.step >= self.run.config.train.n_steps else "stopped")
        elif issubclass(kind, KeyboardInterrupt):
            self.close("stopped", "stopped by Ctrl-C")
        else:
            self.close("error", f"{kind.__name__}: {error}")

    # ---- internals ------------------------------------------------------------------------------
    def _tick(self) -> None:
        now = time.perf_counter()
        if self._clock is not None:
            self.wall_time += now - self._clock
            self._clock = now

    def _check(self) -> None:
        if self._lost is not None:
            raise self._lost

    def _heartbeat(self) -> None:
        self._lost = self.store.beat_until(self.id, self._token, self._stop)  # deleted or taken over: stop writing


# ---- repeats with other seeds --------------------------------------------------------------------
class Repeats:
    """Train copies of a stored run with other seeds, one after another, in a background thread:
    headless, recorded like any run, in the same group as the original so the spread over seeds
    can be drawn. ``stop()`` ends the current one (status "stopped") and skips the rest."""

    def __init__(self, store: Store, run_id: str, n: int, checkpoint_every: int = 0):
        record = store.get(run_id)
        if n < 1:
            raise StoreError("ask for at least one repeat")
        self.store, self.original = store, record
        self.group = record.group_id or record.id
        if record.group_id is None:
            store.update(record.id, group_id=self.group)
        taken = {r.seed for r in store.runs(group_id=self.group)}
        self.seeds: list[int] = []
        seed = record.seed
        while len(self.seeds) < n:
            seed += 1
            if seed not in taken:
                self.seeds.append(seed)
        self.checkpoint_every = checkpoint_every
        self.ids: list[str] = []
        self.error: str = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name=f"metaviz-repeats-{record.id}", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _work(self) -> None:
        from metaviz.train import RunConfig, train

        base = RunConfig.from_dict(self.original.config)
        try:
            for seed in self.seeds:
                if self._stop.is_set():
                    return
                run = Run(dataclasses.replace(base, seed=seed))
                with Recorder.start(self.store, run, source="repeat", name=self.original.name,
                                    group_id=self.group, parent=self.original.id,
                                    checkpoint_every=self.checkpoint_every) as recorder:
                    self.ids.append(recorder.id)
                    for event in train(run, base.train.n_steps):
                        recorder.record(event)
                        if self._stop.is_set():
                            break
        except Exception as error:  # noqa: BLE001 - shown by the page that started the repeats
            self.error = f"{type(error).__name__}: {error}"


# ---- the app's worker ----------------------------------------------------------------------------
class Recording:
    """What the app's background worker (:class:`metaviz.worker.Worker`) needs of the store, one per
    worker. Recording must never stop a live run: when the store fails (disk full, run deleted on the
    Runs page) the recording ends and :attr:`problem` says why, and training goes on."""

    def __init__(self, store: Store, checkpoint_every: int | None = None):
        self.store = store
        self.checkpoint_every = checkpoint_every
        self.recorder: Recorder | None = None
        self.problem = ""

    @property
    def run_id(self) -> str:
        return self.recorder.id if self.recorder is not None else ""

    def start(self, run: Run) -> None:
        """Record a new run (the one before, if any, is closed as stopped)."""
        self.stop()
        self.problem = ""
        try:
            self.recorder = Recorder.start(self.store, run, source="app", checkpoint_every=self.checkpoint_every)
        except Exception as error:  # noqa: BLE001 - train anyway, unsaved
            self.problem = f"This run is not saved in the run store: {error}"

    def resume(self, run_id: str):
        """Take over a stored run from its last checkpoint: ``(run, history so far)``. Raises when it cannot
        (no checkpoint, held by another process); the worker reports that as the command's error."""
        self.stop()
        self.problem = ""
        self.recorder = Recorder.resume(self.store, run_id, checkpoint_every=self.checkpoint_every)
        return self.recorder.run, self.store.history(self.recorder.id)

    def event(self, event) -> None:
        self._guard(lambda r: r.record(event))

    def status(self, status: str, message: str = "") -> None:
        """Follow the worker's status: running or stepping, paused, or one of the final ones."""
        if status in ("running", "stepping"):
            self._guard(lambda r: r.unpause() if r.status == "paused" else None)
        elif status in ("paused", "queued"):  # waiting for a training slot counts as paused, not running
            self._guard(lambda r: r.pause())
        elif status == "limited":  # the operator's step or time limit: stopped, with the limit's message
            self._guard(lambda r: r.close("stopped", message))
        elif status in ("done", "diverged", "error"):
            self._guard(lambda r: r.close(status, message))

    def stop(self) -> None:
        """The worker forgets the run (Reset, a new Start, the session ending): checkpoint, status stopped."""
        self._guard(lambda r: r.close("stopped", run_message("msg_run.stopped_app")))
        self.recorder = None

    def _guard(self, action) -> None:
        recorder = self.recorder
        if recorder is None or recorder.closed:
            return
        try:
            action(recorder)
        except Exception as error:  # noqa: BLE001 - the run trains on, unsaved from here
            self.problem = f"The run store stopped recording this run: {error}"
            recorder.closed = True
            recorder._stop.set()
            self.recorder = None
