"""``python -m metaviz train``: meta-train without the app, into the run store the app reads.

    python -m metaviz train --config run.json                     # a RunConfig.to_dict() as JSON
    python -m metaviz train --task sinusoid --learner maml --steps 2000 --set learner.inner_steps=5
    python -m metaviz train --resume 3fa2c1d0                     # from its last checkpoint

A progress line with live metrics is drawn on stderr. Ctrl-C (or SIGTERM) stops after the
current meta-iteration with a checkpoint and status "stopped" (a second Ctrl-C aborts at once,
keeping the previous checkpoint). The run is in the store as it trains, so the app's Runs page
shows it live. Exit status: 0 finished, 1 diverged or failed, 2 bad arguments, 130 stopped.

Launched by torchrun (``torchrun --nproc-per-node 2 -m metaviz train --config run.json``), the
processes split each meta-batch and average the meta-gradients (:mod:`metaviz.distributed`):
the same result as one process; rank 0 records and prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from pathlib import Path

from metaviz.messages import run_message

EXIT_STOPPED = 130  # the shell's code for "ended by SIGINT"

ALIASES = {"task": "task_config", "learner": "learner_config", "test_task": "test_task_config"}
TOP_LEVEL = ("task", "learner", "seed", "device")


def set_field(config: dict, assignment: str) -> None:
    """Apply one ``--set key=value``: ``train.meta_lr=0.001``, ``learner.inner_steps=5`` (or
    ``learner_config.inner_steps``), ``task.k_shot=5``, ``seed=3``. Values stay strings here;
    the config classes read them as their fields' types."""
    key, sep, value = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"--set {assignment!r}: expected KEY=VALUE, for example train.meta_lr=0.001")
    parts = key.split(".")
    if len(parts) == 1:
        if key not in TOP_LEVEL:
            raise ValueError(f"--set {key}: a top-level key is one of {TOP_LEVEL}; nested keys are written "
                             "train.FIELD, task.FIELD, learner.FIELD or test_task.FIELD")
        config[key] = int(value) if key == "seed" else value
        return
    if len(parts) != 2:
        raise ValueError(f"--set {key}: at most one dot (SECTION.FIELD)")
    section, name = ALIASES.get(parts[0], parts[0]), parts[1]
    if section not in ("train", "task_config", "learner_config", "test_task_config"):
        raise ValueError(f"--set {key}: unknown section {parts[0]!r}; one of train, task, learner, test_task")
    if not isinstance(config.get(section), dict):
        config[section] = {}
    config[section][name] = value


def build_config(args: argparse.Namespace):
    """The RunConfig from --config, then the flags, then each --set (later wins)."""
    from metaviz.train import RunConfig

    config: dict = {}
    if args.config:
        try:
            config = json.loads(Path(args.config).read_text())
        except OSError as error:
            raise ValueError(f"--config {args.config}: {error.strerror or error}") from None
        except json.JSONDecodeError as error:
            raise ValueError(f"--config {args.config} is not valid JSON: {error}") from None
        if not isinstance(config, dict):
            raise ValueError(f"--config {args.config}: expected a JSON object (RunConfig.to_dict()), "
                             f"got {type(config).__name__}")
    for flag, key in (("task", "task_config"), ("learner", "learner_config")):
        value = getattr(args, flag)
        if value is not None and value != config.get(flag):
            # the file's settings belong to another task or learner: start from the new one's defaults
            dropped = [k for k in (key, "test_task_config" if flag == "task" else None) if config.get(k)]
            for k in dropped:
                config.pop(k)
                print(f"note: --{flag} {value} replaces {config.get(flag)!r}; the file's {k} was dropped",
                      file=sys.stderr)
            config[flag] = value
    for flag, key in (("steps", "n_steps"), ("meta_batch", "meta_batch")):
        if getattr(args, flag) is not None:
            config.setdefault("train", {})[key] = getattr(args, flag)
    if args.seed is not None:
        config["seed"] = args.seed
    if args.device is not None:
        config["device"] = args.device
    for assignment in args.set or []:
        set_field(config, assignment)
    config.setdefault("task", "sinusoid")
    config.setdefault("learner", "maml")
    unknown = set(config) - {f.name for f in dataclasses.fields(RunConfig)}
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; known: "
                         f"{sorted(f.name for f in dataclasses.fields(RunConfig))}")
    return RunConfig.from_dict(config)


