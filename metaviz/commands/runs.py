"""``python -m metaviz runs``: list, show, delete, export and import stored runs.

    python -m metaviz runs [--json] [--task T] [--learner L] [--status S] [--kind meta|automl]
    python -m metaviz runs show RUN_ID [--json]
    python -m metaviz runs delete RUN_ID [--force]
    python -m metaviz runs export RUN_ID DIR_OR_ZIP [--torch-weights]
    python -m metaviz runs import PATH

A run id may be shortened to any unique prefix.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _size(n: int | None) -> str:
    return "" if n is None else f"{n / 2**20:,.0f} MiB"


def _headline(final: dict[str, float], task: str = "") -> str:
    """The result column: the final meta-val accuracy, else loss, named by what the family's loss measures."""
    from metaviz import tasks

    for key in ("val_accuracy", "val_loss"):
        if key in final:
            named = tasks.get(task).metric_words() if key == "val_loss" and task in tasks.available() else "loss"
            return f"{key} {final[key]:.4g}" + ("" if named == "loss" else f" ({named})")
    return ""


def list_runs(store, args) -> int:
    records = store.runs(task=args.task, learner=args.learner, status=args.status, kind=args.kind)
    if args.json:
        out = []
        for r in records:
            item = r.to_json()
            item["final"] = store.history(r.id).final()
            out.append(item)
        print(json.dumps(out, indent=2))
        return 0
    if not records:
        print(f"no runs in {store.home}" + (" matching the filters" if args.task or args.learner or args.status
                                             or args.kind
                                             else "; start one with python -m metaviz train"))
        return 0
    rows = [("id", "status", "learner", "task", "steps", "result", "wall", "created", "name")]
    for r in records:
        rows.append((r.id, r.status, r.learner, r.task, f"{r.step}/{r.n_steps}",
                     _headline(store.history(r.id).final(), r.task), f"{r.wall_time:.0f}s",
                     time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created)), r.name))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def show(store, args) -> int:
    record = store.get(args.run_id)
    final = store.history(record.id).final()
    checkpoints = [c.step for c in store.checkpoints(record.id)]
    if args.json:
        print(json.dumps(record.to_json() | {"final": final, "checkpoints": checkpoints}, indent=2))
        return 0
    unit = "outer steps of an AutoML search" if record.kind == "automl" else "meta-iterations"
    print(f"run {record.id} {record.name!r}: {record.learner} on {record.task}, seed {record.seed}")
    print(f"  status      {record.status}" + (f": {record.message}" if record.message else ""))
    print(f"  progress    {record.step}/{record.n_steps} {unit}, {record.wall_time:.1f} s of training")
    print(f"  device      {record.device}; peak memory {_size(record.peak_rss)} resident"
          + (f", {_size(record.peak_device)} on the GPU" if record.peak_device else ""))
    print(f"  code        metaviz {record.version}" + (f", commit {record.git_commit}" if record.git_commit else ""))
    print(f"  checkpoints {', '.join(map(str, checkpoints)) or 'none'}")
    chosen = {f"{who} chose": c for who, c in (record.result or {}).items() if c is not None}
    width = max([22, *(len(k) + 2 for k in [*final, *chosen])])
    for key, value in final.items():
        print(f"  {key:<{width}}{value:.6g}")
    for key, value in chosen.items():
        print(f"  {key:<{width}}{json.dumps(value['hyperparameters'])}")
    return 0


def delete(store, args) -> int:
    record = store.get(args.run_id)
    store.delete(record.id, force=args.force)
    print(f"deleted run {record.id} ({record.learner} on {record.task})")
    return 0


def export(store, args) -> int:
    from metaviz.export import export_run

    path = export_run(store, args.run_id, args.dest, torch_weights=args.torch_weights)
    print(f"exported run {store.resolve(args.run_id)} to {path}")
    return 0


def import_(store, args) -> int:
    from metaviz.export import import_run

    run_id = import_run(store, args.path)
    record = store.get(run_id)
    print(f"imported {args.path} as run {run_id} ({record.learner} on {record.task}, {record.status})")
    return 0


ACTIONS = {None: list_runs, "show": show, "delete": delete, "export": export, "import": import_}


def run(args: argparse.Namespace) -> int:
    from metaviz.checkpoint import CheckpointError
    from metaviz.export import ExportError
    from metaviz.store import Store, StoreError

    try:
        return ACTIONS[args.action](Store(args.home), args)
    except (StoreError, ExportError, CheckpointError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("runs", help="list, show, delete, export and import stored runs",
                                   description="The run store (METAVIZ_HOME or --home). Without an action, "
                                               "lists the runs, newest first.")
    parser.add_argument("--home", metavar="DIR", help="the data folder (default $METAVIZ_HOME or "
                                                      "~/.local/share/metaviz)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--task", help="only runs of this task family")
    parser.add_argument("--learner", help="only runs of this meta-learner (or AutoML method)")
    parser.add_argument("--kind", choices=["meta", "automl"], help="only meta-training runs, or AutoML searches")
    parser.add_argument("--status", help="only runs with this status (running, paused, stopped, done, diverged, "
                                         "error, interrupted)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    one = actions.add_parser("show", help="one run in detail")
    one.add_argument("run_id")
    one.add_argument("--json", action="store_true", help="machine-readable output")
    gone = actions.add_parser("delete", help="delete a run and its checkpoints")
    gone.add_argument("run_id")
    gone.add_argument("--force", action="store_true", help="even while its process still writes it")
    out = actions.add_parser("export", help="write a run to a folder, or to a zip when DEST ends with .zip")
    out.add_argument("run_id")
    out.add_argument("dest", metavar="DEST")
    out.add_argument("--torch-weights", action="store_true",
                     help="also write weights.pt, a plain state dict for torch.load(weights_only=True)")
    into = actions.add_parser("import", help="add an exported run (folder or zip) to the store")
    into.add_argument("path")
    parser.set_defaults(run=run, action=None)
