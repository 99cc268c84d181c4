"""RL^2: a recurrent policy whose memory learns to explore, with no gradient at test time.

Paper: Duan, Schulman, Chen, Bartlett, Sutskever and Abbeel (2016), *RL^2: Fast Reinforcement Learning
via Slow Reinforcement Learning*; also Wang et al. (2016), *Learning to reinforcement learn*.

Idea: make the learning algorithm itself the policy's hidden state. A GRU sees, at every step, the
observation, the previous action, the previous reward and whether an episode just ended, and keeps its
state across the ``episodes`` episodes of one task (a *trial*). Meta-training by ordinary policy
gradients over many trials turns its weights into an exploration strategy: on bandits it learns to try
arms and then stick to the best one, like Thompson sampling, from its experience alone. At test time
nothing is adapted: ``adapt`` returns the parameters as they are, and a task's "support set" is the
beginning of the trial, which the memory reads as it goes.

Update rule: h_t = GRU(h_{t-1}, [s_t, onehot(a_{t-1}), r_{t-1}, d_{t-1}]); pi(a_t | h_t) = softmax(W h_t + b)
(or a Gaussian with mean W h_t + b); outer: theta <- Adam(theta, grad -mean log pi(a_t | h_t) A_t), with
GAE advantages over the linear baseline on the whole trial (discounted across episodes). The paper used TRPO;
here Adam on the surrogate, as for MAML-RL.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from metaviz import rl
from metaviz.config import param
from metaviz.functional import Params, init_params
from metaviz.learners.base import Adapted, PolicyGradientConfig, PolicyLearner
from metaviz.tasks.base import Episode


@dataclass(frozen=True)
class RL2Config(PolicyGradientConfig):
    inner_steps: int = 0  # no gradient steps: the memory adapts (not a widget; inner_lr is the baseline's)
    hidden: int = param(64, "GRU units", min=4, max=512, step=4)
    episodes: int = param(1, "Episodes per trial (memory kept across)", min=1, max=10, step=1,
                          help="The hidden state is kept across this many episodes of one task.")


class RecurrentPolicy(nn.Module):
    """GRU cell and a linear head: (input [B, I], hidden [B, H]) -> (outputs [B, O], hidden [B, H])."""

    def __init__(self, n_in: int, hidden: int, n_out: int):
        super().__init__()
        self.cell, self.head = nn.GRUCell(n_in, hidden), nn.Linear(hidden, n_out)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.cell(x, h)
        return self.head(h), h


class RL2(PolicyLearner):
    __doc__ = __doc__
    name = "rl2"
    title = "RL^2 (recurrent memory)"
    family = "model"
    Config = RL2Config
    has_inner_loop = False

    def __init__(self, config, task, net, device="cpu", strategy="auto"):
        super().__init__(config, task, net, device, strategy)
        n_act = task.out_dim
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.net = RecurrentPolicy(task.in_shape[0] + n_act + 2, self.config.hidden, n_act).to(self.device)
        log_std = self.params.get(rl.LOG_STD)
        self.params = init_params(self.net, self.device)
        if log_std is not None:
            self.params[rl.LOG_STD] = log_std

    def adapt(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor,
              steps: int | None = None, first_order: bool = False) -> Adapted:
        return Adapted(dict(params), torch.zeros(0, device=self.device))

    def trial(self, params: Params, mdp: torch.Tensor, seeds: torch.Tensor) -> tuple[torch.Tensor, rl.Rollouts]:
        """R trials on each MDP [T, P]: log pi of every step [T, R, E*H] (differentiable) and the rollouts."""
        c, task = self.task.config, self.task
        n_tasks, n_rollouts, episodes = mdp.shape[0], c.n_rollouts, self.config.episodes
        n_steps, n_act, batch = episodes * c.horizon, task.out_dim, mdp.shape[0] * c.n_rollouts
        noise = rl.draw_noise(seeds, (n_rollouts, n_steps, (1 if task.discrete else n_act) + 1)).to(mdp.device)
        noise = noise.reshape(batch, n_steps, -1)
        weights = {k: v for k, v in params.items() if k != rl.LOG_STD}
        h = torch.zeros(batch, self.config.hidden, device=mdp.device)
        prev = torch.zeros(batch, n_act + 2, device=mdp.device)   # previous action, reward, done
        record = {"obs": [], "actions": [], "rewards": [], "costs": [], "logp": []}
        for t in range(n_steps):
            if t % c.horizon == 0:
                obs, state = task.reset(mdp.repeat_interleave(n_rollouts, 0))
            out, h = functional_call(self.net, weights, (torch.cat([obs, prev], -1), h))
            if task.discrete:
                logits = out.log_softmax(-1)
                cdf = logits.detach().exp().cumsum(-1)
                action = (noise[:, t, :1] > cdf).sum(-1).clamp(max=n_act - 1)
                logp = logits.gather(-1, action[:, None]).squeeze(-1)
                action_in = nn.functional.one_hot(action, n_act).to(obs.dtype)
            else:
                std = params[rl.LOG_STD].exp()
                z = torch.special.ndtri(noise[:, t, :n_act].clamp(1e-6, 1 - 1e-6))
                action = (out + std * z).detach()
                logp = (-0.5 * ((action - out) / std) ** 2 - params[rl.LOG_STD]).sum(-1)
                action_in = action
            record["obs"].append(obs)
            obs, reward, state = task.step(state, action, noise[:, t, -1])
            done = torch.full_like(reward, float((t + 1) % c.horizon == 0))
            prev = torch.cat([action_in, reward[:, None], done[:, None]], -1)
            for key, value in (("actions", action), ("rewards", reward), ("costs", state["cost"]), ("logp", logp)):
                record[key].append(value)

        def stack(key: str) -> torch.Tensor:
            x = torch.stack(record[key], 1)
            return x.reshape(n_tasks, n_rollouts, n_steps, *x.shape[2:])

        rollouts = rl.Rollouts(stack("obs"), stack("actions"), stack("rewards"), stack("costs"))
        return stack("logp"), rollouts

    def rollouts(self, params: Params, mdp: torch.Tensor, seeds: torch.Tensor, k: int = 0) -> rl.Rollouts:
        """The k-th collection of trials on ``mdp`` [T, P]: the recurrent policy needs its memory, so this replaces
        the feed-forward collection. ``params`` may be per task [T, ...] (as evaluation hands them): nothing adapts
        them, so every task's copy is the same and the first is used."""
        shared = {n: v[0] if v.dim() > self.params[n].dim() else v for n, v in params.items()}
        with torch.no_grad():
            return self.trial(shared, mdp, seeds + k * rl.ROLLOUT_SEED_STRIDE)[1]

    def task_objective(self, params: Params, batch: Episode) -> tuple[torch.Tensor, torch.Tensor]:
        logp, rollouts = self.trial(params, batch.query_x, batch.query_y)
        adv = rl.advantages(rollouts, self.config.gamma, self.config.gae_lambda)
        return rl.surrogate(logp, adv), rollouts.cost()

    def episode_costs(self, batch: Episode) -> torch.Tensor:
        """Query cost of each task in each episode of the trial: [T, episodes]."""
        with torch.no_grad():
            _, rollouts = self.trial(self.params, batch.query_x, batch.query_y)
        costs = rollouts.costs.reshape(*rollouts.costs.shape[:2], self.config.episodes, -1)
        return costs.sum(-1).mean(1)

    def cost_curves(self, batch: Episode, steps: int) -> torch.Tensor:
        """Flat over "inner steps" (nothing is adapted by gradient): the whole trial's cost, [T, steps + 1]."""
        return self.episode_costs(batch).sum(1, keepdim=True).expand(-1, steps + 1)