class Progress:
    """A one-line progress bar with live metrics on stderr: redrawn in place (carriage return) on a
    terminal, else one line per tenth of the run, so logs stay short."""

    WIDTH = 24

    def __init__(self, total: int, start: int = 0, stream=None, quiet: bool = False):
        self.total, self.start, self.stream, self.quiet = total, start, stream or sys.stderr, quiet
        self.tty = self.stream.isatty()
        self.began = time.monotonic()
        self.drawn = 0.0
        self.next_decile = 1
        self.metrics: dict[str, float] = {}
        self.step = start
        self.printed = ""

    def update(self, step: int, **metrics: float | None) -> None:
        self.step = step
        self.metrics.update({k: v for k, v in metrics.items() if v is not None})
        if self.quiet:
            return
        now = time.monotonic()
        if self.tty:
            if now - self.drawn >= 0.1 or step >= self.total:
                self.stream.write("\r" + self.line() + "\033[K")
                self.stream.flush()
                self.drawn = now
        elif step * 10 >= self.next_decile * self.total:
            while step * 10 >= self.next_decile * self.total:
                self.next_decile += 1
            self.printed = self.line()
            self.stream.write(self.printed + "\n")
            self.stream.flush()

    def line(self) -> str:
        done = self.step / max(self.total, 1)
        filled = int(round(done * self.WIDTH))
        elapsed = time.monotonic() - self.began
        rate = (self.step - self.start) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.step) / rate if rate > 0 else float("nan")
        shown = " ".join(f"{k} {v:.4g}" for k, v in self.metrics.items())
        eta_text = time.strftime("%H:%M:%S", time.gmtime(eta)) if eta == eta else "--:--:--"
        return (f"{done:4.0%} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.step}/{self.total} {shown} | "
                f"{rate:.1f} it/s ETA {eta_text}")

    def close(self) -> None:
        """End the line (terminal) or print the final state when it changed since the last line (log)."""
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\n")
        elif self.printed.split("|")[0] != self.line().split("|")[0]:
            self.stream.write(self.line() + "\n")
        self.stream.flush()


class StopRequest:
    """First SIGINT or SIGTERM: finish the current meta-iteration, then stop. A second SIGINT
    raises KeyboardInterrupt at once."""

    def __init__(self):
        self.requested = False
        self._previous = {}

    def __enter__(self) -> StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this meta-iteration, with a checkpoint (Ctrl-C again aborts at once and keeps "
              "the previous checkpoint)", file=sys.stderr, flush=True)

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def run(args: argparse.Namespace) -> int:
    from metaviz import distributed

    group = distributed.init_from_env()  # None unless torchrun started several processes
    try:
        return _run(args, group)
    finally:
        if group is not None:
            group.close()


