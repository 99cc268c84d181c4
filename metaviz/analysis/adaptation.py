"""Adaptation, measured: the fit after each inner step, loss and accuracy against inner steps and shots,
how far each layer moves, and meta-overfitting.

The first part draws one held-out task step by step (the MAML paper's sinusoid figure, used by the Home and
Train pages); the rest serves the Adaptation page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from metaviz.analysis.stages import Stage, stages
from metaviz.device import resolve_device
from metaviz.events import DivergedEvent, EvalEvent
from metaviz.functional import Params, detach
from metaviz.tasks.base import Episode
from metaviz.train import EVAL_SEED_OFFSET, RunConfig, TrainConfig, build_learner

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


# ---- the Adaptation page ---------------------------------------------------------------------------
# Everything below takes a RunConfig and numpy parameters (a worker checkpoint) and returns small
# dataclasses of numpy arrays; the page never sees a tensor. Every comparison between learners uses
# the same held-out tasks (same support and query sets, same seed) for every learner.

SHOTS = (1, 5, 10)
BATCH_SEED_OFFSET = 7919  # held-out batches for the page's statistics, apart from the single drawn task


def fingerprint(params: Mapping[str, np.ndarray | Mapping]) -> str:
    """A short hash of parameter values (name -> array, or nested: learner -> name -> array): a cache key that
    changes when the parameters do, cheaper than handing the arrays to a cache to hash."""
    h = hashlib.blake2b(digest_size=12)

    def feed(tree: Mapping) -> None:
        for k in sorted(tree):
            h.update(k.encode())
            value = tree[k]
            if isinstance(value, Mapping):
                feed(value)
            else:
                array = np.ascontiguousarray(value)
                h.update(str((array.dtype, array.shape)).encode())
                h.update(array.tobytes())

    feed(params)
    return h.hexdigest()


def heldout_batch(config: RunConfig, n_tasks: int, seed: int = 0, split: str = "val",
                  task_config=None) -> Episode:
    """``n_tasks`` held-out tasks of ``config``'s distribution (of ``task_config`` if given, e.g. another
    K-shot), from a seeded generator that no training step or evaluation uses. Shapes as in TaskBatch."""
    from metaviz import tasks

    if n_tasks < 1:
        raise ValueError(f"n_tasks must be at least 1, not {n_tasks}")
    task = tasks.get(config.task)(task_config if task_config is not None else config.task_config)
    generator = torch.Generator().manual_seed(config.seed + DEMO_SEED_OFFSET + BATCH_SEED_OFFSET * (seed + 1))
    return task.sample(n_tasks, generator, split).episode


def initial_state(config: RunConfig, name: str | None = None) -> dict[str, np.ndarray]:
    """The parameters ``name`` starts from in this run (seeded by ``config.seed``). For ``scratch`` this is
    all there is: it is never meta-trained, so its comparison needs no training."""
    return build_learner(config, name).state_numpy()


def comparison_config(config: RunConfig, name: str, n_steps: int = 100, meta_batch: int = 10) -> RunConfig:
    """A short run of learner ``name`` on the same tasks, seed and network as ``config``: used to compare a
    learner the user's run did not train. Its meta-batches are the first ones of the run (the same seed, and the
    same pool when the run limits its distinct tasks). Learners with an inner loop keep the run's inner learning
    rate and steps (as the baselines do), so every learner adapts with the same budget."""
    from metaviz import learners, tasks

    cls = learners.get(name)
    task_kind = tasks.get(config.task).kind
    if task_kind not in cls.kinds:
        raise ValueError(f"{name} does not do {task_kind} tasks; pick one of {learners.available(task_kind)}")
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    shared = {k: getattr(config.learner_config, k) for k in ("inner_lr", "inner_steps")
              if k in fields and hasattr(config.learner_config, k)}
    learner_config = config.learner_config if name == config.learner else cls.Config(**shared)
    train = dataclasses.replace(config.train, n_steps=n_steps, meta_batch=min(meta_batch, config.train.meta_batch),
                                eval_every=n_steps, n_eval_tasks=min(config.train.n_eval_tasks, 20), baseline=False,
                                eval_train=False)
    return dataclasses.replace(config, learner=name, learner_config=learner_config, train=train,
                               test_task_config=None)


def brief_train(config: RunConfig, name: str, n_steps: int = 100, meta_batch: int = 10) -> dict[str, np.ndarray]:
    """Meta-train ``name`` for ``n_steps`` meta-iterations of ``meta_batch`` tasks (see
    :func:`comparison_config`) and return its parameters. A small budget: a comparison, not a result."""
    from metaviz.train import Run, train

    run = Run(comparison_config(config, name, n_steps, meta_batch))
    for event in train(run, n_steps):
        if isinstance(event, DivergedEvent):
            raise ValueError(f"the short {name} run diverged: {event.message}")
    return run.learner.state_numpy()


def comparison_states(checkpoint, names: Sequence[str], train_briefly) -> dict[str, dict[str, np.ndarray]]:
    """Parameters for each learner in ``names``, as fairly as the run allows: the run's own learner and its
    baseline (``baseline_learner``: pretrained, or the pretrained policy for RL) from ``checkpoint`` (a worker
    Checkpoint), scratch's fixed start (it never trains), and for any other learner ``train_briefly(config, name)``
    (the page passes a cached :func:`brief_train`)."""
    from metaviz import learners

    config, out = checkpoint.config, {}
    baseline = learners.get(config.learner).baseline_learner
    for name in dict.fromkeys(names):
        if name == config.learner:
            out[name] = checkpoint.learner
        elif name == baseline and checkpoint.baseline is not None:
            out[name] = checkpoint.baseline
        elif name == "scratch":
            out[name] = initial_state(config, "scratch")
        else:
            out[name] = train_briefly(config, name)
    return out


@dataclass(frozen=True)
class StepCurves:
    """Query loss and accuracy of each learner on the same held-out tasks after 0..S inner steps.

    loss[name], accuracy[name]: [T, S + 1] per task (accuracy NaN for regression). One-pass learners
    (metric, CNP, sequence) read the support set once: their rows are flat.
    """

    steps: np.ndarray
    loss: dict[str, np.ndarray]
    accuracy: dict[str, np.ndarray]

    def mean(self, metric: str) -> dict[str, np.ndarray]:
        """Mean over tasks: name -> [S + 1]."""
        return {k: v.mean(0) for k, v in getattr(self, metric).items()}

    def sem(self, metric: str) -> dict[str, np.ndarray]:
        """Standard error of that mean over tasks: name -> [S + 1]."""
        return {k: v.std(0, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.zeros(v.shape[1])
                for k, v in getattr(self, metric).items()}


def loaded_learner(config: RunConfig, name: str | None, state: Mapping[str, np.ndarray]):
    """Learner ``name`` of ``config`` with parameters ``state``, on the run's device (a GPU when the run used one)."""
    learner = build_learner(config, name, resolve_device(config.device))
    learner.load_numpy(state)
    return learner


