"""Pretrained policy (baseline for RL): one policy trained on all tasks at once, then fine-tuned.

Paper: the "pretrained" comparison of Finn, Abbeel and Levine (2017), MAML, section 5.3 (figure 5).

Idea: train a single policy by ordinary policy gradients on rollouts of many tasks pooled together;
at test time fine-tune it on the new task's rollouts with the same policy-gradient steps MAML uses.
On 2-D navigation with goals all around the origin the pooled objective is served best by staying
near the centre, and one step from there moves it little: it learned *a* behaviour, not how to adapt.

Update rule: theta <- Adam(theta, grad_theta mean_i L_i(theta; D_i ~ pi_theta)) (no inner loop in training);
at test time theta' = theta - alpha grad_theta L(theta; D ~ pi_theta).
"""

from __future__ import annotations

import torch

from metaviz.functional import Params
from metaviz.learners.base import PolicyLearner
from metaviz.rl import batched
from metaviz.tasks.base import Episode


class PretrainedRL(PolicyLearner):
    __doc__ = __doc__
    name = "pretrained_rl"
    title = "Pretrained policy + fine-tune (baseline)"
    family = "baseline"

    def task_objective(self, params: Params, batch: Episode) -> tuple[torch.Tensor, torch.Tensor]:
        current = batched(params, batch.n_tasks)
        rollouts = self.rollouts(current, batch.query_x, batch.query_y)
        return self.pg_loss(current, rollouts), rollouts.cost()
