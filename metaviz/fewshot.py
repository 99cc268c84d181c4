"""Few-shot learning on your own examples: adapt a meta-trained learner to them and classify new ones.

This is what meta-learning is for: Lake et al. (2015) asked machines to learn a
new character from one drawing, as people do. A learner meta-trained on many
N-way tasks gets *one more task*, made by the user: a support set of n classes
with a few labelled images each, and query images to label. The learner adapts
exactly as it did in meta-testing (``MetaLearner.adapt``: gradient steps for
MAML-like learners, prototypes for Prototypical Networks, ...) and predicts.

What comes back (small dataclasses of numpy arrays):

* :func:`classify`: class probabilities per query, and for learners that adapt
  with gradient steps the probabilities after each inner step,
  p_t(y | x) = softmax(f_{theta_t}(x)), theta_{t+1} = theta_t - alpha grad L_S(theta_t),
  for t = 0 .. T (t = 0 is the meta-learned starting point, before any step).
* :func:`leave_one_out`: an honest estimate of accuracy on the user's task from
  the support set alone. Each support example x_i of a class with at least two
  examples is held out, the learner adapts to the other S - 1 examples, and x_i
  is classified; the estimate is the fraction right. A class with one example
  (1-shot) cannot be scored: without x_i its class has no example left to learn
  from, so leave-one-out says nothing for 1-shot support sets. Each held-out
  example costs one adaptation, so at most :data:`MAX_HELD_OUT` are held out,
  taken in turn from each class (first examples first).
* :func:`familiarity`: whether the images look like the model's meta-training
  data (see there). A model meta-trained on characters has never seen a photo;
  its predictions on photos mean little.

Conventions.

* Head size. Learners whose network has one output per class (MAML, Reptile,
  ANIL, Meta-SGD, the baselines, ...) can tell at most N classes apart, N being
  the N-way they were meta-trained on. With n < N user classes, the first n
  outputs are used, in the inner loop and in the prediction (cross-entropy and
  softmax over those n only). With n > N, :class:`HeadSizeError` names the limit.
  Metric learners (Prototypical, Matching, Siamese) have no such head and are
  rebuilt for n classes.
* BatchNorm. The backbones normalise each batch by its own statistics (no running
  averages, as in MAML's reference code), so a prediction depends on the batch.
  Each query is therefore classified in a batch with the support set, never with
  the other queries: adding or removing a query never changes another's answer.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import vmap

from metaviz import learners
from metaviz.analysis.embedding import EmbeddingResult
from metaviz.data.uploads import Preprocessing, QuerySet, SupportSet, preprocessing_for
from metaviz.functional import detach
from metaviz.learners.base import MetaLearner
from metaviz.messages import KeyedError
from metaviz.models import build_model
from metaviz.tasks.base import TaskDistribution

MAX_STEPS = 50           # inner steps shown at most
CHUNK_IMAGES = 512       # images per forward pass when queries are batched with the support set
MAX_PLANE_QUERIES = 100  # queries drawn in the embedding plane
MAX_HELD_OUT = 60        # leave-one-out holds out at most this many examples (each costs one adaptation)
FAMILIAR_MARGIN = 0.25   # the training range of a statistic, widened by this share of its width on each side
FAMILIAR_QUANTILE = 0.005


class FewShotError(KeyedError):
    """A model and a user's task that do not go together (too few classes, parameters that do not fit the
    model, images preprocessed for another model); the message says why (its key: :mod:`metaviz.messages`)."""


class HeadSizeError(FewShotError):
    """More user classes than the model's output head has classes."""


