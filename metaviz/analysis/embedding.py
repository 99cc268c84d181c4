"""Embedding space: where a meta-learner puts the points of one task, before and after meta-training.

Idea (Snell et al. 2017, *Prototypical Networks*; Vinyals et al. 2016, *Matching
Networks*): a metric-based meta-learner learns a map f_phi from inputs to R^D in
which a new task is solved by distances alone. For N-way K-shot task with support
set S = {(x_j, y_j)} the *prototype* of class k is the mean of its support
features, and a point is given the class of the nearest prototype:

    c_k = (1 / K) sum_{j: y_j = k} f_phi(x_j)             [N, D]
    y_hat(x) = argmin_k |f_phi(x) - c_k|^2                (the nearest-prototype rule)

Meta-training should pull each class's points together and push classes apart,
for classes it never saw. The same picture can be drawn for any classification
learner from the *penultimate* features (the network without its final linear
head): MAML's features show whether the body already separates new classes
before any inner step (Raghu et al. 2020, "feature reuse").

What is drawn, for one task and for every saved checkpoint:

* features of the support and query points, and the prototypes, in R^D;
* a 2-D projection: PCA (linear: projected prototypes are exactly the means of the
  projected support points) or t-SNE (van der Maaten and Hinton 2008; nonlinear,
  on request, per checkpoint);
* the decision regions of the nearest-prototype rule *in the plane*: each cell of a
  2-D grid gets the class of the nearest projected prototype. This is an
  approximation: distances in the plane are not distances in R^D (the part of each
  point off the plane is dropped), so a point may sit in one colour and belong to
  another class in R^D. Each frame therefore also reports the rule's query accuracy
  in R^D, in the plane, and how often the two agree.

Frames must be comparable: with ``plane="fixed"`` one PCA is fitted on the last
checkpoint and applied to all (one linear map, so any movement is real); with
``plane="aligned"`` each checkpoint gets its own PCA, rotated (orthogonal Procrustes,
Schoenemann 1966) onto its successor's so that points do not flip or spin between
frames. The axes are shared by all frames.

Features depend on the batch with this project's backbones: BatchNorm uses the
statistics of the batch it sees (``models.py``). They are computed as the learners
compute them: the support set as one batch, the query set as another.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from metaviz import tasks
from metaviz.config import Config
from metaviz.functional import detach, forward
from metaviz.learners.base import MetaLearner
from metaviz.tasks.base import Episode
from metaviz.train import RunConfig, TrainConfig, build_learner
from metaviz.worker import Snapshot

LAYERS = ("auto", "embedding", "penultimate")
PLANES = ("fixed", "aligned")
ROLES = ("support", "query", "prototype")
VIEW_SEED_OFFSET = 3_000_017  # the viewed task comes from a stream no training step or evaluation uses

Params = Mapping[str, np.ndarray]


# ---- features -------------------------------------------------------------------------------------
def feature_layer(learner: MetaLearner, layer: str = "auto") -> str:
    """``auto``: a learner's own embedding when it has one (metric learners, CNP, the sequence model),
    else the penultimate layer."""
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {LAYERS}, not {layer!r}")
    if layer == "auto":
        return "embedding" if learner.has_embedding else "penultimate"
    if layer == "embedding" and not learner.has_embedding:
        raise ValueError(f"{learner.name} has no embedding of its own (its network outputs class scores): "
                         "choose the penultimate layer")
    return layer


def feature_keys(learner: MetaLearner, layer: str = "auto") -> tuple[str, ...]:
    """Names of the parameters the features of ``layer`` depend on."""
    if feature_layer(learner, layer) == "embedding":
        return tuple(learner.net_keys)
    if not isinstance(getattr(learner.net, "body", None), torch.nn.Module):
        raise ValueError(f"{type(learner.net).__name__} has no 'body' module: its penultimate features are unknown")
    return tuple(k for k in learner.params if k.startswith("body."))


def _torch(learner: MetaLearner, params: Mapping, keys) -> dict[str, torch.Tensor]:
    """``params[k]`` as tensors of the learner's dtype, checked against the learner's shapes."""
    out = {}
    for k in keys:
        if k not in params:
            raise ValueError(f"the parameters lack {k!r}: they do not belong to a {learner.name} network like this one")
        value = torch.as_tensor(np.asarray(params[k]), dtype=learner.params[k].dtype, device=learner.device)
        if value.shape != learner.params[k].shape:
            raise ValueError(f"parameter {k!r} has shape {tuple(value.shape)} but this network needs "
                             f"{tuple(learner.params[k].shape)}: the task's input shape or N-way differs from "
                             "the run's")
        out[k] = value
    return out


def _features(learner: MetaLearner, params: Mapping[str, torch.Tensor], x: torch.Tensor, layer: str) -> torch.Tensor:
    if feature_layer(learner, layer) == "embedding":
        return forward(learner.net, {k: params[k] for k in learner.net_keys}, x)
    body = {k[len("body."):]: v for k, v in params.items() if k.startswith("body.")}
    return forward(learner.net.body, body, x).flatten(1)


def features(learner: MetaLearner, params: Params, x: np.ndarray | torch.Tensor, layer: str = "auto") -> np.ndarray:
    """Features of inputs ``x`` [M, *in_shape] under numpy ``params``: [M, D] (float64).

    ``embedding``: the network's output for learners that compare points in it (the space of
    ProtoNet's prototypes); ``penultimate``: the network without its final linear head,
    ``body(x)``, so that ``head(features)`` gives the class scores of any classification learner.
    All M inputs form one batch (BatchNorm uses their statistics). ``learner`` is only used as a
    function: its own parameters are not changed."""
    keys = feature_keys(learner, layer)
    x = torch.as_tensor(np.asarray(x), dtype=learner.params[keys[0]].dtype, device=learner.device)
    if tuple(x.shape[1:]) != tuple(learner.task.in_shape):
        raise ValueError(f"inputs have shape {tuple(x.shape[1:])} but this network takes "
                         f"{tuple(learner.task.in_shape)}")
    with torch.no_grad():
        z = _features(learner, _torch(learner, params, keys), x, layer)
    return z.cpu().double().numpy()


def class_means(z: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Prototypes c_k = mean of the rows of ``z`` [S, D] with label k: [N, D] (NaN for a class with no row)."""
    onehot = (labels[:, None] == np.arange(n_classes)[None]).astype(z.dtype)       # [S, N]
    counts = onehot.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (onehot.T @ z) / counts[:, None]


