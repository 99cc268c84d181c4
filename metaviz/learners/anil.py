"""ANIL (Almost No Inner Loop): adapt only the last layer, meta-learn the rest.

Paper: Raghu, Raghu, Bengio and Vinyals (2020), *Rapid Learning or Feature
Reuse? Towards Understanding the Effectiveness of MAML*, ICLR.

Idea: the paper asked what MAML's inner loop actually changes, and found that
after meta-training the body of the network (every layer but the last) barely
moves during adaptation: the representations are *reused*, not rapidly
learned. So freeze the body in the inner loop and adapt only the head (the
final linear layer). The body is still meta-learned, by the outer loop, to give
features on which a few steps of the head solve any task. ANIL matches MAML's
accuracy and is much cheaper: the inner loop is a linear (or logistic)
regression on fixed features, which are computed once per task.

Update rule, with theta = (theta_body, theta_head) and a meta-batch of tasks T_i:

    inner loop (per task):  head_i' = head - alpha * grad_head L_{S_i}(theta_body, head)   (repeat k times)
                            theta_body is not changed
    outer loop:             theta  <- theta - beta * grad_theta mean_i L_{Q_i}(theta_body, head_i')

The meta-gradient reaches the body in two ways: through the query loss
directly, and (second order) through the inner steps, whose gradients depend
on the support features. The first-order switch drops the second way, as
FOMAML does for MAML. The head is the layer named ``head`` (its parameters are
those whose names start with "head."); every other parameter is body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.functional import Params, forward, gradient_descent
from metaviz.learners.base import Adapted, InnerLoopConfig, MetaLearner
from metaviz.models import MLP, Conv4
from metaviz.tasks.base import Episode

HEAD = "head."


@dataclass(frozen=True)
class ANILConfig(InnerLoopConfig):
    first_order: bool = param(False, "First-order",
                              help="Drop the second-order term of the meta-gradient (the body then learns "
                              "only through the query loss): faster, less memory.")


def _strip(params: Mapping[str, torch.Tensor], prefix: str) -> Params:
    return {k[len(prefix):]: v for k, v in params.items()}


class ANIL(MetaLearner):
    __doc__ = __doc__
    name = "anil"
    title = "ANIL (head-only inner loop)"
    family = "optimization"
    Config = ANILConfig

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not any(k.startswith(HEAD) for k in self.params):
            raise ValueError(f"ANIL adapts the layer named 'head', and {type(self.net).__name__} has none")
        # For the backbones of metaviz.models, forward(x) is head(body(x)): the support features are
        # computed once per task and the inner loop runs on them. Any other network is run whole.
        self.reuse_features = type(self.net) in (MLP, Conv4)

    @staticmethod
    def split(params: Mapping[str, torch.Tensor]) -> tuple[Params, Params]:
        """(body, head) parameters, by name."""
        head = {k: v for k, v in params.items() if k.startswith(HEAD)}
        body = {k: v for k, v in params.items() if not k.startswith(HEAD)}
        return body, head

    def adapt(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor,
              steps: int | None = None, first_order: bool = False) -> Adapted:
        """``steps`` SGD steps of the support loss in the head's parameters only; the body's
        tensors are returned as they came (the very same objects)."""
        steps = self.config.inner_steps if steps is None else steps
        body, head = self.split(params)
        if self.reuse_features:
            features = forward(self.net.body, _strip(body, "body."), support_x)

            def loss_fn(h: Params) -> torch.Tensor:
                return self.task.loss(forward(self.net.head, _strip(h, HEAD), features), support_y)
        else:
            def loss_fn(h: Params) -> torch.Tensor:
                return self.support_loss({**body, **h}, support_x, support_y)
        head, losses = gradient_descent(loss_fn, head, steps, self.config.inner_lr, first_order)
        return Adapted({k: head[k] if k in head else v for k, v in params.items()}, losses)

    def task_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        adapted = self.adapt(params, episode.support_x, episode.support_y, first_order=self.config.first_order)
        return self.task.loss(self.predict(adapted.params, episode.query_x), episode.query_y)
