"""Meta-train the shipped few-shot text checkpoint ``intents-clinc150`` (metaviz/zoo/).

    OMP_NUM_THREADS=1 nice -n 19 python scripts/train_text_zoo.py --budget-s 90

The ``ngram_protonet`` learner (ProtoNet on a hashed n-gram encoder plus TF-IDF n-gram prototypes whose
n-gram weights are the idf over the meta-train sentences to the power 0.5) meta-trains on CLINC150's
meta-train domains only (banking, credit_cards, home, auto_and_commute, work, small_talk, meta), with
10-way 5-shot episodes, for a budget of CPU seconds on one torch thread. Every ``--val-every`` steps it is
scored on 200 meta-validation tasks (the utility domain, 5-way 5-shot) and the best state is kept. Then,
on the same meta-validation tasks only, the weight of the encoder's cosine against the n-gram cosine is
chosen (its meta-learned scale times 0, 0.5, 1 or 2: 0 leaves the n-gram scores alone) and a calibration
temperature is fitted on 200 other meta-validation tasks. That state is scored on the bench's 600 meta-test tasks
(travel, kitchen_and_dining) beside the TF-IDF baseline on the same tasks, with the calibration error
(15 bins) at T = 1 and at the fitted T, and the scores go into the checkpoint's metadata.
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

from metaviz import bench, calibration, checkpoint  # noqa: E402
from metaviz.learners.base import MetaLearner  # noqa: E402
from metaviz.learners.ngram_protonet import NgramProtoConfig  # noqa: E402
from metaviz.tasks.intents import IntentsConfig  # noqa: E402
from metaviz.train import Run, RunConfig, TrainConfig, build_learner, train  # noqa: E402

NAME = "intents-clinc150"
ENCODER_WEIGHTS = (0.0, 0.5, 1.0, 2.0)  # times the meta-learned encoder scale, chosen on utility


def episodes(task_config: IntentsConfig, n_tasks: int, split: str, seed: int):
    from metaviz import tasks

    return tasks.get("intents")(task_config).sample(n_tasks, torch.Generator().manual_seed(seed), split).episode


def accuracy(learner: MetaLearner, task_config: IntentsConfig, n_tasks: int, split: str, seed: int) -> float:
    with torch.no_grad():
        return float(learner.evaluate(episodes(task_config, n_tasks, split, seed), 0).accuracy[0])


def calibrate(learner: MetaLearner, task_config: IntentsConfig) -> tuple[float, dict[str, float]]:
    """The temperature fitted on 200 meta-validation tasks (seed 13, not the selection's), and on the bench's
    meta-test tasks the accuracy and the ECE (15 bins) of the answers at T = 1 and at that T."""
    t = calibration.fit_temperature(*bench.query_logits(learner, episodes(task_config, 200, "val", 13)))
    logits, labels = bench.query_logits(learner, episodes(task_config, bench.TEXT_EVAL_TASKS, "test", 7))
    return t, {"test 5-way 5-shot accuracy": float((logits.argmax(-1) == labels).mean()),
               "test ece at T=1": calibration.ece(calibration.softmax(logits), labels),
               "test ece at fitted T": calibration.ece(calibration.softmax(logits, t), labels)}


def score(path: Path) -> int:
    """The bench's text rows (600 meta-test tasks each, with and without out-of-scope queries) for a checkpoint."""
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
    parser.add_argument("--budget-s", type=float, default=90.0, help="CPU seconds of meta-training")
    parser.add_argument("--val-every", type=int, default=100)
    parser.add_argument("--out", type=Path, default=checkpoint.ZOO_DIR / f"{NAME}{checkpoint.SUFFIX}")
    parser.add_argument("--score", action="store_true",
                        help="only score the checkpoint at --out on the bench's text setups (a markdown table)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.score:
        return score(args.out)
    config = RunConfig(task="intents", learner="ngram_protonet",
                       task_config=IntentsConfig(n_way=10, k_shot=5, n_query=10),
                       learner_config=NgramProtoConfig(corpus_idf_power=0.5, learn_ngram_weights=False),
                       train=TrainConfig(n_steps=1_000_000, eval_every=10_000, n_eval_tasks=1, eval_steps=0,
                                         meta_batch=4, meta_lr=3e-3, hidden=256, layers=1, baseline=False,
                                         strategy="loop"), device="cpu")
    run = Run(config)
    val_config = IntentsConfig(n_way=5, k_shot=5, n_query=5)
    start = time.perf_counter()
    cpu = time.process_time()
    best = (accuracy(run.learner, val_config, 200, "val", 11), 0, run.learner.state_numpy())
    print(f"step 0 val {best[0]:.4f}", flush=True)
    while time.process_time() - cpu < args.budget_s:
        for _ in train(run, args.val_every):  # that many more steps
            pass
        val = accuracy(run.learner, val_config, 200, "val", 11)
        print(f"step {run.step} val {val:.4f} scales {run.learner.params['scales'].detach().tolist()} "
              f"{time.process_time() - cpu:.0f} CPU s", flush=True)
        if val > best[0]:
            best = (val, run.step, run.learner.state_numpy())
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    learner = build_learner(dataclasses.replace(config, task_config=val_config))
    learner.load_numpy(best[2])
    learned = learner.params["scales"].detach().clone()
    chosen = []
    for weight in ENCODER_WEIGHTS:  # the combination weight, on the meta-validation tasks of the selection
        with torch.no_grad():
            learner.params["scales"][0] = learned[0] * weight
        chosen.append((accuracy(learner, val_config, 200, "val", 11), weight))
        print(f"encoder weight {weight}: val {chosen[-1][0]:.4f}", flush=True)
    val, weight = max(chosen)
    with torch.no_grad():
        learner.params["scales"][0] = learned[0] * weight
    state = learner.state_numpy()
    temperature, scores = calibrate(learner, val_config)
    test = scores["test 5-way 5-shot accuracy"]  # every task has as many queries: the mean over tasks
    baseline = accuracy(build_learner(RunConfig(task="intents", learner="tfidf", task_config=val_config)),
                        val_config, bench.TEXT_EVAL_TASKS, "test", 7)
    metrics = {"val 5-way 5-shot accuracy": val, "encoder weight": weight, "tfidf test 5-way 5-shot accuracy": baseline,
               "train wall s": wall, "train cpu s": cpu, "temperature": temperature, **scores}
    path = checkpoint.save(args.out, config, state, best[1], metrics, temperature=temperature)
    print(f"best step {best[1]}, encoder weight {weight}: val {val:.4f}; meta-test 5-way 5-shot {test:.4f} vs TF-IDF "
          f"{baseline:.4f} (600 tasks); T {temperature:.3f}, ECE {scores['test ece at T=1']:.4f} -> "
          f"{scores['test ece at fitted T']:.4f}; {wall:.0f} s wall, {cpu:.0f} CPU s -> {path} "
          f"({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
