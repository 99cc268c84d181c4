"""``python -m metaviz eval omniglot-oneshot``: score a method on the official 20 one-shot runs."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    """One line per run, then the mean error."""
    if args.checkpoint:
        print(f"error: --checkpoint {args.checkpoint}: scoring meta-trained checkpoints is not supported yet; "
              "use --method mhd for the baseline, or score a model in Python with "
              "metaviz.data.oneshot.score(runs, cost_fn)", file=sys.stderr)
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
    for one, error in zip(runs, result.errors):
        print(f"{one.name}: error {error:.2f}%")
    print(f"mean error: {result.mean:.2f}%")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="score a method on a fixed benchmark")
    parser.add_argument("benchmark", choices=["omniglot-oneshot"],
                        help="omniglot-oneshot: the official 20 runs of 20-way one-shot (Lake et al. 2015)")
    parser.add_argument("--method", choices=["mhd"], default="mhd",
                        help="mhd: the Modified Hausdorff Distance baseline of the official demo")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="folder with all_runs.zip or its extracted run01/ ... run20/ (default: "
                             "$METAVIZ_DATA, ../shared/data/omniglot beside the repository, "
                             "~/.cache/metaviz/omniglot)")
    parser.add_argument("--download", action="store_true",
                        help="download all_runs.zip from the official repository when it is not found")
    parser.add_argument("--checkpoint", metavar="PATH", default=None,
                        help="a meta-trained model to score instead of --method")
    parser.set_defaults(run=run)
