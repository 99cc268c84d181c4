"""Task distributions: what a meta-learner learns to learn from.

A *task* is a small supervised problem: a **support set** (the few labelled
examples the learner may adapt on) and a **query set** (held-out examples from
the same task on which the adapted learner is scored). A task distribution
p(T) samples whole tasks; meta-training draws many of them, meta-testing draws
new ones.

Shapes (T tasks, S support points, Q query points, D input features):
    support_x [T, S, D]   support_y [T, S, O]   (O outputs for regression)
    query_x   [T, Q, D]   query_y   [T, Q, O]
Classification tasks store integer labels ``[T, S]`` and ``[T, Q]`` instead.
Text families (``vocab_size > 0``) give token ids instead of features: x [T, S, L] int64, 0 for
padding (``metaviz.data.tokenizer``); the backbone is then a text encoder.

Reinforcement learning (:class:`EnvTasks`): a task is an environment (an MDP drawn from a
distribution) and its support set is experience the learner collects itself, so an episode holds
what defines that experience rather than the experience: the MDP's parameters and the seed of the
rollouts, ``support_x = query_x = mdp [T, P]``, ``support_y``/``query_y`` rollout seeds ``[T]``.
Everything that stores, moves, pools or indexes episodes then works unchanged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F

from metaviz.config import Config, param

SPLITS = ("train", "val", "test")


class Episode(NamedTuple):
    """Support and query tensors; batched over tasks (``[T, ...]``) or for one task."""

    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> Episode:
        def move(t: torch.Tensor) -> torch.Tensor:
            return t.to(device, dtype) if dtype is not None and t.is_floating_point() else t.to(device)
        return Episode(*(move(t) for t in self))

    def task(self, i: int) -> Episode:
        """The i-th task of a batch, without the task dimension."""
        return Episode(*(t[i] for t in self))

    @property
    def n_tasks(self) -> int:
        return self.support_x.shape[0]


class TaskBatch(NamedTuple):
    """A batch of tasks and, per task, the ground truth needed to draw it."""

    episode: Episode
    truth: dict[str, torch.Tensor]  # each value [T, ...]


class TaskDistribution(ABC):
    """Base of every task family: subclass it in one file of ``metaviz/tasks/``.

    Subclasses set ``name``, ``kind`` ("regression", "classification" or "reinforcement"),
    ``Config`` and a docstring (paper, idea, how tasks are made), and implement
    :meth:`sample`.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    kind: ClassVar[str] = "regression"
    Config: ClassVar[type[Config]] = Config
    vocab_size: ClassVar[int] = 0  # > 0: inputs are int64 token ids below it (0 pads), not float features
    # What a run's "loss" measures, named on Runs, Compare, the charts and the command line: "loss" (MSE,
    # cross-entropy), or a reinforcement-learning family's cost ("minus_return", "regret"). It is always a cost:
    # lower is better for every family, so the store, the worker and the pages treat every kind alike.
    metric: ClassVar[str] = "loss"

    @classmethod
    def input_kind(cls) -> str:
        """"tokens" (text) or "features" (vectors and images): which backbones and learners apply."""
        return "tokens" if cls.vocab_size > 0 else "features"

    def __init__(self, config: Config | None = None):
        self.config = config if config is not None else self.Config()

    @property
    @abstractmethod
    def in_shape(self) -> tuple[int, ...]:
        """Shape of one input, without batch dimensions, for example ``(1,)``."""

    @property
    @abstractmethod
    def out_dim(self) -> int:
        """Outputs of the network: values for regression, classes for classification."""

    @abstractmethod
    def sample(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> TaskBatch:
        """Draw ``n_tasks`` tasks on the CPU, using only ``generator`` for randomness.

        ``split`` is "train", "val" or "test": families with classes draw each from its own,
        disjoint set of classes; continuous families (sine waves) ignore it."""

    @classmethod
    def metric_words(cls) -> str:
        """``metric`` in English words, as the command line prints it: "loss", "minus return", "regret"."""
        return cls.metric.replace("_", " ")

    @property
    def has_accuracy(self) -> bool:
        """Whether query metrics include an accuracy (classes); otherwise only the loss (a cost)."""
        return self.kind == "classification"

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss over the points of one task: MSE, or cross-entropy for classes."""
        if self.kind == "classification":
            return F.cross_entropy(prediction, target)
        return F.mse_loss(prediction, target)


@dataclass(frozen=True)
class EpisodeConfig(Config):
    """N-way K-shot episodes; shared by every classification family."""

    n_way: int = param(5, "N-way (classes per task)", min=2, max=60, step=1)
    k_shot: int = param(1, "K-shot (examples per class)", min=1, max=50, step=1)
    n_query: int = param(5, "Queries per class", min=1, max=50, step=1)


@dataclass(frozen=True)
class ClassPool:
    """Labelled examples grouped by class, and which classes belong to which split.

    inputs [M, *in_shape] (float), labels [M] (class ids), names[class id], splits: split -> class ids.
    The train split is disjoint from the others; val and test may coincide when there are too
    few classes for three splits (ten digits).
    """

    inputs: torch.Tensor
    labels: torch.Tensor
    names: tuple[str, ...]
    splits: dict[str, tuple[int, ...]]
    groups: tuple[str, ...] | None = None  # per class, a group to order pictures by (an alphabet)

    def __post_init__(self):
        by_class = [torch.nonzero(self.labels == c).flatten() for c in range(len(self.names))]
        object.__setattr__(self, "by_class", by_class)
        train = set(self.splits.get("train", ()))
        for split, classes in self.splits.items():
            if split != "train" and train & set(classes):
                raise ValueError(f"the {split} split shares classes with the train split: meta-training classes "
                                 "must never be evaluated on")

    def count(self, class_id: int) -> int:
        return len(self.by_class[class_id])

    def check(self, split: str, n_way: int, per_class: int) -> None:
        """Actionable errors when ``split`` cannot give N-way tasks with ``per_class`` examples a class."""
        classes = self.splits.get(split, ())
        if len(classes) < n_way:
            raise ValueError(f"the {split} split has {len(classes)} classes but N-way = {n_way}: lower N-way "
                             f"or give the {split} split more classes")
        short = [c for c in classes if self.count(c) < per_class]
        if short:
            c = short[0]
            raise ValueError(f"class {self.names[c]!r} has only {self.count(c)} examples but shots + queries = "
                             f"{per_class}: lower K-shot or queries per class"
                             + (f" ({len(short)} classes are that small)" if len(short) > 1 else ""))

    def episodes(self, n_tasks: int, generator: torch.Generator, split: str, n_way: int, k_shot: int,
                 n_query: int) -> TaskBatch:
        """N-way K-shot tasks: fresh random classes and examples per task, labels 0..N-1 in random order.

        support_x [T, N*K, *in_shape], support_y [T, N*K]; query_x [T, N*Q, ...], query_y [T, N*Q];
        truth["classes"] [T, N]: the class id behind each task label.
        """
        self.check(split, n_way, k_shot + n_query)
        classes = torch.tensor(self.splits[split])
        chosen = torch.stack([classes[torch.randperm(len(classes), generator=generator)[:n_way]]
                              for _ in range(n_tasks)])                                   # [T, N]
        index = torch.stack([torch.stack([self.by_class[c][torch.randperm(self.count(c), generator=generator)
                                                           [:k_shot + n_query]] for c in task.tolist()])
                             for task in chosen])                                         # [T, N, K+Q]
        x = self.inputs[index]                                                            # [T, N, K+Q, ...]
        y = torch.arange(n_way)[None, :, None].expand(n_tasks, n_way, k_shot + n_query)   # task labels

        def flat(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(n_tasks, -1, *t.shape[3:])

        return TaskBatch(Episode(flat(x[:, :, :k_shot]), flat(y[:, :, :k_shot]),
                                 flat(x[:, :, k_shot:]), flat(y[:, :, k_shot:])), {"classes": chosen})


@dataclass(frozen=True)
class CurveConfig(Config):
    """Shared by 1-D regression families: K support and Q query points drawn on [x_min, x_max]."""

    k_shot: int = param(10, "K-shot (support points)", min=1, max=100, step=1,
                        help="Labelled points the learner sees from each task.")
    n_query: int = param(10, "Query points", min=1, max=200, step=1,
                         help="Points per task on which the adapted learner is scored.")
    x_min: float = param(-5.0, "x min", min=-20.0, max=20.0, step=0.5)
    x_max: float = param(5.0, "x max", min=-20.0, max=20.0, step=0.5)

    def __post_init__(self):
        super().__post_init__()
        if self.x_min >= self.x_max:
            raise ValueError(f"{type(self).__name__}: x_min must be below x_max")


class CurveTasks(TaskDistribution):
    """1-D regression: each task is a function y = f_truth(x). Subclasses draw the per-task
    ``truth`` and define ``function``; inputs are uniform on [x_min, x_max]."""

    kind = "regression"

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (1,)

    @property
    def out_dim(self) -> int:
        return 1

    @abstractmethod
    def draw_truth(self, n_tasks: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Per-task parameters, each [T, ...]."""

    @abstractmethod
    def function(self, truth: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """y [T, N, 1] for x [T, N, 1]."""

    def sample(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> TaskBatch:
        c = self.config
        truth = self.draw_truth(n_tasks, generator)
        x = c.x_min + (c.x_max - c.x_min) * torch.rand(n_tasks, c.k_shot + c.n_query, 1, generator=generator)
        y = self.function(truth, x)                                                    # [T, K+Q, 1]
        k = c.k_shot
        return TaskBatch(Episode(x[:, :k], y[:, :k], x[:, k:], y[:, k:]), truth)


class PoolTasks(TaskDistribution):
    """N-way K-shot classification over a :class:`ClassPool` that the subclass builds as ``self.pool``."""

    kind = "classification"
    pool: ClassPool

    @property
    def out_dim(self) -> int:
        return self.config.n_way

    def sample(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> TaskBatch:
        c = self.config
        return self.pool.episodes(n_tasks, generator, split, c.n_way, c.k_shot, c.n_query)


@dataclass(frozen=True)
class EnvConfig(Config):
    """Shared by every reinforcement-learning family: how much experience one task gives."""

    horizon: int = param(20, "Steps per episode (horizon)", min=1, max=500, step=1)
    n_rollouts: int = param(20, "Rollouts per task (support and query each)", min=1, max=200, step=1,
                            help="Episodes the learner collects on a task before (support) and after (query) "
                            "adapting.")


class EnvTasks(TaskDistribution):
    """Reinforcement learning: each task is an MDP; support and query sets are rollouts collected on it.

    A subclass draws the MDP parameters (:meth:`draw_mdp`) and implements a *batched* torch environment
    with gymnasium's vector API over B = tasks x rollouts copies: :meth:`reset` and :meth:`step`, whose
    ``info["cost"]`` is the per-step cost the meta-learner minimises (distance to a goal, a bandit's regret),
    so the run's "loss" is a cost like every other kind's; ``metric`` names it (minus the return here, a bandit's
    regret). ``in_shape`` is the observation shape; ``out_dim``
    the policy network's outputs (logits of a discrete action, or the mean of a continuous one).
    """

    kind = "reinforcement"
    metric = "minus_return"
    discrete: ClassVar[bool] = False   # a categorical policy over out_dim actions; else a Gaussian
    action_limit: ClassVar[float] = 1.0  # continuous actions are clipped to [-limit, limit] by the environment

    @abstractmethod
    def draw_mdp(self, n_tasks: int, generator: torch.Generator, split: str) -> torch.Tensor:
        """MDP parameters [T, P] (a goal, arm means)."""

    @abstractmethod
    def reset(self, mdp: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Start B episodes of MDPs ``mdp`` [B, P]: observations [B, *in_shape] and a state dict."""

    @abstractmethod
    def step(self, state: dict, action: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """One step of every episode: observation, reward [B] and the new state (with ``cost`` [B]).
        ``noise`` [B] uniform in [0, 1) is the environment's randomness (drawn per task from its seed)."""

    def sample(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> TaskBatch:
        mdp = self.draw_mdp(n_tasks, generator, split)
        seeds = torch.randint(0, 2**62, (2, n_tasks), generator=generator)
        return TaskBatch(Episode(mdp, seeds[0], mdp, seeds[1]), {"mdp": mdp})