def heavy(config: RunConfig, state: Mapping[str, np.ndarray]) -> bool:
    """Whether adapting this network on many tasks is slow here: a conv net (image tasks) on the CPU. Accuracy
    against 1, 5 and 10 shots on 25 five-way Omniglot tasks, 10 inner steps, two learners, took 200 s on two busy
    CPU cores (5 tasks and 5 steps: 23 s). Pages then use fewer tasks and steps. Reinforcement learning too: the
    per-task analyses (layer changes) collect each task's rollouts alone; 25 bandits, 3 steps took 88 s there."""
    from metaviz import tasks

    if tasks.get(config.task).kind == "reinforcement":
        return True
    return any(np.ndim(v) == 4 for v in state.values()) and resolve_device(config.device).type == "cpu"


def _curves_on(config: RunConfig, name: str, state: Mapping[str, np.ndarray], batch: Episode,
               steps: int) -> np.ndarray:
    """[T, 2, S + 1]: query [loss, accuracy] of ``name`` after each inner step, for every task of ``batch``
    (``learner.query_curves``: batched over tasks by the learner's strategy, vmap for MLPs, a loop for conv nets on
    the CPU; for reinforcement learning the query cost after policy-gradient steps)."""
    learner = loaded_learner(config, name, state)
    return learner.query_curves(batch.to(learner.device), steps).cpu().numpy().astype(np.float64)


def step_curves(config: RunConfig, states: Mapping[str, Mapping[str, np.ndarray]], n_tasks: int = 25,
                steps: int = 10, seed: int = 0, split: str = "val") -> StepCurves:
    """Every learner in ``states`` (name -> parameters) adapted on the same ``n_tasks`` held-out tasks, scored on
    their query sets after 0, 1, ..., ``steps`` inner steps (plain SGD steps at the run's inner learning rate, or
    the learner's own update rule). This is MAML's figure 3 for the chosen learner and the two baselines."""
    if steps < 0:
        raise ValueError(f"steps must be 0 or more, not {steps}")
    batch = heldout_batch(config, n_tasks, seed, split)
    loss, accuracy = {}, {}
    for name, state in states.items():
        curves = _curves_on(config, name, state, batch, steps)
        loss[name], accuracy[name] = curves[:, 0], curves[:, 1]
    return StepCurves(np.arange(steps + 1), loss, accuracy)