def nearest(points: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """Label of the nearest prototype (squared Euclidean distance) of every row of ``points``: [M]."""
    d = ((points[:, None, :] - prototypes[None, :, :]) ** 2).sum(-1)                 # [M, N]
    return d.argmin(1)


@dataclass(frozen=True)
class TaskFeatures:
    """One task in feature space at one checkpoint. support [S, D], query [Q, D], prototypes [N, D];
    learner_accuracy: the learner's own query accuracy after its adaptation (None when its head does not
    fit the viewed task's N-way)."""

    step: int
    support: np.ndarray
    query: np.ndarray
    prototypes: np.ndarray
    learner_accuracy: float | None = None

    @property
    def points(self) -> np.ndarray:
        """support, query, prototypes stacked: [S + Q + N, D] (the order of every result here)."""
        return np.concatenate([self.support, self.query, self.prototypes])


def task_features(learner: MetaLearner, params: Params, episode: Episode, step: int = 0, layer: str = "auto",
                  adapted: bool = False, full: bool = True) -> TaskFeatures:
    """Features of one task's support and query sets (separate batches, as the learners embed them) and
    the class means of the support features.

    ``adapted``: features under the parameters after the learner's own inner loop on the support set
    (first order; MAML moves its body, ANIL and the metric learners do not). ``full``: ``params`` fit
    every parameter of ``learner`` (its head matches the task), so its own accuracy can be measured."""
    keys = tuple(learner.params) if full else feature_keys(learner, layer)
    p = _torch(learner, params, keys)
    ep = episode.to(learner.device, next(iter(p.values())).dtype)
    n = int(ep.support_y.max()) + 1
    accuracy, out = None, None
    if full:  # the learner's own rule after its own adaptation (first order: no meta-gradient is needed)
        out = detach(learner.adapt(p, ep.support_x, ep.support_y, first_order=True).params)
        with torch.no_grad():
            accuracy = float((learner.predict(out, ep.query_x).argmax(-1) == ep.query_y).float().mean())
    if adapted:
        if out is None:
            raise ValueError("features after the inner loop need the whole network, and its head does not fit this "
                             "task: view the run's own N-way, or turn 'after the inner loop' off")
        p = out
    with torch.no_grad():
        zs = _features(learner, p, ep.support_x, layer).cpu().double().numpy()
        zq = _features(learner, p, ep.query_x, layer).cpu().double().numpy()
    return TaskFeatures(step, zs, zq, class_means(zs, ep.support_y.cpu().numpy(), n), accuracy)


# ---- projections ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PCA:
    """A 2-D principal-component plane: coords = (z - mean) @ components.T.

    mean [D]; components [2, D], orthonormal rows, the top right singular vectors of the centred data,
    each signed so that its largest-magnitude entry is positive; explained [2]: the fraction of the
    total variance along each."""

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    def transform(self, z: np.ndarray) -> np.ndarray:
        return (z - self.mean) @ self.components.T


def fit_pca(z: np.ndarray) -> PCA:
    """PCA of the rows of ``z`` [M, D] by SVD; fewer than 2 directions (D = 1, or identical rows) are
    padded with zero components, so the plane always has two axes."""
    mean = z.mean(0)
    _, s, vt = np.linalg.svd(z - mean, full_matrices=False)
    k = min(2, vt.shape[0])
    comps = np.zeros((2, z.shape[1]))
    comps[:k] = vt[:k]
    signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    total = float((s ** 2).sum())
    explained = np.zeros(2)
    explained[:k] = s[:k] ** 2 / total if total > 0 else 0.0
    return PCA(mean, comps, explained)


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The orthogonal R [d, d] (rotation or reflection) minimising |source @ R - target|_F.

    With U S V^T = svd(source^T target), R = U V^T (Schoenemann 1966); rows correspond."""
    u, _, vt = np.linalg.svd(source.T @ target)
    return u @ vt


def align_to(coords: np.ndarray, target: np.ndarray, scale: bool = False) -> np.ndarray:
    """``coords`` [M, 2] rotated (and with ``scale`` uniformly scaled) about its centroid onto ``target``'s
    position: the orthogonal Procrustes fit of the same points."""
    c, t = coords - coords.mean(0), target - target.mean(0)
    r = procrustes(c, t)
    s = 1.0
    if scale:
        norm = float((c ** 2).sum())
        s = float(np.trace((c @ r).T @ t)) / norm if norm > 0 else 1.0
    return s * c @ r + target.mean(0)


def project(frames: Sequence[TaskFeatures], plane: str = "fixed") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """PCA coordinates [S + Q + N, 2] of every frame's points, and each frame's explained variance [2].

    ``fixed``: one PCA, fitted on the support and query features of the last frame, for all frames.
    ``aligned``: each frame's own PCA, rotated by Procrustes onto the next frame's aligned coordinates
    (from the last frame backwards), so neighbouring frames agree as well as a rotation allows."""
    if plane not in PLANES:
        raise ValueError(f"plane must be one of {PLANES}, not {plane!r}")
    data = [np.concatenate([f.support, f.query]) for f in frames]
    if plane == "fixed":
        pca = fit_pca(data[-1])
        return [pca.transform(f.points) for f in frames], [_explained(pca, d) for d in data]
    coords, explained = [None] * len(frames), [None] * len(frames)
    for i in reversed(range(len(frames))):
        pca = fit_pca(data[i])
        xy = pca.transform(frames[i].points)
        if i + 1 < len(frames):  # rotate about the origin (the data's mean): the same map for every point
            n = len(data[i])
            xy = xy @ procrustes(xy[:n], coords[i + 1][:n])
        coords[i], explained[i] = xy, pca.explained
    return coords, explained


def _explained(pca: PCA, z: np.ndarray) -> np.ndarray:
    """Fraction of ``z``'s variance along each axis of ``pca`` (a plane fitted on other data)."""
    c = z - z.mean(0)
    total = float((c ** 2).sum())
    return ((c @ pca.components.T) ** 2).sum(0) / total if total > 0 else np.zeros(2)


def tsne(z: np.ndarray, init: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """t-SNE of the rows of ``z`` [M, D] to 2-D (scikit-learn), started from ``init`` [M, 2] (the frame's PCA
    coordinates) and then rotated and scaled by Procrustes onto them, so that it faces the same way as the
    PCA picture. The perplexity is capped at (M - 1) / 3 for small tasks. t-SNE keeps neighbourhoods;
    distances between clusters and cluster sizes in its picture mean nothing."""
    from sklearn.manifold import TSNE

    m = z.shape[0]
    if m < 4:
        raise ValueError(f"t-SNE needs at least 4 points; this task has {m}: raise K-shot or the queries")
    start = init - init.mean(0)
    spread = float(start[:, 0].std())
    start = start / spread * 1e-4 if spread > 0 else start  # scikit-learn's own scale for an initialisation
    out = TSNE(n_components=2, perplexity=min(perplexity, max(1.0, (m - 1) / 3)), init=start.astype(np.float32),
               learning_rate="auto", random_state=seed).fit_transform(z.astype(np.float32))
    return align_to(out.astype(np.float64), init, scale=True)


# ---- decision regions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Regions:
    """The nearest-prototype rule on a 2-D grid: labels[i, j] is the class of the projected prototype
    nearest to (x[j], y[i]) (rows follow y, as in a heatmap). x [G], y [G], labels [G, G]."""

    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray


def decision_regions(prototypes: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float],
                     size: int = 120) -> Regions:
    """Colour a ``size`` x ``size`` grid by the nearest of the 2-D ``prototypes`` [N, 2] (row k = label k):
    the Voronoi cells of the projected prototypes, an approximation of the rule in R^D."""
    x, y = np.linspace(*x_range, size), np.linspace(*y_range, size)
    grid = np.stack(np.meshgrid(x, y), -1).reshape(-1, 2)                         # [G*G, 2], x fastest
    return Regions(x, y, nearest(grid, prototypes).reshape(size, size))


def padded_range(values: np.ndarray, pad: float = 0.08) -> tuple[float, float]:
    lo, hi = float(np.min(values)), float(np.max(values))
    width = hi - lo if hi > lo else max(abs(lo), 1.0)
    return lo - pad * width, hi + pad * width


# ---- results --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbeddingResult:
    """Points of one picture in a 2-D plane, for :func:`metaviz.figures.embedding.embedding_figure`.

    coords [M, 2]; labels [M] (task labels 0..N-1); roles [M] ("support", "query", "prototype");
    class_names [N]. Optional: nearest [M], the label of each point's nearest prototype in the full
    space; regions (see :class:`Regions`); images [K, C, H, W] of the first K points (values in [0, 1]);
    axis titles; and the rule's query accuracy in the full space, in the plane, and the fraction of
    points whose nearest prototype is the same in both (agreement)."""

    coords: np.ndarray
    labels: np.ndarray
    roles: np.ndarray
    class_names: tuple[str, ...]
    nearest: np.ndarray | None = None
    regions: Regions | None = None
    images: np.ndarray | None = None
    step: int = 0
    method: str = "pca"
    axis_titles: tuple[str, str] = ("1", "2")
    accuracy: float | None = None
    plane_accuracy: float | None = None
    agreement: float | None = None
    learner_accuracy: float | None = None

    def image(self, i: int) -> np.ndarray | None:
        """The image [C, H, W] of point ``i``, or None (prototypes and non-image tasks have none)."""
        return None if self.images is None or i >= len(self.images) else self.images[i]

    def scores(self, learner: str = "the learner") -> list[tuple[str, float, str]]:
        """(name, value, explanation) of each score this result has, for display."""
        rows = [("Nearest prototype, full space", self.accuracy, "Query accuracy of the rule in R^D."),
                ("Nearest prototype, in the plane", self.plane_accuracy, "Query accuracy of the rule between the "
                 "projected points: what the coloured regions show."),
                ("Plane agrees with full space", self.agreement, "Support and query points whose nearest "
                 "prototype is the same in the plane and in R^D."),
                (f"{learner}'s own prediction", self.learner_accuracy, "Its query accuracy after its own "
                 "adaptation to the support set.")]
        return [row for row in rows if row[1] is not None]

    def support_images(self, label: int) -> np.ndarray | None:
        """Images [K, C, H, W] of the support points of class ``label`` (its prototype is their mean's feature)."""
        if self.images is None:
            return None
        idx = np.flatnonzero((self.roles[:len(self.images)] == "support") & (self.labels[:len(self.images)] == label))
        return self.images[idx]


@dataclass(frozen=True)
class TaskView:
    """Which task to look at: a classification family and its config, a split and a seed."""

    family: str
    task_config: Config
    split: str = "test"
    task_seed: int = 0


@dataclass(frozen=True)
class EmbeddingFrames:
    """One picture per checkpoint of the same task in the same plane, sharing x_range and y_range.

    features: each frame's points in R^D (for t-SNE on request); layer: "embedding" or "penultimate";
    plane: "fixed" or "aligned"; seconds: time to compute features, projections and regions."""

    frames: tuple[EmbeddingResult, ...]
    features: tuple[TaskFeatures, ...]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    layer: str
    plane: str
    learner: str
    seconds: float

    @property
    def steps(self) -> list[int]:
        return [f.step for f in self.frames]


def view_task(view: TaskView) -> tuple[Episode, np.ndarray | None, tuple[str, ...]]:
    """One task of ``view``: its episode (no task dimension), images of its support then query points
    ([S + Q, C, H, W], or None when inputs are not images) and the name of the class behind each label."""
    from metaviz.analysis.tasks import image_shape

    task = tasks.get(view.family)(view.task_config)
    if task.kind != "classification":
        raise ValueError(f"the embedding view needs a classification task; {view.family} is {task.kind}")
    batch = task.sample(1, torch.Generator().manual_seed(VIEW_SEED_OFFSET + view.task_seed), view.split)
    ep = batch.episode.task(0)
    n = task.out_dim
    pool = getattr(task, "pool", None)
    if pool is not None and "classes" in batch.truth:
        names = tuple(pool.names[c] for c in batch.truth["classes"][0].tolist())
    else:
        names = tuple(f"class {k}" for k in range(n))
    shape = image_shape(task)
    images = None
    if shape is not None:
        x = torch.cat([ep.support_x, ep.query_x])
        images = x.reshape(x.shape[0], *shape).float().numpy()
    return ep, images, names


def viewing_learner(config: RunConfig, view: TaskView, params: Params, layer: str = "auto") -> tuple[MetaLearner, bool]:
    """The run's learner built for the viewed task (CPU), and whether ``params`` fit all of it (else only its
    feature layers fit: another N-way changes a classifier's head, not its body)."""
    if tasks.get(view.family).kind != "classification":
        raise ValueError(f"the embedding view needs a classification task; {view.family} is not one")
    learner = build_learner(dataclasses.replace(config, task=view.family, task_config=view.task_config,
                                                test_task_config=None, device="cpu"))
    run_shape, view_shape = tasks.get(config.task)(config.task_config).in_shape, learner.task.in_shape
    if tuple(run_shape) != tuple(view_shape):
        raise ValueError(f"this run's network takes inputs of shape {tuple(run_shape)} ({config.task}), but "
                         f"{view.family} with these settings gives {tuple(view_shape)}: view {config.task}, or a "
                         "family and image size with the same input shape")
    full = set(params) == set(learner.params) and all(
        tuple(np.shape(params[k])) == tuple(v.shape) for k, v in learner.params.items())
    if not full:
        _torch(learner, params, feature_keys(learner, layer))  # raises with the mismatch when even those differ
    return learner, full


def fingerprint(params: Params) -> int:
    """A cheap hash of parameters: the names, shapes and first values of every array (two training runs differ
    in all of them, a copy in none)."""
    return hash(tuple((k, np.shape(v), np.asarray(v).ravel()[:4].tobytes()) for k, v in sorted(params.items())))


def thin(items: Sequence, at_most: int) -> list:
    """At most ``at_most`` of ``items``, evenly spaced, the first and the last kept."""
    if len(items) <= at_most:
        return list(items)
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, max(at_most, 2)).round().astype(int))]