def _run(args: argparse.Namespace, group) -> int:
    from metaviz.store import Store, StoreError

    try:
        store = Store(args.home)
        if args.resume:
            clash = [f"--{n.replace('_', '-')}" for n in ("config", "task", "learner", "meta_batch", "seed", "set")
                     if getattr(args, n)]
            if clash:
                raise ValueError(f"--resume continues a stored run with its own settings; drop {', '.join(clash)} "
                                 "(only --steps, --device and --checkpoint-every apply)")
            config = None
        else:
            config = build_config(args)
    except (ValueError, TypeError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return _train(store, config, args, group)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _train(store, config, args: argparse.Namespace, group=None) -> int:
    from metaviz import distributed
    from metaviz.events import DivergedEvent, DoneEvent, EvalEvent, StepEvent
    from metaviz.recorder import Recorder
    from metaviz.train import Run, train

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    every = args.checkpoint_every
    leader = group is None or group.leader
    if args.resume:
        if leader:
            recorder = Recorder.resume(store, args.resume, n_steps=args.steps, device=args.device,
                                       checkpoint_every=every)
            run_ = recorder.run
            print(f"run {recorder.id}: resuming from step {run_.step}", file=sys.stderr)
        if group is not None:  # the others read the checkpoint rank 0 resumed from
            group.barrier()
            if not leader:
                recorder, run_ = distributed.follower_resume(store, args.resume, args.steps, args.device)
    else:
        try:
            run_ = Run(config)
        except (ValueError, TypeError, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        recorder = (Recorder.start(store, run_, source="cli", name=args.name or "", checkpoint_every=every)
                    if leader else distributed.Follower())
    if group is not None:
        distributed.distribute(run_, group)
    total, eval_every = run_.config.train.n_steps, run_.config.train.eval_every
    if leader:
        print(f"run {recorder.id}: {run_.config.learner} on {run_.config.task}, {total} meta-iterations on "
              f"{run_.device}" + (f" x {group.world_size} processes" if group else "")
              + f"; stored in {store.home} (python -m metaviz runs)", file=sys.stderr, flush=True)
    progress = Progress(total, run_.step, quiet=args.quiet or not leader)
    status, message, agreed = "running", "", False
    with StopRequest() as stop:
        try:
            for event in train(run_, total):
                recorder.record(event)
                if isinstance(event, StepEvent):
                    progress.update(event.step, loss=event.loss)
                elif isinstance(event, EvalEvent):
                    scalars = event.scalars()
                    progress.update(event.step, **{k: scalars.get(k) for k in ("val_loss", "val_accuracy")})
                elif isinstance(event, DivergedEvent):
                    status, message = "diverged", event.message
                elif isinstance(event, DoneEvent):
                    status = "done" if event.finished else status
                if group is not None and isinstance(event, StepEvent):  # every rank stops after the same step
                    agreed = group.any(stop.requested)
                # stop between meta-iterations, after this step's evaluation when one is due
                evaluation_due = isinstance(event, StepEvent) and (event.step % eval_every == 0
                                                                  or event.step == total)
                if (stop.requested if group is None else agreed) and not evaluation_due and status == "running":
                    recorder.close("stopped", run_message("msg_run.stopped_ctrl_c"))
                    status = "stopped"
                    break
            if status == "running":  # train() ended without a DoneEvent (cannot happen today)
                recorder.close("stopped")
                status = "stopped"
        except KeyboardInterrupt:
            recorder.close("stopped", run_message("msg_run.aborted"),
                           save_checkpoint=False)
            status = "stopped"
        except Exception as error:
            recorder.close("error", f"{type(error).__name__}: {error}", save_checkpoint=False)
            raise
        finally:
            progress.close()
    if not leader:
        return {"diverged": 1, "stopped": EXIT_STOPPED}.get(status, 0)
    record = store.get(recorder.id)
    final = {k: v for k, v in store.history(record.id).final().items() if k in ("val_loss", "val_accuracy")}
    named = run_.task.metric_words()
    shown = ", ".join(f"{k} {v:.4g}" + (f" ({named})" if k == "val_loss" and named != "loss" else "")
                      for k, v in final.items())
    print(f"run {record.id} {record.status} at step {record.step}/{total} in {record.wall_time:.1f} s"
          + (f"; {shown}" if shown else ""))
    if status == "diverged":
        print(message, file=sys.stderr)
        return 1
    if status == "stopped":
        print(f"resume with: python -m metaviz train --resume {record.id}", file=sys.stderr)
        return EXIT_STOPPED
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="meta-train without the app, into the run store",
        description="Meta-train a learner headless. The run is written to the run store as it trains "
                    "(the app's Runs page shows it live); Ctrl-C stops it cleanly with a checkpoint.")
    parser.add_argument("--config", metavar="PATH", help="a run config as JSON (RunConfig.to_dict(); missing keys "
                                                         "keep their defaults, or an exported config.json)")
    parser.add_argument("--task", help="task family (python -m metaviz info lists them)")
    parser.add_argument("--learner", help="meta-learner")
    parser.add_argument("--steps", type=int, help="meta-iterations in total (train.n_steps); with --resume, "
                                                  "a new total to continue to")
    parser.add_argument("--meta-batch", type=int, help="tasks per meta-iteration (train.meta_batch)")
    parser.add_argument("--seed", type=int, help="seed of the initialisation and of every task drawn")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:1 or mps")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="any config field: train.meta_lr=0.001, learner.inner_steps=5, task.k_shot=5 "
                             "(repeatable)")
    parser.add_argument("--name", help="a label shown in the run lists")
    parser.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                        help="save a checkpoint every N meta-iterations (0: only at the end or on stop; default: "
                             "every tenth of the run, in whole evaluation periods)")
    parser.add_argument("--resume", metavar="RUN_ID", help="continue a stored run from its last checkpoint")
    parser.add_argument("--home", metavar="DIR", help="the data folder (default $METAVIZ_HOME or "
                                                      "~/.local/share/metaviz)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice, all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(run=run)
