"""Siamese network: learn whether two examples are of the same class, then classify by the best match.

Paper: Koch, Zemel and Salakhutdinov (2015), *Siamese Neural Networks for
One-shot Image Recognition*, ICML Deep Learning Workshop.

Idea: train a *verification* model instead of a classifier. Twin copies of one
embedding network f_phi see two examples; a learned weighted L1 distance between
their embeddings, through a sigmoid, gives the probability that they share a
class. Nothing in it depends on which classes there are, so it transfers to new
ones: a one-shot task is solved by scoring the query against every support
example and taking the class of the best-scoring one.

Update rule, for a meta-batch of episodes (support and query examples together):

    pair score:   s(x1, x2) = sum_j alpha_j |f_phi(x1)_j - f_phi(x2)_j| + b,   p(same) = sigmoid(s)
    pairs:        every pair {m, n}, m < n, of an episode's examples; target t = [y_m = y_n]
    outer loop:   (phi, alpha, b) <- (phi, alpha, b) - beta * grad mean_i BCE(sigmoid(s), t)

An N-way episode has about N - 1 times more different-class pairs than
same-class ones; by default the two kinds are weighted to count equally, as in a
balanced verification set ("Balance same/different pairs"), so that "always
different" is not an easy minimum.

Classification (no inner loop): ``adapt`` embeds the support set (it fills in
``"support_embeddings"`` [S, D] and ``"support_onehot"`` [S, N], empty in the
meta-parameters). The score of class k for a query x is the best pair score
among that class's support examples, logits_k(x) = max_{j: y_j = k} s(x, x_j),
so the predicted class is that of the best-scoring support example.
``task_loss``, and so the training loss of each step, is the pair loss above;
``query_metrics`` (the held-out curves) is the one all metric learners share:
the N-way cross-entropy of softmax(logits) and the accuracy, comparable with the other
learners. The meta-parameters are the network's plus ``"pair.weight"`` (alpha,
[D]) and ``"pair.bias"`` (b).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from metaviz.config import param
from metaviz.functional import Params
from metaviz.learners.protonet import MetricConfig, MetricLearner, one_hot
from metaviz.tasks.base import Episode


@dataclass(frozen=True)
class SiameseConfig(MetricConfig):
    balance_pairs: bool = param(True, "Balance same/different pairs",
                                help="Weight the few same-class pairs of an episode as much as the many "
                                "different-class ones in the pair loss.")


def pair_targets(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The pairs of an episode with labels ``y`` [M]: targets [M, M] (1 where y_m = y_n, else 0) and
    a mask [M, M] of the pairs used (m < n: each unordered pair once, no example with itself)."""
    m = y.shape[0]
    targets = (y[:, None] == y[None, :]).float()
    mask = torch.ones(m, m, device=y.device).triu(1)
    return targets, mask


class Siamese(MetricLearner):
    __doc__ = __doc__
    name = "siamese"
    title = "Siamese network"
    Config = SiameseConfig

    def summary_widths(self) -> dict[str, int]:
        return {"support_embeddings": self.config.embedding_dim, "support_onehot": self.n_way}

    def __init__(self, config, task, net, device="cpu", strategy="auto"):
        super().__init__(config, task, net, device, strategy)
        like = next(iter(self.params.values()))
        d = self.config.embedding_dim
        # alpha < 0 at first: the farther apart, the less likely the same class; the outer loop learns it
        self.params["pair.weight"] = torch.full((d,), -1.0 / d ** 0.5, dtype=like.dtype, device=self.device,
                                                requires_grad=True)
        self.params["pair.bias"] = torch.ones((), dtype=like.dtype, device=self.device, requires_grad=True)

    def pair_scores(self, params: Mapping[str, torch.Tensor], a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores (logits of p(same)) of every pair of embeddings a [A, D] and b [B, D]: [A, B]."""
        return (a[:, None, :] - b[None, :, :]).abs() @ params["pair.weight"] + params["pair.bias"]

    def summarize(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor) -> Params:
        z = self.embed(params, support_x)
        return {"support_embeddings": z, "support_onehot": one_hot(support_y, self.n_way, z.dtype)}

    def scores(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Per class, the best pair score among its support examples: [B, N]."""
        s = self.pair_scores(params, self.embed(params, x), params["support_embeddings"])      # [B, S]
        onehot = params["support_onehot"]                                                       # [S, N]
        masked = s[:, :, None].masked_fill(onehot[None] == 0, torch.finfo(s.dtype).min)         # [B, S, N]
        return masked.amax(1)

    def pair_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        """Binary cross-entropy of p(same) over every pair of the episode's examples."""
        z = torch.cat([self.embed(params, episode.support_x), self.embed(params, episode.query_x)])
        targets, mask = pair_targets(torch.cat([episode.support_y, episode.query_y]))
        targets, mask = targets.to(z.dtype), mask.to(z.dtype)
        bce = F.binary_cross_entropy_with_logits(self.pair_scores(params, z, z), targets, reduction="none")
        if not self.config.balance_pairs:
            return (bce * mask).sum() / mask.sum()
        same, different = targets * mask, (1 - targets) * mask
        return 0.5 * ((bce * same).sum() / same.sum().clamp(min=1)
                      + (bce * different).sum() / different.sum().clamp(min=1))

    def task_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        return self.pair_loss(params, episode)