class UserTask(TaskDistribution):
    """The user's task as a learner sees it: inputs of ``in_shape``, a network with ``out_dim`` class
    outputs of which the first ``n_classes`` are used. Nothing to sample: there is one task."""

    kind = "classification"

    def __init__(self, in_shape: tuple[int, ...], out_dim: int, n_classes: int):
        super().__init__(None)
        self._in_shape, self._out_dim, self.n_classes = tuple(in_shape), int(out_dim), int(n_classes)

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self._in_shape

    @property
    def out_dim(self) -> int:
        return self._out_dim

    def sample(self, n_tasks, generator, split="train"):
        raise TypeError("a user's task is given, not sampled")

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy over the first ``n_classes`` outputs."""
        return F.cross_entropy(prediction[..., :self.n_classes], target)


def _shapes(params: Mapping[str, object]) -> dict[str, tuple[int, ...]]:
    # a metric learner's support-summary placeholders are empty and shaped by N: not compared
    return {k: tuple(v.shape) for k, v in params.items() if int(np.prod(v.shape))}


def head_size(config) -> int:
    """N of the N-way tasks a run was meta-trained on."""
    return int(getattr(config.task_config, "n_way", 0))


def learner_for(config, params: Mapping[str, np.ndarray], n_classes: int) -> MetaLearner:
    """The run's learner (``config``: a RunConfig) for a task of ``n_classes`` classes, with ``params``
    (numpy, as ``state_numpy`` gives them) loaded, on the CPU. Raises :class:`HeadSizeError` when the
    network has fewer class outputs than ``n_classes``, ValueError when ``params`` do not fit."""
    if n_classes == 1:
        raise FewShotError("classification needs at least two classes with images; there is 1",
                           "err_fewshot.one_class")
    if n_classes < 2:
        raise FewShotError(f"classification needs at least two classes with images; there are {n_classes}",
                           "err_fewshot.too_few_classes", n=str(n_classes))
    cls = learners.get(config.learner)
    if "classification" not in cls.kinds:
        raise FewShotError(f"{cls.title or cls.name} does not classify", "err_fewshot.not_classifier",
                           model=cls.title or cls.name)
    spec = preprocessing_for(config)
    lc, train = config.learner_config, config.train

    def build(out_dim: int) -> MetaLearner:
        task = UserTask(spec.input_shape, out_dim, n_classes)
        net = build_model(task.in_shape, cls.net_out_dim(task, lc), train.hidden, train.layers, seed=config.seed,
                          backbone=train.backbone)
        return cls(lc, task, net, "cpu", strategy="loop")

    found = _shapes(params)
    learner = build(n_classes)
    if _shapes(learner.params) != found:
        n_way = head_size(config)
        if n_classes > n_way:
            raise HeadSizeError(
                f"this {cls.title or cls.name} model has an output for each of {n_way} classes (it was meta-trained "
                f"on {n_way}-way tasks), so it can tell at most {n_way} classes apart; you gave {n_classes}. Remove "
                f"classes, meta-train a {n_classes}-way model on the Train page, or choose a metric-based model "
                "(Prototypical Networks), which takes any number of classes", "err_fewshot.head_size",
                model=cls.title or cls.name, n_way=str(n_way), n=str(n_classes))
        learner = build(n_way)
        expected = _shapes(learner.params)
        if expected != found:
            wrong = sorted(set(expected) ^ set(found) | {k for k in set(expected) & set(found)
                                                         if expected[k] != found[k]})
            raise FewShotError(f"the parameters do not fit a {config.learner} learner for {config.task} "
                               f"(differences in {wrong[:5]})", "err_fewshot.params_mismatch",
                               learner=config.learner, task=config.task, wrong=str(wrong[:5]))
    learner.load_numpy(params)
    return learner


# ---- classifying queries -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Prediction:
    """Queries classified after adapting to the support set.

    probabilities [Q, n] (rows sum to 1), predicted [Q] (argmax). For learners that adapt by gradient
    steps, ``steps`` [T + 1, Q, n] holds the query probabilities after 0, 1, ..., T inner steps (its
    last row equals ``probabilities``) and ``support_loss`` [T + 1] the support loss at each; both are
    None for learners that read the support set in one pass (metric learners, CNP, sequence models).
    ``logits`` [Q, n]: the class outputs before the temperature (what calibration is fitted on).
    """

    classes: tuple[str, ...]
    probabilities: np.ndarray
    predicted: np.ndarray
    steps: np.ndarray | None = None
    support_loss: np.ndarray | None = None
    logits: np.ndarray | None = None


def _tensor(x: np.ndarray, spec: Preprocessing) -> torch.Tensor:
    x = torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32))
    return x.reshape(x.shape[0], *spec.input_shape)


def _query_logits(learner: MetaLearner, adapted: Mapping[str, torch.Tensor], support_x: torch.Tensor,
                  query_x: torch.Tensor) -> torch.Tensor:
    """Class outputs [Q, n] of each query, in a batch with the support set (see the module docstring)."""
    n = learner.task.n_classes
    per_chunk = max(1, CHUNK_IMAGES // (support_x.shape[0] + 1))
    out = []
    with torch.no_grad():
        for start in range(0, query_x.shape[0], per_chunk):
            q = query_x[start:start + per_chunk]
            batch = torch.cat([support_x.expand(q.shape[0], *support_x.shape), q[:, None]], 1)  # [q, S + 1, ...]
            out.append(vmap(lambda b: learner.predict(adapted, b)[-1])(batch)[:, :n])
    return torch.cat(out)


def _adapt(learner: MetaLearner, sx: torch.Tensor, sy: torch.Tensor, steps: int):
    return learner.adapt(detach(learner.params), sx, sy, steps=steps, first_order=True).params


def default_steps(learner: MetaLearner) -> int:
    """The inner steps a learner was meta-trained with (0 for one-pass learners)."""
    return int(getattr(learner.config, "inner_steps", 0)) if learner.has_inner_loop else 0


def _mean_log_probability(logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """log of the mean of softmax(z) over ``logits`` (each [..., n]): the ensemble's (or copies') logits."""
    stacked = torch.stack([F.log_softmax(z, -1) for z in logits])
    return torch.logsumexp(stacked, 0) - np.log(len(logits))


def _copy_logits(learner: MetaLearner, adapted, sx: torch.Tensor, qx: torch.Tensor, copies: int,
                 seed: int) -> torch.Tensor:
    """Class outputs [Q, n]: each query's own copies (:func:`metaviz.data.augment.copies`), each classified in
    a batch with the support set alone, their probabilities averaged."""
    if not copies:
        return _query_logits(learner, adapted, sx, qx)
    from metaviz.data import augment

    q = augment.copies(qx, copies, seed)                                                # [Q, k + 1, C, H, W]
    z = _query_logits(learner, adapted, sx, q.flatten(0, 1)).reshape(len(qx), copies + 1, -1)
    return _mean_log_probability(list(z.unbind(1)))


def _support_copies(sx: torch.Tensor, sy: torch.Tensor, copies: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The support set with ``copies`` warped copies of each image, labelled as it (prototypes then average
    over them; gradient learners fine-tune on them)."""
    if not copies:
        return sx, sy
    from metaviz.data import augment

    return augment.copies(sx, copies, seed + 1).flatten(0, 1), sy.repeat_interleave(copies + 1)