def embedding_frames(config: RunConfig, checkpoints: Sequence[tuple[int, Params]], view: TaskView,
                     plane: str = "fixed", layer: str = "auto", adapted: bool = False,
                     grid: int = 120, max_frames: int = 12, cache: MutableMapping | None = None) -> EmbeddingFrames:
    """Features, PCA coordinates and decision regions of one task at the checkpoints ``(step, params)`` of a
    run with ``config`` (ordered by step; at most ``max_frames`` of them, evenly spaced, first and last kept;
    the plane is fitted on the last one). Runs on the CPU: a 20-way 5-shot Omniglot task through a Conv4 of
    64 filters takes about a second per checkpoint on a busy core.

    ``cache``: a dict the caller keeps, holding each checkpoint's features under (config, view, layer, adapted,
    step, a fingerprint of the parameters), so that a run that has saved one more checkpoint costs one more
    forward pass, not all of them."""
    if not checkpoints:
        raise ValueError("no checkpoints to draw: train the run for a few steps first")
    start = time.perf_counter()
    checkpoints = thin(checkpoints, max_frames)
    learner, full = viewing_learner(config, view, checkpoints[-1][1], layer)
    ep, images, names = view_task(view)
    cache = {} if cache is None else cache
    feats = []
    for step, params in checkpoints:
        slot = (config, view, layer, adapted, step, fingerprint(params))
        if slot not in cache:
            cache[slot] = task_features(learner, params, ep, step, layer, adapted, full)
        feats.append(cache[slot])
    coords, explained = project(feats, plane)
    x_range = padded_range(np.concatenate([c[:, 0] for c in coords]))
    y_range = padded_range(np.concatenate([c[:, 1] for c in coords]))
    frames = tuple(frame_result(f, xy, ep, names, images, x_range, y_range, grid, "pca",
                                tuple(f"PC {i + 1} ({100 * e:.0f}% of the variance)" for i, e in enumerate(ex)))
                   for f, xy, ex in zip(feats, coords, explained))
    return EmbeddingFrames(frames, tuple(feats), x_range, y_range, feature_layer(learner, layer), plane,
                           config.learner, time.perf_counter() - start)


