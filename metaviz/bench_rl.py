"""``python -m metaviz bench rl``: every RL learner on every RL environment, scored on held-out tasks.

Each (environment, learner) pair gets an equal share of the budget (CPU seconds of this process on the CPU,
wall seconds on a GPU) of meta-training from the same seed, then is scored on ``n_tasks`` meta-test tasks
drawn from a stream training never uses: the mean and standard error over tasks of the return after 0, 1
and 3 policy-gradient steps. On bandits each row also carries the regret (the cost) and the classical
strategies UCB1, Thompson sampling and the Gittins index are scored on the same arm means.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from metaviz import learners, tasks
from metaviz.tasks.bandit import STRATEGIES, classical_regret
from metaviz.train import Run, RunConfig, TrainConfig

ADAPT_STEPS = (0, 1, 3)
TEST_SEED = 424_242  # meta-test tasks: a generator no training step or evaluation during training uses
SETTINGS = {"navigation": dict(meta_batch=20, meta_lr=0.01, hidden=64), "bandit": dict(meta_batch=20, meta_lr=0.01,
                                                                                       hidden=32)}


def rl_names() -> tuple[list[str], list[str]]:
    envs = [n for n in tasks.available() if tasks.get(n).kind == "reinforcement"]
    return envs, learners.available("reinforcement")


def clock(device: torch.device) -> Callable[[], float]:
    return time.process_time if device.type == "cpu" else time.perf_counter


def train_for(config: RunConfig, budget_s: float) -> tuple[Run, int]:
    """Meta-train ``config`` until ``budget_s`` (CPU seconds on the CPU) are spent; the run and its steps."""
    run = Run(config)
    now = clock(run.device)
    start = now()
    while now() - start < budget_s and run.step < config.train.n_steps:
        run.learner.outer_step(run.batch_for_step(run.step), run.optimizer)
        run.step += 1
    return run, run.step


def row(env: str, learner: str, steps: int, costs: torch.Tensor, returns: torch.Tensor, trained: int) -> dict:
    n = costs.shape[0]
    out = {"env": env, "learner": learner, "adapt_steps": steps, "return_mean": float(returns.mean()),
           "return_se": float(returns.std() / n ** 0.5), "n_tasks": n, "meta_steps": trained}
    if env == "bandit":
        out.update(regret_mean=float(costs.mean()), regret_se=float(costs.std() / n ** 0.5))
    return out


def bench_rl(budget_s: float, device: str = "cpu", n_tasks: int = 100, seed: int = 0,
             progress: Callable[[str], None] = lambda line: None, only: list[str] | None = None) -> list[dict]:
    """The rows of the module docstring; ``only``: just these learners (the budget is shared among them; the
    classical bandit strategies, which train nothing, are always scored)."""
    envs, names = rl_names()
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise ValueError(f"not reinforcement-learning learners: {unknown}; choose from {names}")
        names = [n for n in names if n in only]
    share = budget_s / (len(envs) * len(names))
    rows = []
    for env in envs:
        settings = SETTINGS.get(env, {})
        train_config = TrainConfig(meta_batch=settings.get("meta_batch", 20), meta_lr=settings.get("meta_lr", 0.01),
                                   hidden=settings.get("hidden", 64), n_steps=1_000_000, baseline=False,
                                   n_eval_tasks=1)
        task = tasks.get(env)()
        test = task.sample(n_tasks, torch.Generator().manual_seed(TEST_SEED), "test").episode
        best = task.config.horizon * test.query_x.amax(1) if env == "bandit" else None
        for name in names:
            run, trained = train_for(RunConfig(task=env, learner=name, train=train_config, seed=seed, device=device),
                                     share)
            costs = run.learner.cost_curves(test.to(run.device), max(ADAPT_STEPS)).cpu().double()   # [T, S + 1]
            for steps in ADAPT_STEPS:
                returns = -costs[:, steps] if best is None else best.double() - costs[:, steps]
                rows.append(row(env, name, steps, costs[:, steps], returns, trained))
                progress(f"{env:10s} {name:14s} steps={steps} return={rows[-1]['return_mean']:.3f} "
                         f"({trained} meta-steps)")
        if env == "bandit":
            for strategy in STRATEGIES:
                regret = classical_regret(test.query_x.double(), task.config.horizon, strategy, seed)[:, -1]
                rows.append(row(env, strategy, 0, regret, best.double() - regret, 0))
                progress(f"{env:10s} {strategy:14s} regret={rows[-1]['regret_mean']:.2f}")
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| env | learner | adapt steps | return (mean +- se) | regret | tasks | meta-steps |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        regret = f"{r['regret_mean']:.2f} +- {r['regret_se']:.2f}" if "regret_mean" in r else ""
        lines.append(f"| {r['env']} | {r['learner']} | {r['adapt_steps']} | {r['return_mean']:.3f} +- "
                     f"{r['return_se']:.3f} | {regret} | {r['n_tasks']} | {r['meta_steps']} |")
    return "\n".join(lines)
