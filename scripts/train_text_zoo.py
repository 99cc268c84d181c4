"""Meta-train the shipped few-shot text checkpoint ``intents-clinc150`` (metaviz/zoo/).

    nice -n 10 python scripts/train_text_zoo.py --budget-s 1200

The ``ngram_protonet`` learner (ProtoNet on a hashed n-gram encoder plus TF-IDF n-gram prototypes)
meta-trains on CLINC150's meta-train domains only (banking, credit_cards, home, auto_and_commute, work,
small_talk, meta), with 10-way 5-shot episodes, for a wall-clock budget on one torch thread. Every
``--val-every`` steps it is scored on 200 meta-validation tasks (the utility domain, 5-way 5-shot) and
the best state is kept; that state is scored on 600 meta-test tasks (travel, kitchen_and_dining) beside
the TF-IDF baseline on the same tasks, and the scores go into the checkpoint's metadata.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metaviz import checkpoint  # noqa: E402
from metaviz.learners.base import MetaLearner  # noqa: E402
from metaviz.tasks.intents import IntentsConfig  # noqa: E402
from metaviz.train import Run, RunConfig, TrainConfig, build_learner, train  # noqa: E402

NAME = "intents-clinc150"


def accuracy(learner: MetaLearner, task_config: IntentsConfig, n_tasks: int, split: str, seed: int) -> float:
    from metaviz import tasks

    batch = tasks.get("intents")(task_config).sample(n_tasks, torch.Generator().manual_seed(seed), split).episode
    with torch.no_grad():
        return float(learner.evaluate(batch, 0).accuracy[0])


def score(path: Path) -> int:
    """The bench's text rows (600 meta-test tasks each, with and without out-of-scope queries) for a checkpoint."""
    from metaviz import bench

    loaded = checkpoint.load(path)
    run = Run(loaded.config)
    run.learner.load_numpy(loaded.params)
    run.step = loaded.step
    rows = []
    for setup in [s for s in bench.SETUPS if s.startswith("intents")]:
        rows += bench.score(NAME, setup, run, float(json.loads(loaded.metadata["metrics"]).get("train cpu s", 0)))
        print(bench.table(rows[-3:], header=False), flush=True)
    print(bench.table(rows))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-s", type=float, default=1200.0, help="wall seconds of meta-training")
    parser.add_argument("--val-every", type=int, default=300)
    parser.add_argument("--out", type=Path, default=checkpoint.ZOO_DIR / f"{NAME}{checkpoint.SUFFIX}")
    parser.add_argument("--score", action="store_true",
                        help="only score the checkpoint at --out on the bench's text setups (a markdown table)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.score:
        return score(args.out)
    config = RunConfig(task="intents", learner="ngram_protonet",
                       task_config=IntentsConfig(n_way=10, k_shot=5, n_query=10),
                       train=TrainConfig(n_steps=1_000_000, eval_every=10_000, n_eval_tasks=1, eval_steps=0,
                                         meta_batch=4, meta_lr=3e-3, hidden=256, layers=1, baseline=False,
                                         strategy="loop"), device="cpu")
    run = Run(config)
    val_config = IntentsConfig(n_way=5, k_shot=5, n_query=5)
    start = time.perf_counter()
    cpu = time.process_time()
    best = (accuracy(run.learner, val_config, 200, "val", 11), 0, run.learner.state_numpy())
    print(f"step 0 val {best[0]:.4f}", flush=True)
    while time.perf_counter() - start < args.budget_s:
        for _ in train(run, args.val_every):  # that many more steps
            pass
        val = accuracy(run.learner, val_config, 200, "val", 11)
        print(f"step {run.step} val {val:.4f} scales {run.learner.params['scales'].detach().tolist()} "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        if val > best[0]:
            best = (val, run.step, run.learner.state_numpy())
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    learner = build_learner(dataclasses.replace(config, task_config=val_config))
    learner.load_numpy(best[2])
    test = accuracy(learner, val_config, 600, "test", 12)
    baseline = accuracy(build_learner(RunConfig(task="intents", learner="tfidf", task_config=val_config)),
                        val_config, 600, "test", 12)
    metrics = {"val 5-way 5-shot accuracy": best[0], "test 5-way 5-shot accuracy": test,
               "tfidf test 5-way 5-shot accuracy": baseline, "train wall s": wall, "train cpu s": cpu}
    path = checkpoint.save(args.out, config, best[2], best[1], metrics)
    print(f"best step {best[1]}: val {best[0]:.4f}; meta-test 5-way 5-shot {test:.4f} vs TF-IDF {baseline:.4f} "
          f"(600 tasks); {wall:.0f} s wall, {cpu:.0f} CPU s -> {path} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
