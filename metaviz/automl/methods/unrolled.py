"""Hypergradients by unrolled differentiation: learn a learning rate per layer and per step, and weight decay.

Papers: Maclaurin, Duvenaud and Adams 2015 (gradient-based hyperparameter optimisation through reversible
learning); Franceschi et al. 2017 (forward and reverse hypergradients); per-layer, per-step learning rates
as in MAML++ (Antoniou et al. 2019).

Idea: the inner training run theta_T(lambda) is T differentiable SGD steps (the MAML inner loop), so the
validation loss is a differentiable function of the hyperparameters lambda = (log lr[t, layer], log wd[layer]):

    theta_{t+1} = theta_t - lr[t, l] * grad (L_train(theta_t) + 1/2 wd[l] ||theta_t||^2)
    lambda <- Adam(lambda, d L_val(theta_T(lambda)) / d lambda)

Each outer step retrains from the same initialisation (T inner steps) and backpropagates through all of
them: memory and time grow with T, which is why implicit differentiation exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from metaviz.automl.hyper import Network
from metaviz.automl.methods.base import LR_RANGE, WD_RANGE, Result, SearchMethod, StepReport
from metaviz.config import Config, param


@dataclass(frozen=True)
class UnrolledConfig(Config):
    inner_steps: int = param(40, "Inner steps", min=1, max=1000)  # memory grows with them: unrolled
    init_lr: float = param(0.03, "Initial learning rate", min=1e-6, max=10.0)
    init_wd: float = param(1e-3, "Initial weight decay", min=1e-8, max=1.0)
    outer_lr: float = param(0.1, "Outer learning rate", min=1e-6, max=10.0)  # Adam on the log hyperparameters
    per_step: bool = True      # a learning rate per step (else one per layer for all steps)
    learn_wd: bool = True
    hidden: int = param(40, "Hidden units", min=1, max=1024)
    layers: int = param(2, "Hidden layers", min=0, max=8)


class UnrolledHypergradient(SearchMethod):
    __doc__ = __doc__
    name = "unrolled"
    title = "Hypergradient (unrolled)"
    Config = UnrolledConfig

    def __init__(self, config: UnrolledConfig, problem, seed: int, dtype: torch.dtype = torch.float32):
        super().__init__(config, problem, seed)
        self.net = Network(problem, config.hidden, config.layers, seed, dtype)
        n_layers = len(self.net.layers)
        rows = config.inner_steps if config.per_step else 1
        self.log_lr = torch.full((rows, n_layers), math.log(config.init_lr), dtype=dtype, requires_grad=True)
        self.log_wd = torch.full((n_layers,), math.log(config.init_wd), dtype=dtype, requires_grad=config.learn_wd)
        learned = [self.log_lr] + ([self.log_wd] if config.learn_wd else [])
        self.optimizer = torch.optim.Adam(learned, lr=config.outer_lr)
        self.best: tuple[float, torch.Tensor, torch.Tensor] | None = None  # (val loss, log lr, log wd) seen

    def cost_per_step(self) -> int:
        return self.config.inner_steps

    def rates(self) -> tuple[torch.Tensor, torch.Tensor]:
        """lrs [T, L] and wd [L] from the learned logs."""
        lrs = self.log_lr.exp().expand(self.config.inner_steps, -1)
        return lrs, self.log_wd.exp()

    def hypergradient(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(validation loss, d/d log lr, d/d log wd) through the unrolled inner run."""
        lrs, wd = self.rates()
        params = self.net.train(lrs, wd, create_graph=True)
        val = self.net.loss_on("val")(params)
        wanted = [self.log_lr] + ([self.log_wd] if self.config.learn_wd else [])
        grads = torch.autograd.grad(val, wanted)
        return val.detach(), grads[0], grads[1] if self.config.learn_wd else torch.zeros_like(self.log_wd)

    def outer_step(self, step: int) -> StepReport:
        val, g_lr, g_wd = self.hypergradient()
        if torch.isfinite(val) and (self.best is None or float(val) < self.best[0]):
            self.best = (float(val), self.log_lr.detach().clone(), self.log_wd.detach().clone())
        if torch.isfinite(val) and torch.isfinite(g_lr).all() and torch.isfinite(g_wd).all():
            self.optimizer.zero_grad()
            self.log_lr.grad = g_lr
            if self.config.learn_wd:
                self.log_wd.grad = g_wd
            self.optimizer.step()
        with torch.no_grad():  # keep the rates where SGD on this network stays finite, and comparable to search
            self.log_lr.clamp_(math.log(LR_RANGE[0]), math.log(LR_RANGE[1]))
            self.log_wd.clamp_(math.log(WD_RANGE[0]), math.log(WD_RANGE[1]))
        _, accuracy = self.net.score(self.net.train(*(r.detach() for r in self.rates())), "val")
        return StepReport(self.config.inner_steps, float(val), accuracy, self.hyperparameters())

    def hyperparameters(self) -> dict[str, np.ndarray]:
        lrs, wd = self.rates()
        return {"lr": lrs.detach().numpy().copy(), "weight_decay": wd.detach().numpy().copy()}  # [T, L], [L]

    def result(self) -> Result:
        """The rates with the lowest validation loss seen (the hypergradient is noisy, like any search's trials)."""
        if self.best is not None:
            with torch.no_grad():
                self.log_lr.copy_(self.best[1])
                self.log_wd.copy_(self.best[2])
        lrs, wd = self.rates()
        params = self.net.train(lrs.detach(), wd.detach())
        val_loss, _ = self.net.score(params, "val")
        test_loss, test_accuracy = self.net.score(params, "test")
        h = self.hyperparameters()
        return Result({"layers": self.net.layers, "lr_mean_per_layer": h["lr"].mean(0).round(5).tolist(),
                       "weight_decay": h["weight_decay"].round(6).tolist()},
                      val_loss, test_loss, test_accuracy, self.config.inner_steps)
