"""Learned optimizer: learn the update rule itself, one small network applied to every weight.

Paper: Andrychowicz, Denil, Gomez, Hoffman, Pfau, Schaul, Shillingford and de
Freitas (2016), *Learning to learn by gradient descent by gradient descent*,
NeurIPS. Their optimizer is a two-layer coordinatewise LSTM; here it is a
coordinatewise MLP fed with a momentum of the gradient instead of an LSTM state
(closer in size to the rest of MetaViz, and the state stays visible).

Idea: SGD, momentum and Adam are hand-designed functions from the gradient
history of one weight to that weight's step. Make that function a small network
m_phi, *shared by every weight* (coordinatewise: it sees one coordinate at a
time, so it does not care how many weights the base network has), and train phi
so that a few steps of it solve new tasks well. The base network's initial
weights theta_0 are meta-learned too by default, as in MAML (the paper keeps
them random and fixed: switch "Meta-learn the initial weights" off to do the
same; the outer optimizer then never moves them).

Update rule, for each task, each inner step t and each coordinate j:

    g_t = grad_theta L_S(theta_t)                       (the base network's support loss)
    v_t = beta * v_{t-1} + (1 - beta) * g_t             (momentum, v_0 = 0)
    theta_{t+1} = theta_t - alpha * g_t + s * m_phi(pre(g_t), pre(v_t))     (coordinatewise)
    outer loop:  (theta_0, phi) <- Adam step on grad mean_i L_{Q_i}(theta_K)    (phi's step 300x smaller, below)

pre() is the paper's gradient preprocessing (its appendix A, p = 10): a
coordinate g becomes the pair (log|g| / p, sign g) when |g| >= e^-p, else
(-1, e^p g), so the network sees the sign and the order of magnitude of
gradients spanning many decades on one scale. m_phi is an MLP 4 -> H -> H -> 1
(ReLU; the first layer's bias is the constant "bias" input). Its last layer
starts at zero, so before meta-training the rule is plain SGD (-alpha g_t, the
skip term; switch it off for the paper's pure form, where the network's output
is the whole step) and meta-training learns what to add. The meta-gradient
flows through the unrolled inner loop, second order: through g_t's dependence
on theta_t, hence on phi. The paper drops that term (it assumes
d g_t / d phi = 0); "Drop second derivatives" does the same.

Training the update network is known to be unstable (Metz, Maheswaranathan,
Nixon, Freeman and Sohl-Dickstein (2019), *Understanding and correcting
pathologies in the training of learned optimizers*, ICML): a small change of
phi changes every step of every weight. Measured here on sine waves (outer
Adam at 0.01, 10 tasks a step, 5 inner steps): with phi at the same meta
learning rate the initial weights went far away (query loss 15 to 300 before
adaptation) and the loss after adaptation ended worse than MAML's; at 0.1x and
0.03x it oscillated, at 0.01x it blew up after 800 steps (0.28 -> 1.6). So
phi is meta-trained 300x slower by default ("Update network's meta learning
rate"; the ``opt.*`` entries hold phi divided by that factor, so Adam's steps
on them are that much smaller in phi, and the factor survives a live change of
the meta learning rate). With it, 1000 steps were stable and ended level with
MAML, not better (query MSE 0.19 against 0.18): on sine waves SGD from a
learned start is already a good optimizer for 5 steps.

With "Update rule" = sgd the network is replaced by -alpha * g_t: plain SGD, so
the learner becomes MAML (an ablation, and the oracle of the tests). The
momentum v_t is carried between calls of ``adapt`` in the ``state.momentum.*``
entries of the parameters (zero in the meta-parameters, never meta-learned), so
one call of K steps equals K calls of one step.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch
from torch import nn

from metaviz.config import param
from metaviz.functional import Params, detach, flatten, forward, init_params, unflatten, value_and_grad
from metaviz.learners.base import Adapted, InnerLoopConfig, MetaLearner
from metaviz.tasks.base import Episode, TaskDistribution

UPDATE_NET = "opt."          # prefix of the update network's parameters
MOMENTUM = "state.momentum."  # prefix of the momentum carried between inner steps (not meta-learned)
PRE_P = 10.0                  # the paper's preprocessing constant p


@dataclass(frozen=True)
class LearnedOptimizerConfig(InnerLoopConfig):
    inner_steps: int = param(5, "Inner steps", min=0, max=20, step=1,
                             help="Steps of the learned optimizer on the support set per task during "
                                  "meta-training (the number it is trained to be good at).")
    update: str = param("learned", "Update rule", options=("learned", "sgd"),
                        help="learned: the update network proposes each weight's step. sgd: the network is "
                             "replaced by -alpha * grad (plain SGD, MAML): the ablation it must beat.")
    sgd_skip: bool = param(True, "Add -alpha * grad to the network's step",
                           help="The network learns a correction to SGD (it starts as SGD). Off: the paper's "
                                "form, where the network's output is the whole step.")
    scale: float = param(0.01, "Step scale (s)", min=1e-4, max=1.0, step=1e-3, log=True,
                         help="The network's output is multiplied by s (the paper uses 0.1).")
    momentum: float = param(0.9, "Momentum fed to the network (beta)", min=0.0, max=0.999, step=0.01)
    update_hidden: int = param(20, "Update network hidden units", min=2, max=128, step=1)
    learn_init: bool = param(True, "Meta-learn the initial weights",
                             help="Also learn the base network's starting point, as MAML does. Off: the paper's "
                                  "setting, a fixed random start that only the learned optimizer moves.")
    update_meta_lr: float = param(0.003, "Update network's meta learning rate (x beta)", min=1e-4, max=1.0,
                                  step=1e-3, log=True,
                                  help="The update network's outer step, as a fraction of the meta learning rate. "
                                       "Measured on sine waves: 1x to 0.01x made meta-training unstable.")
    first_order: bool = param(False, "Drop second derivatives",
                              help="Treat the base network's gradients as constants in the meta-gradient, as the "
                                   "paper does (d grad / d phi = 0): cheaper, slightly biased.")


def preprocess(g: torch.Tensor, p: float = PRE_P) -> torch.Tensor:
    """The paper's preprocessing of one coordinate each: [...] -> [..., 2]."""
    small = g.abs() < math.exp(-p)
    magnitude = torch.where(small, -torch.ones_like(g), torch.log(g.abs().clamp_min(math.exp(-p))) / p)
    direction = torch.where(small, math.exp(p) * g, torch.sign(g))
    return torch.stack([magnitude, direction], -1)


