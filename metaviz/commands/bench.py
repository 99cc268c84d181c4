"""``python -m metaviz bench accuracy``: every learner on every setup it supports (see metaviz.bench)."""

from __future__ import annotations

import argparse
import json

from metaviz.commands._progress import Bar


def run(args: argparse.Namespace) -> int:
    if args.what == "speed":
        from metaviz import speed

        return speed.command(args)
    with Bar(label=f"bench {args.what}") as bar:  # a bar on a terminal; the row lines as a log elsewhere
        return _run(args, bar.log)


def _run(args: argparse.Namespace, progress) -> int:
    if args.what == "automl":
        from metaviz.automl import bench as automl_bench

        rows = automl_bench.bench_automl(args.budget_s, progress=progress)
        print(automl_bench.table(rows))
        if args.json:
            with open(args.json, "w") as f:
                json.dump([r.to_dict() for r in rows], f, indent=2)
        return 0
    if args.what == "rl":
        from metaviz import bench_rl

        rows = bench_rl.bench_rl(args.budget_s, args.device if args.device != "auto" else "cpu",
                                 only=args.learners, progress=progress)
        print(bench_rl.table(rows))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=2)
        return 0
    from metaviz import bench

    rows = bench.bench_accuracy(args.budget_s, args.device, args.learners, args.setups,
                                progress=progress, unit_s=args.unit_s)
    print(bench.table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(bench.as_dicts(rows), f, indent=2)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks: accuracy, speed, AutoML, meta-RL")
    parser.add_argument("what", choices=["accuracy", "speed", "automl", "rl"])
    parser.add_argument("--quick", action="store_true", help="speed: a small Omniglot-shaped workload, short timings")
    parser.add_argument("--budget-s", type=float, default=600.0,
                        help="total meta-training budget: CPU seconds on the CPU, wall seconds on a GPU")
    parser.add_argument("--unit-s", type=float, default=None,
                        help="instead of --budget-s: seconds per sine or digits training job (Omniglot jobs get "
                             "OMNIGLOT_WEIGHT times as many), to split the learners over several processes")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--landscape-only", action="store_true", help="speed: time the loss landscape alone")
    parser.add_argument("--learners", nargs="*", default=None, help="only these learners")
    parser.add_argument("--setups", nargs="*", default=None, help="only these setups (quote names)")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the rows as JSON")
    parser.set_defaults(run=run)
