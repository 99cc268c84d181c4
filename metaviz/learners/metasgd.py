"""Meta-SGD: learn the initialization *and* a learning rate for every weight.

Paper: Li, Zhou, Chen and Li (2017), *Meta-SGD: Learning to Learn Quickly for
Few-Shot Learning*, arXiv:1707.09835.

Idea: MAML learns where the inner loop starts but fixes how it moves: one
learning rate alpha for every weight. Meta-SGD also learns the move. Each
weight gets its own step size, a tensor alpha of the same shape as the weight,
and the outer loop trains alpha by the same meta-gradient as the weights. Since
alpha multiplies the gradient elementwise it sets both the size and, with its
sign, the direction of each weight's step: weights that should not change for a
new task can learn alpha near 0, others a large one. It is also a small example
of *hyperparameter learning*: the inner learning rate, a hyperparameter that
MAML asks you to tune, is here learned by gradient descent on the query loss.
The step sizes are meta-parameters like the weights: they are stored as
"lr/<weight name>", saved in checkpoints and updated by the outer optimizer.

Update rule, for a meta-batch of tasks T_i with support S_i and query Q_i:

    inner loop (per task):  theta_i' = theta - alpha (.) grad_theta L_{S_i}(theta)   ((.): elementwise; k times)
    outer loop:             (theta, alpha) <- (theta, alpha) - beta * grad_(theta, alpha) mean_i L_{Q_i}(theta_i')

alpha starts at the same value for every weight (the initial learning rate), so
at the first step Meta-SGD is exactly MAML. The gradient for alpha needs no
second derivatives: d L_Q(theta')/d alpha = -grad L_S(theta) (.) grad L_Q(theta')
for one step, so it stays available in the first-order variant.

Nothing keeps alpha positive or small: the step sizes are fitted to the number
of inner steps used in meta-training, and the evaluation curve beyond that
number applies them again and again, which can overshoot and blow up. That is
worth seeing: the learned optimizer is only good at the job it was trained for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from metaviz.config import Config, param
from metaviz.functional import Params, forward, gradient_descent
from metaviz.learners.base import Adapted, MetaLearner
from metaviz.tasks.base import Episode

LR = "lr/"


@dataclass(frozen=True)
class MetaSGDConfig(Config):
    init_lr: float = param(0.01, "Initial inner learning rate (alpha)", min=1e-5, max=10.0, step=0.001, log=True,
                           help="Every per-weight step size starts here, then is learned.")
    inner_steps: int = param(1, "Inner steps", min=0, max=20, step=1,
                             help="Steps on the support set per task, each with the learned step sizes "
                             "(the paper uses one).")
    lr_scale: float = param(0.1, "Step-size meta learning rate (x meta lr)", min=0.001, max=1.0, step=0.01,
                            log=True, help="The step sizes start near 0.01, so they learn at a fraction of the "
                            "weights' meta learning rate; at the same rate they overshoot within tens of steps.")
    first_order: bool = param(False, "First-order",
                              help="Drop the second-order term of the weights' meta-gradient; the step sizes "
                              "are still learned.")


def weights(params: Mapping[str, torch.Tensor]) -> Params:
    """The network's weights, without the learned step sizes."""
    return {k: v for k, v in params.items() if not k.startswith(LR)}


def step_sizes(params: Mapping[str, torch.Tensor]) -> Params:
    """The learned step sizes, keyed by the name of the weight they belong to."""
    return {k[len(LR):]: v for k, v in params.items() if k.startswith(LR)}


class MetaSGD(MetaLearner):
    __doc__ = __doc__
    name = "metasgd"
    title = "Meta-SGD (learned step sizes)"
    family = "optimizer"
    Config = MetaSGDConfig

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params.update({LR + k: torch.full_like(v, self.config.init_lr).detach().requires_grad_()
                            for k, v in list(self.params.items())})

    def predict(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return forward(self.net, weights(params), x)

    def adapt(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor,
              steps: int | None = None, first_order: bool = False) -> Adapted:
        """theta' = theta - alpha (.) grad L_S(theta), ``steps`` times; the step sizes are returned unchanged."""
        steps = self.config.inner_steps if steps is None else steps
        adapted, losses = gradient_descent(lambda p: self.support_loss(p, support_x, support_y),
                                           weights(params), steps, step_sizes(params), first_order)
        return Adapted({**adapted, **{k: v for k, v in params.items() if k.startswith(LR)}}, losses)

    def task_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        adapted = self.adapt(params, episode.support_x, episode.support_y, first_order=self.config.first_order)
        return self.task.loss(self.predict(adapted.params, episode.query_x), episode.query_y)

    def make_optimizer(self, lr: float) -> torch.optim.Optimizer:
        """Two groups: the weights at the meta learning rate, the step sizes at ``lr_scale`` times it."""
        rates = [v for k, v in self.params.items() if k.startswith(LR)]
        rest = [v for k, v in self.params.items() if not k.startswith(LR)]
        return torch.optim.Adam([{"params": rest, "scale": 1.0, "lr": lr},
                                 {"params": rates, "scale": self.config.lr_scale, "lr": lr * self.config.lr_scale}])
