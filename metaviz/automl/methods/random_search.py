"""Random search (Bergstra and Bengio 2012) over a shared learning rate and weight decay.

Idea: draw each trial's hyperparameters independently, log-uniformly over the ranges of
:data:`~metaviz.automl.methods.base.LR_RANGE` and ``WD_RANGE``; train from the same initialisation; keep the
lowest validation loss. The baseline a gradient method must beat at equal compute (inner training steps).
"""

from __future__ import annotations

import torch

from metaviz.automl.methods.base import LR_RANGE, WD_RANGE, TrialSearch, log_uniform


class RandomSearch(TrialSearch):
    __doc__ = __doc__
    name = "random_search"
    title = "Random search"

    def candidate(self, step: int) -> tuple[float, float]:
        u = torch.rand(2, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + step)).tolist()
        return log_uniform(*LR_RANGE, u[0]), log_uniform(*WD_RANGE, u[1])