def classify(config, params: Mapping[str, np.ndarray], support_x: np.ndarray, support_y: np.ndarray,
             query_x: np.ndarray, classes: Sequence[str], steps: int | None = None,
             temperature: float = 1.0, copies: int = 0, seed: int = 0) -> Prediction:
    """Adapt to the support set (support_x [S, C, H, W], support_y [S] in 0..n-1, n = len(classes)) and
    classify query_x [Q, C, H, W]. ``steps``: inner steps for gradient learners (default: as many as
    in meta-training; at most :data:`MAX_STEPS`). ``temperature``: the probabilities are
    softmax(logits / T) (the checkpoint's calibration, :mod:`metaviz.calibration`; no prediction changes).

    ``params`` may be an ensemble (:func:`metaviz.checkpoint.members`): each member adapts and classifies
    on its own and the logits are log of the members' mean probability, log (1/M) sum_m softmax(z_m).
    ``copies`` > 0: test-time augmentation from the support set only: each support image gets ``copies``
    warped copies with its label, and each query is classified with its own ``copies`` warped copies
    (``seed`` draws the warps, the same for every image), probabilities averaged as for members."""
    from metaviz import checkpoint
    from metaviz.checkpoint import members

    if not temperature > 0:
        raise ValueError(f"the temperature must be positive, not {temperature}")
    if not 0 <= copies <= checkpoint.MAX_COPIES:
        raise ValueError(f"test-time copies must be between 0 and {checkpoint.MAX_COPIES}, not {copies}")
    spec = preprocessing_for(config)
    n = len(classes)
    parts = members(params)
    learners_ = [learner_for(config, p, n) for p in parts]
    sx, sy = _tensor(support_x, spec), torch.as_tensor(np.asarray(support_y), dtype=torch.int64)
    qx = _tensor(query_x, spec)
    if sy.numel() and (int(sy.min()) < 0 or int(sy.max()) >= n):
        raise ValueError(f"support labels must lie in 0..{n - 1}")
    ax, ay = _support_copies(sx, sy, copies, seed)
    first = learners_[0]
    if not first.has_inner_loop:
        logits = _mean_log_probability([_copy_logits(m, _adapt(m, ax, ay, 0), ax, qx, copies, seed)
                                        for m in learners_]) if len(parts) > 1 or copies else \
            _query_logits(first, _adapt(first, sx, sy, 0), sx, qx)
        probabilities = F.softmax(logits / temperature, -1).numpy()
        return Prediction(tuple(classes), probabilities, probabilities.argmax(-1), logits=logits.numpy())
    steps = default_steps(first) if steps is None else int(steps)
    if not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"inner steps must be between 0 and {MAX_STEPS}, not {steps}")
    trajectory, losses = [], []
    for t in range(steps + 1):  # theta_t = t steps from the meta-learned start, each adapt() from scratch
        per_member, loss = [], 0.0
        for m in learners_:
            adapted = _adapt(m, ax, ay, t)
            per_member.append(_copy_logits(m, adapted, ax, qx, copies, seed))
            with torch.no_grad():
                loss += float(m.support_loss(adapted, sx, sy)) / len(learners_)
        logits = per_member[0] if len(per_member) == 1 and not copies else _mean_log_probability(per_member)
        trajectory.append(F.softmax(logits / temperature, -1).numpy())
        losses.append(loss)
    probs = np.stack(trajectory)
    return Prediction(tuple(classes), probs[-1], probs[-1].argmax(-1), probs, np.array(losses), logits.numpy())


