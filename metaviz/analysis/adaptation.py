"""Adaptation on one held-out task, step by step (the MAML paper's sinusoid figure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from metaviz.functional import detach
from metaviz.train import EVAL_SEED_OFFSET, RunConfig, build_learner

DEMO_SEED_OFFSET = 2 * EVAL_SEED_OFFSET  # held-out tasks for drawing, apart from evaluation's


@dataclass(frozen=True)
class AdaptationResult:
    """Predictions on a grid after 0..steps inner steps, for each learner, on one task.

    x, truth: [G];  support_x, support_y: [K];  predictions[name]: [steps + 1, G];
    grid_mse[name]: [steps + 1], the mean squared error against the true function on the grid.
    """

    x: np.ndarray
    truth: np.ndarray
    support_x: np.ndarray
    support_y: np.ndarray
    predictions: dict[str, np.ndarray]
    grid_mse: dict[str, np.ndarray]
    task_truth: dict[str, float]
    inner_lr: float


def heldout_task(config: RunConfig, task_seed: int):
    """One task (a batch of one) drawn from the run's distribution with its own seed."""
    from metaviz import tasks

    task = tasks.get(config.task)(config.task_config)
    generator = torch.Generator().manual_seed(config.seed + DEMO_SEED_OFFSET + task_seed)
    return task, task.sample(1, generator)


def adaptation_curves(config: RunConfig, states: Mapping[str, Mapping[str, np.ndarray]], task_seed: int = 0,
                      steps: int = 10, grid: int = 200) -> AdaptationResult:
    """Fine-tune each learner in ``states`` (name -> parameters) on the support set of one
    held-out task of ``config``'s 1-D regression distribution, recording its predictions on a
    grid after every inner step. Runs on the CPU: a few small forward and backward passes."""
    task, batch = heldout_task(config, task_seed)
    if task.kind != "regression" or task.in_shape != (1,) or not hasattr(task, "function"):
        raise ValueError(f"the adaptation view draws 1-D regression tasks; {config.task} is not one")
    lo, hi = config.task_config.x_min, config.task_config.x_max
    x = torch.linspace(lo, hi, grid).reshape(1, grid, 1)
    truth = task.function(batch.truth, x)[0]                       # [G, 1]
    ep = batch.episode.task(0)
    predictions, grid_mse = {}, {}
    for name, state in states.items():
        learner = build_learner(config, name)
        learner.load_numpy(state)
        params, preds = detach(learner.params), []
        if not learner.has_inner_loop:  # it reads the support set in one pass: show that reading at every step
            params = detach(learner.adapt(params, ep.support_x, ep.support_y, steps=0).params)
        for i in range(steps + 1):
            preds.append(learner.predict(params, x[0]).detach())   # [G, 1]
            if i < steps:
                params = detach(learner.adapt(params, ep.support_x, ep.support_y, steps=1, first_order=True).params)
        stacked = torch.stack(preds)[..., 0]                       # [steps + 1, G]
        predictions[name] = stacked.numpy()
        grid_mse[name] = ((stacked - truth[:, 0]) ** 2).mean(1).numpy()
    inner_lr = float(getattr(config.learner_config, "inner_lr", 0.0))
    return AdaptationResult(x[0, :, 0].numpy(), truth[:, 0].numpy(), ep.support_x[:, 0].numpy(),
                            ep.support_y[:, 0].numpy(), predictions, grid_mse,
                            {k: float(v[0]) for k, v in batch.truth.items()}, inner_lr)


def task_gallery(config: RunConfig, n_tasks: int = 6, seed: int = 0, grid: int = 200):
    """``n_tasks`` tasks of a 1-D regression distribution, for drawing:
    x [G], curves [T, G], support_x [T, K], support_y [T, K]."""
    from metaviz import tasks

    task = tasks.get(config.task)(config.task_config)
    batch = task.sample(n_tasks, torch.Generator().manual_seed(seed))
    x = torch.linspace(config.task_config.x_min, config.task_config.x_max, grid).expand(n_tasks, grid)[..., None]
    curves = task.function(batch.truth, x)[..., 0]
    ep = batch.episode
    return x[0, :, 0].numpy(), curves.numpy(), ep.support_x[..., 0].numpy(), ep.support_y[..., 0].numpy()
