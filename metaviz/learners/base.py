"""The meta-learner interface, with defaults that most learners keep.

A meta-learner owns *meta-parameters* ``self.params`` (a dict of leaf tensors)
and a network used only as a function. Everything per task is a pure function
of parameters, so the same code runs one task at a time (a Python loop, as
learn2learn and higher do) or many tasks at once under ``torch.func.vmap``:

    adapt(params, support)            -> Adapted(params', inner losses)   inner loop
    predict(params', x)               -> outputs
    task_loss(params, episode)        -> scalar, the meta-objective of one task
    meta_grad(batch)                  -> mean over tasks of grad task_loss
    outer_step(batch, optimizer)      -> one meta-update of self.params

Subclass it in one file of ``metaviz/learners/``; the registry, the pickers,
the generated widgets and the contract tests find it there. The subclass
docstring is shown in the app: give the paper, the idea and the update rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.func import grad_and_value, vmap

from metaviz import rl
from metaviz.config import Config, param
from metaviz.events import Curves
from metaviz.functional import Params, detach, forward, gradient_descent, init_params
from metaviz.rl import batched as rl_batched
from metaviz.tasks.base import Episode, TaskDistribution

STRATEGIES = ("auto", "vmap", "loop")


def in_chunks(fn: Callable[[int, int], object], n: int, size: int, retry_oom: bool = False) -> tuple[list, int]:
    """``fn(start, stop)`` over consecutive pieces of ``range(n)`` of at most ``size`` items (``size`` <= 0: one
    piece); returns the outputs in order and the piece size that last worked.

    With ``retry_oom`` a piece that raises ``torch.OutOfMemoryError`` is retried at half its size, down to one
    item, so that a meta-batch too large for the accelerator runs in several smaller vmaps instead of failing."""
    size = n if size <= 0 else min(size, n)
    outs, start = [], 0
    while start < n:
        stop = min(start + size, n)
        try:
            outs.append(fn(start, stop))
            start = stop
            continue
        except torch.OutOfMemoryError:
            if not retry_oom or stop - start == 1:
                raise
        # after the except block, so that the failed try's tensors (kept alive by the traceback) are freed
        size = max(1, (stop - start) // 2)
        torch.cuda.empty_cache()
    return outs, size


@dataclass(frozen=True)
class InnerLoopConfig(Config):
    """Shared by every learner that adapts with gradient steps."""

    inner_lr: float = param(0.01, "Inner learning rate (alpha)", min=1e-5, max=10.0, step=0.001, log=True,
                            live=True, help="Step size of the SGD steps on the support set. Applies now.")
    inner_steps: int = param(1, "Inner steps", min=0, max=20, step=1,
                             help="Gradient steps on the support set per task during meta-training.")


@dataclass(frozen=True)
class Adapted:
    """The result of the inner loop on one task (or on a batch, under vmap)."""

    params: Params
    losses: torch.Tensor  # [steps] support loss before each inner step


class MetaLearner:
    """Base of every meta-learner (see the module docstring)."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    family: ClassVar[str] = ""  # optimization, optimizer, metric, model, task-embedding, baseline
    Config: ClassVar[type[Config]] = InnerLoopConfig
    kinds: ClassVar[frozenset[str]] = frozenset({"regression", "classification"})
    inputs: ClassVar[frozenset[str]] = frozenset({"features", "tokens"})  # see TaskDistribution.input_kind
    has_inner_loop: ClassVar[bool] = True
    has_embedding: ClassVar[bool] = False
    meta_trains: ClassVar[bool] = True  # False for baselines whose outer step leaves everything as it is
    baseline_learner: ClassVar[str] = "pretrained"  # trained alongside as the baseline to beat
    max_chunk: int = 0  # tasks per vmapped call in per_task and meta_grad (0: the whole meta-batch)

    @classmethod
    def net_out_dim(cls, task: TaskDistribution, config: Config) -> int:
        """Outputs of the backbone this learner needs: the task's outputs by default; an embedding
        size for metric-based learners."""
        return task.out_dim

    def __init__(self, config: Config | None, task: TaskDistribution, net: nn.Module,
                 device: torch.device | str = "cpu", strategy: str = "auto"):
        if task.kind not in self.kinds:
            raise ValueError(f"{self.name} does not do {task.kind}; it does {sorted(self.kinds)}")
        if task.input_kind() not in self.inputs:
            raise ValueError(f"{self.name} does not take {task.input_kind()} as inputs; it takes {sorted(self.inputs)}")
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
        self.config = config if config is not None else self.Config()
        self.task = task
        self.net = net.to(device)
        self.device = torch.device(device)
        self.params: Params = init_params(net, device)
        self.strategy = strategy

    # ---- per task: pure functions of parameters -------------------------------------------
    def predict(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Network outputs for inputs ``x`` [N, *in_shape] -> [N, out_dim]."""
        return forward(self.net, params, x)

    def support_loss(self, params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.task.loss(self.predict(params, x), y)

    def adapt(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor,
              steps: int | None = None, first_order: bool = False) -> Adapted:
        """Inner loop: ``steps`` SGD steps of the support loss from ``params``."""
        steps = self.config.inner_steps if steps is None else steps
        adapted, losses = gradient_descent(lambda p: self.support_loss(p, support_x, support_y),
                                           params, steps, self.config.inner_lr, first_order)
        return Adapted(adapted, losses)

    def task_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        """The meta-objective of one task: query loss after adapting on the support set."""
        adapted = self.adapt(params, episode.support_x, episode.support_y)
        return self.task.loss(self.predict(adapted.params, episode.query_x), episode.query_y)

    def task_value(self, params: Params, episode: Episode) -> torch.Tensor:
        """The value of :meth:`task_loss` alone, for analyses that never differentiate it (the loss landscape).

        Where ``task_loss`` is the plain "adapt on the support set, score the queries" (this class's, MAML's),
        the inner loop runs first-order and the queries are scored without autograd: ``first_order`` changes
        only what a meta-gradient sees, not the adapted weights, so the number is the same, without the graph
        of the inner gradient or of the query pass (for a Conv4 grid point on the CPU, 237 -> 163 ms).
        Learners with their own ``task_loss`` return it as it is."""
        if type(self).task_loss is not MetaLearner.task_loss:
            return self.task_loss(params, episode)
        return self.adapted_query_value(params, episode)

    def adapted_query_value(self, params: Params, episode: Episode) -> torch.Tensor:
        adapted = detach(self.adapt(params, episode.support_x, episode.support_y, first_order=True).params)
        with torch.no_grad():
            return self.task.loss(self.predict(adapted, episode.query_x), episode.query_y)

    def query_metrics(self, params: Params, episode: Episode) -> torch.Tensor:
        """[loss, accuracy] on the query set (accuracy is NaN for regression): [2]."""
        prediction = self.predict(params, episode.query_x)
        loss = self.task.loss(prediction, episode.query_y)
        if self.task.has_accuracy:
            accuracy = (prediction.argmax(-1) == episode.query_y).float().mean()
        else:
            accuracy = torch.full_like(loss, float("nan"))
        return torch.stack([loss, accuracy])

    def query_curve(self, params: Params, episode: Episode, steps: int) -> torch.Tensor:
        """Query [loss, accuracy] after 0, 1, ..., ``steps`` inner steps (no meta-gradient): [2, steps + 1]."""
        params = detach(params)
        out = [self.query_metrics(params, episode)]
        for _ in range(steps):
            params = self.adapt(params, episode.support_x, episode.support_y, steps=1, first_order=True).params
            params = detach(params)
            out.append(self.query_metrics(params, episode))
        return torch.stack(out, 1)

    # ---- over a batch of tasks --------------------------------------------------------------
    def resolved_strategy(self) -> str:
        """``auto``: vmap on accelerators and for MLPs; a loop for conv nets on the CPU,
        where vmap was measured at half the loop's speed and 20x its memory."""
        if self.strategy != "auto":
            return self.strategy
        has_conv = any(isinstance(m, nn.Conv2d) for m in self.net.modules())
        return "loop" if self.device.type == "cpu" and has_conv else "vmap"

    def per_task(self, fn, params: Params, batch: Episode):
        """Apply ``fn(params, episode)`` to every task of ``batch``; outputs stacked over tasks."""
        if self.resolved_strategy() == "vmap":
            batched = vmap(fn, in_dims=(None, 0))
            outs = self._vmap_chunks(lambda a, b: batched(params, Episode(*(t[a:b] for t in batch))), batch.n_tasks)
            return torch.utils._pytree.tree_map(lambda *xs: torch.cat(xs), *outs)
        outs = [fn(params, batch.task(i)) for i in range(batch.n_tasks)]
        return torch.utils._pytree.tree_map(lambda *xs: torch.stack(xs), *outs)

    def meta_grad(self, batch: Episode) -> tuple[Params, torch.Tensor]:
        """Mean over tasks of each task's meta-gradient, and the mean meta-loss.

        vmap: each task's gradient is taken inside the vmapped function, then averaged (with
        BatchNorm, one gradient around a whole vmap of second-order inner loops was measured
        to be wrong); at most ``max_chunk`` tasks per vmapped call, and on CUDA fewer when a call runs
        out of memory. loop: one task at a time with ``torch.autograd``, as learn2learn and
        higher do; it is also the reference the vmap path is tested against.
        """
        if self.resolved_strategy() == "vmap":
            params, batched = detach(self.params), vmap(grad_and_value(self.task_loss), in_dims=(None, 0))

            def chunk(a: int, b: int) -> tuple[Params, torch.Tensor]:
                grads, losses = batched(params, Episode(*(t[a:b] for t in batch)))
                return {k: g.sum(0) for k, g in grads.items()}, losses.sum()

            outs = self._vmap_chunks(chunk, batch.n_tasks)
            return ({k: sum(g[k] for g, _ in outs) / batch.n_tasks for k in params},
                    sum(loss for _, loss in outs) / batch.n_tasks)
        leaves = {k: v.detach().requires_grad_() for k, v in self.params.items()}
        total = {k: torch.zeros_like(v) for k, v in leaves.items()}
        loss_sum = torch.zeros((), device=self.device, dtype=next(iter(leaves.values())).dtype)
        for i in range(batch.n_tasks):
            loss = self.task_loss(leaves, batch.task(i))
            for k, g in zip(leaves, torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)):
                if g is not None:
                    total[k] += g
            loss_sum += loss.detach()
        return {k: g / batch.n_tasks for k, g in total.items()}, loss_sum / batch.n_tasks

    def _vmap_chunks(self, fn: Callable[[int, int], object], n_tasks: int) -> list:
        """``fn(start, stop)`` on pieces of at most ``max_chunk`` tasks; on CUDA a piece that runs out of memory
        is halved and retried, and the size that worked is kept for the next calls."""
        size = min(s for s in (self.max_chunk, getattr(self, "_fit_chunk", 0), n_tasks) if s > 0)
        outs, worked = in_chunks(fn, n_tasks, size, retry_oom=self.device.type == "cuda")
        if worked < size:
            self._fit_chunk = worked
        return outs

    def meta_loss(self, batch: Episode) -> torch.Tensor:
        """Mean meta-objective over the tasks of ``batch``, differentiable in ``self.params``."""
        return torch.stack([self.task_loss(self.params, batch.task(i)) for i in range(batch.n_tasks)]).mean()

    def outer_step(self, batch: Episode, optimizer: torch.optim.Optimizer) -> dict[str, float]:
        """One meta-update. Non-finite losses or gradients leave the parameters untouched
        and return ``{"loss": nan}`` so the caller can stop the run."""
        grads, loss = self.meta_grad(batch)
        # One read from the device per meta-update (not one per gradient tensor): the loss and whether the
        # loss and every gradient are finite, in one small tensor.
        finite = torch.stack([torch.isfinite(loss).all(), *(torch.isfinite(g).all() for g in grads.values())]).all()
        value, ok = torch.stack([loss.detach().double(), finite.double()]).tolist()
        if not ok:
            return {"loss": math.nan}
        optimizer.zero_grad(set_to_none=True)
        for k, p in self.params.items():
            p.grad = grads[k]
        optimizer.step()
        return {"loss": value}

    def make_optimizer(self, lr: float) -> torch.optim.Optimizer:
        """Adam over the meta-parameters. A learner may split them into groups whose ``scale`` multiplies
        the meta learning rate (kept when the rate changes live, see ``Run.set_meta_lr``)."""
        return torch.optim.Adam(self.params.values(), lr=lr)

    def query_curves(self, batch: Episode, steps: int) -> torch.Tensor:
        """Query [loss, accuracy] of every task of ``batch`` after 0..``steps`` inner steps: [T, 2, steps + 1]
        (batched over tasks by ``per_task``; what evaluation and the Adaptation page average)."""
        return self.per_task(lambda p, e: self.query_curve(p, e, steps), detach(self.params), batch).detach()

    def evaluate(self, batch: Episode, steps: int) -> Curves:
        """Mean query loss (and accuracy) over the tasks of ``batch`` after 0..``steps`` inner steps."""
        loss, accuracy = self.query_curves(batch, steps).mean(0).cpu().numpy()   # [T, 2, S+1] -> [2, S+1]
        return Curves(loss, accuracy if self.task.has_accuracy else None)

    # ---- checkpoints ---------------------------------------------------------------------------
    def state_numpy(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.params.items()}

    def load_numpy(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters. Empty placeholders (a metric learner's support summary,
        shaped by N-way) are skipped, so a model meta-trained at one N-way loads for another."""
        with torch.no_grad():
            for k, p in self.params.items():
                if p.numel() == 0:
                    continue
                p.copy_(torch.as_tensor(state[k], dtype=p.dtype, device=p.device))


@dataclass(frozen=True)
class PolicyGradientConfig(InnerLoopConfig):
    """Shared by every learner of reinforcement-learning tasks that adapts with policy-gradient steps."""

    inner_lr: float = param(0.1, "Inner learning rate (alpha)", min=1e-5, max=10.0, step=0.01, log=True, live=True,
                            help="Step size of the policy-gradient steps on the support rollouts. Applies now.")
    gamma: float = param(0.99, "Discount (gamma)", min=0.0, max=1.0, step=0.01)
    gae_lambda: float = param(1.0, "GAE lambda", min=0.0, max=1.0, step=0.01,
                              help="1: Monte-Carlo returns minus the baseline; 0: one-step temporal differences.")


class PolicyLearner(MetaLearner):
    """Base of the learners of reinforcement-learning tasks (``kind == "reinforcement"``).

    The contract is the same as for supervised tasks, read for experience the learner collects
    (see :mod:`metaviz.rl`): ``adapt(params, mdp, seed)`` collects support rollouts with the current
    policy and takes policy-gradient steps; ``evaluate`` reports the query cost (minus the return, or a
    bandit's regret) after 0..S steps; ``meta_grad`` averages each task's meta-gradient and reports the
    mean query cost as the loss. Everything runs batched over the tasks of a meta-batch, each task seeded
    by its own seed. A subclass defines :meth:`task_objective`.
    """

    kinds = frozenset({"reinforcement"})
    Config = PolicyGradientConfig
    baseline_learner: ClassVar[str] = "pretrained_rl"

    def __init__(self, config, task, net, device="cpu", strategy="auto"):
        super().__init__(config, task, net, device, strategy)
        if not task.discrete:  # a Gaussian policy: a state-independent log standard deviation, meta-learned too
            self.params[rl.LOG_STD] = torch.full((task.out_dim,), math.log(0.1), device=self.device,
                                                 requires_grad=True)

    def resolved_strategy(self) -> str:
        """Always a loop over tasks for ``per_task`` (what per-task analyses such as layer changes use): a task's
        rollouts draw their noise from its own seed, which vmap cannot do; the batched paths here (adapt_batch,
        meta_grad, cost_curves) run every task in one tensor program already."""
        return "loop"

    def rollouts(self, params: Params, mdp: torch.Tensor, seeds: torch.Tensor, k: int = 0) -> rl.Rollouts:
        """The k-th collection of rollouts of per-task ``params`` [T, ...] on ``mdp`` [T, P]."""
        c = self.task.config
        return rl.collect(self.task, self.net, params, mdp, seeds + k * rl.ROLLOUT_SEED_STRIDE, c.n_rollouts,
                          c.horizon)

    def pg_loss(self, params: Params, rollouts: rl.Rollouts, dice: bool = False) -> torch.Tensor:
        """Per-task surrogate loss [T] of per-task ``params`` on ``rollouts``."""
        adv = rl.advantages(rollouts, self.config.gamma, self.config.gae_lambda)
        return rl.surrogate(rl.log_prob(self.task, self.net, params, rollouts), adv, dice)

    def adapt_batch(self, params: Params, mdp: torch.Tensor, seeds: torch.Tensor, steps: int | None = None,
                    first_order: bool = False, dice: bool = False) -> Adapted:
        """Inner loop on T tasks at once: per-task params [T, ...] and support costs before each step [T, steps].

        The tasks' surrogates are summed before one ``autograd.grad``: task i's loss depends only on its own
        copy of the parameters, so the gradient with respect to copy i is task i's gradient alone."""
        steps = self.config.inner_steps if steps is None else steps
        current, costs = rl_batched(params, mdp.shape[0]), []
        for k in range(steps):
            support = self.rollouts(current, mdp, seeds, k)
            costs.append(support.cost())
            loss = self.pg_loss(current, support, dice).sum()
            grads = torch.autograd.grad(loss, list(current.values()), create_graph=not first_order)
            current = {name: p - self.config.inner_lr * g for (name, p), g in zip(current.items(), grads)}
        return Adapted(current, torch.stack(costs, 1) if costs else torch.zeros(mdp.shape[0], 0))

    def adapt(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor,
              steps: int | None = None, first_order: bool = False) -> Adapted:
        """One task: ``support_x`` the MDP [P], ``support_y`` the rollout seed []."""
        with torch.enable_grad():
            out = self.adapt_batch(params, support_x[None], support_y.reshape(1), steps, first_order)
        return Adapted({k: v[0] for k, v in out.params.items()}, out.losses[0])

    def task_objective(self, params: Params, batch: Episode) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-task meta-objective [T] (differentiable in ``params``) and the query cost it reports [T]."""
        raise NotImplementedError

    def meta_grad(self, batch: Episode) -> tuple[Params, torch.Tensor]:
        leaves = {k: v.detach().requires_grad_() for k, v in self.params.items()}
        objective, cost = self.task_objective(leaves, batch)
        grads = torch.autograd.grad(objective.mean(), list(leaves.values()), allow_unused=True)
        return ({k: torch.zeros_like(v) if g is None else g for (k, v), g in zip(leaves.items(), grads)},
                cost.mean().detach())

    def meta_loss(self, batch: Episode) -> torch.Tensor:
        return self.task_objective(self.params, batch)[0].mean()

    def evaluation_steps(self, mdp: torch.Tensor, seeds: torch.Tensor, steps: int) -> Iterator[Params]:
        """Per-task parameters [T, ...] after 0, 1, ..., ``steps`` evaluation policy-gradient steps, each on the k-th
        support rollouts of ``mdp`` [T, P] seeded by ``seeds`` [T] (first order: no meta-gradient). What
        evaluation, the benchmark and the drawn trajectories all adapt with; a learner without an inner loop
        yields its parameters unchanged."""
        current = rl_batched(detach(self.params), mdp.shape[0])
        for k in range(steps + 1):
            yield current
            if k < steps and self.has_inner_loop:
                support = self.rollouts(current, mdp, seeds, k)
                grads = torch.autograd.grad(self.pg_loss(current, support).sum(), list(current.values()))
                current = {name: (p - self.config.inner_lr * g).detach().requires_grad_()
                           for (name, p), g in zip(current.items(), grads)}

    def cost_curves(self, batch: Episode, steps: int) -> torch.Tensor:
        """Query cost of each task of ``batch`` after 0..``steps`` policy-gradient steps: [T, steps + 1]."""
        out = [self.rollouts(detach(current), batch.query_x, batch.query_y, k).cost()
               for k, current in enumerate(self.evaluation_steps(batch.support_x, batch.support_y, steps))]
        return torch.stack(out, 1).detach()

    def query_curves(self, batch: Episode, steps: int) -> torch.Tensor:
        """[T, 2, steps + 1]: the query cost after 0..``steps`` policy-gradient steps, and NaN for the accuracy."""
        cost = self.cost_curves(batch, steps)
        return torch.stack([cost, torch.full_like(cost, float("nan"))], 1)
