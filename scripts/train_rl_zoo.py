"""Meta-train the 2-D navigation checkpoints the meta-RL lesson opens with (metaviz/zoo/rl/).

    python scripts/train_rl_zoo.py --budget-s 150

MAML-RL and its pretrained baseline are trained alongside in one run (the same meta-training goals at every
step, drawn in [-0.5, 0.5]^2) for a budget of CPU seconds on one torch thread, then scored on 40 held-out goals
after 0, 1 and 3 policy-gradient steps; the scores go into each checkpoint's metadata and are printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metaviz import checkpoint  # noqa: E402
from metaviz.train import Run, RunConfig, TrainConfig  # noqa: E402

CONFIG = RunConfig(task="navigation", learner="maml_rl", seed=0, device="cpu",
                   train=TrainConfig(meta_batch=20, meta_lr=0.01, hidden=64, n_steps=100_000, n_eval_tasks=40,
                                     eval_steps=3))
NAMES = {"maml_rl": "maml_rl-navigation", "pretrained_rl": "pretrained_rl-navigation"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-s", type=float, default=150.0, help="CPU seconds of meta-training (both learners)")
    parser.add_argument("--out", type=Path, default=checkpoint.ZOO_DIR / "rl")
    args = parser.parse_args()
    torch.set_num_threads(1)
    run, start, wall = Run(CONFIG), time.process_time(), time.perf_counter()
    while time.process_time() - start < args.budget_s:
        batch = run.batch_for_step(run.step)
        run.learner.outer_step(batch, run.optimizer)
        run.baseline.outer_step(batch, run.baseline_optimizer)
        run.step += 1
    seconds = time.process_time() - start
    for learner in (run.learner, run.baseline):
        curve = learner.evaluate(run.eval_batch, 3).loss
        scores = {f"return after {k} steps": float(-curve[k]) for k in (0, 1, 3)}
        config = RunConfig(task=CONFIG.task, learner=learner.name, seed=CONFIG.seed, device="cpu",
                           train=CONFIG.train, learner_config=learner.config)
        path = checkpoint.save(args.out / f"{NAMES[learner.name]}{checkpoint.SUFFIX}", config, learner.state_numpy(),
                               run.step, scores)
        print(f"{learner.name}: {run.step} meta-iterations, {seconds:.0f} CPU s, {time.perf_counter() - wall:.0f} s "
              f"wall, {scores} -> {path.name} ({path.stat().st_size / 1e3:.1f} kB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
