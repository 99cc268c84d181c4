"""MAML against the pretrained baseline on held-out sine tasks (the MAML paper's section 5.1).

    python benchmarks/sine_maml_vs_pretrained.py [--steps 300] [--seeds 0 1 2]

Both train on the same meta-batches (25 tasks, K=10, one inner step with alpha=0.01,
1-40-40-1 MLP, Adam with meta learning rate 0.01); each is then fine-tuned on the
support sets of 100 held-out tasks and scored by query MSE after 1 and 10 steps.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from metaviz.device import device_label
from metaviz.events import EvalEvent
from metaviz.train import Run, RunConfig, TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    print(f"{args.steps} meta-iterations on {device_label(args.device)}")
    print("| seed | MAML 1 step | pretrained 1 step | MAML 10 steps | pretrained 10 steps | seconds |")
    print("|---|---|---|---|---|---|")
    rows = []
    for seed in args.seeds:
        config = RunConfig(train=TrainConfig(n_steps=args.steps, eval_every=args.steps, n_eval_tasks=100),
                           seed=seed, device=args.device)
        start = time.perf_counter()
        last = [e for e in train(Run(config), args.steps) if isinstance(e, EvalEvent)][-1]
        seconds = time.perf_counter() - start
        row = [last.val.loss[1], last.baseline_val.loss[1], last.val.loss[10], last.baseline_val.loss[10]]
        rows.append(row)
        print(f"| {seed} | " + " | ".join(f"{v:.3f}" for v in row) + f" | {seconds:.1f} |", flush=True)
    print("| mean | " + " | ".join(f"{v:.3f}" for v in np.mean(rows, axis=0)) + " | |")


if __name__ == "__main__":
    main()
