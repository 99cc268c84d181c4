"""Bernoulli multi-armed bandits: learning to explore.

Paper: Duan et al. (2016), *RL^2: Fast Reinforcement Learning via Slow Reinforcement Learning*,
section 4.1 (multi-armed bandits), compared there with UCB1, Thompson sampling and the Gittins index.

Idea: a task is a K-armed bandit whose arms pay 1 with probabilities drawn uniformly in [0, 1]; an
episode is n pulls. The best arm is unknown, so a good learner must balance trying arms (exploring)
against pulling the best one found so far (exploiting). The cost of a pull is its *regret*, the best
arm's mean minus the pulled arm's mean; a learner's loss is the summed regret over the n pulls.

Update rule (the environment): observation 1 (the arms give no other sign), action a_t in {0..K-1},
reward r_t ~ Bernoulli(mu_{a_t}), cost_t = max_k mu_k - mu_{a_t}. The classical strategies below
(UCB1, Thompson sampling, the Gittins index) are the yardsticks: UCB1 pulls argmax mean_k + sqrt(2 ln t / n_k);
Thompson samples mu_k ~ Beta(1 + wins_k, 1 + losses_k) and pulls the largest sample; Gittins pulls the arm of largest
discounted Gittins index of Beta(1 + wins_k, 1 + losses_k) (``metaviz.gittins``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.gittins import gittins_table
from metaviz.tasks.base import EnvConfig, EnvTasks

STRATEGIES = ("ucb1", "thompson", "gittins")  # the classical yardsticks of Duan et al. (2016), table 1
GITTINS_DISCOUNT = 0.98  # the best of 0.8, 0.9, 0.95, 0.98 on 500 validation bandits of 100 pulls (docs/benchmarks.md)


@dataclass(frozen=True)
class BanditConfig(EnvConfig):
    n_arms: int = param(5, "Arms (K)", min=2, max=50, step=1)
    horizon: int = param(100, "Pulls per episode (n)", min=1, max=500, step=1)


class BernoulliBandit(EnvTasks):
    __doc__ = __doc__
    name = "bandit"
    title = "Bernoulli bandits (reinforcement learning)"
    Config = BanditConfig
    metric = "regret"
    discrete = True

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (1,)

    @property
    def out_dim(self) -> int:
        return self.config.n_arms

    def draw_mdp(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> torch.Tensor:
        return torch.rand(n_tasks, self.config.n_arms, generator=generator)             # arm means [T, K]

    def reset(self, mdp: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return torch.ones(mdp.shape[0], 1, dtype=mdp.dtype, device=mdp.device), {"means": mdp}

    def step(self, state: dict, action: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        means = state["means"]
        mean = means.gather(1, action.long().reshape(-1, 1)).squeeze(1)                # [B]
        reward = (noise < mean).to(means.dtype)
        obs = torch.ones(means.shape[0], 1, dtype=means.dtype, device=means.device)
        return obs, reward, {"means": means, "cost": means.amax(1) - mean}


def classical_regret(means: torch.Tensor, horizon: int, strategy: str, seed: int = 0,
                     discount: float = GITTINS_DISCOUNT) -> torch.Tensor:
    """Cumulative regret [T, n] of one of ``STRATEGIES`` on bandits with arm means [T, K], batched over tasks
    (``discount``: the Gittins index's)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown bandit strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    generator = torch.Generator().manual_seed(seed)
    if strategy == "gittins":
        index = torch.as_tensor(gittins_table(discount, horizon + 2, n_grid=1001))    # [n + 2, n + 2]
    n_tasks, n_arms = means.shape
    wins, pulls = torch.zeros(n_tasks, n_arms, dtype=torch.float64), torch.zeros(n_tasks, n_arms, dtype=torch.float64)
    rows, regret = torch.arange(n_tasks), []
    for t in range(horizon):
        if strategy == "ucb1":
            if t < n_arms:
                arm = torch.full((n_tasks,), t)
            else:
                arm = (wins / pulls + torch.sqrt(2 * torch.log(torch.tensor(float(t))) / pulls)).argmax(1)
        elif strategy == "thompson":
            arm = _beta_sample(1 + wins, 1 + pulls - wins, generator).argmax(1)
        else:  # ties (the first pulls) go to the lowest arm
            arm = index[(1 + wins).long(), (1 + pulls - wins).long()].argmax(1)
        reward = (torch.rand(n_tasks, generator=generator, dtype=torch.float64) < means[rows, arm]).double()
        wins[rows, arm] += reward
        pulls[rows, arm] += 1
        regret.append((means.amax(1) - means[rows, arm]).double())
    return torch.stack(regret, 1).cumsum(1)


def _beta_sample(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Beta(a, b) samples for integer a, b >= 1, from uniforms of ``generator``: the a-th smallest of a + b - 1
    uniforms is Beta(a, b) distributed."""
    n = int((a + b - 1).max())
    u = torch.rand(*a.shape, n, generator=generator, dtype=torch.float64)
    u = torch.where(torch.arange(n) < (a + b - 1)[..., None], u, torch.inf).sort(-1).values
    return u.gather(-1, (a.long() - 1)[..., None]).squeeze(-1)
