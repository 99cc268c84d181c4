"""MAML for reinforcement learning: a policy from which one policy-gradient step finds a new goal.

Paper: Finn, Abbeel and Levine (2017), *Model-Agnostic Meta-Learning*, section 5.3; DiCE from
Foerster et al. (2018), *DiCE: The Infinitely Differentiable Monte Carlo Estimator*.

Idea: the same bi-level idea as MAML for regression, but a task's support set is R rollouts the
policy collects on the task itself, and the inner step is a policy-gradient (REINFORCE / VPG) step
with GAE advantages over a per-task linear baseline. The outer loop collects fresh rollouts with the
adapted policy and differentiates their surrogate through the inner step. The paper used TRPO for the
outer step; here it is Adam on the mean surrogate (documented difference), as in many re-implementations.

Update rule, per task i (see ``metaviz.rl``):

    inner:  theta_i' = theta - alpha * grad_theta L_i(theta; D_i ~ pi_theta)           (k times)
    outer:  theta   <- Adam(theta, grad_theta mean_i L_i(theta_i'; D_i' ~ pi_theta_i'))

with L(theta; D) = -mean_D log pi_theta(a|s) A(s, a). First order drops the second derivative of the
inner step; DiCE keeps, in the second derivative, the dependence of D_i on theta that the paper's
surrogate drops.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.functional import Params
from metaviz.learners.base import PolicyGradientConfig, PolicyLearner
from metaviz.tasks.base import Episode


@dataclass(frozen=True)
class MAMLRLConfig(PolicyGradientConfig):
    first_order: bool = param(False, "First-order (FOMAML)",
                              help="Drop the second-order term of the meta-gradient: faster, less memory.")
    dice: bool = param(True, "DiCE inner surrogate",
                       help="Keep how the support rollouts depend on the policy in the meta-gradient.")


class MAMLRL(PolicyLearner):
    __doc__ = __doc__
    name = "maml_rl"
    title = "MAML for RL (policy gradient)"
    family = "optimization"
    Config = MAMLRLConfig

    def task_objective(self, params: Params, batch: Episode) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        adapted = self.adapt_batch(params, batch.support_x, batch.support_y, first_order=c.first_order,
                                   dice=c.dice and not c.first_order).params
        query = self.rollouts(adapted, batch.query_x, batch.query_y)
        return self.pg_loss(adapted, query), query.cost()
