"""The small shipped result behind the lesson "the same loop, one level up" (made by scripts/automl_lesson.py).

* for T = 10, 20, 40 inner steps on one sine task: the unrolled hypergradient's learned learning rate per layer
  over outer steps, the seconds one hypergradient took and the seconds one plain training run took (the cost of
  differentiating through the run), and the best validation loss against random search at equal compute;
* DARTS first and second order on the same task: softmax(alpha) per edge every few outer steps, the derived cell
  and its retrained test loss.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from metaviz import automl
from metaviz.automl.search import AutoMLConfig, AutoMLRun, OuterStepEvent, ResultEvent, search
from metaviz.automl.worker import curve

PATH = Path(__file__).with_name("lesson_result.json")
INNER = (10, 20, 40)


def _timed(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def compute(seed: int = 0, outer: int = 25, darts_steps: int = 400, task: str = "sinusoid") -> dict:
    out: dict = {"task": task, "seed": seed, "hyper": {}, "darts": {}}
    for inner in INNER:
        config = AutoMLConfig(task, "unrolled", automl.get("unrolled").Config(inner_steps=inner), outer, seed)
        run = AutoMLRun(config)
        events = [e for e in search(run, outer) if isinstance(e, OuterStepEvent)]
        method = run.method
        lrs, wd = (r.detach() for r in method.rates())
        hyper_s = _timed(method.hypergradient)
        plain_s = _timed(lambda net=method.net, lrs=lrs, wd=wd: net.train(lrs, wd))
        random = AutoMLRun(AutoMLConfig(task, "random_search", automl.get("random_search").Config(
            inner_steps=inner, trials=outer), outer, seed))
        random_events = [e for e in search(random, outer) if isinstance(e, OuterStepEvent)]
        x, y = curve(tuple(events))
        rx, ry = curve(tuple(random_events))
        out["hyper"][str(inner)] = {
            "lr": np.stack([e.hyperparameters["lr"].mean(0) for e in events]).tolist(),   # [N, L]
            "layers": method.net.layers, "hypergradient_s": hyper_s, "plain_run_s": plain_s,
            "curve": [x.tolist(), y.tolist()], "random_curve": [rx.tolist(), ry.tolist()]}
    for order in ("first", "second"):
        config = AutoMLConfig(task, "darts", automl.get("darts").Config(second_order=order == "second"),
                              darts_steps, seed)
        run = AutoMLRun(config)
        alphas, result = [], None
        for event in search(run, darts_steps):
            if isinstance(event, OuterStepEvent) and (event.step % 20 == 0 or event.step == 1):
                alphas.append([event.step, event.hyperparameters["alpha"].tolist()])
            if isinstance(event, ResultEvent):
                result = event.result
        out["darts"][order] = {"alpha": alphas, "choice": result.hyperparameters["choice"],
                               "test_loss": result.test_loss, "nodes": config.method_config.nodes}
    return out


def load(path: Path = PATH) -> dict:
    """The shipped result, with the figures' arrays as numpy."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read the lesson's shipped result ({error}); "
                         "run scripts/automl_lesson.py") from None
    for entry in data["hyper"].values():
        entry["lr"] = np.asarray(entry["lr"])
    return data

