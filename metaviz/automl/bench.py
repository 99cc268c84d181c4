"""``python -m metaviz bench automl``: hyperparameter and architecture search at equal compute.

Compute is counted in inner training steps (one gradient step on the training split), the unit random search
spends; a hypergradient step also pays a backward pass through its unrolled run (or K Hessian-vector products),
which the wall time shows and the step count does not. Every method picks on the validation split and is scored on
the test split. Seeds are whole repeats (a new task and a new initialisation) until the CPU budget is spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from metaviz import automl
from metaviz.automl.search import AutoMLConfig, AutoMLRun, ResultEvent, search
from metaviz.automl.space import all_architectures, describe

HYPER_STEPS = 40      # inner steps of one training run for the hyperparameter methods
HYPER_RUNS = 30       # training runs' worth of compute each hyperparameter method gets: 1200 inner steps
NAS_SEARCH = 600      # DARTS weight steps; then a 300-step retrain of the derived cell
NAS_TRAIN = 300       # steps to train one cell (DARTS's retrain, each random cell, each cell of the census)

SETUPS = {  # method -> (config fields, outer steps): equal compute within each group
    "unrolled": ({"inner_steps": HYPER_STEPS}, HYPER_RUNS),
    "implicit": ({"steps_per_outer": 10}, HYPER_RUNS * HYPER_STEPS // 10),
    "random_search": ({"inner_steps": HYPER_STEPS, "trials": HYPER_RUNS}, HYPER_RUNS),
    "grid_search": ({"inner_steps": HYPER_STEPS, "trials": HYPER_RUNS}, HYPER_RUNS),
    "darts": ({"retrain_steps": NAS_TRAIN}, NAS_SEARCH),
    "darts_2nd": ({"retrain_steps": NAS_TRAIN, "second_order": True}, NAS_SEARCH),
    "random_nas": ({"train_steps": NAS_TRAIN}, (NAS_SEARCH + NAS_TRAIN) // NAS_TRAIN),
    # the conv space (digits only): conv 3x3, conv 5x5, max pooling, skip, zero on the 8x8 images, 8 channels
    "darts_conv": ({"retrain_steps": NAS_TRAIN, "space": "conv", "width": 8}, NAS_SEARCH),
    "random_nas_conv": ({"train_steps": NAS_TRAIN, "space": "conv", "width": 8}, (NAS_SEARCH + NAS_TRAIN) // NAS_TRAIN),
}
IMAGES_ONLY = ("darts_conv", "random_nas_conv")  # setups that need image inputs
TASKS = ("sinusoid", "digits")


@dataclass(frozen=True)
class Row:
    task: str
    method: str
    seed: int
    compute_steps: int
    val_loss: float
    test_loss: float
    accuracy: float | None      # test accuracy (classification)
    hyperparameters: dict
    seconds: float

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def run_one(task: str, method: str, seed: int) -> Row:
    fields, steps = SETUPS[method]
    name = {"darts_2nd": "darts", "darts_conv": "darts", "random_nas_conv": "random_nas"}.get(method, method)
    config = AutoMLConfig(task, name, automl.get(name).Config(**fields), steps, seed)
    start = time.process_time()
    run = AutoMLRun(config)
    result = next(e for e in search(run, steps) if isinstance(e, ResultEvent)).result
    return Row(task, method, seed, run.compute + result.retrain_steps, result.val_loss, result.test_loss,
               result.test_accuracy, result.hyperparameters, time.process_time() - start)


def census(task: str, seed: int) -> Row:
    """Every cell of the space trained NAS_TRAIN steps: the best one by validation, and the spread of all."""
    start = time.process_time()
    run = AutoMLRun(AutoMLConfig(task, "random_nas", automl.get("random_nas").Config(train_steps=NAS_TRAIN), 1,
                                 seed))
    net, scores = run.method.net, []
    for choice in all_architectures(run.method.config.nodes, net.ops):
        params = net.train_discrete(choice, NAS_TRAIN, run.method.config.train_lr)
        weights = net.one_hot(choice)
        scores.append((net.score(params, weights, "val")[0], *net.score(params, weights, "test"), choice))
    best = min(scores, key=lambda s: s[0])
    test = np.array([s[1] for s in scores])
    return Row(task, "all_cells", seed, NAS_TRAIN * len(scores), best[0], best[1], best[2],
               {"cell": describe(best[3], run.method.config.nodes, net.ops), "test_loss_median": float(np.median(test)),
                "test_loss_best": float(test.min()),
                "test_by_cell": {str(s[3]): round(s[1], 5) for s in scores}},
               time.process_time() - start)


def bench_automl(budget_s: float, tasks: tuple[str, ...] | None = None, methods: tuple[str, ...] | None = None,
                 with_census: bool = True, progress: Callable[[str], None] = lambda line: None) -> list[Row]:
    """Whole seeds of every (task, method) until ``budget_s`` CPU seconds are spent (at least one seed)."""
    methods, tasks = tuple(methods or SETUPS), tuple(tasks or TASKS)
    rows: list[Row] = []
    start, seed, per_seed = time.process_time(), 0, 0.0
    while seed == 0 or time.process_time() - start + per_seed <= budget_s:
        seed_start = time.process_time()
        for task in tasks:
            for method in methods:
                if method in IMAGES_ONLY and task != "digits":
                    continue
                rows.append(run_one(task, method, seed))
                progress(f"{task} {method} seed {seed}: test loss {rows[-1].test_loss:.4f} "
                         f"({rows[-1].seconds:.1f} CPU s)")
            if with_census:
                rows.append(census(task, seed))
                progress(f"{task} all cells seed {seed}: ({rows[-1].seconds:.1f} CPU s)")
        per_seed = time.process_time() - seed_start
        seed += 1
    return rows


def table(rows: list[Row]) -> str:
    """Mean (and spread over seeds) per task and method, as Markdown."""
    lines = ["| task | method | seeds | inner steps | val loss | test loss | test accuracy | CPU s |",
             "|---|---|---|---|---|---|---|---|"]
    keys = list(dict.fromkeys((r.task, r.method) for r in rows))
    for task, method in keys:
        group = [r for r in rows if (r.task, r.method) == (task, method)]

        def stat(values) -> str:
            values = np.asarray(values, float)
            return f"{values.mean():.4f} ± {values.std():.4f}" if len(values) > 1 else f"{values.mean():.4f}"

        accuracy = stat([r.accuracy for r in group]) if group[0].accuracy is not None else "-"
        val, test = stat([r.val_loss for r in group]), stat([r.test_loss for r in group])
        seconds = np.mean([r.seconds for r in group])
        lines.append(f"| {task} | {method} | {len(group)} | {group[0].compute_steps} | {val} | {test} | {accuracy} "
                     f"| {seconds:.1f} |")
    return "\n".join(lines)
