"""Loss landscapes: a 2-D slice of the meta-loss around the meta-parameters, with the paths drawn on it.

Paper: Li, Xu, Taylor, Studer and Goldstein (2018), *Visualizing the Loss Landscape of Neural
Nets*, NeurIPS. Their two ideas are used as they wrote them:

* **Filter-normalized random directions.** A random Gaussian direction d is rescaled filter by
  filter so that each filter d_ij (one row along the first axis: an output unit of a linear
  layer, an output channel of a convolution) has the norm of the matching filter of the weights,
  d_ij <- d_ij / |d_ij| * |theta_ij|. Without it a direction moves small-norm layers far more
  than large ones and the picture says more about the parametrization than about the loss.
  Parameters with one dimension (biases, BatchNorm scales, Meta-SGD's per-bias step sizes) get
  a zero direction by default, as in the plots of the paper (``--xignore biasbn`` in their
  code); ``bias="include"`` follows their other option, d = theta for those parameters.
* **Directions from the training trajectory.** Random directions in a space of thousands of
  dimensions are almost orthogonal to the path training took, so a trajectory projected on them
  looks like noise. Instead take the top two principal components of the saved checkpoints,
  M = [theta_t - theta_c]_t (theta_c the parameters at the centre), mean-centred as scikit-learn's
  PCA does in their code. The components are orthonormal, and the fraction of the trajectory's
  variance each explains is reported.

The slice is

    f(a, b) = L(theta_c + a d1 + b d2)        a, b in [-span, span], on a resolution x resolution grid

where L is either the **meta-loss** (post-adaptation query loss, the learner's ``task_loss``: for
MAML the query loss after the inner SGD steps from theta; for a metric learner the query loss given
the support set; for the pretrained baseline its joint training loss), averaged over a fixed seeded
set of meta-training tasks or for one chosen task, or the **pre-adaptation** query loss at theta
itself (learners with an inner loop only). MAML's landscape is the post-adaptation one: it
optimizes where a few steps *lead*, not where theta itself scores. The tasks are meta-training tasks
from a seeded stream of their own; the space is every meta-parameter of the learner (Meta-SGD's
step sizes and the learned optimizer's network included).

Any point x in parameter space is placed on the plane by least squares,
(a, b) = argmin |x - theta_c - a d1 - b d2|, and its distance to the plane (the *residual*) is
reported: a path that leaves the plane can cross contour lines its real points never touch. So
for every path this module also measures L at the real points, next to L at their projections.
Inner-loop paths are measured with the surface's L too (the meta-loss at each adapted point); to
watch one task's own loss fall along its inner steps, choose that task and the pre-adaptation loss.

The grid is evaluated in batches of points with ``torch.func.vmap`` over the parameter vectors,
on the run's device; ``strategy="loop"`` evaluates one point at a time (the reference the tests
compare against, and the baseline of ``benchmarks/landscape_grid.py``). On the CPU, batching made a
41 x 41 grid of the sine MLP about 20 times faster; for Conv4 it was no faster than the loop, so
there, as in the engine's meta-batches, ``auto`` loops.

Shapes: P parameters in all (the meta-parameters flattened in the learner's order), R = resolution;
``Landscape.loss`` is [R, R] with rows over b (the second direction) and columns over a.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import vmap

from metaviz import learners, tasks
from metaviz.config import Config, param
from metaviz.device import resolve_device
from metaviz.events import StepEvent
from metaviz.functional import detach, unflatten
from metaviz.learners.base import MetaLearner
from metaviz.tasks.base import Episode
from metaviz.train import EVAL_SEED_OFFSET, Run, RunConfig, TrainConfig, build_learner, train

Trajectory = Sequence[tuple[int, Mapping[str, np.ndarray]]]  # (meta-iteration, meta-parameters), oldest first
Progress = Callable[[float, str], None]                       # (fraction done, what is being done)

LANDSCAPE_SEED_OFFSET = 3 * EVAL_SEED_OFFSET  # the landscape's tasks come from their own stream
DIRECTIONS = ("random", "pca")
LOSSES = ("post", "pre")
STRATEGIES = ("auto", "vmap", "loop")
CPU_BUDGET = 2**27  # float32 elements one vmapped batch of grid points may hold (512 MiB)
MAX_CHUNK = 128     # grid points per batch at most (see auto_chunk)


@dataclass(frozen=True)
class LandscapeConfig(Config):
    __doc__ = __doc__  # what slice to draw (frozen and hashable, so results can be cached by it)

    directions: str = param("pca", "Directions", options=DIRECTIONS,
                            help="pca: the top two principal components of the saved meta-training trajectory (the "
                            "outer path lies almost in their plane). random: two filter-normalized random directions "
                            "(Li et al. 2018), the shape of the loss around theta in no particular direction.")
    loss: str = param("post", "Loss", options=LOSSES,
                      help="post: the meta-objective, the query loss after the inner loop (what the learner "
                      "optimizes). pre: the query loss at the parameters themselves, before any adaptation.")
    task: int = param(-1, "Task (-1 = mean over tasks)", min=-1, max=63, step=1,
                      help="-1: the meta-loss, averaged over the fixed tasks. 0, 1, ...: that task alone.")
    n_tasks: int = param(8, "Tasks in the meta-loss", min=1, max=64, step=1)
    resolution: int = param(41, "Grid points per axis", min=5, max=101, step=2,
                            help="Odd, so that the centre (the meta-parameters) is a grid point.")
    span: float = param(0.0, "Range ± (0 = auto)", min=0.0, max=10.0, step=0.05,
                        help="Half-width of the grid in units of the directions. Auto: 1 for random directions "
                        "(Li et al.), and 1.2 times the farthest checkpoint for PCA directions.")
    seed: int = param(0, "Seed (directions and tasks)", min=0, max=1_000_000, step=1)
    bias: str = param("zero", "1-D parameters (biases)", options=("zero", "include"),
                      help="zero: biases and other 1-D parameters stay fixed (the paper's plots). include: "
                      "random directions use d = theta for them; PCA keeps their movement.")
    n_paths: int = param(3, "Inner-loop paths", min=0, max=8, step=1)
    path_steps: int = param(0, "Inner steps drawn (0 = the learner's)", min=0, max=20, step=1)
    strategy: str = param("auto", "Batching over grid points", options=STRATEGIES,
                          help="vmap: batches of grid points at once. loop: one point at a time (the reference). "
                          "auto: vmap, except for conv nets on the CPU, where it measured no faster than the loop.")
    chunk: int = param(0, "Grid points per batch (0 = auto)", min=0, max=8192, step=1)

    def __post_init__(self):
        super().__post_init__()
        if self.resolution % 2 == 0:
            raise ValueError(f"resolution={self.resolution}: use an odd number so that the meta-parameters are "
                             "the grid's centre point")
        if self.task >= self.n_tasks:
            raise ValueError(f"task={self.task} but there are only {self.n_tasks} tasks (0..{self.n_tasks - 1}): "
                             "choose a lower task or more tasks, or -1 for their mean")


@dataclass(frozen=True)
class Plane:
    """theta(a, b) = centre + a d1 + b d2, all [P] float64 vectors in the learner's parameter order."""

    centre: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    kind: str                         # "random" or "pca"
    step: int                         # meta-iteration of the centre
    explained: np.ndarray | None      # [2] fraction of the trajectory's variance along d1, d2 (PCA only)
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Least-squares coordinates [M, 2] of ``points`` [M, P] on the plane, and their distance to it [M]."""
        return project(points, self.centre, self.d1, self.d2)

    def point(self, a: float, b: float) -> np.ndarray:
        return self.centre + a * self.d1 + b * self.d2


@dataclass(frozen=True)
class Landscape:
    """The loss on the grid: ``loss[j, i]`` = L(centre + a[i] d1 + b[j] d2)."""

    plane: Plane
    a: np.ndarray               # [R]
    b: np.ndarray               # [R]
    loss: np.ndarray            # [R, R]
    centre_loss: float
    label: str                  # what L is, in words
    config: LandscapeConfig
    run: RunConfig
    seconds: float
    device: str
    estimate_s: float | None = None  # estimated time of the grid asked for, when a budget was given


@dataclass(frozen=True)
class Path:
    """A path in parameter space, placed on the plane, with the loss measured two ways.

    x: [n] meta-iteration (outer path) or inner step (inner paths); coords [n, 2]; residual [n], the
    distance of each real point to the plane; relative [n] = residual / |point - centre| (NaN at the
    centre); true_loss [n] = L at the real points; plane_loss [n] = L at their projections on the plane
    (what the contours say)."""

    label: str
    kind: str                   # "outer" or "inner"
    x: np.ndarray
    coords: np.ndarray
    residual: np.ndarray
    relative: np.ndarray
    true_loss: np.ndarray
    plane_loss: np.ndarray

    @property
    def off_plane(self) -> float:
        """How far the path is off the plane as a whole: sqrt(sum residual^2 / sum |point - centre|^2), 0 for a
        path in the plane, about 1 for one orthogonal to it (0 when every point is the centre)."""
        with np.errstate(invalid="ignore"):
            distance2 = np.nansum((self.residual / self.relative) ** 2)
        return float(np.sqrt(np.sum(self.residual**2) / distance2)) if distance2 > 0 else 0.0


# ---- directions and projections (numpy, float64) ------------------------------------------------------
def filter_normalized_direction(params: Mapping[str, np.ndarray], generator: torch.Generator,
                                bias: str = "zero") -> dict[str, np.ndarray]:
    """A random Gaussian direction, rescaled filter by filter to the norms of ``params`` (Li et al. 2018).

    For each parameter with two or more dimensions, each slice along the first axis (a filter) gets
    d_i <- d_i / |d_i| * |theta_i|. One-dimensional parameters get 0 (``bias="zero"``) or a copy of
    the parameter itself (``bias="include"``), the paper code's two options; empty ones stay empty."""
    if bias not in ("zero", "include"):
        raise ValueError(f"bias must be 'zero' or 'include', not {bias!r}")
    out = {}
    for name, w in params.items():
        w = np.asarray(w, dtype=np.float64)
        d = torch.randn(w.shape, generator=generator, dtype=torch.float64).numpy()
        if w.ndim <= 1 or w.size == 0:
            out[name] = np.zeros_like(w) if bias == "zero" or w.size == 0 else w.copy()
            continue
        rows_w = w.reshape(w.shape[0], -1)
        rows_d = d.reshape(d.shape[0], -1)
        scale = np.linalg.norm(rows_w, axis=1) / (np.linalg.norm(rows_d, axis=1) + 1e-10)
        out[name] = (rows_d * scale[:, None]).reshape(w.shape)
    return out


