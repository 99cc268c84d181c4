"""Accuracy benchmark: every learner on every setup it supports, within a time budget.

    python -m metaviz bench accuracy --budget-s 600 --device cpu --json results.json

Each (learner, setup) pair meta-trains for an equal share of the budget (at least
one meta-iteration), then is scored on held-out tasks: query accuracy on the
meta-test classes for classification, query MSE after 1 and 10 inner steps for
regression, and, for learners that classify images, the error on Omniglot's
official 20 one-shot runs (meta-trained on the minimal background sets only).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from metaviz import learners, tasks
from metaviz.events import DivergedEvent
from metaviz.train import Run, RunConfig, TrainConfig, train

SETUPS: dict[str, Callable[[], tuple[str, object]]] = {
    "sine K=5": lambda: ("sinusoid", tasks.get("sinusoid").Config(k_shot=5)),
    "sine K=10": lambda: ("sinusoid", tasks.get("sinusoid").Config(k_shot=10)),
    "digits 5-way 1-shot": lambda: ("digits", tasks.get("digits").Config(n_way=5, k_shot=1)),
    "digits 5-way 5-shot": lambda: ("digits", tasks.get("digits").Config(n_way=5, k_shot=5)),
    "omniglot 5-way 1-shot": lambda: ("omniglot", tasks.get("omniglot").Config(n_way=5, k_shot=1)),
    "omniglot 20-way 1-shot": lambda: ("omniglot", tasks.get("omniglot").Config(n_way=20, k_shot=1)),
}
ONESHOT = "omniglot 20-way 1-shot"  # also scored on the official 20 runs


@dataclass(frozen=True)
class BenchRow:
    learner: str
    setup: str
    metric: str        # "accuracy" (meta-test classes), "mse@1", "mse@10", "oneshot error %"
    value: float
    train_seconds: float
    meta_iterations: int
    device: str


def oneshot_cost(run: Run) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A cost function for the official 20-run scorer: adapt on the 20 training images (labels 0..19)
    and use minus the query logits (the best-scoring training image wins)."""
    from metaviz.data.oneshot import to_tensor

    learner, size = run.learner, run.config.task_config.size
    steps = getattr(learner.config, "inner_steps", 0)

    def cost(train_images: np.ndarray, test_images: np.ndarray) -> np.ndarray:
        sx = to_tensor(train_images, size).to(run.device)
        qx = to_tensor(test_images, size).to(run.device)
        sy = torch.arange(len(sx), device=run.device)
        params = {k: v.detach() for k, v in learner.params.items()}
        adapted = learner.adapt(params, sx, sy, steps=steps, first_order=True).params
        with torch.no_grad():
            return (-learner.predict({k: v.detach() for k, v in adapted.items()}, qx)).cpu().numpy()

    return cost


def bench_pair(learner: str, setup: str, seconds: float, device: str, seed: int = 0) -> list[BenchRow]:
    task_name, task_config = SETUPS[setup]()
    config = RunConfig(task=task_name, learner=learner, task_config=task_config, seed=seed, device=device,
                       train=TrainConfig(n_steps=1_000_000, eval_every=10_000, n_eval_tasks=1, eval_steps=0,
                                         meta_batch=16, hidden=64 if task_name == "omniglot" else 40,
                                         baseline=False))
    run = Run(config)
    start = time.perf_counter()
    for event in train(run, 1_000_000):
        if isinstance(event, DivergedEvent) or time.perf_counter() - start > seconds:
            break
    elapsed = time.perf_counter() - start
    own = getattr(run.learner.config, "inner_steps", 0)
    regression = run.task.kind == "regression"
    # regression: 100 tasks, curves to 10 steps (cheap); classification: 40 tasks at the learner's own steps
    test = run.task.sample(100 if regression else 40, torch.Generator().manual_seed(seed + 7), "test")
    curves = run.learner.evaluate(test.episode.to(run.device), 10 if regression else own)
    row = dict(learner=learner, setup=setup, train_seconds=round(elapsed, 1), meta_iterations=run.step,
               device=run.device.type)
    if curves.accuracy is not None:
        rows = [BenchRow(metric="accuracy", value=float(curves.accuracy[own]), **row)]
    else:
        rows = [BenchRow(metric="mse@1", value=float(curves.loss[1]), **row),
                BenchRow(metric="mse@10", value=float(curves.loss[10]), **row)]
    if setup == ONESHOT:
        from metaviz.data import oneshot

        runs = oneshot.load_runs(oneshot.find_runs())
        rows.append(BenchRow(metric="oneshot error %", value=oneshot.score(runs, oneshot_cost(run)).mean, **row))
    return rows


def bench_accuracy(budget_s: float, device: str = "auto", only_learners: list[str] | None = None,
                   only_setups: list[str] | None = None, seed: int = 0) -> list[BenchRow]:
    pairs = [(lr, s) for s in (only_setups or list(SETUPS)) for lr in (only_learners or learners.available())
             if tasks.get(SETUPS[s]()[0]).kind in learners.get(lr).kinds]
    share = budget_s / max(len(pairs), 1)
    return [row for lr, s in pairs for row in bench_pair(lr, s, share, device, seed)]


def table(rows: list[BenchRow]) -> str:
    lines = ["| learner | setup | metric | value | train s | meta-iterations | device |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.learner} | {r.setup} | {r.metric} | {r.value:.3f} | {r.train_seconds} | {r.meta_iterations} | "
              f"{r.device} |" for r in rows]
    return "\n".join(lines)


def as_dicts(rows: list[BenchRow]) -> list[dict]:
    return [dataclasses.asdict(r) for r in rows]
