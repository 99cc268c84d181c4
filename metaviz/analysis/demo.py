"""A short meta-training run whose result the Home page draws on first load."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from metaviz.analysis.adaptation import AdaptationResult, adaptation_curves
from metaviz.events import EvalEvent, StepEvent
from metaviz.train import Run, RunConfig, TrainConfig, train


@dataclass(frozen=True)
class DemoResult:
    adaptation: AdaptationResult
    train_steps: np.ndarray   # [n]
    train_loss: np.ndarray    # [n]
    baseline_loss: np.ndarray # [n]
    final_eval: EvalEvent
    seconds: float
    device: str


def quick_sine_demo(seed: int = 0, n_steps: int = 200, task_seed: int = 0) -> DemoResult:
    """MAML against the pretrained baseline on sine waves for ``n_steps`` meta-iterations (CPU)."""
    config = RunConfig(train=TrainConfig(n_steps=n_steps, meta_lr=0.01, eval_every=n_steps, n_eval_tasks=50),
                       seed=seed, device="cpu")
    run = Run(config)
    start = time.perf_counter()
    steps = [e for e in train(run, n_steps) if isinstance(e, (StepEvent, EvalEvent))]
    seconds = time.perf_counter() - start
    train_events = [e for e in steps if isinstance(e, StepEvent)]
    adaptation = adaptation_curves(config, {"maml": run.learner.state_numpy(),
                                            "pretrained": run.baseline.state_numpy()}, task_seed, steps=10)
    return DemoResult(adaptation, np.array([e.step for e in train_events]),
                      np.array([e.loss for e in train_events]),
                      np.array([e.baseline_loss for e in train_events]),
                      [e for e in steps if isinstance(e, EvalEvent)][-1], seconds, "cpu")