def pca_directions(points: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top two principal components of the rows of ``points - centre`` [n, P] (mean-centred, as
    scikit-learn's PCA), and the fraction of the variance each explains [2]. Orthonormal by construction.

    Needs at least three checkpoints that differ from the centre and from each other's mean."""
    diffs = np.asarray(points, np.float64) - np.asarray(centre, np.float64)[None]
    diffs = diffs[np.linalg.norm(diffs, axis=1) > 0]
    if len(diffs) < 3:
        raise ValueError(f"PCA directions need at least 3 saved checkpoints before the chosen one, and there are "
                         f"{len(diffs)}: train longer (a checkpoint is saved at every evaluation) or choose random "
                         "directions")
    centred = diffs - diffs.mean(0, keepdims=True)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    variance = s**2
    if variance[1] <= 1e-20 * max(variance[0], 1e-300):
        raise ValueError("the saved checkpoints lie on one line: a second principal direction does not exist; "
                         "choose random directions")
    d1, d2 = vt[0], vt[1]
    # a sign convention, so that recomputing gives the same picture: the first checkpoint at negative a, b
    first = diffs[0] - diffs.mean(0)
    d1 = -d1 if first @ d1 > 0 else d1
    d2 = -d2 if first @ d2 > 0 else d2
    return d1, d2, variance[:2] / variance.sum()


def project(points: np.ndarray, centre: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) = argmin |x - centre - a d1 - b d2| for each row x of ``points`` [M, P]: coords [M, 2] and
    the residual distance [M]. Exact for points in the plane; d1, d2 need not be orthogonal."""
    points = np.atleast_2d(np.asarray(points, np.float64))
    basis = np.stack([d1, d2], 1)                                   # [P, 2]
    diffs = points - centre[None]                                   # [M, P]
    gram = basis.T @ basis                                          # [2, 2]
    if abs(np.linalg.det(gram)) <= 1e-24 * max(gram[0, 0] * gram[1, 1], 1e-300):
        raise ValueError("the two directions are parallel (or zero): they do not span a plane")
    coords = np.linalg.solve(gram, basis.T @ diffs.T).T             # [M, 2]
    residual = np.linalg.norm(diffs - coords @ basis.T, axis=1)
    return coords, residual


# ---- the objective and its batched evaluation --------------------------------------------------------
def landscape_tasks(config: RunConfig, n_tasks: int, seed: int) -> Episode:
    """The fixed set of ``n_tasks`` meta-training tasks the landscape averages over (CPU)."""
    task = tasks.get(config.task)(config.task_config)
    generator = torch.Generator().manual_seed(config.seed + LANDSCAPE_SEED_OFFSET + seed)
    return task.sample(n_tasks, generator, "train").episode


def loss_function(learner: MetaLearner, mode: str) -> Callable:
    """``f(params, episode) -> scalar`` for one task: the learner's ``task_loss`` ("post") or the query
    loss at ``params`` before any adaptation ("pre")."""
    if mode == "post":
        return learner.task_value  # task_loss's value, without the graph a meta-gradient would need
    if mode != "pre":
        raise ValueError(f"loss must be one of {LOSSES}, not {mode!r}")
    if not learner.has_inner_loop:
        raise ValueError(f"{learner.name} reads the support set in one pass and has no parameters before "
                         "adaptation: choose the post-adaptation loss")
    return lambda p, e: learner.task.loss(learner.predict(p, e.query_x), e.query_y)


def objective(learner: MetaLearner, episodes: Episode, mode: str) -> Callable[[dict], torch.Tensor]:
    """L(params): the mean of the per-task loss over the tasks of ``episodes`` ([T, ...], on the learner's
    device), batched over tasks the way the learner batches them (vmap, or a loop for conv nets on the CPU)."""
    f = loss_function(learner, mode)
    if episodes.n_tasks == 1:
        return lambda p: f(p, episodes.task(0))
    if learner.resolved_strategy() == "vmap":
        return lambda p: vmap(f, in_dims=(None, 0))(p, episodes).mean()
    return lambda p: torch.stack([f(p, episodes.task(i)) for i in range(episodes.n_tasks)]).mean()


def activation_size(learner: MetaLearner, x: torch.Tensor) -> int:
    """Elements of every leaf module's output for one input ``x`` [1, *in_shape] (a forward with hooks)."""
    total = 0

    def hook(_module, _inputs, output):
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel()

    handles = [m.register_forward_hook(hook) for m in learner.net.modules() if not any(m.children())]
    try:
        with torch.no_grad():
            learner.net(x)
    finally:
        for h in handles:
            h.remove()
    return max(total, 1)


def auto_chunk(learner: MetaLearner, episodes: Episode, steps: int) -> int:
    """Grid points per vmapped batch, from a memory estimate. Per point and task: the support activations
    of each inner step, kept for its backward pass (x 2), and the query activations; tasks count at once
    when the learner vmaps them (one at a time in its loop); plus a few copies of the parameters.
    The budget is 512 MiB of float32 on the CPU and a quarter of the free memory on a GPU.

    At most ``MAX_CHUNK`` points: larger batches measured slower on the CPU (a 41 x 41 sine MLP grid in
    batches of 1681, 211, 64 and 16 points: 0.79, 0.61, 0.57 and 1.40 s), and the page's progress bar
    moves between batches.

    Measured with MAML on the CPU (peak resident set, 2026-11-26): sine MLP with 8 tasks 0.23 MiB a point
    (estimated 0.18); Omniglot Conv4, 5-way 1-shot, 5 queries a class, 15 MiB a point (estimated 30)."""
    n_params = sum(p.numel() for p in learner.params.values())
    per_input = activation_size(learner, episodes.support_x[0, :1])
    support, query = episodes.support_x.shape[1], episodes.query_x.shape[1]
    at_once = episodes.n_tasks if learner.resolved_strategy() == "vmap" else 1
    per_point = at_once * per_input * (2 * steps * support + query) + (steps + 3) * n_params
    budget = CPU_BUDGET
    if learner.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(learner.device)
        budget = free // 16  # float32 elements in a quarter of the free bytes
    return int(min(max(budget // per_point, 1), MAX_CHUNK))


def evaluate(fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor, strategy: str = "vmap",
             chunk: int = 256, progress: Progress | None = None, message: str = "") -> np.ndarray:
    """``fn(row)`` for every row of ``inputs`` [M, ...] -> [M] (numpy, float64).

    vmap: ``chunk`` rows at a time under ``torch.func.vmap`` (inner-loop gradients are taken with
    ``torch.func`` inside it). loop: one row at a time in Python with ``torch.autograd``, the reference."""
    if strategy not in ("vmap", "loop"):
        raise ValueError(f"strategy must be 'vmap' or 'loop', not {strategy!r}")
    m, out = inputs.shape[0], []
    step = max(int(chunk), 1) if strategy == "vmap" else max(m // 100, 1)
    batched = vmap(fn)
    for start in range(0, m, step):
        rows = inputs[start:start + step]
        if strategy == "vmap":
            out.append(batched(rows).detach())
        else:
            with torch.enable_grad():  # autograd's inner loop needs it; nothing is kept
                out.extend(fn(row).detach().reshape(1) for row in rows)
        if progress is not None:
            progress(min(start + step, m) / m, message)
    return torch.cat(out).double().cpu().numpy() if out else np.zeros(0)


def flat_params(learner: MetaLearner, params: Mapping[str, np.ndarray]) -> np.ndarray:
    """``params`` as one float64 vector in the learner's order; a clear error when they do not fit."""
    names = tuple(learner.params)
    missing = [k for k in names if k not in params]
    if missing:
        raise ValueError(f"these parameters do not belong to a {learner.name} model for this task: missing "
                         f"{missing[:3]}; use a checkpoint of the same run")
    for k in names:
        if tuple(np.shape(params[k])) != tuple(learner.params[k].shape):
            raise ValueError(f"parameter {k!r} has shape {tuple(np.shape(params[k]))} but this run's model needs "
                             f"{tuple(learner.params[k].shape)}: use a checkpoint of the same run")
    return np.concatenate([np.asarray(params[k], np.float64).reshape(-1) for k in names])


class Evaluator:
    """L at parameter vectors and at plane coordinates, batched; built once per landscape."""

    def __init__(self, config: RunConfig, lconfig: LandscapeConfig, device: torch.device | str | None = None):
        self.device = resolve_device(config.device) if device is None else torch.device(device)
        self.learner = build_learner(config, device=self.device)
        self.lconfig = lconfig
        all_tasks = landscape_tasks(config, lconfig.n_tasks, lconfig.seed)
        chosen = all_tasks if lconfig.task < 0 else Episode(*(t[lconfig.task:lconfig.task + 1] for t in all_tasks))
        self.tasks = all_tasks.to(self.device)
        self.episodes = chosen.to(self.device)
        self.loss = objective(self.learner, self.episodes, lconfig.loss)
        self.like = {k: v.detach() for k, v in self.learner.params.items()}
        self.dtype = next(iter(self.like.values())).dtype
        steps = int(getattr(self.learner.config, "inner_steps", 1)) if lconfig.loss == "post" else 0
        # auto: the learner's own rule, vmap except for conv nets on the CPU, where batching grid points
        # measured no faster than the loop and needs ~15 MiB a point (benchmarks/landscape_grid.py)
        auto = "loop" if self.learner.resolved_strategy() == "loop" else "vmap"
        self.strategy = auto if lconfig.strategy == "auto" else lconfig.strategy
        self.chunk = lconfig.chunk or auto_chunk(self.learner, self.episodes, steps)

    def restricted(self, first: int, stop: int) -> Evaluator:
        """This evaluator on tasks ``first:stop`` of its own (the mean over those alone); nothing is rebuilt."""
        part = copy.copy(self)
        part.episodes = Episode(*(t[first:stop] for t in self.episodes))
        part.loss = objective(self.learner, part.episodes, self.lconfig.loss)
        return part

    def tensor(self, vector: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(vector, dtype=self.dtype, device=self.device)

    def at_vectors(self, vectors: np.ndarray, progress: Progress | None = None, message: str = "") -> np.ndarray:
        """L at each row of ``vectors`` [M, P]."""
        return evaluate(lambda v: self.loss(unflatten(v, self.like)), self.tensor(vectors), self.strategy,
                        self.chunk, progress, message)

    def at_coords(self, plane: Plane, coords: np.ndarray, progress: Progress | None = None,
                  message: str = "") -> np.ndarray:
        """L(centre + a d1 + b d2) for each row (a, b) of ``coords`` [M, 2]; the vectors are built inside
        the batch, so memory grows with the chunk, not with the grid."""
        c, d1, d2 = self.tensor(plane.centre), self.tensor(plane.d1), self.tensor(plane.d2)
        return evaluate(lambda ab: self.loss(unflatten(c + ab[0] * d1 + ab[1] * d2, self.like)),
                        self.tensor(coords), self.strategy, self.chunk, progress, message)


def describe(run: RunConfig, lconfig: LandscapeConfig) -> str:
    """What L is, in words (for titles)."""
    which = "one task" if lconfig.task >= 0 else f"mean over {lconfig.n_tasks} tasks"
    if lconfig.loss == "pre":
        return f"query loss before adaptation ({which})"
    cls = learners.get(run.learner)
    if not cls.meta_trains or cls.family == "baseline":
        return f"{run.learner}'s task loss ({which})"  # the pretrained baseline's is its joint training loss
    how = "after its inner loop" if cls.has_inner_loop else "given the support set"
    return f"meta-loss: {run.learner}'s query loss {how} ({which})"


def _at_step(trajectory: Trajectory, step: int | None) -> tuple[int, Mapping[str, np.ndarray]]:
    if not trajectory:
        raise ValueError("no checkpoint yet: start the run (a checkpoint is saved at every evaluation)")
    if step is None:
        return trajectory[-1]
    for s, params in trajectory:
        if s == step:
            return s, params
    raise ValueError(f"no checkpoint at meta-iteration {step}; saved: {[s for s, _ in trajectory]}")


def make_plane(learner: MetaLearner, trajectory: Trajectory, step: int | None, lconfig: LandscapeConfig) -> Plane:
    """The plane through the checkpoint at ``step`` (default: the latest) along ``lconfig.directions``."""
    centre_step, centre_params = _at_step(trajectory, step)
    centre = flat_params(learner, centre_params)
    names = tuple(learner.params)
    shapes = tuple(tuple(learner.params[k].shape) for k in names)
    explained = None
    if lconfig.directions == "random":
        generator = torch.Generator().manual_seed(lconfig.seed)
        directions = [filter_normalized_direction({k: centre_params[k] for k in names}, generator, lconfig.bias)
                      for _ in range(2)]
        d1, d2 = (np.concatenate([d[k].reshape(-1) for k in names]) for d in directions)
    else:
        earlier = np.stack([flat_params(learner, p) for s, p in trajectory if s < centre_step] or
                           [np.zeros_like(centre)])
        if lconfig.bias == "zero":  # 1-D parameters neither move the plane nor get a component
            mask = np.concatenate([np.full(int(np.prod(s)), len(s) > 1) for s in shapes])
            earlier = np.where(mask[None], earlier, centre[None])
        d1, d2, explained = pca_directions(earlier, centre)
    return Plane(centre, d1, d2, lconfig.directions, centre_step, explained, names, shapes)


def grid_axes(plane: Plane, trajectory: Trajectory, learner: MetaLearner, lconfig: LandscapeConfig) -> np.ndarray:
    """The grid's coordinates along each axis [R], symmetric about 0 (the centre is a grid point)."""
    span = lconfig.span
    if span <= 0:
        span = 1.0
        if plane.kind == "pca":
            coords, _ = plane.project(np.stack([flat_params(learner, p) for _, p in trajectory]))
            span = 1.2 * float(np.abs(coords).max()) or 1.0
    return np.linspace(-span, span, lconfig.resolution)


def seconds_per_point(ev: Evaluator, plane: Plane) -> float:
    """Time one batch of grid points (after a warm-up point) the way the grid will be evaluated."""
    probe = np.zeros((min(ev.chunk, 8) if ev.strategy == "vmap" else 2, 2))
    ev.at_coords(plane, probe[:1])
    if ev.device.type == "cuda":
        torch.cuda.synchronize(ev.device)
    start = time.perf_counter()
    ev.at_coords(plane, probe)
    if ev.device.type == "cuda":
        torch.cuda.synchronize(ev.device)
    return (time.perf_counter() - start) / len(probe)


def compute_landscape(config: RunConfig, trajectory: Trajectory, lconfig: LandscapeConfig = LandscapeConfig(),
                      step: int | None = None, progress: Progress | None = None,
                      device: torch.device | str | None = None, budget_s: float | None = None) -> Landscape:
    """The loss on a ``resolution`` x ``resolution`` grid of the plane through the checkpoint at ``step``
    (default: the latest of ``trajectory``), on ``device`` (default: the run's).

    With ``budget_s``, a grid estimated to take longer (from timing a few points first) is replaced by the
    finest odd grid that fits, at least 5 x 5: a preview, whose ``config.resolution`` says so, and whose
    ``estimate_s`` is the estimated time of the grid asked for."""
    start = time.perf_counter()
    ev = Evaluator(config, lconfig, device)
    plane = make_plane(ev.learner, trajectory, step, lconfig)
    estimate = None
    if budget_s is not None:
        per_point = seconds_per_point(ev, plane)
        estimate = per_point * lconfig.resolution**2
        if estimate > budget_s:
            fits = int(math.sqrt(budget_s / per_point))
            lconfig = dataclasses.replace(lconfig, resolution=max(5, fits - (fits + 1) % 2))
    axis = grid_axes(plane, trajectory, ev.learner, lconfig)
    b_grid, a_grid = np.meshgrid(axis, axis, indexing="ij")          # rows over b, columns over a
    coords = np.stack([a_grid.ravel(), b_grid.ravel()], 1)
    loss = ev.at_coords(plane, coords, progress, f"{len(coords)} grid points").reshape(len(axis), len(axis))
    mid = len(axis) // 2
    if ev.device.type == "cuda":
        torch.cuda.synchronize(ev.device)
    return Landscape(plane, axis, axis.copy(), loss, float(loss[mid, mid]), describe(config, lconfig), lconfig,
                     config, time.perf_counter() - start, str(ev.device), estimate)


def inner_path_points(learner: MetaLearner, params: Mapping[str, np.ndarray], episode: Episode,
                      steps: int) -> np.ndarray:
    """The inner loop from ``params`` on one task's support set: [steps + 1, P] (start, step 1, ..., step k).

    Each point is ``adapt(..., steps=j)`` run afresh, so learners whose inner loop carries state (the
    learned optimizer's momentum) give their real path."""
    theta = {k: torch.as_tensor(np.asarray(params[k]), dtype=v.dtype, device=v.device)
             for k, v in learner.params.items()}
    points = []
    with torch.enable_grad():
        for j in range(steps + 1):
            adapted = detach(learner.adapt(dict(theta), episode.support_x, episode.support_y, steps=j,
                                           first_order=True).params)
            points.append(torch.cat([adapted[k].reshape(-1) for k in learner.params]).double().cpu().numpy())
    return np.stack(points)


def _relative(points: np.ndarray, centre: np.ndarray, residual: np.ndarray) -> np.ndarray:
    dist = np.linalg.norm(points - centre[None], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(dist > 0, residual / np.where(dist > 0, dist, 1.0), np.nan)


def path_overlays(landscape: Landscape, trajectory: Trajectory, current: int | None = None,
                  progress: Progress | None = None, device: torch.device | str | None = None) -> tuple[Path, ...]:
    """The outer-loop path (every checkpoint of ``trajectory``) and the inner-loop paths of the first
    ``n_paths`` tasks from the checkpoint at ``current`` (default: the latest), placed on the landscape's
    plane, with L at the real points and at their projections.

    The plane stays the landscape's: while a run goes on, later checkpoints are drawn on the same plane,
    and their residuals say how far they have left it."""
    lconfig, plane = landscape.config, landscape.plane
    ev = Evaluator(landscape.run, lconfig, device)
    learner = ev.learner
    segments: list[tuple[str, str, np.ndarray, np.ndarray]] = []
    outer = np.stack([flat_params(learner, p) for _, p in trajectory])
    segments.append(("outer loop (checkpoints)", "outer", np.array([s for s, _ in trajectory], float), outer))
    if lconfig.n_paths and learner.has_inner_loop:
        _, params = _at_step(trajectory, current)
        steps = lconfig.path_steps or int(getattr(learner.config, "inner_steps", 1)) or 1
        for i in range(min(lconfig.n_paths, ev.tasks.n_tasks)):
            points = inner_path_points(learner, params, ev.tasks.task(i), steps)
            segments.append((f"inner loop, task {i}", "inner", np.arange(steps + 1, dtype=float), points))
    everything = np.concatenate([seg[3] for seg in segments])
    coords, residual = plane.project(everything)
    on_plane = plane.centre[None] + coords @ np.stack([plane.d1, plane.d2])
    losses = ev.at_vectors(np.concatenate([everything, on_plane]), progress, f"{2 * len(everything)} path points")
    true_loss, plane_loss = losses[:len(everything)], losses[len(everything):]
    paths, start = [], 0
    for label, kind, x, points in segments:
        end = start + len(points)
        paths.append(Path(label, kind, x, coords[start:end], residual[start:end],
                          _relative(points, plane.centre, residual[start:end]), true_loss[start:end],
                          plane_loss[start:end]))
        start = end
    return tuple(paths)


# ---- a small run to draw when the session has none ------------------------------------------------------
def default_run_config(seed: int = 0, n_steps: int = 150) -> RunConfig:
    """MAML on sine waves (the paper's setting, K = 10, one inner step), short enough to train in a few
    seconds on the CPU: what the landscape page draws when no run is going."""
    return RunConfig(train=TrainConfig(n_steps=n_steps, eval_every=n_steps, n_eval_tasks=10, baseline=False),
                     seed=seed, device="cpu")


def train_trajectory(config: RunConfig, every: int = 10) -> tuple[tuple[int, dict[str, np.ndarray]], ...]:
    """Meta-train ``config`` for its ``n_steps`` and keep the meta-parameters at step 0 and every ``every``
    steps (and the last): the trajectory the outer-loop path and the PCA directions come from."""
    if every < 1:
        raise ValueError(f"every={every}: keep a checkpoint at least every 1 step")
    run = Run(config)
    kept = [(0, run.learner.state_numpy())]
    for event in train(run, config.train.n_steps):
        if isinstance(event, StepEvent) and (event.step % every == 0 or event.step == config.train.n_steps):
            kept.append((event.step, run.learner.state_numpy()))
        if run.status == "diverged":
            raise ValueError(run.message)
    return tuple(kept)


def default_run(seed: int = 0, n_steps: int = 150, every: int = 10):
    """(config, trajectory) of :func:`default_run_config` trained with a checkpoint every ``every`` steps."""
    from metaviz import trajectories  # shipped for the default seed: the page's first figure needs no training

    config = default_run_config(seed, n_steps)
    name = f"landscape-sine-maml-{n_steps}-every-{every}"
    return config, trajectories.cached(name, config, lambda: train_trajectory(config, every))


def colour_range(loss: np.ndarray, log: bool = True, upper_quantile: float = 0.98) -> tuple[float, float]:
    """A colour range for the grid that a few exploding corners cannot wash out: from the minimum to the
    ``upper_quantile`` of the finite values (log10 of them with ``log``)."""
    finite = loss[np.isfinite(loss)]
    if log:
        finite = np.log10(finite[finite > 0])
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = float(finite.min()), float(np.quantile(finite, upper_quantile))
    return (lo, hi if hi > lo else lo + 1.0)