def _seed_from(net: nn.Module) -> int:
    """A seed for the extra modules, drawn from the backbone's seeded initial weights (so the run's seed
    decides them too)."""
    first = next(net.parameters()).detach().cpu().double().numpy().tobytes()
    return int.from_bytes(hashlib.sha256(first).digest()[:4], "little")


class LearnedOptimizer(MetaLearner):
    __doc__ = __doc__
    name = "learned_optimizer"
    title = "Learned optimizer (L2L by GD by GD)"
    family = "optimizer"
    Config = LearnedOptimizerConfig
    has_inner_loop = True

    def __init__(self, config: LearnedOptimizerConfig | None, task: TaskDistribution, net: nn.Module,
                 device: torch.device | str = "cpu", strategy: str = "auto"):
        super().__init__(config, task, net, device, strategy)
        self.net_keys = list(self.params)
        dtype = next(net.parameters()).dtype
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_seed_from(net))
            h = self.config.update_hidden
            update_net = nn.Sequential(nn.Linear(4, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 1))
            nn.init.zeros_(update_net[-1].weight)
            nn.init.zeros_(update_net[-1].bias)
        self.update_net = update_net.to(self.device, dtype)
        slow = self.config.update_meta_lr  # stored divided by it: Adam then moves phi that much slower
        self.params.update({UPDATE_NET + k: (v.detach() / slow).requires_grad_(True)
                            for k, v in init_params(self.update_net, self.device).items()})
        for k in self.net_keys:  # the optimizer's state: zero before the first step, never meta-learned
            self.params[MOMENTUM + k] = torch.zeros_like(self.params[k]).requires_grad_(True)

    def weights(self, params: Params) -> Params:
        """The base network's weights alone."""
        return {k: params[k] for k in self.net_keys}

    def predict(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        return forward(self.net, self.weights(params), x)

    def step(self, weights: Params, grads: Params, momentum: Params, params: Params) -> Params:
        """theta - alpha * g + s * m_phi(pre(g), pre(v)) for every coordinate at once, with the update
        network's weights from ``params`` (``update="sgd"``: theta - alpha * g, the operations of plain SGD)."""
        c = self.config
        if c.update == "sgd":
            return {k: w - c.inner_lr * grads[k] for k, w in weights.items()}
        g, v = flatten(grads), flatten(momentum)
        features = torch.cat([preprocess(g), preprocess(v)], -1)                         # [P, 4]
        net = {k[len(UPDATE_NET):]: c.update_meta_lr * params[k] for k in params if k.startswith(UPDATE_NET)}
        proposed = unflatten(c.scale * forward(self.update_net, net, features)[:, 0], weights)
        if c.sgd_skip:
            return {k: w - c.inner_lr * grads[k] + proposed[k] for k, w in weights.items()}
        return {k: w + proposed[k] for k, w in weights.items()}

    def adapt(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor,
              steps: int | None = None, first_order: bool = False) -> Adapted:
        """``steps`` steps of the learned optimizer from ``params`` (momentum from ``state.momentum.*``)."""
        steps = self.config.inner_steps if steps is None else steps
        beta = self.config.momentum
        weights = self.weights(params)
        momentum = detach({k: params[MOMENTUM + k] for k in self.net_keys})
        losses = []
        for _ in range(steps):
            grads, loss = value_and_grad(lambda p: self.support_loss(p, support_x, support_y), weights,
                                         create_graph=not first_order)
            if first_order:
                grads = detach(grads)
            losses.append(loss)
            momentum = {k: beta * momentum[k] + (1 - beta) * grads[k] for k in self.net_keys}
            weights = self.step(weights, grads, momentum, params)
        out = dict(params)
        out.update(weights)
        out.update({MOMENTUM + k: v for k, v in momentum.items()})
        stacked = torch.stack(losses) if losses else torch.zeros(0, device=self.device)
        return Adapted(out, stacked)

    def task_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        if not self.config.learn_init:  # a fixed start: no meta-gradient reaches theta_0
            params = {**params, **detach(self.weights(params))}
        adapted = self.adapt(params, episode.support_x, episode.support_y, first_order=self.config.first_order)
        return self.task.loss(self.predict(adapted.params, episode.query_x), episode.query_y)