def frame_result(f: TaskFeatures, xy: np.ndarray, ep: Episode, names: tuple[str, ...], images: np.ndarray | None,
                 x_range, y_range, grid: int, method: str, axis_titles: tuple[str, str]) -> EmbeddingResult:
    """The picture of one frame: roles, labels, nearest prototypes in R^D and in the plane, regions, scores."""
    s, q, n = len(f.support), len(f.query), len(f.prototypes)
    labels = np.concatenate([ep.support_y.cpu().numpy(), ep.query_y.cpu().numpy(), np.arange(n)])
    roles = np.array(["support"] * s + ["query"] * q + ["prototype"] * n)
    full_nearest = nearest(f.points, f.prototypes)
    plane_nearest = nearest(xy, xy[s + q:])
    data = slice(0, s + q)
    return EmbeddingResult(xy, labels, roles, names, full_nearest, decision_regions(xy[s + q:], x_range, y_range, grid),
                           images, f.step, method, axis_titles,
                           accuracy=float((full_nearest[s:s + q] == labels[s:s + q]).mean()),
                           plane_accuracy=float((plane_nearest[s:s + q] == labels[s:s + q]).mean()),
                           agreement=float((plane_nearest[data] == full_nearest[data]).mean()),
                           learner_accuracy=f.learner_accuracy)


