"""The inner training run that hyperparameter methods tune, as a differentiable function.

    theta_{t+1} = theta_t - lr[t, layer] * grad_theta ( L_train(theta_t) + 1/2 sum_layer wd[layer] ||theta||^2 )

built from :mod:`metaviz.functional`'s ``value_and_grad`` and ``sgd_step`` (the MAML inner loop, with a learning
rate per step and per layer as in MAML++, Antoniou et al. 2019). With ``create_graph`` the result is a
differentiable function of the learning rates and the weight decay: reverse-mode through the unrolled run.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from metaviz.automl.problem import Problem
from metaviz.functional import Params, forward, init_params, sgd_step, value_and_grad
from metaviz.models import build_model


def layer_of(params: Params) -> dict[str, int]:
    """Parameter name -> index of its layer ('body.0.weight' and 'body.0.bias' share one)."""
    layers: list[str] = []
    out = {}
    for name in params:
        layer = name.rsplit(".", 1)[0]
        if layer not in layers:
            layers.append(layer)
        out[name] = layers.index(layer)
    return out


def layer_names(params: Params) -> list[str]:
    return list(dict.fromkeys(name.rsplit(".", 1)[0] for name in params))


def unroll(train_loss: Callable[[Params], torch.Tensor], params: Params, lrs: torch.Tensor,
           groups: dict[str, int], create_graph: bool) -> tuple[Params, torch.Tensor]:
    """``len(lrs)`` SGD steps on ``train_loss``; lrs [T, L] per step and layer, groups: name -> layer.
    Returns the final parameters and the training loss before each step, [T]."""
    losses = []
    for t in range(lrs.shape[0]):
        grads, loss = value_and_grad(train_loss, params, create_graph=create_graph)
        losses.append(loss.detach())
        params = sgd_step(params, grads, {k: lrs[t, groups[k]] for k in params})
    return params, torch.stack(losses) if losses else torch.zeros(0)


def decayed(loss_fn: Callable[[Params], torch.Tensor], wd: torch.Tensor, groups: dict[str, int]
            ) -> Callable[[Params], torch.Tensor]:
    """loss_fn + 1/2 sum_k wd[layer(k)] ||theta_k||^2, with wd [L]."""
    return lambda p: loss_fn(p) + 0.5 * sum(wd[groups[k]] * (v ** 2).sum() for k, v in p.items())


class Network:
    """The MLP of the app (:func:`metaviz.models.build_model`) on one problem, and its fixed initialisation."""

    def __init__(self, problem: Problem, hidden: int, layers: int, seed: int, dtype: torch.dtype = torch.float32):
        self.problem = problem
        self.model: nn.Module = build_model((problem.in_dim,), problem.out_dim, hidden, layers, seed=seed).to(dtype)
        self.init = init_params(self.model)
        self.groups = layer_of(self.init)
        self.layers = layer_names(self.init)

    def loss_on(self, split: str) -> Callable[[Params], torch.Tensor]:
        x, y = self.problem.split(split)
        return lambda p: self.problem.loss(forward(self.model, p, x), y)

    def train(self, lrs: torch.Tensor, wd: torch.Tensor, create_graph: bool = False) -> Params:
        """The inner run from the fixed initialisation; lrs [T, L], wd [L]."""
        return unroll(decayed(self.loss_on("train"), wd, self.groups), self.init, lrs, self.groups, create_graph)[0]

    @torch.no_grad()
    def score(self, params: Params, split: str) -> tuple[float, float | None]:
        """(loss, accuracy or None) of ``params`` on a split."""
        x, y = self.problem.split(split)
        prediction = forward(self.model, params, x)
        return float(self.problem.loss(prediction, y)), self.problem.accuracy(prediction, y)
