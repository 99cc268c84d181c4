"""Meta-train the checkpoints that ship with the app (metaviz/zoo/), with the benchmark's recipes.

    python scripts/train_zoo.py                       # both, one after the other
    python scripts/train_zoo.py --only protonet-omniglot --budget-s 480

Each model meta-trains on Omniglot's two minimal background sets only (never on
the 20 official one-shot runs, which come from other alphabets and are used
here only to score it), for a budget of CPU seconds on one torch thread, then
is scored on held-out classes and on the official runs; the scores go into the
checkpoint's metadata and are printed as a markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metaviz import bench, checkpoint  # noqa: E402

TEST_FRACTION = 0.1  # meta-test characters; 15% more are the meta-validation split the temperature is fitted on
MODELS = {  # zoo name -> (bench learner, setup whose recipe it follows, setups it is scored on)
    "protonet-omniglot": ("protonet", bench.ONESHOT, ["omniglot 5-way 1-shot", bench.ONESHOT]),
    "maml-omniglot": ("maml", "omniglot 5-way 1-shot", ["omniglot 5-way 1-shot"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=list(MODELS), nargs="*", default=list(MODELS))
    parser.add_argument("--budget-s", type=float, default=480.0, help="CPU seconds of meta-training per model")
    parser.add_argument("--wall-s", type=float, default=None,
                        help="stop meta-training after this many wall seconds as well (a shared machine)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initialisation and the task sampler")
    parser.add_argument("--test-fraction", type=float, default=TEST_FRACTION,
                        help="characters of the minimal sets held out as meta-test classes")
    parser.add_argument("--out", type=Path, default=checkpoint.ZOO_DIR)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.only:
        learner, setup, scored_on = MODELS[name]
        wall = time.perf_counter()
        config = bench.run_config(learner, setup, seed=args.seed, device="cpu")
        config = dataclasses.replace(config, task_config=dataclasses.replace(
            config.task_config, test_fraction=args.test_fraction))
        run, seconds = bench.meta_train(config, args.budget_s, args.wall_s)
        rows = [row for s in scored_on for row in bench.score(name, s, run, seconds)]
        path = checkpoint.save(args.out / f"{name}{checkpoint.SUFFIX}", run.config, run.learner.state_numpy(),
                               run.step, {f"{r.setup} {r.metric}": r.value for r in rows})
        print(bench.table(rows))
        print(f"{name}: {run.step} meta-iterations, {seconds:.0f} CPU s, {time.perf_counter() - wall:.0f} s wall "
              f"-> {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
              f"({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
