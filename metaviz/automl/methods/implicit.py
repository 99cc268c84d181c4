"""Hypergradients by implicit differentiation: a weight decay for every weight (Lorraine, Vicol and Duvenaud 2020).

Idea: at a minimum w*(lambda) of the training loss the gradient vanishes, grad_w L_train(w*, lambda) = 0, so
the implicit function theorem gives the hypergradient without differentiating through the training run:

    d L_val / d lambda = - grad_w L_val(w*)^T  H^{-1}  d^2 L_train / (dw dlambda),   H = d^2 L_train / dw^2

and H^{-1} v is approximated by K terms of the Neumann series, alpha sum_{j=0..K} (I - alpha H)^j v, each one
Hessian-vector product. Cost per outer step: a few warm-started SGD steps plus K Hessian-vector products,
whatever the length of training, for any number of hyperparameters: here lambda = log weight decay per weight.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from metaviz.automl.hyper import Network, unroll
from metaviz.automl.methods.base import WD_RANGE, Result, SearchMethod, StepReport
from metaviz.config import Config, param
from metaviz.functional import Params, flatten


def implicit_hypergradient(train_loss: Callable[[Params, torch.Tensor], torch.Tensor],
                           val_loss: Callable[[Params], torch.Tensor], params: Params, hyper: torch.Tensor,
                           neumann_steps: int, alpha: float) -> torch.Tensor:
    """d L_val(w*(hyper)) / d hyper at ``params`` (taken as w*), with a ``neumann_steps``-term inverse Hessian.

    train_loss(params, hyper) and val_loss(params) are scalars; returns a tensor shaped like ``hyper``.
    L_val is assumed not to depend on ``hyper`` directly (true for regularisation hyperparameters).
    """
    w = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    keys = list(w)
    v = torch.autograd.grad(val_loss(w), [w[k] for k in keys])
    g = torch.autograd.grad(train_loss(w, hyper), [w[k] for k in keys], create_graph=True)
    term, total = list(v), list(v)
    for _ in range(neumann_steps):  # term <- (I - alpha H) term; total += term
        hv = torch.autograd.grad(g, [w[k] for k in keys], grad_outputs=term, retain_graph=True)
        term = [t - alpha * h for t, h in zip(term, hv)]
        total = [a + t for a, t in zip(total, term)]
    inverse_hessian_v = [alpha * t for t in total]
    mixed = torch.autograd.grad(g, hyper, grad_outputs=inverse_hessian_v)[0]
    return -mixed


@dataclass(frozen=True)
class ImplicitConfig(Config):
    inner_lr: float = param(0.03, "Inner learning rate", min=1e-6, max=10.0)
    steps_per_outer: int = param(10, "SGD steps between hypergradients", min=1, max=10_000)  # warm-started
    neumann_steps: int = param(10, "Neumann terms", min=0, max=1000)
    init_wd: float = param(1e-3, "Initial weight decay", min=1e-8, max=1.0)
    outer_lr: float = param(0.05, "Outer learning rate", min=1e-6, max=10.0)  # Adam on the log weight decays
    hidden: int = param(40, "Hidden units", min=1, max=1024)
    layers: int = param(2, "Hidden layers", min=0, max=8)


class ImplicitHypergradient(SearchMethod):
    __doc__ = __doc__
    name = "implicit"
    title = "Hypergradient (implicit, Neumann)"
    Config = ImplicitConfig

    def __init__(self, config: ImplicitConfig, problem, seed: int, dtype: torch.dtype = torch.float32):
        super().__init__(config, problem, seed)
        self.net = Network(problem, config.hidden, config.layers, seed, dtype)
        self.params = {k: v.detach().clone() for k, v in self.net.init.items()}
        self.log_wd = torch.full((sum(p.numel() for p in self.params.values()),), math.log(config.init_wd),
                                 dtype=dtype, requires_grad=True)
        self.optimizer = torch.optim.Adam([self.log_wd], lr=config.outer_lr)
        self.trained = 0

    def cost_per_step(self) -> int:
        return self.config.steps_per_outer

    def train_loss(self, params: Params, log_wd: torch.Tensor) -> torch.Tensor:
        return self.net.loss_on("train")(params) + 0.5 * (log_wd.exp() * flatten(params) ** 2).sum()

    def outer_step(self, step: int) -> StepReport:
        c = self.config
        wd = self.log_wd.detach()
        lrs = torch.full((c.steps_per_outer, len(self.net.layers)), c.inner_lr, dtype=wd.dtype)
        trained, _ = unroll(lambda p: self.train_loss(p, wd), self.params, lrs, self.net.groups, create_graph=False)
        self.params = {k: v.detach() for k, v in trained.items()}
        self.trained += c.steps_per_outer
        grad = implicit_hypergradient(self.train_loss, self.net.loss_on("val"), self.params, self.log_wd,
                                      c.neumann_steps, c.inner_lr)
        if torch.isfinite(grad).all():
            self.optimizer.zero_grad()
            self.log_wd.grad = grad
            self.optimizer.step()
            with torch.no_grad():
                self.log_wd.clamp_(math.log(WD_RANGE[0]), math.log(WD_RANGE[1]))
        val_loss, accuracy = self.net.score(self.params, "val")
        return StepReport(c.steps_per_outer, val_loss, accuracy, self.hyperparameters())

    def hyperparameters(self) -> dict[str, np.ndarray]:
        """Per layer, the mean learned weight decay of its weights (the full vector has one per weight)."""
        wd = self.log_wd.detach().exp()
        sizes = [sum(v.numel() for k, v in self.params.items() if self.net.groups[k] == i)
                 for i in range(len(self.net.layers))]
        return {"weight_decay": np.array([float(part.mean()) for part in torch.split(wd, sizes)])}

    def result(self) -> Result:
        """The warm-started weights as they are (Lorraine et al. report these), scored on validation and test."""
        val_loss, _ = self.net.score(self.params, "val")
        test_loss, test_accuracy = self.net.score(self.params, "test")
        return Result({"layers": self.net.layers,
                       "weight_decay_mean_per_layer": self.hyperparameters()["weight_decay"].round(6).tolist(),
                       "n_hyperparameters": int(self.log_wd.numel())}, val_loss, test_loss, test_accuracy, 0)