# ---- leave-one-out -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeaveOneOut:
    """Leave-one-out on the support set (see the module docstring).

    scored [S] bool (its class has >= 2 examples), predicted [S] (-1 where not scored), correct [S] bool,
    probabilities [S, n] (NaN rows where not scored), accuracy over the scored examples (NaN when none),
    per_class [n] accuracy (NaN for 1-shot classes), and a sentence for the page.
    """

    scored: np.ndarray
    predicted: np.ndarray
    correct: np.ndarray
    probabilities: np.ndarray
    accuracy: float
    per_class: np.ndarray
    message: str


def _round_robin(y: np.ndarray) -> np.ndarray:
    """The order in which examples are held out: the first example of every class (among classes with
    two or more), then the second of every class, ...; [S] ranks 0.. (S for examples never eligible)."""
    counts = np.bincount(y)
    eligible = counts[y] >= 2
    within = np.array([int((y[:i] == y[i]).sum()) for i in range(len(y))])   # index of i in its class
    order = sorted(np.flatnonzero(eligible), key=lambda i: (within[i], y[i]))
    rank = np.full(len(y), len(y))
    rank[order] = np.arange(len(order))
    return rank


def leave_one_out(config, params: Mapping[str, np.ndarray], support_x: np.ndarray, support_y: np.ndarray,
                  classes: Sequence[str], steps: int | None = None, max_held_out: int = MAX_HELD_OUT,
                  copies: int = 0) -> LeaveOneOut:
    """Hold out each support example of a class with at least two (at most ``max_held_out`` of them,
    in turn from each class), adapt to the rest, classify it (an ensemble or test-time copies: as
    :func:`classify` does, at T = 1)."""
    from metaviz.checkpoint import members

    whole = len(members(params)) > 1 or copies > 0
    spec = preprocessing_for(config)
    n = len(classes)
    y = np.asarray(support_y, dtype=np.int64)
    counts = np.bincount(y, minlength=n)
    eligible = counts[y] >= 2
    scored = eligible & (_round_robin(y) < max_held_out)
    learner = learner_for(config, members(params)[0], n)
    steps = default_steps(learner) if steps is None else int(steps)
    x = _tensor(support_x, spec)
    predicted = np.full(len(y), -1, np.int64)
    probabilities = np.full((len(y), n), np.nan)
    for i in np.flatnonzero(scored):
        keep = torch.as_tensor(np.arange(len(y)) != i)
        sx, sy = x[keep], torch.as_tensor(y[keep.numpy()])
        if whole:
            p = classify(config, params, sx.numpy(), sy.numpy(), x[i:i + 1].numpy(), classes, steps,
                         copies=copies).probabilities[0]
        else:
            p = F.softmax(_query_logits(learner, _adapt(learner, sx, sy, steps), sx, x[i:i + 1]), -1).numpy()[0]
        probabilities[i], predicted[i] = p, int(p.argmax())
    correct = scored & (predicted == y)
    accuracy = float(correct[scored].mean()) if scored.any() else float("nan")
    per_class = np.array([correct[(y == c) & scored].mean() if counts[c] >= 2 else np.nan for c in range(n)])
    if not scored.any():
        message = ("Leave-one-out needs at least two examples of a class: with one example per class (1-shot), "
                   "holding one out leaves its class with nothing to learn from. Add a second example to a class "
                   "to get an estimate.")
    else:
        skipped = [classes[c] for c in range(n) if counts[c] < 2]
        message = (f"Leave-one-out accuracy on your support set: {accuracy:.0%} ({int(correct.sum())} of "
                   f"{int(scored.sum())} held-out examples right; chance is {1 / n:.0%})")
        if scored.sum() < eligible.sum():
            message += f"; {int(scored.sum())} of {int(eligible.sum())} examples held out, in turn from each class"
        if skipped:
            message += f"; not scored (one example only): {', '.join(map(str, skipped))}"
        message += "."
    return LeaveOneOut(scored, predicted, correct, probabilities, accuracy, per_class, message)


