"""MAML: learn an initialization from which a few gradient steps solve any task.

Paper: Finn, Abbeel and Levine (2017), *Model-Agnostic Meta-Learning for Fast
Adaptation of Deep Networks*, ICML. First-order variant (FOMAML) in the same
paper, section 5.2.

Idea: do not learn a model that solves every task at once (impossible when the
tasks disagree); learn the starting point theta from which one or a few SGD
steps on a task's support set give a good model for that task.

Update rule, for a meta-batch of tasks T_i with support S_i and query Q_i:

    inner loop (per task):  theta_i' = theta - alpha * grad_theta L_{S_i}(theta)     (repeat k times)
    outer loop:             theta   <- theta - beta * grad_theta  mean_i L_{Q_i}(theta_i')

The meta-gradient flows *through* the inner step. For one step it is
(I - alpha * H_{S_i}(theta)) grad L_{Q_i}(theta_i'): the Hessian term is the
second-order part. FOMAML drops it and uses grad L_{Q_i}(theta_i') alone, which
is cheaper in time and memory and often almost as good.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.functional import Params
from metaviz.learners.base import InnerLoopConfig, MetaLearner
from metaviz.tasks.base import Episode


@dataclass(frozen=True)
class MAMLConfig(InnerLoopConfig):
    first_order: bool = param(False, "First-order (FOMAML)",
                              help="Drop the second-order term of the meta-gradient: faster, less memory.")


class MAML(MetaLearner):
    __doc__ = __doc__
    name = "maml"
    title = "MAML / FOMAML"
    family = "optimization"
    Config = MAMLConfig

    def task_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        adapted = self.adapt(params, episode.support_x, episode.support_y,
                             first_order=self.config.first_order)
        return self.task.loss(self.predict(adapted.params, episode.query_x), episode.query_y)

    def task_value(self, params: Params, episode: Episode) -> torch.Tensor:
        """The meta-loss's value without its meta-gradient's graph (the same number; see the base class)."""
        return self.adapted_query_value(params, episode)
