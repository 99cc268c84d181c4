"""Grid search over a shared learning rate and weight decay.

Idea: a log-spaced grid of ``n x n`` points with n = floor(sqrt(trials)) over
:data:`~metaviz.automl.methods.base.LR_RANGE` x ``WD_RANGE``, visited row by row (trials beyond the grid
repeat nothing: they re-train the best point); keep the lowest validation loss.
"""

from __future__ import annotations

import math

from metaviz.automl.methods.base import LR_RANGE, WD_RANGE, TrialSearch, log_uniform


class GridSearch(TrialSearch):
    __doc__ = __doc__
    name = "grid_search"
    title = "Grid search"

    def candidate(self, step: int) -> tuple[float, float]:
        n = max(1, math.isqrt(self.config.trials))
        if step >= n * n and self.best is not None:
            return self.best[1], self.best[2]
        i, j = divmod(step % (n * n), n)
        at = (lambda k: 0.5) if n == 1 else (lambda k: k / (n - 1))
        return log_uniform(*LR_RANGE, at(i)), log_uniform(*WD_RANGE, at(j))
