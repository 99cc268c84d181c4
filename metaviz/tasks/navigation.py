"""2-D navigation: a point agent must find a goal it cannot see, from the rewards alone.

Paper: Finn, Abbeel and Levine (2017), *Model-Agnostic Meta-Learning*, section 5.3 (2-D navigation).

Idea: every task is the same plane with a different goal, drawn uniformly in [-0.5, 0.5]^2. The agent
starts at the origin, sees only its own position, and is rewarded by minus its distance to the goal,
so it has to find out where the goal is from the rewards of its own rollouts. A meta-test distribution
with goals outside the training square (``goal_exclude``) shows distribution shift.

Update rule (the environment): position p_0 = 0; p_{t+1} = p_t + clip(a_t, -0.1, 0.1);
reward r_t = -||p_{t+1} - goal||, cost = ||p_{t+1} - goal||. The paper's horizon is 100 steps and it ends an
episode within 0.01 of the goal; here episodes have a fixed horizon (20 by default) so that all of a
meta-batch is one rectangular tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from metaviz.config import param
from metaviz.tasks.base import EnvConfig, EnvTasks

MAX_STEP = 0.1


@dataclass(frozen=True)
class NavigationConfig(EnvConfig):
    goal_range: float = param(0.5, "Goals within +/- (square half-width)", min=0.05, max=5.0, step=0.05)
    goal_exclude: float = param(0.0, "Goals outside +/- (0: none excluded)", min=0.0, max=5.0, step=0.05,
                                help="Draw goals in the square ring between this and the half-width: a shifted "
                                "meta-test distribution, goals never seen in meta-training.")

    def __post_init__(self):
        super().__post_init__()
        if self.goal_exclude >= self.goal_range:
            raise ValueError("NavigationConfig: goal_exclude must be below goal_range")


class Navigation2D(EnvTasks):
    __doc__ = __doc__
    name = "navigation"
    title = "2-D navigation (reinforcement learning)"
    Config = NavigationConfig
    action_limit = MAX_STEP

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def out_dim(self) -> int:
        return 2

    def draw_mdp(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> torch.Tensor:
        """Goals [T, 2], uniform in the square (minus the excluded inner square), by rejection."""
        c, goals = self.config, torch.zeros(0, 2)
        while len(goals) < n_tasks:
            draw = (torch.rand(4 * n_tasks, 2, generator=generator) * 2 - 1) * c.goal_range
            goals = torch.cat([goals, draw[draw.abs().amax(1) >= c.goal_exclude]])
        return goals[:n_tasks]

    def reset(self, mdp: torch.Tensor) -> tuple[torch.Tensor, dict]:
        position = torch.zeros_like(mdp)
        return position, {"position": position, "goal": mdp}

    def step(self, state: dict, action: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        position = state["position"] + action.clamp(-MAX_STEP, MAX_STEP)           # [B, 2]
        distance = (position - state["goal"]).norm(dim=-1)                           # [B]
        return position, -distance, {"position": position, "goal": state["goal"], "cost": distance}


class NavigationEnv:
    """One navigation task as a gymnasium environment (numpy, one episode at a time): what a user's own
    environment looks like, and the loop reference the batched version is timed against."""

    def __init__(self, goal, horizon: int = 20):
        import gymnasium  # only where a gymnasium environment is wanted

        self.goal, self.horizon = np.asarray(goal, dtype=np.float32), horizon
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gymnasium.spaces.Box(-MAX_STEP, MAX_STEP, (2,), np.float32)

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.position, self.t = np.zeros(2, np.float32), 0
        return self.position.copy(), {}

    def step(self, action):
        self.position = self.position + np.clip(np.asarray(action, np.float32), -MAX_STEP, MAX_STEP)
        self.t += 1
        distance = float(np.linalg.norm(self.position - self.goal))
        return self.position.copy(), -distance, False, self.t >= self.horizon, {"cost": distance}


def looped_navigation(config: NavigationConfig | None = None):
    """The same task family through the gymnasium loop adapter: the reference its batched version is timed and
    tested against (not registered: it is built here, not defined in a plugin module)."""
    from metaviz.gym_tasks import GymnasiumTasks

    class LoopedNavigation(GymnasiumTasks):
        name = ""  # unregistered
        in_shape, out_dim = (2,), 2
        Config = NavigationConfig
        draw_mdp = Navigation2D.draw_mdp

        def make_env(self, mdp):
            return NavigationEnv(mdp, self.config.horizon)

    return LoopedNavigation(config)
