"""A training run and its resumable stream of events.

    run = Run(RunConfig(task="sinusoid", learner="maml"))
    for event in train(run, 100):   # StepEvent, EvalEvent every eval_every steps, DoneEvent
        ...
    for event in train(run, 100):   # continues where it stopped: same losses as one call of 200
        ...

Each step's tasks are drawn from a generator seeded by (seed, step), so a
resumed run sees the same tasks as an uninterrupted one. No prints, no sleeps,
no UI types: the worker and the command line consume the events.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from metaviz import learners, tasks
from metaviz.config import Config, param
from metaviz.device import resolve_device
from metaviz.events import DivergedEvent, DoneEvent, EvalEvent, Event, StepEvent
from metaviz.learners.base import STRATEGIES, MetaLearner
from metaviz.messages import run_message
from metaviz.models import IMAGE_BACKBONES, build_model
from metaviz.tasks.base import Episode

EVAL_SEED_OFFSET = 1_000_003  # held-out tasks come from a stream no training step uses


@dataclass(frozen=True)
class TrainConfig(Config):
    meta_batch: int = param(25, "Meta-batch (tasks per outer step)", min=1, max=512, step=1)
    meta_lr: float = param(1e-2, "Meta learning rate (Adam, beta)", min=1e-6, max=1.0, step=1e-4, log=True,
                           live=True, help="Step size of the outer loop. The MAML paper used 0.001 for 70,000 "
                           "iterations; 0.01 shows the effect within a few hundred.")
    n_steps: int = param(1000, "Meta-iterations", min=1, max=1_000_000, step=100)
    eval_every: int = param(25, "Evaluate every (steps)", min=1, max=10_000, step=5)
    n_eval_tasks: int = param(100, "Held-out tasks for evaluation", min=1, max=2000, step=10)
    eval_steps: int = param(10, "Inner steps at evaluation", min=0, max=50, step=1)
    hidden: int = param(40, "Hidden units per layer", min=1, max=512, step=1)
    layers: int = param(2, "Hidden layers", min=1, max=6, step=1)
    backbone: str = param("conv4", "Image backbone", options=IMAGE_BACKBONES,
                          help="For image tasks only: Conv4 (four 3x3 conv blocks with hidden-unit filters) or "
                          "ResNet-12 (four residual blocks of hidden x 1, 2.5, 5 and 10 filters; Lee et al. 2019), "
                          "deeper and slower, for colour photos at 84 x 84. Vectors use an MLP, text an n-gram "
                          "encoder.")
    baseline: bool = param(True, "Train the pretrained baseline alongside",
                           help="Same tasks, trained jointly then fine-tuned: what MAML must beat.")
    distinct_tasks: int = param(0, "Distinct meta-training tasks (0: unlimited)", min=0, max=5000, step=10,
                                help="Draw every meta-training batch from a fixed pool of this many tasks. "
                                "Few distinct tasks let a meta-learner memorise them instead of learning to "
                                "adapt: meta-overfitting. Meta-training tasks are then evaluated too.")
    eval_train: bool = param(False, "Also evaluate on meta-training tasks",
                             help="Track query metrics on tasks seen in meta-training beside the held-out "
                             "ones; always on with a limited number of distinct tasks.")
    max_chunk: int = param(0, "Tasks per vmap call (0: all)", min=0, max=512, step=1,
                           help="Split the meta-batch into chunks of this many tasks to bound memory; the "
                           "meta-gradient is the same. On a GPU a chunk that runs out of memory is halved.")
    strategy: str = param("auto", "Batching over tasks", options=STRATEGIES,
                          help="vmap batches the inner loops of all tasks; loop runs them one by one.")


SEED_MAX = 2**31 - 1  # the sidebar's seed widget goes as far


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run. Task and learner configs default to their classes' defaults."""

    task: str = "sinusoid"
    learner: str = "maml"
    task_config: Config | None = None
    learner_config: Config | None = None
    train: TrainConfig = TrainConfig()
    seed: int = 0
    device: str = "auto"
    test_task_config: Config | None = None  # a meta-test distribution tracked while training (shift)

    def __post_init__(self):
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= SEED_MAX:
            raise ValueError(f"RunConfig.seed: {self.seed!r} must be a whole number from 0 to {SEED_MAX}")
        task_cls, learner_cls = tasks.get(self.task), learners.get(self.learner)
        if self.task_config is None:
            object.__setattr__(self, "task_config", task_cls.Config())
        if self.learner_config is None:
            object.__setattr__(self, "learner_config", learner_cls.Config())
        if not isinstance(self.task_config, task_cls.Config):
            raise TypeError(f"task_config must be a {task_cls.Config.__name__}")
        if self.test_task_config is not None and not isinstance(self.test_task_config, task_cls.Config):
            raise TypeError(f"test_task_config must be a {task_cls.Config.__name__}")
        if not isinstance(self.learner_config, learner_cls.Config):
            raise TypeError(f"learner_config must be a {learner_cls.Config.__name__}")
        if task_cls.kind not in learner_cls.kinds:
            raise ValueError(f"{self.learner} cannot learn {task_cls.kind} tasks such as {self.task}")
        if task_cls.input_kind() not in learner_cls.inputs:
            raise ValueError(f"{self.learner} cannot take the inputs of {self.task}")

    def to_dict(self) -> dict:
        return {"task": self.task, "learner": self.learner, "task_config": self.task_config.to_dict(),
                "learner_config": self.learner_config.to_dict(), "train": self.train.to_dict(),
                "seed": self.seed, "device": self.device,
                "test_task_config": None if self.test_task_config is None else self.test_task_config.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        """From ``to_dict()``'s output (a file, a URL, a checkpoint): unknown keys and wrong types are errors."""
        if not isinstance(d, dict):
            raise ValueError(f"a run config must be an object, got {type(d).__name__}")
        unknown = set(d) - set(RUN_KEYS)
        if unknown:
            raise ValueError(f"RunConfig: unknown fields {sorted(unknown)}; known: {sorted(RUN_KEYS)}")
        for key in ("task", "learner", "device"):
            if not isinstance(d.get(key, ""), str):
                raise ValueError(f"RunConfig.{key}: {d[key]!r} is not text")
        if "task" not in d or "learner" not in d:
            raise ValueError("RunConfig: 'task' and 'learner' are required")
        device = d.get("device", "auto")
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d{1,2})?", device):
            raise ValueError(f"RunConfig.device: {device!r} is not one of auto, cpu, mps, cuda or cuda:N")
        task_cls = tasks.get(d["task"])
        return cls(task=d["task"], learner=d["learner"],
                   task_config=task_cls.Config.from_dict(d.get("task_config") or {}),
                   learner_config=learners.get(d["learner"]).Config.from_dict(d.get("learner_config") or {}),
                   train=TrainConfig.from_dict(d.get("train") or {}), seed=d.get("seed", 0), device=device,
                   test_task_config=None if d.get("test_task_config") is None
                   else task_cls.Config.from_dict(d["test_task_config"]))


