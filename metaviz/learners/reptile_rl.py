"""Reptile for RL: move the initial policy towards the policies a few policy-gradient steps reach on each task.

Paper: Nichol, Achiam and Schulman (2018), *On First-Order Meta-Learning Algorithms*, arXiv:1803.02999
(algorithm 2, the batched version), with the inner loop of MAML for RL (Finn, Abbeel and Levine 2017,
section 5.3): REINFORCE / VPG steps with GAE advantages over a per-task linear baseline.

Idea: the cheap cousin of MAML-RL. On each task of the meta-batch, collect rollouts, take k ordinary
policy-gradient steps (fresh rollouts before each), and nudge the starting policy a little towards where
those steps ended. No gradient flows through the inner loop: no second derivatives, no DiCE, one backward
pass per inner step, like plain policy-gradient training. With k = 1 the update is the pooled policy
gradient (the pretrained baseline); with k > 1 it also carries MAML's term that aligns one step's gradient
with the next, so the start drifts to a policy from which a few steps reach any goal.

Update rule, for a meta-batch of n tasks T_i (L the policy-gradient surrogate of ``metaviz.rl``):

    inner (per task):  phi_i = theta;  k times:  phi_i <- phi_i - alpha * grad L_{T_i}(phi_i; D ~ pi_phi_i)
    outer:             theta <- theta + epsilon * (1/n) sum_i (phi_i - theta)

The outer update is handed to the outer optimizer as the pseudo-gradient g = theta - mean_i phi_i: plain SGD
at learning rate epsilon is exactly the rule above; Adam (the default) takes Reptile's direction with Adam's
step sizes. The loss shown while training is the query cost (fresh rollouts) at phi_i. FOMAML-RL, the other
first-order variant, is MAML for RL with "First-order (FOMAML)" ticked.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.functional import Params, detach
from metaviz.learners.base import PolicyGradientConfig, PolicyLearner
from metaviz.learners.reptile import outer_optimizer
from metaviz.tasks.base import Episode


@dataclass(frozen=True)
class ReptileRLConfig(PolicyGradientConfig):
    inner_steps: int = param(3, "Inner steps (k)", min=1, max=20, step=1,
                             help="Policy-gradient steps on each task before the outer update. With k = 1 Reptile "
                             "is pooled policy-gradient training; it needs k > 1 to learn to adapt.")
    outer_optimizer: str = param("adam", "Outer optimizer", options=("adam", "sgd"),
                                 help="sgd: theta += epsilon * mean(phi - theta) with epsilon = the meta learning "
                                 "rate, the paper's rule. adam: Adam on the pseudo-gradient theta - mean(phi).")


class ReptileRL(PolicyLearner):
    __doc__ = __doc__
    name = "reptile_rl"
    title = "Reptile for RL (first order)"
    family = "optimization"
    Config = ReptileRLConfig

    def meta_grad(self, batch: Episode) -> tuple[Params, torch.Tensor]:
        """The pseudo-gradient theta - mean_i phi_i (not the gradient of any loss) and the mean query cost at phi_i.

        The inherited ``outer_step`` hands it to the optimizer as ``.grad``; a non-finite cost or pseudo-gradient
        leaves theta untouched and returns ``{"loss": nan}``."""
        theta = detach(self.params)
        phi = detach(self.adapt_batch(theta, batch.support_x, batch.support_y, first_order=True).params)  # [T, ...]
        cost = self.rollouts(phi, batch.query_x, batch.query_y).cost()
        return {k: theta[k] - phi[k].mean(0) for k in theta}, cost.mean()

    def task_objective(self, params: Params, batch: Episode) -> tuple[torch.Tensor, torch.Tensor]:
        """The query surrogate after the (first-order) inner loop and its cost: what evaluation measures. Reptile
        does not differentiate it; its outer update is the pseudo-gradient of :meth:`meta_grad`."""
        adapted = self.adapt_batch(params, batch.support_x, batch.support_y, first_order=True).params
        query = self.rollouts(adapted, batch.query_x, batch.query_y)
        return self.pg_loss(adapted, query), query.cost()

    def make_optimizer(self, lr: float) -> torch.optim.Optimizer:
        return outer_optimizer(self.params, lr, self.config.outer_optimizer)