def tsne_frame(frames: EmbeddingFrames, index: int, view: TaskView, seed: int = 0, grid: int = 120) -> EmbeddingResult:
    """Frame ``index`` of ``frames`` drawn by t-SNE instead of PCA (prototypes are embedded as points
    among the others, so a prototype is not the mean of its class's pictured points). Its own axes."""
    base, f = frames.frames[index], frames.features[index]
    xy = tsne(f.points, base.coords, seed)
    ep, _, _ = view_task(view)
    return frame_result(f, xy, ep, base.class_names, base.images, padded_range(xy[:, 0]), padded_range(xy[:, 1]),
                        grid, "tsne", ("t-SNE 1", "t-SNE 2"))


# ---- where checkpoints come from ------------------------------------------------------------------
def with_initial(config: RunConfig, checkpoints: Sequence[tuple[int, Params]]) -> tuple[tuple[int, Params], ...]:
    """``checkpoints`` ordered by step, with step 0 rebuilt from the run's seed when it is missing: a run's
    initial parameters are a function of its config alone, so "before meta-training" is always available."""
    out = sorted(((int(s), p) for s, p in checkpoints), key=lambda c: c[0])
    if not out or out[0][0] != 0:
        out.insert(0, (0, build_learner(config).state_numpy()))
    return tuple(out)


