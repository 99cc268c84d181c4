"""Random architecture search: the baseline DARTS must beat (Li and Talwalkar 2019).

Idea: draw a cell uniformly (each edge one non-zero operation of the space), train it
from scratch exactly as DARTS retrains its derived cell, keep the lowest validation loss; report the best cell's
test score. Each outer step costs one full training run (``train_steps`` inner steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.automl.methods.base import Result, SearchMethod, StepReport
from metaviz.automl.space import SPACES, Supernet, describe, edges
from metaviz.config import Config, param


@dataclass(frozen=True)
class RandomNASConfig(Config):
    train_steps: int = param(300, "Training steps per cell", min=1, max=100_000)
    train_lr: float = param(0.01, "Learning rate", min=1e-6, max=10.0)
    width: int = param(16, "Width (units or channels)", min=1, max=256)
    nodes: int = param(2, "Nodes of the cell", min=1, max=4)
    space: str = param("vector", "Search space", options=tuple(SPACES))


class RandomArchitectures(SearchMethod):
    __doc__ = __doc__
    name = "random_nas"
    title = "Random architecture search"
    kind = "architecture"
    Config = RandomNASConfig

    def __init__(self, config: RandomNASConfig, problem, seed: int, dtype: torch.dtype = torch.float32):
        super().__init__(config, problem, seed)
        self.net = Supernet(problem, config.width, config.nodes, seed, dtype, config.space)
        self.best: tuple[float, tuple[int, ...]] | None = None
        self.dtype = dtype

    def cost_per_step(self) -> int:
        return self.config.train_steps

    def candidate(self, step: int) -> tuple[int, ...]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        usable = torch.tensor([i for i, k in enumerate(self.net.ops) if k != "zero"])
        return tuple(int(usable[i]) for i in torch.randint(len(usable), (len(edges(self.config.nodes)),),
                                                            generator=generator))

    def outer_step(self, step: int) -> StepReport:
        choice = self.candidate(step)
        params = self.net.train_discrete(choice, self.config.train_steps, self.config.train_lr)
        val_loss, accuracy = self.net.score(params, self.net.one_hot(choice), "val")
        if self.best is None or val_loss < self.best[0]:
            self.best = (val_loss, choice)
        return StepReport(self.config.train_steps, val_loss, accuracy, {"alpha": self.net.one_hot(choice).numpy()})

    def result(self) -> Result:
        """The best cell, trained again exactly as in its trial (deterministic: same initialisation and data)."""
        if self.best is None:
            raise RuntimeError("no architecture has been trained yet")
        choice = self.best[1]
        val_loss, test_loss, test_accuracy = self.net.retrain_and_score(choice, self.config.train_steps,
                                                                        self.config.train_lr)
        return Result({"cell": describe(choice, self.config.nodes, self.net.ops), "choice": list(choice)}, val_loss,
                      test_loss,
                      test_accuracy, 0)
