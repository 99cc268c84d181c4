"""``python -m metaviz automl``: run an AutoML search beside its baseline at equal compute, into the run store.

    python -m metaviz automl --task sinusoid --method unrolled --budget-s 30 --json out.json
    python -m metaviz automl --task digits --method darts --set space=conv --set second_order=true --outer-steps 300

The search is a stored run of kind "automl" (the app's Runs page lists it, ``runs export`` hands it on): per
outer step its validation loss and the hyperparameters it holds, the baseline's best validation loss at the
same compute, and at the end both final choices trained and scored on the test split. ``--budget-s`` caps the
wall-clock seconds: when they run out the search stops, and what it holds then is trained and scored (status
"stopped"). Exit status: 0 finished or stopped by the budget, 1 failed, 2 bad arguments, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from metaviz.commands._progress import Bar

EXIT_STOPPED = 130


def build_config(args: argparse.Namespace):
    """The AutoMLConfig from the flags and each ``--set FIELD=VALUE`` of the method's config."""
    from metaviz import automl
    from metaviz.automl.search import AutoMLConfig

    fields = {}
    for assignment in args.set or []:
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {assignment!r}: expected FIELD=VALUE, for example inner_steps=20")
        fields[key.strip()] = value
    method_config = automl.get(args.method).Config.from_dict(fields)
    return AutoMLConfig(args.task, args.method, method_config, args.outer_steps, args.seed)


def summary(record, runs) -> dict:
    """What ``--json`` writes: the stored run, its config, and both final choices."""
    method = runs["method"]
    out = {"run_id": record.id if record else None, "status": record.status if record else None,
           "config": method.config.to_dict(), "outer_steps": method.step, "compute_steps": method.compute,
           "result": None if method.result is None else method.result.to_dict()}
    for who, run in runs.items():
        if who != "method":
            out |= {f"{who}_method": run.config.method, f"{who}_compute_steps": run.compute,
                    f"{who}_result": None if run.result is None else run.result.to_dict()}
    return out


def search_and_record(config, store, budget_s: float | None, name: str = "", progress=print,
                      on_step=lambda step: None):
    """Run ``config`` and its baseline at equal compute (recorded in ``store`` unless None) for at most
    ``budget_s`` wall-clock seconds; returns (stored record or None, the two runs). ``progress(line)`` gets
    the log lines, ``on_step(outer step)`` each outer step of the method."""
    import contextlib

    from metaviz.automl.record import AutoMLRecorder
    from metaviz.automl.search import OuterStepEvent, ResultEvent, paired, search_runs

    runs = search_runs(config)
    recorder = AutoMLRecorder.start(store, runs, source="cli", name=name) if store is not None else None
    deadline = None if budget_s is None else time.monotonic() + budget_s
    with recorder if recorder is not None else contextlib.nullcontext():
        for who, event in paired(runs):
            if recorder is not None:
                recorder.record(who, event)
            if isinstance(event, OuterStepEvent) and who == "method":
                on_step(event.step)
                progress(f"step {event.step}/{config.outer_steps}: val_loss {event.val_loss:.5g} "
                         f"({event.compute_steps} inner steps)")
            elif isinstance(event, ResultEvent):
                progress(f"{who}: test_loss {event.result.test_loss:.5g}"
                         + (f", test accuracy {event.result.test_accuracy:.3f}" if event.result.test_accuracy
                            is not None else ""))
            if deadline is not None and time.monotonic() > deadline and runs["method"].step < config.outer_steps:
                for key, run in runs.items():  # the budget is spent: score what each search holds now
                    if run.result is None and run.step > 0:
                        run.result = run.method.result()
                        if recorder is not None:
                            recorder.add_result(key, run.result)
                if recorder is not None:
                    recorder.close("stopped", f"the time budget of {budget_s:g} s ran out at outer step "
                                              f"{runs['method'].step} of {config.outer_steps}")
                break
    return (store.get(recorder.id) if recorder is not None else None), runs


def run(args: argparse.Namespace) -> int:
    from metaviz.store import Store, StoreError

    try:
        config = build_config(args)
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    try:
        store = None if args.no_store else Store(args.home)
        with Bar(config.outer_steps, "automl") as bar:  # a bar on a terminal; the step lines as a log elsewhere
            record, runs = search_and_record(config, store, args.budget_s, args.name, progress=bar.log,
                                             on_step=bar.update)
    except KeyboardInterrupt:
        print("stopped by Ctrl-C", file=sys.stderr)
        return EXIT_STOPPED
    except (StoreError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = summary(record, runs)
    print(json.dumps({k: out[k] for k in ("run_id", "status", "outer_steps", "compute_steps")}))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from metaviz.automl.problem import TASKS

    parser = subparsers.add_parser("automl", help="run an AutoML search (hyperparameters or DARTS) into the store",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="sinusoid", choices=TASKS)
    parser.add_argument("--method", default="unrolled",
                        help="unrolled, implicit, random_search, grid_search, darts or random_nas")
    parser.add_argument("--outer-steps", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", metavar="FIELD=VALUE",
                        help="a field of the method's config, e.g. inner_steps=20 (repeatable)")
    parser.add_argument("--budget-s", type=float, default=None, help="wall-clock seconds at most")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--name", default="", help="a name for the stored run")
    parser.add_argument("--home", metavar="DIR", help="the data folder (default $METAVIZ_HOME or "
                                                      "~/.local/share/metaviz)")
    parser.add_argument("--no-store", action="store_true", help="do not record the search in the run store")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the summary and both results as JSON")
    parser.set_defaults(run=run)
