"""Train from scratch: no meta-learning at all, the floor every meta-learner must beat.

Paper: none of its own; it is the lower baseline of the few-shot literature,
for example the "train on the support set from a random initialization"
comparisons of Ravi and Larochelle (2017), *Optimization as a Model for
Few-Shot Learning*, ICLR, and Finn, Abbeel and Levine (2017), MAML.

Idea: what can the support set alone teach? Every task starts from the same
random initialization theta_0 (the run's seeded backbone, never changed) and
takes the inner SGD steps on its support set, exactly as MAML's inner loop
does. Nothing is learned across tasks, so any meta-learner that does not beat
this has learned nothing from the task distribution. The "pretrained"
baseline, which at least learns from the pooled data of many tasks, sits
between this floor and a meta-learner.

Update rule:

    inner loop (per task):  theta_i' = theta_0 - alpha * grad L_{S_i}(theta)      (repeat k times)
    outer loop:             none: theta_0 stays the random initialization

``outer_step`` changes nothing (not the parameters, not the optimizer's state);
it only reports the mean query loss after the inner steps, so the training
chart shows the floor as a flat line beside the other learners.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from metaviz.functional import Params, detach
from metaviz.learners.base import MetaLearner
from metaviz.tasks.base import Episode


class Scratch(MetaLearner):
    __doc__ = __doc__
    name = "scratch"
    title = "Train from scratch (no meta-learning)"
    family = "baseline"
    has_inner_loop = True
    meta_trains: ClassVar[bool] = False  # outer_step never moves the parameters (see the module docstring)

    def adapted_query_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        """Query loss after the inner steps from ``params``, without a meta-gradient (first order)."""
        adapted = self.adapt(params, episode.support_x, episode.support_y, first_order=True)
        return self.task.loss(self.predict(detach(adapted.params), episode.query_x), episode.query_y)

    def outer_step(self, batch: Episode, optimizer: torch.optim.Optimizer) -> dict[str, float]:
        """No meta-update: the mean query loss after adapting from the fixed initialization, for the charts."""
        value = float(self.per_task(self.adapted_query_loss, detach(self.params), batch).mean())
        return {"loss": value if math.isfinite(value) else math.nan}
