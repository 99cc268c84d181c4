"""An AutoML run and its resumable stream of events, like :func:`metaviz.train.train` one level up.

    run = AutoMLRun(AutoMLConfig(task="sinusoid", method="unrolled", outer_steps=30))
    for event in search(run, 10):   # OuterStepEvent per outer step; DoneEvent
        ...
    for event in search(run, 100):  # continues; at the last outer step a ResultEvent, then DoneEvent(finished)
        ...

Every method's state lives in ``run.method``, so a resumed search continues exactly where it stopped; the
candidates of random search come from (seed, step), so the stream does not depend on how it was chunked.

:func:`paired` runs a search beside its baselines (random and grid search for hyperparameters, random cells for an
architecture) at equal compute; the app's worker and ``python -m metaviz automl`` both use it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from metaviz import automl, tasks
from metaviz.automl.methods.base import Result
from metaviz.automl.problem import TASKS, make_problem
from metaviz.config import Config
from metaviz.events import DoneEvent

MAX_OUTER_STEPS = 100_000


@dataclass(frozen=True)
class AutoMLConfig:
    task: str = "sinusoid"
    method: str = "unrolled"
    method_config: Config | None = None   # defaults to the method's own defaults
    outer_steps: int = 30
    seed: int = 0

    def __post_init__(self):
        cls = automl.get(self.method)
        if self.task not in TASKS:
            raise ValueError(f"AutoML runs on the tasks {TASKS}, not {self.task!r}")
        if self.method_config is None:
            object.__setattr__(self, "method_config", cls.Config())
        if not isinstance(self.method_config, cls.Config):
            raise TypeError(f"method_config must be a {cls.Config.__name__}")
        if getattr(self.method_config, "space", "vector") == "conv" and getattr(
                tasks.get(self.task), "image_shape", None) is None:
            raise ValueError(f"the conv search space needs image inputs (digits), not {self.task}")
        if isinstance(self.outer_steps, bool) or not isinstance(self.outer_steps, int) or not (
                1 <= self.outer_steps <= MAX_OUTER_STEPS):
            raise ValueError(f"AutoMLConfig.outer_steps={self.outer_steps!r}: must be a whole number in "
                             f"1..{MAX_OUTER_STEPS}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**31:
            raise ValueError(f"AutoMLConfig.seed={self.seed!r}: must be a whole number in 0..2^31-1")

    def to_dict(self) -> dict:
        return {"task": self.task, "method": self.method, "method_config": self.method_config.to_dict(),
                "outer_steps": self.outer_steps, "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict) -> AutoMLConfig:
        """From plain JSON (a file, an export): unknown keys and wrong types are a ValueError naming the field."""
        if not isinstance(d, dict):
            raise ValueError(f"AutoMLConfig: expected an object of fields, got {type(d).__name__}")
        known = {"task", "method", "method_config", "outer_steps", "seed"}
        if set(d) - known:
            raise ValueError(f"AutoMLConfig: unknown fields {sorted(map(str, set(d) - known))}; known: {sorted(known)}")
        for name in ("task", "method"):
            if not isinstance(d.get(name, ""), str):
                raise ValueError(f"AutoMLConfig.{name}: must be text")
        method = d.get("method", "unrolled")
        return cls(task=d.get("task", "sinusoid"), method=method,
                   method_config=automl.get(method).Config.from_dict(d.get("method_config", {})),
                   outer_steps=d.get("outer_steps", 30), seed=d.get("seed", 0))


@dataclass(frozen=True)
class OuterStepEvent:
    step: int                              # outer steps done so far
    compute_steps: int                     # inner training steps spent so far
    val_loss: float
    val_accuracy: float | None
    hyperparameters: dict[str, np.ndarray]  # lr [T, L] and weight_decay [L]; or alpha [E, len(OPS)]
    seconds: float


@dataclass(frozen=True)
class ResultEvent:
    step: int
    compute_steps: int
    result: Result


class AutoMLRun:
    """The mutable state of one search: the problem, the method, the step and the compute spent."""

    def __init__(self, config: AutoMLConfig):
        self.config = config
        self.problem = self.problem_of(config)
        self.method = automl.get(config.method)(config.method_config, self.problem, config.seed)
        self.step, self.compute = 0, 0
        self.result: Result | None = None

    @staticmethod
    def problem_of(config: AutoMLConfig):
        return make_problem(config.task, config.seed)


def search(run: AutoMLRun, n_steps: int) -> Iterator[OuterStepEvent | ResultEvent | DoneEvent]:
    """Advance ``run`` by up to ``n_steps`` outer steps, yielding events as they happen."""
    end = min(run.step + n_steps, run.config.outer_steps)
    while run.step < end:
        start = time.perf_counter()
        report = run.method.outer_step(run.step)
        run.step += 1
        run.compute += report.compute
        yield OuterStepEvent(run.step, run.compute, report.val_loss if math.isfinite(report.val_loss) else math.inf,
                             report.val_accuracy, report.hyperparameters, time.perf_counter() - start)
    finished = run.step >= run.config.outer_steps
    if finished and run.result is None:
        run.result = run.method.result()
        yield ResultEvent(run.step, run.compute, run.result)
    yield DoneEvent(run.step, finished)


BASELINES = {"hyperparameters": {"baseline": "random_search", "grid": "grid_search"},  # who -> method
             "architecture": {"baseline": "random_nas"}}


def baseline_config(config: AutoMLConfig, who: str = "baseline") -> AutoMLConfig:
    """The baseline ``who`` of ``config``'s method on the same problem, with a trial as long as the method's inner
    run (or the cell trained as DARTS retrains its derived one), and as many trials as the method's compute buys."""
    method = automl.get(config.method)
    name = BASELINES[method.kind][who]
    mine = config.method_config
    fields = {"inner_steps": getattr(mine, "inner_steps", 40)} if method.kind == "hyperparameters" else {
        "train_steps": getattr(mine, "retrain_steps", 300),
        **{k: getattr(mine, k) for k in ("width", "nodes", "space") if hasattr(mine, k)}}
    probe = automl.get(config.method)(mine, AutoMLRun.problem_of(config), config.seed)
    total = probe.cost_per_step() * config.outer_steps
    steps = max(1, total // (fields.get("inner_steps") or fields["train_steps"]))
    if name == "grid_search":  # a grid of floor(sqrt(steps))^2 points that the compute covers
        fields["trials"] = steps
    return AutoMLConfig(config.task, name, automl.get(name).Config(**fields), steps, config.seed)


def search_runs(config: AutoMLConfig) -> dict[str, AutoMLRun]:
    """The search of ``config`` ("method") and its baselines at equal compute: random search ("baseline") and
    grid search ("grid") for hyperparameters, random cells ("baseline") for an architecture."""
    kind = automl.get(config.method).kind
    return {"method": AutoMLRun(config), **{who: AutoMLRun(baseline_config(config, who)) for who in BASELINES[kind]}}


def paired(runs: dict[str, AutoMLRun]) -> Iterator[tuple[str, OuterStepEvent | ResultEvent | DoneEvent]]:
    """(who, event) from every search of ``runs`` (:func:`search_runs`) until all end, at equal compute: the one
    that has spent fewer inner steps goes next (a baseline on a tie, so none trails the method). The state
    is in ``runs``: stop pulling at any point and a new ``paired(runs)`` continues where this one stopped."""
    streams = {k: search(run, run.config.outer_steps - run.step) for k, run in runs.items()}
    open_streams = set(streams)
    while open_streams:
        who = min(open_streams, key=lambda k: (runs[k].compute, k == "method", k))
        event = next(streams[who])
        if isinstance(event, DoneEvent):
            open_streams.discard(who)
        yield who, event