RUN_KEYS = tuple(f.name for f in dataclasses.fields(RunConfig))


def build_learner(config: RunConfig, name: str | None = None, device: str | torch.device = "cpu") -> MetaLearner:
    """The learner ``name`` (default: the run's) for this run's task, initialised from its seed."""
    task = tasks.get(config.task)(config.task_config)
    cls = learners.get(name or config.learner)
    learner_config = config.learner_config if cls is learners.get(config.learner) else None
    if learner_config is None and "inner_lr" in {f.name for f in dataclasses.fields(cls.Config)}:
        # the baseline fine-tunes with the same inner loop as the learner it is compared with
        shared = {k: getattr(config.learner_config, k) for k in ("inner_lr", "inner_steps")
                  if hasattr(config.learner_config, k)}
        learner_config = cls.Config(**shared)
    learner_config = learner_config if learner_config is not None else cls.Config()
    net = build_model(task.in_shape, cls.net_out_dim(task, learner_config), config.train.hidden, config.train.layers,
                      seed=config.seed, vocab_size=task.vocab_size, backbone=config.train.backbone)
    learner = cls(learner_config, task, net, device, strategy=config.train.strategy)
    learner.max_chunk = config.train.max_chunk
    return learner


class Run:
    """The mutable state of one run: learners, optimizers, step counter, status."""

    def __init__(self, config: RunConfig):
        self.config = config
        self.device = resolve_device(config.device)
        self.learner = build_learner(config, device=self.device)
        baseline = learners.get(config.learner).baseline_learner  # the plain alternative for this kind of task
        self.baseline = (build_learner(config, baseline, self.device)
                         if config.train.baseline and config.learner != baseline else None)
        self.optimizer = self.learner.make_optimizer(config.train.meta_lr)
        self.baseline_optimizer = self.baseline.make_optimizer(config.train.meta_lr) if self.baseline else None
        self.step = 0
        self.status = "ready"  # ready, running, done, diverged
        self.message = ""
        held_out = torch.Generator().manual_seed(config.seed + EVAL_SEED_OFFSET)
        self.eval_batch = self.learner.task.sample(config.train.n_eval_tasks, held_out, "val").episode.to(self.device)
        self.task_pool = None  # the fixed meta-training tasks when distinct_tasks > 0
        if config.train.distinct_tasks:
            pool_seed = torch.Generator().manual_seed(config.seed * 1_000_000_007 - 1)
            self.task_pool = self.learner.task.sample(config.train.distinct_tasks, pool_seed).episode
        self.train_eval_batch = None
        if config.train.eval_train or config.train.distinct_tasks:
            n = min(config.train.n_eval_tasks, config.train.distinct_tasks or config.train.n_eval_tasks)
            if self.task_pool is not None:
                self.train_eval_batch = Episode(*(t[:n] for t in self.task_pool)).to(self.device)
            else:
                seen = torch.Generator().manual_seed(config.seed * 1_000_000_007)  # step 0's tasks
                self.train_eval_batch = self.learner.task.sample(n, seen).episode.to(self.device)
        self.test_batch = None
        if config.test_task_config is not None:
            test_task = tasks.get(config.task)(config.test_task_config)
            if test_task.in_shape != self.task.in_shape or test_task.out_dim != self.task.out_dim:
                raise ValueError("the meta-test distribution must have the same input shape and number of "
                                 "outputs (N-way) as meta-training")
            held_out = torch.Generator().manual_seed(config.seed + 2 * EVAL_SEED_OFFSET + 1)
            self.test_batch = test_task.sample(config.train.n_eval_tasks, held_out, "test").episode.to(self.device)

    @property
    def task(self):
        return self.learner.task

    def batch_for_step(self, step: int):
        generator = torch.Generator().manual_seed(self.config.seed * 1_000_000_007 + step)
        if self.task_pool is not None:  # meta_batch tasks of the fixed pool, drawn with replacement
            index = torch.randint(self.task_pool.n_tasks, (self.config.train.meta_batch,), generator=generator)
            return Episode(*(t[index] for t in self.task_pool)).to(self.device)
        return self.task.sample(self.config.train.meta_batch, generator).episode.to(self.device)

    def set_meta_lr(self, lr: float) -> None:
        self.config = dataclasses.replace(self.config, train=dataclasses.replace(self.config.train, meta_lr=lr))
        for opt in filter(None, (self.optimizer, self.baseline_optimizer)):
            for group in opt.param_groups:
                group["lr"] = lr * group.get("scale", 1.0)

    def set_inner_lr(self, lr: float) -> None:
        for learner in filter(None, (self.learner, self.baseline)):
            if hasattr(learner.config, "inner_lr"):
                learner.config = dataclasses.replace(learner.config, inner_lr=lr)
        self.config = dataclasses.replace(self.config, learner_config=self.learner.config)

    def evaluate(self) -> EvalEvent:
        steps = self.config.train.eval_steps

        def curves(learner, batch):
            return None if learner is None or batch is None else learner.evaluate(batch, steps)

        return EvalEvent(self.step, getattr(self.learner.config, "inner_steps", 0),
                         curves(self.learner, self.eval_batch), curves(self.baseline, self.eval_batch),
                         curves(self.learner, self.test_batch), curves(self.baseline, self.test_batch),
                         curves(self.learner, self.train_eval_batch), curves(self.baseline, self.train_eval_batch))