# ---- familiarity -------------------------------------------------------------------------------------

STATISTICS = ("mean intensity", "share of mid-grey pixels")


def image_statistics(images: np.ndarray) -> np.ndarray:
    """Per image [M, C, H, W] (model inputs, in [0, 1]): its mean intensity, and the share of its pixels
    that are mid-grey (0.25 < v < 0.75, channels averaged). Drawings are mostly paper with some ink and
    few mid-greys; photos are grey all over. -> [M, 2]"""
    x = np.asarray(images, dtype=np.float64)
    grey = x.mean(1)
    return np.stack([grey.mean((1, 2)), ((grey > 0.25) & (grey < 0.75)).mean((1, 2))], 1)


@dataclass(frozen=True)
class TrainingRange:
    """The accepted range [low, high] of each statistic, from ``n`` meta-training images."""

    low: np.ndarray
    high: np.ndarray
    n: int


@functools.lru_cache(maxsize=8)
def training_range(task: str, task_config, n_images: int = 2000, seed: int = 0) -> TrainingRange:
    """Quantiles :data:`FAMILIAR_QUANTILE` and 1 - that of each statistic over up to ``n_images``
    meta-training images (the train split), each side widened by :data:`FAMILIAR_MARGIN` of the width.
    Raises FileNotFoundError or ValueError when the training data cannot be read."""
    from metaviz import tasks

    family = tasks.get(task)(task_config)
    generator = torch.Generator().manual_seed(seed)
    pool = getattr(family, "pool", None)
    if pool is not None:
        classes = torch.tensor(pool.splits["train"])
        index = torch.nonzero(torch.isin(pool.labels, classes)).flatten()
        index = index[torch.randperm(len(index), generator=generator)[:n_images]]
        x = pool.inputs[index]
    else:
        batch = family.sample(max(1, n_images // 50), generator, "train").episode
        x = torch.cat([batch.support_x.flatten(0, 1), batch.query_x.flatten(0, 1)])
    x = x.numpy()
    if x.ndim == 2:  # flat inputs (the digits): any square image
        side = int(round(np.sqrt(x.shape[1])))
        x = x.reshape(len(x), 1, side, side)
    stats = image_statistics(x)
    lo, hi = np.quantile(stats, [FAMILIAR_QUANTILE, 1 - FAMILIAR_QUANTILE], axis=0)
    width = hi - lo
    return TrainingRange(lo - FAMILIAR_MARGIN * width, hi + FAMILIAR_MARGIN * width, len(stats))


@dataclass(frozen=True)
class Familiarity:
    """Whether a user's images look like the model's meta-training images.

    verdict: "familiar" (every image in range), "some" (some, not most, outside), "unlike" (at least half
    outside) or "unknown" (the training data could not be read); values [M, 2] (:func:`image_statistics`),
    outside [M] bool, low / high [2] the accepted range; message: plain words for the page; error: why the
    verdict is "unknown" (empty otherwise).
    """

    verdict: str
    message: str
    values: np.ndarray
    outside: np.ndarray
    low: np.ndarray
    high: np.ndarray
    error: str = ""


def familiarity(config, images: np.ndarray, names: Sequence[str] = ()) -> Familiarity:
    """Compare simple statistics of ``images`` [M, C, H, W] (preprocessed as the model sees them) with
    the model's meta-training images.

    An image is *outside* when its mean intensity or its share of mid-grey pixels lies outside the range
    of 99% of the meta-training images (quantiles 0.5% and 99.5%), widened by a quarter of that range on
    each side; the images as a whole are *unlike* the training data when at least half are outside.
    For Omniglot (ink = 1 on paper = 0) that range is about 0 to 0.19 for the mean and 0 to 0.12 for the
    mid-greys: a photo, grey all over, is far outside; a drawing with a thick pen may be too.
    """
    values = image_statistics(images)
    try:
        reference = training_range(config.task, config.task_config)
    except (FileNotFoundError, ValueError, OSError) as error:
        nan = np.full(values.shape[1], np.nan)
        return Familiarity("unknown", f"Could not compare your images with the meta-training data ({error}).",
                           values, np.zeros(len(values), bool), nan, nan, str(error))
    outside = ((values < reference.low) | (values > reference.high)).any(1)
    m, k = len(values), int(outside.sum())
    what = f"the images this model was meta-trained on ({preprocessing_for(config).source})"
    advice = ("Its predictions on images like these say little. To classify images like yours, meta-train a "
              "model on an image folder of your own (one subfolder per class) on the Train page.")
    if m == 0:
        verdict, message = "familiar", "No images to check."
    elif k == 0:
        verdict, message = "familiar", f"Your images look like {what}: mean intensity and grey levels in range."
    else:
        which = [names[i] for i in np.flatnonzero(outside)[:5]] if len(names) == m else []
        mean = values[outside].mean(0)
        detail = (f"their mean intensity is {mean[0]:.2f} and {mean[1]:.0%} of their pixels are mid-grey, where "
                  f"the training images range over {max(reference.low[0], 0):.2f} to {reference.high[0]:.2f} and "
                  f"{max(reference.low[1], 0):.0%} to {reference.high[1]:.0%}")
        listed = f" ({', '.join(which)}{', ...' if k > len(which) else ''})" if which else ""
        if 2 * k >= m:
            verdict = "unlike"
            message = f"{k} of your {m} images{listed} look unlike {what}: {detail}. {advice}"
        else:
            verdict = "some"
            message = (f"{k} of your {m} images{listed} look unlike {what}: {detail}. Check them, or remove "
                       "them from the support set.")
    return Familiarity(verdict, message, values, outside, reference.low, reference.high)


# ---- the embedding plane of metric learners ------------------------------------------------------------

def embedding_plane(config, params: Mapping[str, np.ndarray], support_x: np.ndarray, support_y: np.ndarray,
                    classes: Sequence[str], query_x: np.ndarray | None = None,
                    predicted: np.ndarray | None = None, grid: int = 100) -> EmbeddingResult | None:
    """For metric learners (None for others): the user's support and query images and the class
    prototypes in the embedding space R^D, projected on its top two principal components.

    As in :func:`classify`, the support set is embedded as one batch and each query in a batch with the
    support set; prototypes are the class means c_k of the support embeddings (ProtoNet's; for Matching
    and Siamese networks they summarize where each class lies). The PCA is fitted on the support and
    query points, so a projected prototype is exactly the mean of its projected support points. Queries
    are coloured by ``predicted`` (their class is unknown); ``nearest`` gives each point's nearest
    prototype in R^D, and the regions the nearest projected prototype (an approximation in the plane;
    see ``metaviz.analysis.embedding``)."""
    from metaviz.analysis.embedding import class_means, decision_regions, features, fit_pca, nearest, padded_range
    from metaviz.checkpoint import members
    from metaviz.learners.protonet import MetricLearner

    spec = preprocessing_for(config)
    n = len(classes)
    learner = learner_for(config, members(params)[0], n)  # an ensemble: its first member's embedding
    if not isinstance(learner, MetricLearner):
        return None
    numpy_params = learner.state_numpy()
    y = np.asarray(support_y, dtype=np.int64)
    sx = _tensor(support_x, spec).numpy()
    zs = features(learner, numpy_params, sx)
    qx = np.zeros((0, *spec.input_shape), np.float32) if query_x is None else _tensor(query_x, spec).numpy()
    zq = np.stack([features(learner, numpy_params, np.concatenate([sx, q[None]]))[-1] for q in qx]) \
        if len(qx) else np.zeros((0, zs.shape[1]))
    prototypes = class_means(zs, y, n)
    points = np.concatenate([zs, zq])
    pca = fit_pca(points)
    coords = pca.transform(np.concatenate([points, prototypes]))
    q_labels = (np.asarray(predicted, dtype=np.int64) if predicted is not None
                else nearest(zq, prototypes) if len(zq) else np.zeros(0, np.int64))
    labels = np.concatenate([y, q_labels, np.arange(n)])
    roles = np.array(["support"] * len(zs) + ["query"] * len(zq) + ["prototype"] * n)
    near = np.concatenate([nearest(points, prototypes), np.arange(n)])
    x_range, y_range = padded_range(coords[:, 0]), padded_range(coords[:, 1])
    images = np.concatenate([sx, qx]).reshape(len(sx) + len(qx), *spec.image_shape)
    explained = pca.explained
    return EmbeddingResult(coords, labels, roles, tuple(classes), near,
                           decision_regions(coords[-n:], x_range, y_range, grid), images,
                           axis_titles=(f"PC 1 ({explained[0]:.0%} of the variance)", f"PC 2 ({explained[1]:.0%})"))


# ---- everything at once ------------------------------------------------------------------------------

@dataclass(frozen=True)
class FewShotResult:
    prediction: Prediction | None
    loo: LeaveOneOut
    familiarity: Familiarity
    spec: Preprocessing
    learner: str
    has_inner_loop: bool
    steps: int
    embedding: EmbeddingResult | None = None  # metric learners only


def run(config, params: Mapping[str, np.ndarray], support: SupportSet, queries: QuerySet | None = None,
        steps: int | None = None, temperature: float = 1.0, copies: int = 0) -> FewShotResult:
    """Classify ``queries`` (if any), leave-one-out on ``support`` and the familiarity check of both.
    ``temperature``: the checkpoint's calibration (``Loaded.temperature``), applied to the probabilities;
    ``copies``: its test-time copies (``Loaded.copies``, see :func:`classify`).
    ``support`` and ``queries`` must come from ``metaviz.data.uploads`` with :func:`preprocessing_for`
    this config."""
    spec = preprocessing_for(config)
    x, y = support.arrays()
    if x.shape[1:] != spec.image_shape:
        raise FewShotError(f"the images were preprocessed for {x.shape[1:]}, but this model takes "
                           f"{spec.image_shape}: take them in again for this model", "err_fewshot.shape_mismatch",
                           got=str(x.shape[1:]), expected=str(spec.image_shape))
    classes = support.names
    from metaviz.checkpoint import members

    learner = learner_for(config, members(params)[0], len(classes))
    steps = default_steps(learner) if steps is None else steps
    prediction = None
    names = [e.name for v in support.classes.values() for e in v]
    images = x
    if queries is not None and queries.examples:
        q = queries.arrays()
        prediction = classify(config, params, x, y, q, classes, steps, temperature=temperature, copies=copies)
        names += [e.name for e in queries.examples]
        images = np.concatenate([x, q])
    loo = leave_one_out(config, params, x, y, classes, steps, copies=copies)
    shown = queries.arrays()[:MAX_PLANE_QUERIES] if prediction is not None else None
    plane = embedding_plane(config, params, x, y, classes, shown,
                            None if prediction is None else prediction.predicted[:MAX_PLANE_QUERIES])
    return FewShotResult(prediction, loo, familiarity(config, images, names), spec, config.learner,
                         learner.has_inner_loop, steps if learner.has_inner_loop else 0, plane)


def load_model(source: str | bytes):
    """A checkpoint (``metaviz.checkpoint.Loaded``) from a zoo name ("protonet-omniglot"), a path or the
    bytes of an uploaded file."""
    from metaviz import checkpoint

    if isinstance(source, str) and source in checkpoint.zoo():
        return checkpoint.load(checkpoint.zoo()[source])
    return checkpoint.load(source)


