"""Reptile: move the initialization towards the weights each task ends up with.

Paper: Nichol, Achiam and Schulman (2018), *On First-Order Meta-Learning
Algorithms*, arXiv:1803.02999 (algorithm 2, the batched version).

Idea: take a task, train on it for k ordinary SGD steps, and nudge the starting
weights a little towards where training ended. Repeat over many tasks. No
gradient flows through the inner loop (no second derivatives, no graph of the
inner steps): Reptile is first-order, like FOMAML, and as cheap as plain
training. With k = 1 it is only joint training on all tasks (the pretrained
baseline); with k > 1 the Taylor expansion in the paper shows its update also
contains MAML's term that makes one task's gradient agree with the next step's,
so theta drifts to a point from which a few steps fit any task.

Update rule, for a meta-batch of n tasks T_i:

    inner loop (per task):  phi_i = theta;  repeat k times:  phi_i <- phi_i - alpha * grad L_{T_i}(phi_i)
    outer loop:             theta <- theta + epsilon * (1/n) sum_i (phi_i - theta)

Here the inner loop trains on the task's support *and* query points together,
as in the paper (a Reptile task is just a data set; there is no support/query
split in training); untick "Inner loop on support + query" to train on the
support points only. Evaluation, as for every learner, adapts on the support
set and scores the query set.

The outer update is handed to the outer optimizer as a pseudo-gradient,
g = theta - (1/n) sum_i phi_i. Plain SGD with learning rate epsilon then does
theta <- theta - epsilon * g, which *is* the Reptile update above. Adam on the
same pseudo-gradient (the default here, and a common variant in
reimplementations) rescales each coordinate, so it is Reptile's direction with
Adam's step sizes. The loss shown while training is the query loss at phi_i;
with the support + query inner loop the query points were trained on, so it is
optimistic, and the held-out evaluation curves are the fair comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.functional import Params, detach
from metaviz.learners.base import InnerLoopConfig, MetaLearner
from metaviz.tasks.base import Episode


@dataclass(frozen=True)
class ReptileConfig(InnerLoopConfig):
    inner_lr: float = param(0.02, "Inner learning rate (alpha)", min=1e-5, max=10.0, step=0.001, log=True,
                            live=True, help="Step size of the SGD steps on each task. Applies now.")
    inner_steps: int = param(5, "Inner steps (k)", min=1, max=50, step=1,
                             help="SGD steps on each task before the outer update. With k = 1 Reptile is "
                             "joint training on all tasks; it needs k > 1 to learn to adapt.")
    use_query: bool = param(True, "Inner loop on support + query",
                            help="Train the inner loop on all of the task's points, as in the paper; "
                            "off: on the support points only.")
    outer_optimizer: str = param("adam", "Outer optimizer", options=("adam", "sgd"),
                                 help="sgd: theta += epsilon * mean(phi - theta) with epsilon = the meta learning "
                                 "rate, exactly the paper's rule (try epsilon 0.1 to 1). adam: Adam on the "
                                 "pseudo-gradient theta - mean(phi), a common variant.")


class Reptile(MetaLearner):
    __doc__ = __doc__
    name = "reptile"
    title = "Reptile"
    family = "optimization"
    Config = ReptileConfig

    def _inner_data(self, episode: Episode) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config.use_query:
            return (torch.cat([episode.support_x, episode.query_x]),
                    torch.cat([episode.support_y, episode.query_y]))
        return episode.support_x, episode.support_y

    def _train_on_task(self, params: Params, episode: Episode) -> tuple[Params, torch.Tensor]:
        """phi_i after k SGD steps on the task's inner data, and the query loss at phi_i."""
        x, y = self._inner_data(episode)
        phi = detach(self.adapt(params, x, y, first_order=True).params)
        return phi, self.task.loss(self.predict(phi, episode.query_x), episode.query_y).detach()

    def meta_grad(self, batch: Episode) -> tuple[Params, torch.Tensor]:
        """Reptile's pseudo-gradient g = theta - mean_i phi_i (not the gradient of any loss), and the
        mean query loss at phi_i. Tasks are batched with vmap or looped, as ``resolved_strategy`` says.

        The inherited ``outer_step`` hands g to the optimizer as ``.grad``: with SGD(lr=epsilon) that
        is theta <- theta + epsilon * mean_i (phi_i - theta), and a non-finite loss or g leaves theta
        untouched and returns ``{"loss": nan}``.
        """
        theta = detach(self.params)
        phis, losses = self.per_task(self._train_on_task, theta, batch)   # each phi [T, *shape]
        return {k: theta[k] - phis[k].mean(0) for k in theta}, losses.mean()

    def task_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        """Query loss after the inner loop on the support set (what evaluation measures). Reptile does
        not differentiate it: its outer update is the pseudo-gradient of :meth:`meta_grad`."""
        adapted = self.adapt(params, episode.support_x, episode.support_y, first_order=True)
        return self.task.loss(self.predict(adapted.params, episode.query_x), episode.query_y)

    def make_optimizer(self, lr: float) -> torch.optim.Optimizer:
        return outer_optimizer(self.params, lr, self.config.outer_optimizer)


def outer_optimizer(params: Params, lr: float, kind: str) -> torch.optim.Optimizer:
    """Reptile's outer optimizer over ``params``: SGD (the paper's rule on the pseudo-gradient) or Adam."""
    if kind == "sgd":
        return torch.optim.SGD(params.values(), lr=lr)
    return torch.optim.Adam(params.values(), lr=lr)
