"""TF-IDF of character n-grams: the strong non-meta baseline for few-shot text.

Paper: none of its own; the standard text classifier of information retrieval (Salton and Buckley 1988,
*Term-weighting approaches in automatic text retrieval*), and the baseline few-shot intent papers must
beat (Casanueva et al. 2020, *Efficient Intent Detection with Dual Sentence Encoders*, report TF-IDF-like
n-gram baselines close to the neural ones at 10 examples per intent).

Idea: nothing is learned across tasks. Each task's support set alone fits a vocabulary, inverse document
frequencies and a head: sentences that share rare character n-grams ("refund", "flight") get similar
vectors. Features are exactly scikit-learn's ``TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
sublinear_tf=True)`` on the tokenizer's hashed n-grams (``metaviz.data.tokenizer``): smooth idf, sublinear
term frequency, l2 normalisation, and n-grams absent from the support set weigh nothing.

Update rule (per task; no outer loop, the parameters never move):

    idf_v    = ln((1 + S) / (1 + df_v)) + 1   where n-gram v occurs in df_v > 0 support sentences, else 0
    x_v      = (1 + ln tf_v) idf_v, then x <- x / |x|
    prototype head:  c_k = normalise(mean of the x of class k);  logits_k(x) = scale * cos(x, c_k)
    logistic head:   scikit-learn LogisticRegression(C) fitted on the support vectors; logits = log p

``adapt`` fills in the support summary (``idf`` [1, V] and ``prototypes`` [N, V], or ``coef`` and
``intercept``); a query is scored from the support set alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from metaviz.config import Config, param
from metaviz.functional import Params
from metaviz.learners.protonet import MetricLearner
from metaviz.tasks.base import Episode, TaskDistribution


def term_counts(ids: torch.Tensor, vocab: int) -> torch.Tensor:
    """ids [B, L] (0 pads) -> term counts [B, vocab] float32 (padding counted nowhere). Dense: for the
    logistic head and for tests; the prototype paths below never build a [B, vocab] matrix."""
    src = (ids != 0).to(torch.float32)
    return torch.zeros(ids.shape[0], vocab, device=ids.device).scatter_add(-1, ids, src) * (
        torch.arange(vocab, device=ids.device) != 0)


def support_idf(counts: torch.Tensor) -> torch.Tensor:
    """Smooth idf of support counts [S, V] -> [V]; zero for n-grams the support set lacks."""
    df = (counts > 0).to(counts.dtype).sum(0)
    n = counts.shape[0]
    return (torch.log((1 + n) / (1 + df)) + 1) * (df > 0)


def tfidf(counts: torch.Tensor, idf: torch.Tensor) -> torch.Tensor:
    """Sublinear tf times idf (or times any per-n-gram weights [V]), l2-normalised rows: [B, V]."""
    tf = torch.where(counts > 0, 1 + torch.log(counts.clamp(min=1)), torch.zeros_like(counts))
    return F.normalize(tf * idf, dim=-1)


def sorted_terms(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For ids [B, L]: each row sorted [B, L], whether a sorted position is the first of its id and not padding
    (bool), and its term count in the row. Sorting, not a [B, V] matrix: O(L log L) a row, fine under vmap."""
    ordered = ids.sort(-1).values
    first = (ordered != F.pad(ordered[:, :-1], (1, 0), value=-1)) & (ordered != 0)
    tf = (torch.searchsorted(ordered, ordered, right=True) - torch.searchsorted(ordered, ordered)).to(torch.float32)
    return ordered, first, tf