def shot_episodes(config: RunConfig, shots: Sequence[int] = SHOTS, n_tasks: int = 25, seed: int = 0,
                  split: str = "val") -> dict[int, Episode]:
    """The same ``n_tasks`` N-way tasks at each K in ``shots``: one sample with max(shots) support examples per
    class, of which the K-shot episode keeps the first K of each class (so the 1-shot support set is inside the
    5-shot one) and the same query set. Only the amount of support changes between shot counts.

    Episode for K: support_x [T, N*K, ...], support_y [T, N*K] (class-major), query as sampled ([T, N*Q, ...]).
    Support and query never share an example: pool families (digits, Omniglot, image folders) draw them in one
    draw without replacement, and blobs draw fresh points for each."""
    shots = sorted({int(k) for k in shots})
    if not shots or shots[0] < 1:
        raise ValueError(f"shots must be positive integers, not {shots}")
    tc = config.task_config
    if not hasattr(tc, "n_way"):
        raise ValueError(f"accuracy against shots needs an N-way classification family; {config.task} is not one")
    try:
        widest = dataclasses.replace(tc, k_shot=shots[-1])
    except ValueError as error:
        raise ValueError(f"{shots[-1]}-shot tasks are not possible here ({error}): choose fewer shots") from None
    batch = heldout_batch(config, n_tasks, seed, split, task_config=widest)
    n_way = tc.n_way
    # per task and class, the positions of that class in the support set, in order: [T, N, Kmax]
    size = batch.support_y.shape[1]
    order = torch.argsort(batch.support_y * size + torch.arange(size), dim=1)
    order = order.reshape(n_tasks, n_way, shots[-1])
    out = {}
    for k in shots:
        index = order[:, :, :k].reshape(n_tasks, n_way * k)
        gather_x = index.reshape(*index.shape, *[1] * (batch.support_x.dim() - 2)).expand(
            -1, -1, *batch.support_x.shape[2:])
        out[k] = Episode(torch.gather(batch.support_x, 1, gather_x), torch.gather(batch.support_y, 1, index),
                         batch.query_x, batch.query_y)
    return out


@dataclass(frozen=True)
class ShotCurves:
    """Query accuracy of each learner with K examples per class, after 0..S inner steps.

    shots [len(shots)];  accuracy[name], loss[name]: [len(shots), T, S + 1];  n_way for chance level.
    """

    shots: np.ndarray
    steps: np.ndarray
    accuracy: dict[str, np.ndarray]
    loss: dict[str, np.ndarray]
    n_way: int

    def mean(self, metric: str = "accuracy") -> dict[str, np.ndarray]:
        """Mean over tasks: name -> [len(shots), S + 1]."""
        return {k: v.mean(1) for k, v in getattr(self, metric).items()}


def shot_curves(config: RunConfig, states: Mapping[str, Mapping[str, np.ndarray]], shots: Sequence[int] = SHOTS,
                n_tasks: int = 25, steps: int = 10, seed: int = 0, split: str = "val",
                widest: int | None = None) -> ShotCurves:
    """Query accuracy against inner steps and against shots (1, 5, 10 by default) for every learner in ``states``,
    on the episodes of :func:`shot_episodes`. A network's output size depends on N only, so the same parameters
    serve every K; what changes is how much the support set can teach. ``widest``: the K the tasks are sampled
    with (default: the largest of ``shots``), so that a few shots computed apart are those of a longer list."""
    wanted = sorted({int(k) for k in shots})
    episodes = shot_episodes(config, sorted({*wanted, widest or wanted[-1]}), n_tasks, seed, split)
    episodes = {k: episodes[k] for k in wanted}
    accuracy, loss = {}, {}
    for name, state in states.items():
        curves = np.stack([_curves_on(config, name, state, episodes[k], steps) for k in episodes])  # [K, T, 2, S+1]
        loss[name], accuracy[name] = curves[:, :, 0], curves[:, :, 1]
    return ShotCurves(np.array(list(episodes)), np.arange(steps + 1), accuracy, loss, config.task_config.n_way)


