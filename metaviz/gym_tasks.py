"""Any gymnasium environment as a reinforcement-learning task family, by a loop over environments.

Paper: the gymnasium API (Towers et al. 2024, *Gymnasium*), the successor of OpenAI Gym (Brockman et al. 2016).

Idea: the engine's RL learners need a task family with a batched ``reset`` / ``step`` over tasks x rollouts
(:class:`metaviz.tasks.base.EnvTasks`). Our own environments are torch programs; a user's environment is a
``gymnasium.Env``. :class:`GymnasiumTasks` adapts the second to the first with a Python loop over one
environment per (task, rollout): subclass it in one file of ``metaviz/tasks/`` with ``make_env(mdp)`` (one
task's environment from its parameters) and ``draw_mdp``; everything else, learners included, is unchanged.
It is slower than a batched environment (``python -m metaviz bench speed`` measures the ratio) but runs any
environment.

Update rule: per environment b, ``obs_b = env_b.reset(seed=b)``, then ``env_b.step(action_b)``; an episode that
terminates early stays where it ended, with reward and cost 0 for the rest of the horizon. The cost is
``info["cost"]`` when the environment gives one, else minus the reward.
"""

from __future__ import annotations

import time
from abc import abstractmethod

import numpy as np
import torch

from metaviz.tasks.base import EnvTasks


class GymnasiumTasks(EnvTasks):
    """Base of a task family made of gymnasium environments (see the module docstring)."""

    @abstractmethod
    def make_env(self, mdp: np.ndarray):
        """A ``gymnasium.Env`` for one task with parameters ``mdp`` [P]."""

    def reset(self, mdp: torch.Tensor) -> tuple[torch.Tensor, dict]:
        envs = [self.make_env(row) for row in mdp.cpu().numpy()]
        obs = [env.reset(seed=b)[0] for b, env in enumerate(envs)]
        state = {"envs": envs, "done": np.zeros(len(envs), bool), "last": obs, "device": mdp.device}
        return torch.as_tensor(np.stack(obs), dtype=torch.float32, device=mdp.device), state

    def step(self, state: dict, action: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        actions = action.detach().cpu().numpy()
        rewards, costs, obs = np.zeros(len(actions), np.float32), np.zeros(len(actions), np.float32), []
        for b, env in enumerate(state["envs"]):
            if state["done"][b]:
                obs.append(state["last"][b])
                continue
            o, r, terminated, truncated, info = env.step(actions[b])
            rewards[b], costs[b] = r, info.get("cost", -r)
            state["done"][b] = terminated
            state["last"][b] = o
            obs.append(o)
        device = state["device"]
        state = dict(state, cost=torch.as_tensor(costs, device=device))
        return (torch.as_tensor(np.stack(obs), dtype=torch.float32, device=device),
                torch.as_tensor(rewards, device=device), state)


def rollout_seconds(batched: EnvTasks, looped: EnvTasks, n_tasks: int = 20, n_rollouts: int = 20,
                    horizon: int = 20, repeats: int = 3) -> tuple[float, float, float]:
    """Seconds for the same random-action rollouts of ``n_tasks`` x ``n_rollouts`` episodes through the batched
    environment and through the gymnasium loop (best of ``repeats`` each, interleaved), and the largest
    difference of their rewards (they must agree)."""
    generator = torch.Generator().manual_seed(0)
    mdp = batched.draw_mdp(n_tasks, generator, "train").repeat_interleave(n_rollouts, 0)
    actions = (torch.rand(horizon, *mdp.shape[:1], batched.out_dim, generator=generator) * 2 - 1) * 0.2
    noise = torch.rand(horizon, mdp.shape[0], generator=generator)
    best, rewards = {"batched": float("inf"), "loop": float("inf")}, {}
    for _ in range(repeats):
        for name, task in (("batched", batched), ("loop", looped)):
            start = time.perf_counter()
            _, state = task.reset(mdp)
            out = []
            for t in range(horizon):
                _, reward, state = task.step(state, actions[t], noise[t])
                out.append(reward)
            best[name] = min(best[name], time.perf_counter() - start)
            rewards[name] = torch.stack(out)
    return best["batched"], best["loop"], float((rewards["batched"] - rewards["loop"]).abs().max())
