"""The ``python -m metaviz`` command line.

    python -m metaviz info [--json]     versions, devices, registered tasks and learners
    python -m metaviz bench accuracy --budget-s 600 [--device cuda] [--json PATH]
                                        every learner on every setup it supports, within the budget
    python -m metaviz eval omniglot-oneshot --method mhd [--data DIR] [--download]
                                        the official 20-run one-shot benchmark; last line "mean error: 38.75%"
"""

from __future__ import annotations

import argparse
import json
import platform
import sys


def info() -> dict:
    import numpy
    import torch

    import metaviz
    from metaviz import learners, tasks
    from metaviz.device import available_devices, device_label

    return {"metaviz": metaviz.__version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "devices": available_devices(), "default_device": device_label("auto"),
            "tasks": {n: tasks.get(n).kind for n in tasks.available()},
            "learners": {n: learners.get(n).family for n in learners.available()}}


def eval_oneshot(args: argparse.Namespace) -> int:
    """Score a method on the official Omniglot one-shot runs: one line per run, then the mean error."""
    if args.checkpoint:
        print(f"error: --checkpoint {args.checkpoint}: scoring meta-trained checkpoints is not supported yet "
              "(a separate issue adds checkpoints); use --method mhd for the baseline, or score a model in "
              "Python with metaviz.data.oneshot.score(runs, cost_fn)", file=sys.stderr)
        return 2
    from metaviz.data import oneshot

    try:
        path = oneshot.find_runs(args.data, download=args.download)
        runs = oneshot.load_runs(path)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"runs from {path}", file=sys.stderr)  # --data is searched first, then the default places
    result = oneshot.score(runs, oneshot.mhd_cost)
    for run, error in zip(runs, result.errors):
        print(f"{run.name}: error {error:.2f}%")
    print(f"mean error: {result.mean:.2f}%")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metaviz", description="MetaViz: meta-learning, live.")
    commands = parser.add_subparsers(dest="command", required=True)
    info_parser = commands.add_parser("info", help="versions, devices, registered tasks and learners")
    info_parser.add_argument("--json", action="store_true", help="machine-readable output")
    eval_parser = commands.add_parser("eval", help="score a method on a fixed benchmark")
    eval_parser.add_argument("benchmark", choices=["omniglot-oneshot"],
                             help="omniglot-oneshot: the official 20 runs of 20-way one-shot (Lake et al. 2015)")
    eval_parser.add_argument("--method", choices=["mhd"], default="mhd",
                             help="mhd: the Modified Hausdorff Distance baseline of the official demo")
    eval_parser.add_argument("--data", metavar="DIR", default=None,
                             help="folder with all_runs.zip or its extracted run01/ ... run20/ (default: "
                                  "$METAVIZ_DATA, ../shared/data/omniglot beside the repository, "
                                  "~/.cache/metaviz/omniglot)")
    eval_parser.add_argument("--download", action="store_true",
                             help="download all_runs.zip from the official repository when it is not found")
    eval_parser.add_argument("--checkpoint", metavar="PATH", default=None,
                             help="a meta-trained model to score instead of --method (not supported yet)")
    bench_parser = commands.add_parser("bench", help="benchmarks: accuracy of every learner on every setup")
    bench_parser.add_argument("what", choices=["accuracy"])
    bench_parser.add_argument("--budget-s", type=float, default=600.0, help="total meta-training time, seconds")
    bench_parser.add_argument("--device", default="auto")
    bench_parser.add_argument("--learners", nargs="*", default=None, help="only these learners")
    bench_parser.add_argument("--setups", nargs="*", default=None, help="only these setups (quote names)")
    bench_parser.add_argument("--json", metavar="PATH", default=None, help="write the rows as JSON")
    args = parser.parse_args(argv)

    if args.command == "bench":
        from metaviz import bench

        rows = bench.bench_accuracy(args.budget_s, args.device, args.learners, args.setups)
        print(bench.table(rows))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(bench.as_dicts(rows), f, indent=2)
        return 0

    if args.command == "eval":
        return eval_oneshot(args)
    if args.command == "info":
        data = info()
        if args.json:
            print(json.dumps(data, indent=2))
        else:
            width = max(map(len, data))
            for key, value in data.items():
                if isinstance(value, dict):
                    value = ", ".join(f"{k} ({v})" for k, v in value.items())
                elif isinstance(value, list):
                    value = ", ".join(value)
                print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