def merge_shots(a: ShotCurves, b: ShotCurves) -> ShotCurves:
    """The shot counts of ``a`` and ``b`` (the same learners, steps and tasks) in one, in increasing order."""
    order = np.argsort(np.concatenate([a.shots, b.shots]), kind="stable")
    join = lambda x, y: {k: np.concatenate([x[k], y[k]])[order] for k in x}  # noqa: E731
    return ShotCurves(np.concatenate([a.shots, b.shots])[order], a.steps, join(a.accuracy, b.accuracy),
                      join(a.loss, b.loss), a.n_way)


def shot_curves_stream(config: RunConfig, states: Mapping[str, Mapping[str, np.ndarray]],
                       shots: Sequence[int] = SHOTS, **kw) -> Iterator[Stage]:
    """:func:`shot_curves`, fewest and most shots first (a curve over K at once, two points of it), then the
    shots between them filled in; the last stage equals ``shot_curves(config, states, shots, **kw)``."""
    wanted = sorted({int(k) for k in shots})
    ends, middle = sorted({wanted[0], wanted[-1]}), wanted[1:-1]
    first = ("ends", lambda _: shot_curves(config, states, ends, **kw))
    rest = ("all", lambda curves: merge_shots(curves, shot_curves(config, states, middle, widest=wanted[-1], **kw)))
    return stages(first, *([rest] if middle else []))


def layer_groups(net: torch.nn.Module) -> dict[str, list[str]]:
    """The network's parameters grouped by layer (the module that owns them): layer -> parameter names,
    in forward order. For the MLP: body.0, body.2, head; for Conv4 each conv and each BatchNorm is a layer."""
    groups: dict[str, list[str]] = {}
    for name, _ in net.named_parameters():
        groups.setdefault(name.rpartition(".")[0], []).append(name)
    return groups


def layer_label(net: torch.nn.Module, layer: str) -> str:
    """``body.0 · Linear 1→40``: the layer's name and what it is."""
    module = net.get_submodule(layer)
    if isinstance(module, torch.nn.Linear):
        return f"{layer} · Linear {module.in_features}→{module.out_features}"
    if isinstance(module, torch.nn.Conv2d):
        return f"{layer} · Conv {module.in_channels}→{module.out_channels}"
    return f"{layer} · {type(module).__name__}"