def snapshot_checkpoints(snapshot: Snapshot) -> tuple[RunConfig, tuple[tuple[int, Params], ...]] | None:
    """The run config and learner checkpoints (the saved ones and the latest) of a worker snapshot, when it
    holds a classification run with parameters (else None)."""
    config, latest = snapshot.config, snapshot.checkpoint
    saved = {c.step: c for c in (*snapshot.checkpoints, *([latest] if latest else []))}
    if config is None or not saved or tasks.get(config.task).kind != "classification":
        return None
    return config, with_initial(config, [(c.step, c.learner) for c in saved.values()])


@dataclass(frozen=True)
class QuickRun:
    """A run's config and its learner's parameters at a few steps: (step, params), step 0 first."""

    config: RunConfig
    checkpoints: tuple[tuple[int, dict[str, np.ndarray]], ...]
    seconds: float


def omniglot_available() -> bool:
    """Whether Omniglot's minimal background sets are on this machine (nothing is downloaded)."""
    from metaviz.data.omniglot import SOURCES, find_or_download

    try:
        for name in SOURCES["minimal"]:
            find_or_download(name)
    except FileNotFoundError:
        return False
    return True


def quick_config(task: str = "auto", seed: int = 0, n_steps: int | None = None) -> RunConfig:
    """The small ProtoNet run the page opens on when there is nothing else to show, 5-way 1-shot:

    * Omniglot (when its data is here) at 16 x 16 pixels, a Conv4 of 32 filters, meta-batch 2, 40 meta-iterations:
      7 s on one busy CPU core (2.5 s more to load the characters once), and the nearest-prototype accuracy on
      meta-test characters climbs from 43% to 78% (mean over 8 tasks);
    * else scikit-learn's digits, 100 meta-iterations in about a second. With only five meta-training digits,
      every task has the same five classes: the embedding learns *those* and held-out digits get worse (about 70%
      down to 30% on the tasks tried), meta-overfitting in its plainest form."""
    from metaviz.tasks.digits import DigitsConfig
    from metaviz.tasks.omniglot import OmniglotConfig

    if task == "auto":
        task = "omniglot" if omniglot_available() else "digits"
    if task == "omniglot":
        task_config, hidden, batch, steps = OmniglotConfig(n_way=5, k_shot=1, n_query=5, size=16), 32, 2, 40
    elif task == "digits":
        task_config, hidden, batch, steps = DigitsConfig(n_way=5, k_shot=1, n_query=5), 64, 8, 100
    else:
        raise ValueError(f"the quick run trains on omniglot or digits, not {task!r}")
    steps = n_steps or steps
    return RunConfig(task=task, learner="protonet", task_config=task_config, seed=seed, device="cpu",
                     train=TrainConfig(n_steps=steps, meta_batch=batch, meta_lr=0.01, eval_every=steps, n_eval_tasks=1,
                                       eval_steps=0, baseline=False, hidden=hidden))


