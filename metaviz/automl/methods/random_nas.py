"""Random architecture search: the baseline DARTS must beat (Li and Talwalkar 2019).

Idea: draw a cell uniformly (each edge one non-zero operation of :data:`~metaviz.automl.space.OPS`), train it
from scratch exactly as DARTS retrains its derived cell, keep the lowest validation loss; report the best cell's
test score. Each outer step costs one full training run (``train_steps`` inner steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.automl.methods.base import Result, SearchMethod, StepReport
from metaviz.automl.space import OPS, Supernet, describe, edges, one_hot
from metaviz.config import Config


@dataclass(frozen=True)
class RandomNASConfig(Config):
    train_steps: int = 300
    train_lr: float = 0.01
    width: int = 16
    nodes: int = 2


class RandomArchitectures(SearchMethod):
    __doc__ = __doc__
    name = "random_nas"
    title = "Random architecture search"
    kind = "architecture"
    Config = RandomNASConfig

    def __init__(self, config: RandomNASConfig, problem, seed: int, dtype: torch.dtype = torch.float32):
        super().__init__(config, problem, seed)
        self.net = Supernet(problem, config.width, config.nodes, seed, dtype)
        self.best: tuple[float, tuple[int, ...]] | None = None
        self.dtype = dtype

    def cost_per_step(self) -> int:
        return self.config.train_steps

    def candidate(self, step: int) -> tuple[int, ...]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        usable = torch.tensor([i for i, k in enumerate(OPS) if k != "zero"])
        return tuple(int(usable[i]) for i in torch.randint(len(usable), (len(edges(self.config.nodes)),),
                                                            generator=generator))

    def outer_step(self, step: int) -> StepReport:
        choice = self.candidate(step)
        params = self.net.train_discrete(choice, self.config.train_steps, self.config.train_lr)
        val_loss, accuracy = self.net.score(params, one_hot(choice, self.dtype), "val")
        if self.best is None or val_loss < self.best[0]:
            self.best = (val_loss, choice)
        return StepReport(self.config.train_steps, val_loss, accuracy, {"alpha": one_hot(choice).numpy()})

    def result(self) -> Result:
        """The best cell, trained again exactly as in its trial (deterministic: same initialisation and data)."""
        if self.best is None:
            raise RuntimeError("no architecture has been trained yet")
        choice = self.best[1]
        val_loss, test_loss, test_accuracy = self.net.retrain_and_score(choice, self.config.train_steps,
                                                                        self.config.train_lr)
        return Result({"cell": describe(choice, self.config.nodes), "choice": list(choice)}, val_loss, test_loss,
                      test_accuracy, 0)
