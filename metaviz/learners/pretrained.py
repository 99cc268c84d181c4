"""Pretrained baseline: one network trained on all tasks at once, then fine-tuned.

Paper: the "pretrained" comparison of Finn, Abbeel and Levine (2017), MAML,
section 5.1 (figure 2, right).

Idea: the obvious alternative to meta-learning. Train one network by ordinary
supervised learning on the pooled data of many tasks; at test time fine-tune it
on the new task's support set with the same SGD steps MAML uses. On sine waves
with random phases the pooled data average out, so the network learns roughly
y = 0 and a few steps from there fit a new wave poorly: it learned *a* solution,
not how to adapt.

Update rule: theta <- theta - beta * grad_theta mean_i L_{S_i + Q_i}(theta)
(no inner loop in training); at test time theta' = theta - alpha grad L_S(theta).
"""

from __future__ import annotations

import torch

from metaviz.functional import Params
from metaviz.learners.base import MetaLearner
from metaviz.tasks.base import Episode


class Pretrained(MetaLearner):
    __doc__ = __doc__
    name = "pretrained"
    title = "Pretrained + fine-tune (baseline)"
    family = "baseline"

    def task_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        x = torch.cat([episode.support_x, episode.query_x])
        y = torch.cat([episode.support_y, episode.query_y])
        return self.task.loss(self.predict(params, x), y)
