"""Few-shot heads on a frozen pretrained backbone: three ways to turn a handful of labelled photos into a classifier.

Paper: Tian, Wang, Krishnan, Tenenbaum and Isola (2020), *Rethinking Few-Shot Image Classification:
a Good Embedding Is All You Need?*, ECCV. Their finding: features from a network trained on many
classes, with a simple classifier on top, match or beat elaborate meta-learners on new classes.
Here the embedding is an ImageNet backbone's pooled penultimate layer f(x) (:mod:`metaviz.backbones`),
z = f(x) / ||f(x)|| its L2-normalised version, and each head maps a support set (z_i, y_i), n classes,
to logits for the queries (what :mod:`metaviz.calibration`'s temperature divides):

* :func:`prototype` (nearest class mean; Snell et al. 2017 on Tian et al.'s normalised features):
  c_k = mean of z_i with y_i = k, logits_k(x) = -s ||z(x) - c_k||^2 with s = :data:`SCALE`.
* :func:`logistic` (Tian et al.'s own head): multinomial logistic regression on z (scikit-learn, L-BFGS),
  minimising C sum_i CE(W z_i + b, y_i) + ||W||^2 / 2; logits = log p(y | x).
* :func:`finetune` (the MAML-style inner loop, Finn et al. 2017, on the last block only): the
  parameters theta of the backbone's last block (and its head convolution) take T plain gradient
  steps theta <- theta - alpha grad L_S(theta) on the support set's prototype cross-entropy, each
  example scored against *leave-one-out* prototypes (ProtoNet's episodic loss; with its own example
  in, a prototype classifies the support set almost perfectly and leaves nothing to learn), then
  the queries are scored against the prototypes of the adapted support features. At T = 0 it is
  exactly :func:`prototype`. Pure: the step is ``torch.func.functional_call`` on a parameter dict,
  the module is never changed. With one example per class there is no leave-one-out, and little to learn.

Every head is a pure function of its inputs (and ``seed``): each query's logits depend on the support
set and that query alone (BatchNorm keeps ImageNet's running statistics), as the few-shot protocol asks.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad

SCALE = 10.0  # s: squared distances between unit vectors lie in [0, 4]; s makes the softmax usable
FINETUNE_STEPS = 10
FINETUNE_LR = 0.05
LOGISTIC_C = 10.0  # inverse L2 strength on unit-norm features (scikit-learn's default, 1, barely moves off 1/n)


def normalise(features: np.ndarray | torch.Tensor):
    """Rows divided by their L2 norm ([M, D] -> [M, D]); numpy in, numpy out, torch in, torch out."""
    if isinstance(features, torch.Tensor):
        return F.normalize(features, dim=-1)
    f = np.asarray(features, dtype=np.float64)
    return f / np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 1e-12)


def _counts(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    if len(counts) > n_classes or (counts == 0).any():
        raise ValueError(f"support labels must cover 0..{n_classes - 1}, each at least once; counts {counts.tolist()}")
    return counts


def class_means(z: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """c_k = mean of the rows of z [M, D] with label k; -> [n, D]. Every class needs an example."""
    y = np.asarray(y, dtype=np.int64)
    counts = _counts(y, n_classes)
    sums = np.zeros((n_classes, z.shape[1]))
    np.add.at(sums, y, z)
    return sums / counts[:, None]


def prototype(support: np.ndarray, support_y: np.ndarray, query: np.ndarray, n_classes: int,
              seed: int = 0) -> np.ndarray:
    """Nearest prototype on normalised features: support [S, D], query [Q, D] -> logits [Q, n]
    (-s ||z_q - c_k||^2). ``seed`` is unused (the head is deterministic); kept for a common signature."""
    c = class_means(normalise(support), support_y, n_classes)
    zq = normalise(query)
    d2 = (zq ** 2).sum(1)[:, None] - 2 * zq @ c.T + (c ** 2).sum(1)[None]
    return -SCALE * d2


def logistic(support: np.ndarray, support_y: np.ndarray, query: np.ndarray, n_classes: int,
             seed: int = 0, c: float = LOGISTIC_C) -> np.ndarray:
    """Multinomial logistic regression on normalised features -> log-probabilities [Q, n] (see the module
    docstring; ``c``: scikit-learn's C, the inverse of the L2 strength)."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(support_y, dtype=np.int64)
    _counts(y, n_classes)
    model = LogisticRegression(C=c, max_iter=2000, tol=1e-8, random_state=seed)
    model.fit(normalise(support), y)
    out = np.full((len(query), n_classes), -np.inf)
    out[:, model.classes_] = model.predict_log_proba(normalise(query))
    return out


def tail_params(net: nn.Module, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Detached copies of the parameters fine-tuning adapts (``net.tail_prefixes``)."""
    return {k: p.detach().clone().to(dtype) for k, p in net.named_parameters() if k.startswith(net.tail_prefixes)}


def _embed_tail(net: nn.Module, params: dict[str, torch.Tensor], trunk: torch.Tensor) -> torch.Tensor:
    return F.normalize(functional_call(net, params, (trunk,), {"part": "tail"}), dim=-1)


def _squared_distances(z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    return (z ** 2).sum(1, keepdim=True) - 2 * z @ c.T + (c ** 2).sum(1)[None]


def _prototypes(z: torch.Tensor, y: torch.Tensor, n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    onehot = F.one_hot(y, n_classes).to(z.dtype)  # [S, n]
    counts = onehot.sum(0)
    return onehot.T @ z / counts[:, None], counts


def support_loss(net: nn.Module, params: dict[str, torch.Tensor], trunk: torch.Tensor, y: torch.Tensor,
                 n_classes: int) -> torch.Tensor:
    """L_S(theta): cross-entropy of each support example against leave-one-out prototypes (its own class's
    prototype without it, c_k^(-i) = (n_k c_k - z_i) / (n_k - 1), so z_i - c_k^(-i) = n_k / (n_k - 1) (z_i - c_k));
    a class with one example keeps its full prototype."""
    z = _embed_tail(net, params, trunk)
    c, counts = _prototypes(z, y, n_classes)
    d2 = _squared_distances(z, c)
    n = counts[y]
    own = torch.where(n > 1, (n / (n - 1).clamp(min=1)) ** 2, torch.ones_like(n))
    factor = 1 + F.one_hot(y, n_classes).to(z.dtype) * (own[:, None] - 1)
    return F.cross_entropy(-SCALE * d2 * factor, y)


def finetune(net: nn.Module, support_trunk: np.ndarray, support_y: np.ndarray, query_trunk: np.ndarray,
             n_classes: int, seed: int = 0, steps: int = FINETUNE_STEPS, lr: float = FINETUNE_LR,
             return_losses: bool = False, dtype: torch.dtype = torch.float32):
    """Fine-tune the last block for ``steps`` gradient steps on the support set (:func:`support_loss`), then
    score the queries against the prototypes of the adapted support features (see the module docstring).
    support_trunk [S, C, h, w] and query_trunk [Q, C, h, w] are ``net(x, part="trunk")`` (cache them: the
    trunk is most of the cost). -> logits [Q, n], and with ``return_losses`` also the support loss before
    each step and after the last ([steps + 1]). ``dtype``: float64 (on a double copy of the net) lets a
    test reproduce a manual step to 1e-9."""
    del seed  # full-batch gradient descent from a deterministic start: nothing random
    if steps < 0:
        raise ValueError(f"steps must be >= 0, not {steps}")
    y = torch.as_tensor(np.asarray(support_y), dtype=torch.int64)
    _counts(y.numpy(), n_classes)
    model = _double(net) if dtype == torch.float64 else net
    sx = torch.as_tensor(np.asarray(support_trunk), dtype=dtype)
    qx = torch.as_tensor(np.asarray(query_trunk), dtype=dtype)
    params = tail_params(model, dtype)
    step = grad(lambda p: support_loss(model, p, sx, y, n_classes))
    losses = []
    for _ in range(steps):
        if return_losses:
            with torch.no_grad():
                losses.append(float(support_loss(model, params, sx, y, n_classes)))
        g = step(params)
        params = {k: v - lr * g[k] for k, v in params.items()}  # theta' = theta - alpha grad L_S(theta)
    with torch.no_grad():
        if return_losses:
            losses.append(float(support_loss(model, params, sx, y, n_classes)))
        if not len(qx):
            logits = np.zeros((0, n_classes))
        else:
            c, _ = _prototypes(_embed_tail(model, params, sx), y, n_classes)
            logits = (-SCALE * _squared_distances(_embed_tail(model, params, qx), c)).double().numpy()
    return (logits, np.array(losses)) if return_losses else logits


_DOUBLES: dict[int, tuple[nn.Module, nn.Module]] = {}


def _double(net: nn.Module) -> nn.Module:
    """A float64 copy of ``net`` (kept for the last net asked: the caller's module is never changed)."""
    key = id(net)
    if key not in _DOUBLES or _DOUBLES[key][0] is not net:
        import copy

        _DOUBLES.clear()  # one backbone at a time is plenty; keeps memory bounded
        _DOUBLES[key] = (net, copy.deepcopy(net).double())
    return _DOUBLES[key][1]


HEADS = {"prototype": prototype, "logistic": logistic, "finetune": finetune}
TITLES = {"prototype": "nearest prototype (frozen features)", "logistic": "logistic regression (frozen features)",
          "finetune": "fine-tune the last block (MAML-style inner loop)"}
