"""What the Meta-RL page and lesson draw: trajectories on a held-out goal before and after policy-gradient
steps (the MAML paper's figure 5), and a bandit trial's pulls and cumulative regret beside UCB1 and Thompson
sampling and the Gittins index. Small numpy results, computed on the CPU from a run's parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from metaviz import rl
from metaviz.analysis.adaptation import heldout_task
from metaviz.functional import detach
from metaviz.tasks.bandit import STRATEGIES, classical_regret
from metaviz.train import RunConfig, build_learner


@dataclass(frozen=True)
class Trajectories:
    """Positions of R rollouts after 0..S policy-gradient steps, per learner, on one held-out goal."""

    goal: np.ndarray                       # [2]
    paths: dict[str, np.ndarray]           # learner -> [S + 1, R, H + 1, 2] (the start at the origin included; S = 0
    #                                        for a learner without an inner loop)
    returns: dict[str, np.ndarray]         # learner -> [S + 1], mean return of the rollouts drawn


def trajectories(config: RunConfig, states: Mapping[str, Mapping[str, np.ndarray]], task_seed: int = 0,
                 steps: int = 3, n_draw: int = 5) -> Trajectories:
    """Adapt each learner in ``states`` (name -> parameters) on one held-out navigation goal for ``steps``
    policy-gradient steps, drawing ``n_draw`` of its query rollouts after each step."""
    task, batch = heldout_task(config, task_seed)
    if task.kind != "reinforcement" or task.in_shape != (2,):
        raise ValueError(f"trajectories are drawn for 2-D navigation; {config.task} is not that")
    episode = batch.episode
    paths, returns = {}, {}
    for name, state in states.items():
        learner = build_learner(config, name)
        learner.load_numpy(state)
        drawn, means = [], []
        own_steps = steps if learner.has_inner_loop else 0  # a memory learner has no steps to draw after
        for k, current in enumerate(learner.evaluation_steps(episode.support_x, episode.support_y, own_steps)):
            query = learner.rollouts(detach(current), episode.query_x, episode.query_y, k)
            last = query.obs[0, :, -1] + query.actions[0, :, -1].clamp(-task.action_limit, task.action_limit)
            positions = torch.cat([query.obs[0], last[:, None]], 1)                         # [R, H + 1, 2]
            drawn.append(positions[:n_draw].numpy())
            means.append(float(-query.cost().mean()))
        paths[name], returns[name] = np.stack(drawn), np.array(means)
    return Trajectories(episode.query_x[0].numpy(), paths, returns)


@dataclass(frozen=True)
class BanditTrial:
    """One trial of n pulls on each of T held-out bandits: the learner's pulls, and mean cumulative regrets."""

    means: np.ndarray                   # [K] arm means of the first bandit (the one whose pulls are drawn)
    pulls: np.ndarray                   # [n] the learner's arms on that bandit (first rollout)
    regret: dict[str, np.ndarray]       # strategy -> [n], mean over the T bandits of the cumulative regret


def bandit_trial(config: RunConfig, state: Mapping[str, np.ndarray], n_tasks: int = 50, task_seed: int = 0
                 ) -> BanditTrial:
    """The run's learner (no gradient steps: what it does within one trial) against UCB1, Thompson sampling and
    the Gittins index on the same ``n_tasks`` held-out bandits."""
    from metaviz import tasks

    task = tasks.get(config.task)(config.task_config)
    if task.name != "bandit":
        raise ValueError(f"bandit trials need the bandit family; {config.task} is not it")
    batch = task.sample(n_tasks, torch.Generator().manual_seed(config.seed + 99_991 + task_seed), "test").episode
    learner = build_learner(config)
    learner.load_numpy(state)
    with torch.no_grad():
        rollouts = learner.rollouts(rl.batched(detach(learner.params), n_tasks), batch.query_x, batch.query_y)
    regret = {config.learner: rollouts.costs.cumsum(-1).mean((0, 1)).double().numpy()}
    for strategy in STRATEGIES:
        regret[strategy] = classical_regret(batch.query_x.double(), task.config.horizon, strategy,
                                            config.seed).mean(0).numpy()
    return BanditTrial(batch.query_x[0].numpy(), rollouts.actions[0, 0].numpy(), regret)
