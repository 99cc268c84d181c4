"""Policy gradients for meta-reinforcement learning, batched over tasks and rollouts.

Paper: Williams (1992), REINFORCE; Schulman et al. (2016), generalised advantage estimation (GAE);
Duan et al. (2016), the linear feature baseline; Finn, Abbeel and Levine (2017), MAML for RL
(section 5.3); Foerster et al. (2018), DiCE.

Idea: an RL task's support set is experience the learner collects itself. So adaptation is
"collect rollouts with the current policy, take a policy-gradient step", and everything is one
tensor program over T tasks x R rollouts x H steps. Each task's randomness (action noise and the
environment's) comes from a generator seeded by the task's own seed, so a task's rollouts are the
same whether it is adapted alone or in a batch, and no task influences another's adaptation.

Update rule (one inner step, per task i, advantages A from GAE over a per-task linear baseline):

    g_i = grad_theta  mean_{r,t} log pi_theta(a_rt | s_rt) * A_rt        (the REINFORCE / VPG estimate)
    theta_i' = theta + alpha * g_i

The surrogate is written as a loss, ``-mean(log pi * A)``. With ``dice`` the log-probability is put
through DiCE's magic box exp(x - stop_grad(x)): same value and first derivative, but a second derivative
that also carries the dependence of the sampled rollouts on theta (the term the paper's surrogate drops).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, vmap

from metaviz.functional import Params

LOG_STD = "log_std"  # the Gaussian policy's state-independent log standard deviation, beside the network's weights
ROLLOUT_SEED_STRIDE = 7919  # the k-th collection on a task uses seed + k * stride


@dataclass(frozen=True)
class Rollouts:
    """Experience on T tasks: R rollouts of H steps each."""

    obs: torch.Tensor      # [T, R, H, *obs]
    actions: torch.Tensor  # [T, R, H, A] (continuous) or [T, R, H] (discrete)
    rewards: torch.Tensor  # [T, R, H]
    costs: torch.Tensor    # [T, R, H]

    def cost(self) -> torch.Tensor:
        """Mean over rollouts of the summed cost of a rollout: [T]."""
        return self.costs.sum(-1).mean(-1)


def batched(params: Params, n_tasks: int) -> Params:
    """Meta-parameters repeated per task, [T, ...], differentiable back to ``params`` when they need grad."""
    out = {}
    for k, v in params.items():
        rep = v.unsqueeze(0).expand(n_tasks, *v.shape)
        out[k] = rep if v.requires_grad else rep.clone().requires_grad_()
    return out


def policy_outputs(net: nn.Module, params: Params, obs: torch.Tensor) -> torch.Tensor:
    """Per-task network outputs: params [T, ...], obs [T, N, *obs] -> [T, N, out]."""
    weights = {k: v for k, v in params.items() if k != LOG_STD}
    return vmap(lambda p, o: functional_call(net, p, (o,)))(weights, obs)


def draw_noise(seeds: torch.Tensor, shape: tuple[int, ...], offset: int = 0) -> torch.Tensor:
    """Uniform noise [T, *shape] in [0, 1), drawn for each task from its own seed (+ offset)."""
    return torch.stack([torch.rand(shape, generator=torch.Generator().manual_seed(int(s) + offset))
                        for s in seeds.tolist()])


def collect(task, net: nn.Module, params: Params, mdp: torch.Tensor, seeds: torch.Tensor,
            n_rollouts: int, horizon: int) -> Rollouts:
    """R rollouts of H steps of the policy ``params`` [T, ...] on each MDP ``mdp`` [T, P] (no gradient)."""
    n_tasks, device = mdp.shape[0], mdp.device
    n_act = 1 if task.discrete else task.out_dim
    noise = draw_noise(seeds, (n_rollouts, horizon, n_act + 1)).to(device)   # [T, R, H, A + 1]
    if not task.discrete:  # uniform -> standard normal, clamped away from 0 and 1
        noise[..., :n_act] = torch.special.ndtri(noise[..., :n_act].clamp(1e-6, 1 - 1e-6))
    obs, state = task.reset(mdp.repeat_interleave(n_rollouts, 0))
    record = {"obs": [], "actions": [], "rewards": [], "costs": []}
    with torch.no_grad():
        for t in range(horizon):
            out = policy_outputs(net, params, obs.reshape(n_tasks, n_rollouts, *obs.shape[1:]))  # [T, R, O]
            if task.discrete:
                cdf = out.softmax(-1).cumsum(-1)
                action = (noise[:, :, t, :1] > cdf).sum(-1).clamp(max=task.out_dim - 1)        # [T, R]
            else:
                action = out + params[LOG_STD].exp()[:, None, :] * noise[:, :, t, :n_act]     # [T, R, A]
            record["obs"].append(obs.reshape(n_tasks, n_rollouts, *obs.shape[1:]))
            obs, reward, state = task.step(state, action.reshape(n_tasks * n_rollouts, *action.shape[2:]),
                                           noise[:, :, t, -1].reshape(-1))
            record["actions"].append(action)
            record["rewards"].append(reward.reshape(n_tasks, n_rollouts))
            record["costs"].append(state["cost"].reshape(n_tasks, n_rollouts))
    return Rollouts(*(torch.stack(record[k], 2) for k in ("obs", "actions", "rewards", "costs")))


def log_prob(task, net: nn.Module, params: Params, rollouts: Rollouts) -> torch.Tensor:
    """log pi_params(a | s) of every recorded step: [T, R, H], differentiable in ``params``."""
    n_tasks, n_rollouts, horizon = rollouts.rewards.shape
    obs = rollouts.obs.reshape(n_tasks, n_rollouts * horizon, *rollouts.obs.shape[3:])
    out = policy_outputs(net, params, obs).reshape(n_tasks, n_rollouts, horizon, -1)
    if task.discrete:
        return out.log_softmax(-1).gather(-1, rollouts.actions.unsqueeze(-1)).squeeze(-1)
    log_std = params[LOG_STD][:, None, None, :]
    z = (rollouts.actions - out) / log_std.exp()
    return (-0.5 * z ** 2 - log_std - 0.5 * torch.log(torch.tensor(2 * torch.pi))).sum(-1)


def linear_baseline(rollouts: Rollouts, returns: torch.Tensor, ridge: float = 1e-4) -> torch.Tensor:
    """Duan et al.'s linear feature baseline, fitted per task by ridge regression: values [T, R, H].

    Features of a step: the observation, its square, t, t^2, t^3 (t = step / 100) and 1."""
    n_tasks, n_rollouts, horizon = returns.shape
    obs = rollouts.obs.reshape(n_tasks, n_rollouts, horizon, -1).clamp(-10, 10)
    t = (torch.arange(horizon, device=obs.device, dtype=obs.dtype) / 100)[None, None, :, None].expand(
        n_tasks, n_rollouts, horizon, 1)
    feats = torch.cat([obs, obs ** 2, t, t ** 2, t ** 3, torch.ones_like(t)], -1).reshape(n_tasks, -1, obs.shape[-1] * 2
                                                                                          + 4)
    feats = feats.double()  # in float64: constant observations (a bandit's) make features collinear
    gram = feats.transpose(1, 2) @ feats + ridge * torch.eye(feats.shape[-1], dtype=feats.dtype, device=obs.device)
    weights = torch.linalg.solve(gram, feats.transpose(1, 2) @ returns.reshape(n_tasks, -1, 1).double())
    return (feats @ weights).reshape(n_tasks, n_rollouts, horizon).to(returns.dtype)


def discounted(x: torch.Tensor, factor: float) -> torch.Tensor:
    """y_t = sum_{k >= t} factor^(k - t) x_k along the last axis."""
    out, running = torch.empty_like(x), torch.zeros_like(x[..., 0])
    for t in range(x.shape[-1] - 1, -1, -1):
        running = x[..., t] + factor * running
        out[..., t] = running
    return out


def advantages(rollouts: Rollouts, gamma: float, lam: float, normalise: bool = True) -> torch.Tensor:
    """GAE(gamma, lambda) advantages over the linear baseline, standardised per task: [T, R, H] (constants)."""
    rewards = rollouts.rewards
    values = linear_baseline(rollouts, discounted(rewards, gamma))
    next_values = torch.cat([values[..., 1:], torch.zeros_like(values[..., :1])], -1)
    adv = discounted(rewards + gamma * next_values - values, gamma * lam)
    if normalise:
        flat = adv.reshape(adv.shape[0], -1)
        adv = ((flat - flat.mean(1, keepdim=True)) / (flat.std(1, keepdim=True) + 1e-8)).reshape(adv.shape)
    return adv.detach()


def surrogate(logp: torch.Tensor, adv: torch.Tensor, dice: bool = False) -> torch.Tensor:
    """The policy-gradient loss of each task, -mean(log pi * A): [T]. Its gradient is minus the VPG estimate."""
    weight = torch.exp(logp - logp.detach()) if dice else logp
    return -(weight * adv).mean((1, 2))