def row_weights(ids: torch.Tensor, idf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted ids [B, L] and the entries of each row's tf-idf vector at them [B, L] (non-zero once per id; rows of
    unit norm): ``tfidf(term_counts(ids), idf)`` without building it."""
    ordered, first, tf = sorted_terms(ids)
    w = (1 + torch.log(tf)) * idf[ordered] * first                               # [B, L]
    return ordered, w / w.norm(dim=-1, keepdim=True).clamp(min=1e-12)


def document_frequency(ids: torch.Tensor, vocab: int) -> torch.Tensor:
    """In how many of the sentences ids [S, L] each n-gram occurs: [vocab] float32."""
    ordered, first, _ = sorted_terms(ids)
    return torch.zeros(vocab, device=ids.device).scatter_add(0, ordered.flatten(), first.flatten().to(torch.float32))


def sparse_idf(ids: torch.Tensor, vocab: int) -> torch.Tensor:
    """Smooth idf [vocab] of a support set given as ids [S, L]; zero for n-grams it lacks."""
    df = document_frequency(ids, vocab)
    return (torch.log((1 + ids.shape[0]) / (1 + df)) + 1) * (df > 0)


def corpus_idf(ids: torch.Tensor, vocab: int) -> torch.Tensor:
    """Smooth idf [vocab] over a corpus of sentences ids [M, L]; n-grams the corpus lacks get the largest value,
    ln(1 + M) + 1 (as rare as can be)."""
    return torch.log((1 + ids.shape[0]) / (1 + document_frequency(ids, vocab))) + 1


def ngram_prototypes(ids: torch.Tensor, support_y: torch.Tensor, n_way: int, vocab: int,
                     weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """idf [V] (times ``weights`` [V] when given) and normalised class means [N, V] of the tf-idf vectors of a
    support set of ids [S, L]."""
    idf = sparse_idf(ids, vocab) if weights is None else sparse_idf(ids, vocab) * weights
    ordered, w = row_weights(ids, idf)                                            # [S, L]
    flat = (support_y[:, None] * vocab + ordered).flatten()                       # [S*L] into [N*V]
    sums = torch.zeros(n_way * vocab, device=ids.device, dtype=w.dtype).scatter_add(0, flat, w.flatten())
    return idf, F.normalize(sums.reshape(n_way, vocab), dim=-1)


def ngram_cosines(ids: torch.Tensor, idf: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """Cosines [B, N] between the tf-idf vectors of ids [B, L] and unit prototypes [N, V]."""
    ordered, w = row_weights(ids, idf)
    return (w[:, :, None] * prototypes.T[ordered]).sum(1)


@dataclass(frozen=True)
class TfidfConfig(Config):
    head: str = param("prototype", "Head", options=("prototype", "logistic"),
                      help="prototype: cosine to each class's mean vector; logistic: logistic regression.")
    scale: float = param(10.0, "Cosine scale (prototype head)", min=0.1, max=100.0, step=0.5,
                         help="Probabilities are softmax(scale * cosine): higher is more confident.")
    C: float = param(10.0, "Inverse regularisation C (logistic head)", min=0.01, max=1000.0, step=0.5, log=True)


class Tfidf(MetricLearner):
    __doc__ = __doc__
    name = "tfidf"
    title = "TF-IDF of character n-grams (no meta-learning)"
    family = "baseline"
    Config = TfidfConfig
    inputs = frozenset({"tokens"})
    has_embedding = False
    meta_trains: ClassVar[bool] = False

    @classmethod
    def net_out_dim(cls, task: TaskDistribution, config: Config) -> int:
        return task.out_dim  # the backbone is unused; kept only so every learner has one

    @property
    def vocab(self) -> int:
        return self.task.vocab_size

    def summary_widths(self) -> dict[str, int]:
        if self.config.head == "logistic":
            return {"idf": self.vocab, "coef": self.vocab, "intercept": 1}
        return {"idf": self.vocab, "prototypes": self.vocab}

    def resolved_strategy(self) -> str:
        return "loop" if self.config.head == "logistic" else super().resolved_strategy()

    def summarize(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor) -> Params:
        if self.config.head == "prototype":
            idf, prototypes = ngram_prototypes(support_x, support_y, self.n_way, self.vocab)
            return {"idf": idf[None], "prototypes": prototypes}
        counts = term_counts(support_x, self.vocab)                                  # [S, V]
        from scipy.sparse import csr_matrix
        from sklearn.linear_model import LogisticRegression

        idf = support_idf(counts)
        x = csr_matrix(tfidf(counts, idf).cpu().numpy())
        y = support_y.cpu().numpy()
        model = LogisticRegression(C=self.config.C, max_iter=1000).fit(x, y)
        coef = np.zeros((self.n_way, self.vocab), np.float32)
        intercept = np.zeros((self.n_way, 1), np.float32)
        if len(model.classes_) == 2 and model.coef_.shape[0] == 1:  # binary: one weight vector for class 1
            coef[model.classes_[1]], intercept[model.classes_[1], 0] = model.coef_[0], model.intercept_[0]
        else:
            coef[model.classes_], intercept[model.classes_, 0] = model.coef_, model.intercept_
        return {"idf": idf[None], "coef": torch.as_tensor(coef, device=idf.device),
                "intercept": torch.as_tensor(intercept, device=idf.device)}

    def scores(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        if self.config.head == "prototype":
            return self.config.scale * ngram_cosines(x, params["idf"][0], params["prototypes"])  # [B, N]
        q = tfidf(term_counts(x, self.vocab), params["idf"][0])                       # [B, V]
        return F.log_softmax(q @ params["coef"].T + params["intercept"].T, -1)       # [B, N]

    def outer_step(self, batch: Episode, optimizer: torch.optim.Optimizer) -> dict[str, float]:
        """No meta-update: the mean query loss of the support-fitted heads, for the charts."""
        value = float(self.per_task(lambda p, e: self.query_metrics(p, e)[0], self.params, batch).mean())
        return {"loss": value if math.isfinite(value) else math.nan}