def quick_run(config: RunConfig, n_checkpoints: int = 11) -> QuickRun:
    """Meta-train ``config`` (on its device) and keep the learner's parameters at ``n_checkpoints`` evenly
    spaced steps, step 0 and the last included."""
    from metaviz import trajectories
    from metaviz.events import StepEvent
    from metaviz.train import Run, train

    n_steps = config.train.n_steps
    every = max(1, n_steps // max(1, n_checkpoints - 1))

    def trained():
        run = Run(config)
        saved = [(0, run.learner.state_numpy())]
        for event in train(run, n_steps):
            if isinstance(event, StepEvent) and (event.step % every == 0 or event.step == n_steps):
                saved.append((event.step, run.learner.state_numpy()))
        return tuple(saved)

    start = time.perf_counter()  # the default seed's run ships (scripts/train_demo_zoo.py): no training at open
    saved = trajectories.cached(f"embedding-{config.learner}-{config.task}-{n_steps}-{n_checkpoints}", config, trained)
    return QuickRun(config, saved, time.perf_counter() - start)


def zoo_run(name: str = "protonet-omniglot") -> QuickRun:
    """A checkpoint shipped in ``metaviz/zoo/``, with its step 0 rebuilt from its config's seed (an ensemble:
    its first member, since an embedding belongs to one network)."""
    from metaviz import checkpoint

    shipped = checkpoint.zoo()
    if name not in shipped:
        raise ValueError(f"no shipped checkpoint {name!r}; shipped: {sorted(shipped) or 'none'}")
    loaded = checkpoint.load(shipped[name])
    params = checkpoint.members(loaded.params)[0]
    return QuickRun(loaded.config, with_initial(loaded.config, [(loaded.step, params)]), 0.0)
