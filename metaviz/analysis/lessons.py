"""The small computations behind the Learn pages, each a pure function to a dataclass of numpy arrays.

The lessons reuse the analyses of the other pages where they can (``adaptation``, ``embedding``, ``toy``,
``tasks``); what is here is what no other page needs:

* :func:`train_states`: a few short runs, one per learner, on the same tasks and seed;
* :func:`maml_gradient_parts`: MAML's meta-gradient split into its first-order part and its second-order term;
* :func:`step_sizes`: Meta-SGD's learned per-weight step sizes, layer by layer;
* :func:`read_support` and :func:`read_curve`: what a one-pass learner (sequence model, CNP) predicts after
  reading 1, 2, ... K support examples, with no gradient step; :func:`task_vectors`: the CNP's task vectors;
* :func:`loss_by_amplitude`: post-adaptation loss on sine tasks inside and outside the meta-training range;
* :func:`compute_cost`: time and memory of one meta-gradient for second-order, first-order and metric
  learners, measured on a device;
* :func:`meta_train_classes` and :func:`log10_class_sets`: how many distinct N-way tasks a class pool gives.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from metaviz import tasks
from metaviz.analysis.adaptation import heldout_batch, heldout_task
from metaviz.device import resolve_device
from metaviz.events import DivergedEvent
from metaviz.functional import detach
from metaviz.tasks.base import Episode
from metaviz.train import Run, RunConfig, build_learner, train

Params = Mapping[str, np.ndarray]


# ---- short runs ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trained:
    """Parameters of each run's learner (name -> params) and, when asked for, its pretrained baseline under
    ``"pretrained"``; the time all runs took, on the device they ran on."""

    states: dict[str, dict[str, np.ndarray]]
    seconds: float
    device: str


def train_states(configs: Mapping[str, RunConfig], baseline_of: str | None = None) -> Trained:
    """Meta-train each config (name -> RunConfig) to its ``n_steps`` and keep its learner's parameters under
    that name; ``baseline_of``: also keep that run's pretrained baseline as ``"pretrained"``. ValueError with the
    run's message when one diverges.

    One CPU run whose result ships in ``metaviz/zoo/demo/`` (a lesson's default, recorded by
    ``scripts/train_demo_zoo.py --lessons``) is loaded from there instead; ``seconds`` is then its training time
    when it was recorded."""
    if len(configs) != 1 or next(iter(configs.values())).device != "cpu":
        return _train_states(configs, baseline_of)
    from metaviz import trajectories

    (name, config), = configs.items()
    key = f"lesson-{name}-{trajectories.fingerprint(config, baseline_of)}"

    def packed():
        trained = _train_states(configs, baseline_of)
        flat = {f"{state}|{k}": v for state, params in trained.states.items() for k, v in params.items()}
        return ((0, flat),), {"seconds": np.array([trained.seconds])}

    ((_, flat),), arrays = trajectories.cached_parts(key, config, packed)
    states: dict[str, dict[str, np.ndarray]] = {}
    for k, v in flat.items():
        state, _, param = k.partition("|")
        states.setdefault(state, {})[param] = v
    return Trained(states, float(arrays["seconds"][0]), "cpu")


def _train_states(configs: Mapping[str, RunConfig], baseline_of: str | None) -> Trained:
    states, start, device = {}, time.perf_counter(), "cpu"
    for name, config in configs.items():
        run = Run(config)
        device = str(run.device)
        for event in train(run, config.train.n_steps):
            if isinstance(event, DivergedEvent):
                raise ValueError(f"{name}: {event.message}")
        states[name] = run.learner.state_numpy()
        if name == baseline_of and run.baseline is not None:
            states["pretrained"] = run.baseline.state_numpy()
    return Trained(states, time.perf_counter() - start, device)


# ---- the bi-level loop on a real network -----------------------------------------------------------------

@dataclass(frozen=True)
class GradientParts:
    """MAML's meta-gradient g = g_FO + g_2 on a meta-batch, layer by layer (Finn et al. 2017).

    For one inner step theta'_i = theta - alpha grad L_S_i(theta) the meta-gradient of task i is

        g_i = (I - alpha H_S_i(theta)) grad L_Q_i(theta'_i)
            = grad L_Q_i(theta'_i)                      the first-order part (what FOMAML uses)
              - alpha H_S_i(theta) grad L_Q_i(theta'_i)   the second-order term (dropped by FOMAML)

    and g, g_FO, g_2 are their means over the meta-batch (with k steps, g_2 collects all the Hessian products).
    layers [L]; first_order, second_order, full [L]: the L2 norm of each part within each layer (weights and
    bias together); totals over all parameters: first_norm, second_norm, full_norm; cosine: the cosine of the
    angle between g and g_FO; support_loss / query_loss: mean support loss before the inner step and query loss
    after it; seconds: the time each of the two meta-gradients took.
    """

    layers: tuple[str, ...]
    first_order: np.ndarray
    second_order: np.ndarray
    full: np.ndarray
    first_norm: float
    second_norm: float
    full_norm: float
    cosine: float
    support_loss: float
    query_loss: float
    inner_lr: float
    inner_steps: int
    seconds_full: float
    seconds_first: float


def _layer_norms(grads: Mapping[str, torch.Tensor], layers: Sequence[str]) -> np.ndarray:
    return np.array([math.sqrt(sum(float((g.double() ** 2).sum()) for k, g in grads.items()
                                   if k.rpartition(".")[0] == layer)) for layer in layers])


def maml_gradient_parts(config: RunConfig, state: Params, n_tasks: int = 10, seed: int = 0) -> GradientParts:
    """MAML's meta-gradient at ``state`` on ``n_tasks`` held-out tasks of ``config``, second order (as trained)
    and first order (FOMAML); their difference is the second-order term. Both on the CPU, task by task."""
    if config.learner != "maml":
        raise ValueError(f"the gradient parts are MAML's; this config's learner is {config.learner}")
    batch = heldout_batch(config, n_tasks, seed)
    grads, seconds = {}, {}
    for order in (False, True):
        lc = dataclasses.replace(config.learner_config, first_order=order)
        learner = build_learner(dataclasses.replace(config, learner_config=lc, device="cpu"))
        learner.strategy = "loop"
        learner.load_numpy(state)
        start = time.perf_counter()
        grads[order], _ = learner.meta_grad(batch)
        seconds[order] = time.perf_counter() - start
    full, first = grads[False], grads[True]
    second = {k: full[k] - first[k] for k in full}
    layers = tuple(dict.fromkeys(k.rpartition(".")[0] for k in full))
    flat_full = torch.cat([g.reshape(-1) for g in full.values()]).double()
    flat_first = torch.cat([g.reshape(-1) for g in first.values()]).double()
    cosine = float(flat_full @ flat_first / (flat_full.norm() * flat_first.norm()).clamp_min(1e-300))
    steps = int(config.learner_config.inner_steps)
    ep_losses = [(float(learner.support_loss(detach(learner.params), e.support_x, e.support_y)),
                  float(learner.query_curve(learner.params, e, steps)[0, -1]))
                 for e in (batch.task(i) for i in range(batch.n_tasks))]
    norm = lambda g: math.sqrt(sum(float((v.double() ** 2).sum()) for v in g.values()))  # noqa: E731
    return GradientParts(layers, _layer_norms(first, layers), _layer_norms(second, layers), _layer_norms(full, layers),
                         norm(first), norm(second), norm(full), cosine,
                         float(np.mean([s for s, _ in ep_losses])), float(np.mean([q for _, q in ep_losses])),
                         float(config.learner_config.inner_lr), int(config.learner_config.inner_steps),
                         seconds[False], seconds[True])


# ---- Meta-SGD's step sizes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepSizes:
    """Meta-SGD's learned step sizes alpha (Li et al. 2017), one per weight, grouped by layer.

    layers [L]; values: L arrays, each the flattened step sizes of that layer's weights and bias; init: the value
    every step size started from."""

    layers: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    init: float

    def summary(self) -> np.ndarray:
        """[L, 4]: mean, median, fraction below zero, and largest |alpha| of each layer."""
        return np.array([[v.mean(), np.median(v), (v < 0).mean(), np.abs(v).max()] for v in self.values])


def step_sizes(state: Params, init: float) -> StepSizes:
    """The ``lr/<weight>`` entries of a Meta-SGD state, grouped by layer in the network's order."""
    groups: dict[str, list[np.ndarray]] = {}
    for key, value in state.items():
        if key.startswith("lr/"):
            groups.setdefault(key[3:].rpartition(".")[0], []).append(np.asarray(value, float).ravel())
    if not groups:
        raise ValueError("these parameters hold no learned step sizes (lr/...): they are not Meta-SGD's")
    return StepSizes(tuple(groups), tuple(np.concatenate(v) for v in groups.values()), float(init))


# ---- one-pass learners: reading the support set ----------------------------------------------------------

def _first_per_class(y: torch.Tensor, n_way: int, k: int) -> torch.Tensor:
    """Indices of the first ``k`` examples of each class 0..n_way-1 in labels ``y`` [S]."""
    return torch.cat([torch.nonzero(y == c).flatten()[:k] for c in range(n_way)])


@dataclass(frozen=True)
class Reading:
    """A classifier's predictions on a grid over the plane after reading K support points per class, for each K
    in ``shots``, on one 2-D task (no gradient steps for one-pass learners).

    x [G], y [G]: grid axes; labels [S, G, G] (rows over y): predicted class; confidence [S, G, G]: its
    probability; support_x [N*Kmax, 2], support_y [N*Kmax] ordered so that the first K per class are read at K;
    query_x [Q, 2], query_y [Q]; accuracy [S]: query accuracy at each K."""

    shots: np.ndarray
    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    support_x: np.ndarray
    support_y: np.ndarray
    query_x: np.ndarray
    query_y: np.ndarray
    accuracy: np.ndarray
    n_way: int


def read_support(config: RunConfig, state: Params, shots: Sequence[int] = (1, 2, 5), task_seed: int = 0,
                 grid: int = 70, pad: float = 1.0) -> Reading:
    """One held-out 2-D classification task of ``config`` (its support set drawn with max(shots) per class);
    the learner reads the first K per class and predicts every grid point and query."""
    shots = sorted({int(k) for k in shots})
    if not shots or shots[0] < 1:
        raise ValueError(f"shots must be positive numbers of examples per class, not {shots}")
    task_config = dataclasses.replace(config.task_config, k_shot=shots[-1])
    config = dataclasses.replace(config, task_config=task_config, device="cpu")
    task, batch = heldout_task(config, task_seed)
    if task.kind != "classification" or task.in_shape != (2,):
        raise ValueError(f"reading the support set is drawn on the plane: {config.task} is not a 2-D classifier")
    learner = build_learner(config)
    learner.load_numpy(state)
    ep = batch.episode.task(0)
    n = task.out_dim
    order = _first_per_class(ep.support_y, n, shots[-1])
    sx, sy = ep.support_x[order], ep.support_y[order]
    points = torch.cat([sx, ep.query_x])
    lo, hi = points.min(0).values - pad, points.max(0).values + pad
    gx, gy = torch.linspace(float(lo[0]), float(hi[0]), grid), torch.linspace(float(lo[1]), float(hi[1]), grid)
    yy, xx = torch.meshgrid(gy, gx, indexing="ij")
    plane = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    labels, confidence, accuracy = [], [], []
    with torch.no_grad():
        for k in shots:
            idx = _first_per_class(sy, n, k)
            params = detach(learner.adapt(detach(learner.params), sx[idx], sy[idx]).params)
            probs = torch.softmax(learner.predict(params, plane), -1)
            labels.append(probs.argmax(-1).reshape(grid, grid))
            confidence.append(probs.max(-1).values.reshape(grid, grid))
            accuracy.append(float((learner.predict(params, ep.query_x).argmax(-1) == ep.query_y).float().mean()))
    return Reading(np.array(shots), gx.numpy(), gy.numpy(), torch.stack(labels).numpy(),
                   torch.stack(confidence).numpy(), sx.numpy(), sy.numpy(), ep.query_x.numpy(), ep.query_y.numpy(),
                   np.array(accuracy), n)


@dataclass(frozen=True)
class CurveReading:
    """A CNP's predictive distribution on one sine task after reading the first K support points, each K.

    x [G], truth [G]; support_x, support_y [Kmax]; shots [S]; mean, std [S, G]; mse [S]: the mean's squared error
    against the truth on the grid."""

    x: np.ndarray
    truth: np.ndarray
    support_x: np.ndarray
    support_y: np.ndarray
    shots: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    mse: np.ndarray


def read_curve(config: RunConfig, state: Params, shots: Sequence[int] = (1, 3, 10), task_seed: int = 0,
               grid: int = 200) -> CurveReading:
    """The CNP of ``config`` reads the first K support points of one held-out 1-D regression task."""
    if config.learner != "cnp":
        raise ValueError(f"read_curve draws a CNP's predicted mean and std; this config's learner is {config.learner}")
    shots = sorted({int(k) for k in shots})
    if not shots or shots[0] < 0:
        raise ValueError(f"shots must be numbers of support points, not {shots}")
    config = dataclasses.replace(config, task_config=dataclasses.replace(config.task_config, k_shot=max(shots[-1], 1)),
                                 device="cpu")
    task, batch = heldout_task(config, task_seed)
    if not hasattr(task, "function") or task.in_shape != (1,):
        raise ValueError(f"read_curve draws 1-D regression tasks; {config.task} is not one")
    learner = build_learner(config)
    learner.load_numpy(state)
    ep = batch.episode.task(0)
    x = torch.linspace(config.task_config.x_min, config.task_config.x_max, grid).reshape(grid, 1)
    truth = task.function(batch.truth, x[None])[0, :, 0]
    means, stds = [], []
    with torch.no_grad():
        for k in shots:
            params = learner.adapt(detach(learner.params), ep.support_x[:k], ep.support_y[:k]).params
            mean, std = learner.predict_distribution(params, x)
            means.append(mean[:, 0]), stds.append(std[:, 0])
    mean = torch.stack(means)
    return CurveReading(x[:, 0].numpy(), truth.numpy(), ep.support_x[:, 0].numpy(), ep.support_y[:, 0].numpy(),
                        np.array(shots), mean.numpy(), torch.stack(stds).numpy(),
                        ((mean - truth) ** 2).mean(1).numpy())


@dataclass(frozen=True)
class TaskVectors:
    """The CNP's task vectors r of many sine tasks in their first two principal components.

    coords [T, 2]; amplitude, phase [T]: each task's true parameters; explained [2]: variance fractions."""

    coords: np.ndarray
    amplitude: np.ndarray
    phase: np.ndarray
    explained: np.ndarray


def task_vectors(config: RunConfig, state: Params, n_tasks: int = 120, seed: int = 0) -> TaskVectors:
    """r = mean_i h([f(x_i), y_i]) for ``n_tasks`` held-out sine tasks (Garnelo et al. 2018), then PCA."""
    from metaviz.analysis.embedding import fit_pca

    if config.learner != "cnp":
        raise ValueError(f"task vectors are a CNP's; this config's learner is {config.learner}")
    config = dataclasses.replace(config, device="cpu")
    learner = build_learner(config)
    learner.load_numpy(state)
    task = tasks.get(config.task)(config.task_config)
    batch = task.sample(n_tasks, torch.Generator().manual_seed(config.seed + 4_000_037 + seed), "val")
    if not {"amplitude", "phase"} <= set(batch.truth):
        raise ValueError(f"task vectors are coloured by amplitude and phase: {config.task} has no such parameters")
    ep = batch.episode
    with torch.no_grad():
        r = torch.stack([learner.task_vector(learner.params, ep.support_x[i], ep.support_y[i])
                         for i in range(n_tasks)]).double().numpy()
    pca = fit_pca(r)
    return TaskVectors(pca.transform(r), batch.truth["amplitude"].numpy(), batch.truth["phase"].numpy(), pca.explained)


# ---- distribution shift --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShiftCurves:
    """Query loss after ``steps`` inner steps on sine tasks whose amplitude lies in each bin.

    edges [B + 1]; centres [B]; loss[name] [B]: the median over ``n_tasks`` tasks per bin (a median, since a
    few tasks far outside the meta-training range can make the inner loop diverge, and one diverged task
    would set a mean); reference [B]: the error of predicting y = 0, E[A^2 sin^2] = E[A^2] / 2 =
    (a^2 + ab + b^2) / 6 for A ~ U[a, b], the error an adapted learner must stay well below; train_range: the
    amplitudes meta-training drew from."""

    edges: np.ndarray
    centres: np.ndarray
    loss: dict[str, np.ndarray]
    reference: np.ndarray
    train_range: tuple[float, float]
    steps: int


def loss_by_amplitude(config: RunConfig, states: Mapping[str, Params], edges: Sequence[float],
                      n_tasks: int = 20, steps: int = 1, seed: int = 0) -> ShiftCurves:
    """Each learner in ``states`` adapted on the same held-out tasks, bin by bin of the amplitude (the rest of the
    task distribution as in meta-training), scored on their query sets after ``steps`` inner steps."""
    edges = np.asarray(edges, float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be at least two increasing amplitudes")
    if not hasattr(config.task_config, "amp_min"):
        raise ValueError(f"the shift is in the amplitude of sine waves; {config.task} has none")
    config = dataclasses.replace(config, device="cpu")
    loss = {}
    for name, state in states.items():
        learner = build_learner(config, name)
        learner.load_numpy(state)
        row = []
        for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
            shifted = dataclasses.replace(config.task_config, amp_min=float(a), amp_max=float(b))
            batch = heldout_batch(config, n_tasks, seed + i, task_config=shifted)
            curves = learner.per_task(lambda p, e, lr=learner: lr.query_curve(p, e, steps), detach(learner.params),
                                      batch)
            row.append(float(torch.nan_to_num(curves[:, 0, steps], nan=math.inf).median()))
        loss[name] = np.array(row)
    a, b = edges[:-1], edges[1:]
    return ShiftCurves(edges, (a + b) / 2, loss, (a * a + a * b + b * b) / 6,
                       (float(config.task_config.amp_min), float(config.task_config.amp_max)), steps)


# ---- compute cost ---------------------------------------------------------------------------------------

COST_METHODS = {  # name -> (learner, config overrides)
    "maml": ("maml", {"first_order": False}),
    "fomaml": ("maml", {"first_order": True}),
    "reptile": ("reptile", {"use_query": False}),
    "protonet": ("protonet", {}),
}


@dataclass(frozen=True)
class Cost:
    """Time and memory of one meta-gradient (``meta_grad``) per method, on ``device``.

    seconds [M]: the median of ``repeats`` timed calls after one warm-up, over a meta-batch of ``meta_batch``
    tasks, each learner batching tasks as it does in training; saved_mib [M]: the most memory that tensors kept
    for the backward pass held at once while taking one task's meta-gradient (tasks one by one; counted with
    ``torch.autograd.graph.saved_tensors_hooks``, each storage once); cuda_peak_mib [M] or None: on CUDA, the
    peak of allocated memory during one timed call of the whole meta-batch, above what was allocated before."""

    methods: tuple[str, ...]
    seconds: np.ndarray
    saved_mib: np.ndarray
    cuda_peak_mib: np.ndarray | None
    device: str
    meta_batch: int
    inner_steps: int
    task: str


class _SavedMemory:
    """Counts the bytes of the storages that autograd keeps for backward, while they are alive."""

    def __init__(self):
        self.live: dict[int, list[int]] = {}   # storage pointer -> [references, bytes]
        self.current = self.peak = 0

    def pack(self, tensor: torch.Tensor):
        storage = tensor.untyped_storage()
        ptr, size = storage.data_ptr(), storage.nbytes()
        entry = self.live.setdefault(ptr, [0, size])
        if entry[0] == 0:
            self.current += size
            self.peak = max(self.peak, self.current)
        entry[0] += 1
        return _Held(tensor, self, ptr)

    @staticmethod
    def unpack(held: _Held) -> torch.Tensor:
        return held.tensor

    def release(self, ptr: int) -> None:
        entry = self.live[ptr]
        entry[0] -= 1
        if entry[0] == 0:
            self.current -= entry[1]
            del self.live[ptr]


class _Held:
    __slots__ = ("tensor", "owner", "ptr")

    def __init__(self, tensor: torch.Tensor, owner: _SavedMemory, ptr: int):
        self.tensor, self.owner, self.ptr = tensor, owner, ptr

    def __del__(self):
        self.owner.release(self.ptr)


def saved_memory(fn) -> int:
    """Peak bytes held by tensors saved for backward while ``fn()`` runs (autograd outside torch.func only)."""
    counter = _SavedMemory()
    with torch.autograd.graph.saved_tensors_hooks(counter.pack, counter.unpack):
        fn()
    return counter.peak


def cost_config(task: str, task_config, method: str, inner_steps: int, meta_batch: int, device: str,
                hidden: int = 32) -> RunConfig:
    """The run config a :func:`compute_cost` method measures: its learner with ``inner_steps`` inner steps."""
    from metaviz import learners

    name, overrides = COST_METHODS[method]
    fields = {f.name for f in dataclasses.fields(learners.get(name).Config)}
    if "inner_steps" in fields:
        overrides = {**overrides, "inner_steps": inner_steps}
    from metaviz.train import TrainConfig

    return RunConfig(task=task, learner=name, task_config=task_config,
                     learner_config=learners.get(name).Config(**overrides), device=device,
                     train=TrainConfig(meta_batch=meta_batch, hidden=hidden, baseline=False))


def compute_cost(task: str, task_config, methods: Sequence[str] = tuple(COST_METHODS), inner_steps: int = 1,
                 meta_batch: int = 4, device: str = "auto", repeats: int = 3, seed: int = 0) -> Cost:
    """Measure one meta-gradient of each method (see :class:`Cost`) on the same tasks, on ``device``."""
    from metaviz import learners

    kind = tasks.get(task).kind
    methods = tuple(m for m in methods if kind in learners.get(COST_METHODS[m][0]).kinds)
    if not methods:
        raise ValueError(f"none of the methods handles {kind} tasks")
    dev = resolve_device(device)
    seconds, saved, peaks = [], [], []
    for method in methods:
        config = cost_config(task, task_config, method, inner_steps, meta_batch, str(dev))
        learner = build_learner(config, device=dev)
        batch = learner.task.sample(meta_batch, torch.Generator().manual_seed(seed)).episode.to(dev)

        def sync():
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)

        learner.meta_grad(batch)  # warm-up: first calls allocate and compile kernels
        sync()
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
            before = torch.cuda.memory_allocated(dev)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            learner.meta_grad(batch)
            sync()
            times.append(time.perf_counter() - start)
        if dev.type == "cuda":
            peaks.append((torch.cuda.max_memory_allocated(dev) - before) / 2**20)
        seconds.append(statistics.median(times))
        looped = build_learner(config, device=dev)
        looped.strategy = "loop"
        one = Episode(*(t[:1] for t in batch))
        saved.append(saved_memory(lambda looped=looped, one=one: looped.meta_grad(one)) / 2**20)
    return Cost(methods, np.array(seconds), np.array(saved), np.array(peaks) if peaks else None, str(dev),
                meta_batch, inner_steps, task)


# ---- where tasks come from --------------------------------------------------------------------------------

def meta_train_classes(family: str, task_config) -> int:
    """How many classes the meta-training split of a class-based task family holds."""
    from metaviz.analysis.tasks import class_split

    split = class_split(family, task_config)
    if split is None:
        raise ValueError(f"{family} is not built on classes: its tasks are continuous")
    return int((split.split == 0).sum())


def log10_class_sets(n_classes: int, n_way: int) -> float:
    """log10 of C(n_classes, n_way), the number of distinct sets of N classes (one N-way task each, before
    choosing examples and the order of labels); -inf when there are fewer than N classes."""
    if n_way < 1 or n_classes < 0:
        raise ValueError(f"need n_way >= 1 and n_classes >= 0, not {n_way} and {n_classes}")
    if n_classes < n_way:
        return -math.inf
    return (math.lgamma(n_classes + 1) - math.lgamma(n_way + 1) - math.lgamma(n_classes - n_way + 1)) / math.log(10)