def _divergence_message(run: Run, step: int) -> str:
    inner = getattr(run.learner.config, "inner_lr", None)
    meta_lr = f"{run.config.train.meta_lr:g}"
    if inner is None:
        return run_message("msg_run.diverged", step=str(step), meta_lr=meta_lr)
    return run_message("msg_run.diverged_inner", step=str(step), meta_lr=meta_lr, inner_lr=f"{inner:g}")


def train(run: Run, n_steps: int) -> Iterator[Event]:
    """Advance ``run`` by up to ``n_steps`` meta-iterations, yielding events as they happen."""
    if run.status == "diverged":
        yield DivergedEvent(run.step, run.message)
        return
    run.status = "running"
    if run.step == 0:
        yield run.evaluate()
    end = min(run.step + n_steps, run.config.train.n_steps)
    while run.step < end:
        start = time.perf_counter()
        batch = run.batch_for_step(run.step)
        metrics = run.learner.outer_step(batch, run.optimizer)
        baseline_loss = run.baseline.outer_step(batch, run.baseline_optimizer)["loss"] if run.baseline else None
        if not math.isfinite(metrics["loss"]):
            run.status, run.message = "diverged", _divergence_message(run, run.step + 1)
            yield DivergedEvent(run.step + 1, run.message)
            return
        run.step += 1
        seconds = time.perf_counter() - start
        yield StepEvent(run.step, metrics["loss"], baseline_loss, seconds,
                        run.config.train.meta_batch / max(seconds, 1e-9))
        if run.step % run.config.train.eval_every == 0 or run.step == run.config.train.n_steps:
            yield run.evaluate()
    finished = run.step >= run.config.train.n_steps
    run.status = "done" if finished else "ready"
    yield DoneEvent(run.step, finished)