@dataclass(frozen=True)
class LayerChanges:
    """How far each layer moved during adaptation (Raghu et al. 2020, *Rapid Learning or Feature Reuse?*).

    For task t, layer l and inner step s, with theta_l the layer's meta-learned parameters (weights and
    biases together) and theta_l^(s) after s inner steps on the task's support set:

        change[t, l, s] = || theta_l^(s) - theta_l ||_2          shape [T, L, S + 1] (s = 0 gives 0)
        norm[l]         = || theta_l ||_2                          shape [L]
        relative[l, s]  = mean_t change[t, l, s] / norm[l]         shape [L, S + 1]

    Feature reuse shows as a head that moves and a body that barely does; under ANIL the body's change is
    exactly zero. ``is_head[l]`` marks the final layer.
    """

    layers: tuple[str, ...]
    labels: tuple[str, ...]
    is_head: np.ndarray
    norm: np.ndarray
    change: np.ndarray
    steps: np.ndarray

    @property
    def mean_change(self) -> np.ndarray:
        """[L, S + 1], averaged over tasks."""
        return self.change.mean(0)

    @property
    def relative(self) -> np.ndarray:
        """[L, S + 1]: the mean change as a fraction of the layer's norm (NaN for a layer of norm 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.norm[:, None] > 0, self.mean_change / self.norm[:, None], np.nan)


def layer_changes(config: RunConfig, state: Mapping[str, np.ndarray], name: str | None = None, n_tasks: int = 25,
                  steps: int = 5, seed: int = 0, split: str = "val") -> LayerChanges:
    """Adapt learner ``name`` (default: the run's) from ``state`` on ``n_tasks`` held-out tasks, one inner step
    at a time with ``learner.adapt``, and record each layer's distance from its start (see :class:`LayerChanges`).
    Batched over tasks like evaluation; only for learners with a gradient inner loop."""
    from metaviz import learners

    name = name or config.learner
    if not learners.get(name).has_inner_loop:
        raise ValueError(f"{name} has no gradient inner loop: its weights do not move when it adapts")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    learner = loaded_learner(config, name, state)
    groups = layer_groups(learner.net)
    batch = heldout_batch(config, n_tasks, seed, split).to(learner.device)

    def one_task(start: Params, episode: Episode) -> torch.Tensor:
        params, columns = start, []
        for _ in range(steps):
            params = detach(learner.adapt(params, episode.support_x, episode.support_y, steps=1,
                                          first_order=True).params)
            columns.append(torch.stack([torch.sqrt(sum(((params[k] - start[k]) ** 2).sum() for k in keys))
                                        for keys in groups.values()]))
        return torch.stack(columns, 1)                                                   # [L, S]

    start = detach(learner.params)
    moved = learner.per_task(one_task, start, batch).detach().cpu().numpy().astype(np.float64)  # [T, L, S]
    change = np.concatenate([np.zeros((*moved.shape[:2], 1)), moved], 2)
    norm = np.array([np.sqrt(sum((start[k].cpu().double().numpy() ** 2).sum() for k in keys))
                     for keys in groups.values()])
    layers = tuple(groups)
    return LayerChanges(layers, tuple(layer_label(learner.net, layer) for layer in layers),
                        np.array([layer == layers[-1] for layer in layers]), norm, change, np.arange(steps + 1))


# ---- meta-overfitting -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OverfitCurves:
    """Meta-train against held-out performance over meta-training, after adaptation.

    step, train, heldout: [E] (one point per evaluation); gap: [E] = how much worse held-out tasks do than
    meta-training tasks (heldout - train for a loss, train - heldout for an accuracy), so a growing gap is
    meta-overfitting: the meta-learner has memorised its training tasks instead of learning to adapt.
    """

    metric: str
    step: np.ndarray
    train: np.ndarray
    heldout: np.ndarray

    @property
    def gap(self) -> np.ndarray:
        return self.heldout - self.train if self.metric == "loss" else self.train - self.heldout


def overfitting_curves(step, train, heldout, metric: str = "loss") -> OverfitCurves:
    """Check and pack three histories of equal length (numpy arrays or lists)."""
    if metric not in ("loss", "accuracy"):
        raise ValueError(f"metric must be 'loss' or 'accuracy', not {metric!r}")
    step, train, heldout = (np.asarray(a, float).reshape(-1) for a in (step, train, heldout))
    if not len(step) == len(train) == len(heldout):
        raise ValueError(f"histories differ in length: step {len(step)}, train {len(train)}, held-out {len(heldout)}")
    keep = np.isfinite(train) & np.isfinite(heldout)
    return OverfitCurves(metric, step[keep], train[keep], heldout[keep])


def overfit_from_evals(evals: Mapping[str, np.ndarray], metric: str = "loss",
                       heldout: str = "val") -> OverfitCurves | None:
    """The curves from a worker's evaluation histories (keys ``step``, ``train_<metric>`` and
    ``<heldout>_<metric>``), or None when the run recorded no meta-train evaluation."""
    train_key, heldout_key = f"train_{metric}", f"{heldout}_{metric}"
    if train_key not in evals or heldout_key not in evals:
        return None
    curves = overfitting_curves(evals["step"], evals[train_key], evals[heldout_key], metric)
    return curves if len(curves.step) else None


def overfit_configs(config: RunConfig, distinct_tasks: int = 10, n_steps: int = 300,
                    eval_every: int = 20) -> tuple[RunConfig, RunConfig]:
    """Two short runs that differ only in how many distinct tasks meta-training may draw: ``distinct_tasks``
    (a fixed pool, drawn again and again) against unlimited fresh tasks. Same learner, seed and budget; both
    evaluate on meta-training tasks as well as held-out ones, so each can draw its gap."""
    if distinct_tasks < 1:
        raise ValueError(f"distinct tasks must be at least 1, not {distinct_tasks}")
    train = dataclasses.replace(config.train, n_steps=n_steps, eval_every=eval_every, eval_train=True,
                                n_eval_tasks=min(config.train.n_eval_tasks, 50), baseline=False)
    few = dataclasses.replace(config, train=dataclasses.replace(train, distinct_tasks=distinct_tasks))
    return few, dataclasses.replace(config, train=dataclasses.replace(train, distinct_tasks=0))


# ---- where the page's parameters come from -------------------------------------------------------------

@dataclass(frozen=True)
class RunRecord:
    """A run as the page needs it: its config, parameter checkpoints (step 0 first) and evaluation histories
    (``step`` and the worker's EVAL_KEYS, NaN where absent)."""

    config: RunConfig
    checkpoints: tuple  # of metaviz.worker.Checkpoint, in step order
    evals: dict[str, np.ndarray]
    seconds: float = 0.0
    source: str = "run"  # "run": the session's; "default": trained when the page opened
    status: str = "done"  # the worker's status when the record was read (running, paused, done, ...)

    def at(self, step: int):
        """The checkpoint at ``step`` (the nearest one at or before it)."""
        before = [c for c in self.checkpoints if c.step <= step]
        return before[-1] if before else self.checkpoints[0]


def default_config(seed: int = 0, n_steps: int = 150) -> RunConfig:
    """MAML on sine waves, a short run that shows adaptation within seconds on the CPU."""
    # evaluations only feed the meta-overfitting chart (after the learner's one inner step): keep them cheap
    return RunConfig(train=TrainConfig(n_steps=n_steps, meta_lr=0.01, eval_every=max(1, n_steps // 10),
                                       n_eval_tasks=50, eval_steps=1, eval_train=True), seed=seed, device="cpu")


def quick_run(config: RunConfig) -> RunRecord:
    """Train ``config`` to its end in this thread, keeping a checkpoint at every evaluation (as the worker does).

    The page's default run for the default seed ships (``metaviz/zoo/demo``, ``scripts/train_demo_zoo.py``): then
    nothing trains, and ``seconds`` is the training time recorded when it was made."""
    from metaviz import trajectories
    from metaviz.worker import Checkpoint

    steps, arrays = trajectories.cached_parts(shipped_name(config), config, lambda: packed(trained_run(config)))
    part = lambda params, prefix: {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}  # noqa: E731
    checkpoints = tuple(Checkpoint(step, config, part(p, "learner."), part(p, "baseline.") or None)
                        for step, p in steps)
    return RunRecord(config, checkpoints, part(arrays, "evals."), float(arrays["seconds"][0]), "default")


def shipped_name(config: RunConfig) -> str:
    return f"adaptation-{config.learner}-{config.task}-{config.train.n_steps}"


def packed(record: RunRecord) -> tuple[tuple, dict[str, np.ndarray]]:
    """``record`` as ``metaviz.trajectories`` stores it: (step, {"learner.<name>", "baseline.<name>"}) per
    checkpoint, and the evaluation curves and training seconds as arrays."""
    steps = tuple((c.step, {**{f"learner.{k}": v for k, v in c.learner.items()},
                            **{f"baseline.{k}": v for k, v in (c.baseline or {}).items()}}) for c in record.checkpoints)
    return steps, {**{f"evals.{k}": v for k, v in record.evals.items()}, "seconds": np.array([record.seconds])}


def trained_run(config: RunConfig) -> RunRecord:
    """:func:`quick_run`'s training itself."""
    from metaviz.train import Run, train
    from metaviz.worker import Checkpoint

    run = Run(config)
    checkpoints, rows = [], []
    start = time.perf_counter()
    for event in train(run, config.train.n_steps):
        if isinstance(event, DivergedEvent):
            raise ValueError(event.message)
        if isinstance(event, EvalEvent):
            rows.append({"step": event.step, **event.scalars()})
            checkpoints.append(Checkpoint(run.step, run.config, run.learner.state_numpy(),
                                          run.baseline.state_numpy() if run.baseline else None))
    seconds = time.perf_counter() - start
    keys = dict.fromkeys(k for row in rows for k in row)
    evals = {k: np.array([row.get(k, np.nan) for row in rows], float) for k in keys}
    return RunRecord(config, tuple(checkpoints), evals, seconds, "default")


def same_run(a: RunRecord, b: RunRecord) -> bool:
    """Whether two records read from the worker belong to one run: the worker keeps its step-0 checkpoint object
    for the whole run, and a new run makes a new one."""
    return a.source == b.source == "run" and a.checkpoints[0] is b.checkpoints[0]


def record_from_snapshot(snapshot) -> RunRecord | None:
    """The session run's record from a worker snapshot, or None while it has no parameters yet."""
    checkpoints = tuple(snapshot.checkpoints)
    latest = snapshot.checkpoint  # copied about once a second, often newer than the last evaluation's
    if latest is not None and (not checkpoints or latest.step > checkpoints[-1].step):
        checkpoints = (*checkpoints, latest)
    if not checkpoints or snapshot.config is None:
        return None
    return RunRecord(checkpoints[-1].config, checkpoints, dict(snapshot.evals), 0.0, "run", snapshot.status)
