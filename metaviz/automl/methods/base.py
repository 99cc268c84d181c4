"""The contract of an AutoML method: outer steps that spend inner training steps, then a result.

A method is built on a :class:`~metaviz.automl.problem.Problem` with a seed. Each :meth:`SearchMethod.outer_step`
spends some inner training steps (the unit in which methods are compared at equal compute) and reports what it
currently believes: hyperparameters, or architecture weights. :meth:`SearchMethod.result` trains the final
choice and scores it on the test split, which no choice has seen.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from metaviz.automl.hyper import Network
from metaviz.automl.problem import Problem
from metaviz.config import Config, param

KINDS = ("hyperparameters", "architecture")
LR_RANGE = (1e-3, 1.0)    # what random and grid search draw from, and where learned rates are kept
WD_RANGE = (1e-6, 1e-1)


@dataclass(frozen=True)
class StepReport:
    compute: int                          # inner training steps this outer step spent
    val_loss: float                       # of the current choice (NaN if this step has none)
    val_accuracy: float | None
    hyperparameters: dict[str, np.ndarray]


@dataclass(frozen=True)
class Result:
    """The final choice, trained, scored on validation and test."""

    hyperparameters: dict[str, list | float | str]
    val_loss: float
    test_loss: float
    test_accuracy: float | None
    retrain_steps: int  # inner steps spent training the final choice (not in the search's compute)

    def to_dict(self) -> dict:
        """Plain JSON (the run store's ``result``, exports); a non-finite loss becomes None."""
        def finite(x):
            return None if x is None or not math.isfinite(x) else float(x)

        return {"hyperparameters": self.hyperparameters, "val_loss": finite(self.val_loss),
                "test_loss": finite(self.test_loss), "test_accuracy": finite(self.test_accuracy),
                "retrain_steps": int(self.retrain_steps)}

    @classmethod
    def from_dict(cls, d: dict) -> Result:
        def number(x):
            return math.inf if x is None else float(x)

        return cls(dict(d["hyperparameters"]), number(d["val_loss"]), number(d["test_loss"]),
                   None if d.get("test_accuracy") is None else float(d["test_accuracy"]), int(d["retrain_steps"]))


class SearchMethod(ABC):
    """Base of every AutoML method: subclass it in one file of ``metaviz/automl/methods/``.

    Set ``name``, ``title``, ``kind`` (one of KINDS), ``Config``; implement ``outer_step`` and ``result``.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    kind: ClassVar[str] = "hyperparameters"
    Config: ClassVar[type[Config]] = Config

    def __init__(self, config: Config, problem: Problem, seed: int):
        self.config, self.problem, self.seed = config, problem, seed

    @abstractmethod
    def outer_step(self, step: int) -> StepReport:
        """Outer step number ``step`` (0, 1, ...)."""

    @abstractmethod
    def result(self) -> Result:
        """Train and score the current choice."""

    def steps_for(self, compute: int) -> int:
        """Outer steps that spend about ``compute`` inner training steps (for equal-compute comparisons)."""
        return max(1, compute // max(1, self.cost_per_step()))

    @abstractmethod
    def cost_per_step(self) -> int:
        """Inner training steps one outer step spends."""


@dataclass(frozen=True)
class TrialConfig(Config):
    inner_steps: int = param(40, "Inner steps", min=1, max=100_000)  # each trial, from the same initialisation
    trials: int = param(16, "Trials", min=1, max=100_000)
    hidden: int = param(40, "Hidden units", min=1, max=1024)
    layers: int = param(2, "Hidden layers", min=0, max=8)


class TrialSearch(SearchMethod):
    """A search that trains one candidate (a shared learning rate and weight decay) per outer step and keeps the
    one with the lowest validation loss; subclasses say which candidate comes at each step."""

    Config = TrialConfig

    def __init__(self, config: TrialConfig, problem: Problem, seed: int):
        super().__init__(config, problem, seed)
        self.net = Network(problem, config.hidden, config.layers, seed)
        self.best: tuple[float, float, float] | None = None  # (val loss, lr, wd)

    @abstractmethod
    def candidate(self, step: int) -> tuple[float, float]:
        """(learning rate, weight decay) of trial ``step``."""

    def cost_per_step(self) -> int:
        return self.config.inner_steps

    def _fit(self, lr: float, wd: float):
        n_layers = len(self.net.layers)
        lrs = torch.full((self.config.inner_steps, n_layers), lr)
        return self.net.train(lrs, torch.full((n_layers,), wd))

    def outer_step(self, step: int) -> StepReport:
        lr, wd = self.candidate(step)
        val_loss, val_accuracy = self.net.score(self._fit(lr, wd), "val")
        if not math.isfinite(val_loss):
            val_loss = math.inf
        if self.best is None or val_loss < self.best[0]:
            self.best = (val_loss, lr, wd)
        return StepReport(self.config.inner_steps, val_loss, val_accuracy,
                          {"lr": np.array([lr]), "weight_decay": np.array([wd]),
                           "best_val_loss": np.array([self.best[0]])})

    def result(self) -> Result:
        if self.best is None:
            raise RuntimeError("no trial has run yet")
        _, lr, wd = self.best
        params = self._fit(lr, wd)
        val_loss, _ = self.net.score(params, "val")
        test_loss, test_accuracy = self.net.score(params, "test")
        return Result({"lr": lr, "weight_decay": wd}, val_loss, test_loss, test_accuracy, self.config.inner_steps)


def log_uniform(low: float, high: float, u: float) -> float:
    """The point a fraction ``u`` of the way from ``low`` to ``high`` on a log scale."""
    return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
