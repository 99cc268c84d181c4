"""DARTS: differentiable architecture search (Liu, Simonyan and Yang 2019), first and second order.

Idea: relax the choice of operation on each edge of a cell to a softmax mixture with architecture parameters
alpha, and solve the bi-level problem  min_alpha L_val(w*(alpha), alpha)  s.t.  w*(alpha) = argmin_w L_train(w, alpha)
by alternating one step on each (the MAML loop with alpha as the outer parameters):

    first order:   grad_alpha L_val(w, alpha)
    second order:  d_alpha L_val(w', alpha) - xi (d_alpha L_train(w+, alpha) - d_alpha L_train(w-, alpha)) / 2eps
                   w' = w - xi grad_w L_train(w, alpha),   w+- = w +- eps grad_w' L_val(w', alpha),
                   eps = 0.01 / |grad_w' L_val(w', alpha)|

The weights train by SGD with momentum, gradients clipped to norm 5, as in the paper.

then keep on each edge its strongest non-zero operation and retrain that cell from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.automl.methods.base import Result, SearchMethod, StepReport
from metaviz.automl.space import SPACES, Supernet, derive, describe, edges
from metaviz.config import Config, param


def _grad(loss: torch.Tensor, tensors: list[torch.Tensor], create_graph: bool = False) -> list[torch.Tensor]:
    return list(torch.autograd.grad(loss, tensors, create_graph=create_graph))


def architecture_gradient(net: Supernet, params: dict, alpha: torch.Tensor, xi: float, second_order: bool,
                          eps_scale: float = 0.01) -> torch.Tensor:
    """DARTS's gradient of the validation loss with respect to alpha [E, K] (equations 6 to 8); the
    finite-difference step is eps = eps_scale / |grad_w' L_val| (the paper's 0.01 by default)."""
    keys = list(params)
    w = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    if not second_order:
        return _grad(net.loss(w, alpha.softmax(-1), "val"), [alpha])[0]
    g_train = _grad(net.loss(w, alpha.softmax(-1).detach(), "train"), [w[k] for k in keys])
    virtual = {k: (w[k] - xi * g).detach().requires_grad_(True) for k, g in zip(keys, g_train)}
    *g_w, g_alpha = _grad(net.loss(virtual, alpha.softmax(-1), "val"), [virtual[k] for k in keys] + [alpha])
    eps = eps_scale / float(torch.sqrt(sum((g ** 2).sum() for g in g_w)).clamp_min(1e-12))

    def train_alpha_grad(sign: float) -> torch.Tensor:
        shifted = {k: (w[k] + sign * eps * g).detach() for k, g in zip(keys, g_w)}
        return _grad(net.loss(shifted, alpha.softmax(-1), "train"), [alpha])[0]

    return g_alpha - xi * (train_alpha_grad(1.0) - train_alpha_grad(-1.0)) / (2 * eps)


def exact_unrolled_gradient(net: Supernet, params: dict, alpha: torch.Tensor, xi: float) -> torch.Tensor:
    """d/d alpha of L_val(w - xi grad_w L_train(w, alpha), alpha) by autograd: what second order approximates."""
    keys = list(params)
    w = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    g = _grad(net.loss(w, alpha.softmax(-1), "train"), [w[k] for k in keys], create_graph=True)
    virtual = {k: w[k] - xi * gk for k, gk in zip(keys, g)}
    return _grad(net.loss(virtual, alpha.softmax(-1), "val"), [alpha])[0]


@dataclass(frozen=True)
class DartsConfig(Config):
    second_order: bool = False
    weight_lr: float = param(0.05, "Weight learning rate", min=1e-6, max=10.0)  # SGD, momentum; xi of 2nd order
    alpha_lr: float = param(0.03, "Architecture learning rate", min=1e-6, max=10.0)  # Adam on alpha
    weight_steps: int = param(1, "Weight steps per outer step", min=1, max=1000)
    retrain_steps: int = param(300, "Retrain steps", min=1, max=100_000)  # Adam, the derived cell from scratch
    retrain_lr: float = param(0.01, "Retrain learning rate", min=1e-6, max=10.0)
    width: int = param(16, "Width (units or channels)", min=1, max=256)
    nodes: int = param(2, "Nodes of the cell", min=1, max=4)
    space: str = param("vector", "Search space", options=tuple(SPACES))  # "conv" for images (digits)


class Darts(SearchMethod):
    __doc__ = __doc__
    name = "darts"
    title = "DARTS (differentiable architecture search)"
    kind = "architecture"
    Config = DartsConfig

    def __init__(self, config: DartsConfig, problem, seed: int, dtype: torch.dtype = torch.float32):
        super().__init__(config, problem, seed)
        self.net = Supernet(problem, config.width, config.nodes, seed, dtype, config.space)
        self.params = {k: v.detach().clone().requires_grad_(True) for k, v in self.net.init.items()}
        self.alpha = torch.zeros(len(edges(config.nodes)), len(self.net.ops), dtype=dtype, requires_grad=True)
        self.weight_optimizer = torch.optim.SGD(self.params.values(), lr=config.weight_lr, momentum=0.9)
        self.alpha_optimizer = torch.optim.Adam([self.alpha], lr=config.alpha_lr, betas=(0.5, 0.999))

    def cost_per_step(self) -> int:
        return self.config.weight_steps

    def outer_step(self, step: int) -> StepReport:
        c = self.config
        grad = architecture_gradient(self.net, self.params, self.alpha, c.weight_lr, c.second_order)
        if torch.isfinite(grad).all():
            self.alpha_optimizer.zero_grad()
            self.alpha.grad = grad
            self.alpha_optimizer.step()
        weights = self.alpha.softmax(-1).detach()
        for _ in range(c.weight_steps):
            self.weight_optimizer.zero_grad()
            self.net.loss(self.params, weights, "train").backward()
            torch.nn.utils.clip_grad_norm_(self.params.values(), 5.0)
            self.weight_optimizer.step()
        val_loss, accuracy = self.net.score(self.params, weights, "val")
        return StepReport(c.weight_steps, val_loss, accuracy, {"alpha": weights.numpy().copy()})  # [E, K]

    def result(self) -> Result:
        choice = derive(self.alpha)
        val_loss, test_loss, test_accuracy = self.net.retrain_and_score(choice, self.config.retrain_steps,
                                                                        self.config.retrain_lr)
        return Result({"cell": describe(choice, self.config.nodes, self.net.ops), "choice": list(choice)}, val_loss,
                      test_loss,
                      test_accuracy, self.config.retrain_steps)
