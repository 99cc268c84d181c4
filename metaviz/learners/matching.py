"""Matching Networks: a query's label is an attention-weighted vote of the support labels.

Paper: Vinyals, Blundell, Lillicrap, Kavukcuoglu and Wierstra (2016), *Matching
Networks for One Shot Learning*, NeurIPS. This is the version without full
context embeddings (no LSTMs over the support set): one embedding f = g for
support and query points, as in the paper's simpler variant.

Idea: a differentiable nearest-neighbour classifier. Embed the query and every
support example, let the query attend to the support examples by cosine
similarity, and predict the attention-weighted sum of their one-hot labels.
Meta-training on episodes that look like the test tasks teaches the embedding
to make that attention pick the right examples for classes never seen before.

Update rule, for a meta-batch of N-way tasks with support S_i = {(x_j, y_j)} and query Q_i:

    attention (per task, no inner loop):  a(x, x_j) = softmax_j( s * cos(f_phi(x), f_phi(x_j)) )
    prediction:                           p(y = k | x, S_i) = sum_j a(x, x_j) [y_j = k]
    outer loop:  phi, s <- (phi, s) - beta * grad mean_i sum_{(x, y) in Q_i} -log p(y | x, S_i)

The paper's softmax is over plain cosines, which lie in [-1, 1] and so cannot
give confident predictions; here they are multiplied by an inverse temperature
s, *learned* by the outer loop (stored as ``log_scale`` among the
meta-parameters) from the configured starting value, or kept fixed at that value
when "Learn the scale" is off. ``predict`` returns log p(y | x, S) [B, N]: cross-entropy
on it is exactly the negative log-likelihood above (the rows already sum to 1).
``adapt`` fills in the entries ``"support_embeddings"`` [S, D] and
``"support_onehot"`` [S, N] (empty in the meta-parameters); there is no inner
loss, so the query curve over "inner steps" is flat.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from metaviz.config import param
from metaviz.functional import Params
from metaviz.learners.protonet import MetricConfig, MetricLearner, one_hot


@dataclass(frozen=True)
class MatchingConfig(MetricConfig):
    scale: float = param(10.0, "Cosine scale (inverse temperature)", min=0.1, max=100.0, step=0.5, log=True,
                         help="Cosine similarities are multiplied by it before the softmax over the support set; "
                         "the paper used 1. Starting value when it is learned.")
    learn_scale: bool = param(True, "Learn the scale",
                              help="Meta-learn the inverse temperature with the embedding (else keep it fixed).")


class MatchingNet(MetricLearner):
    __doc__ = __doc__
    name = "matching"
    title = "Matching Networks"
    Config = MatchingConfig

    def summary_widths(self) -> dict[str, int]:
        return {"support_embeddings": self.config.embedding_dim, "support_onehot": self.n_way}

    def __init__(self, config, task, net, device="cpu", strategy="auto"):
        super().__init__(config, task, net, device, strategy)
        if self.config.learn_scale:
            like = next(iter(self.params.values()))
            self.params["log_scale"] = torch.tensor(math.log(self.config.scale), dtype=like.dtype,
                                                    device=self.device, requires_grad=True)

    def scale(self, params: Mapping[str, torch.Tensor]) -> torch.Tensor | float:
        return params["log_scale"].exp() if "log_scale" in params else self.config.scale

    def summarize(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor) -> Params:
        z = self.embed(params, support_x)
        return {"support_embeddings": z, "support_onehot": one_hot(support_y, self.n_way, z.dtype)}

    def attention(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Log of the attention a(x, x_j) of each input over the support examples: [B, S]."""
        query = F.normalize(self.embed(params, x), dim=-1)
        support = F.normalize(params["support_embeddings"], dim=-1)
        return torch.log_softmax(self.scale(params) * query @ support.T, dim=-1)

    def scores(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """log p(y = k | x, S) = logsumexp of the log-attention over the support examples of class k: [B, N]."""
        log_a = self.attention(params, x)                                          # [B, S]
        onehot = params["support_onehot"]                                          # [S, N]
        masked = log_a[:, :, None].masked_fill(onehot[None] == 0, float("-inf"))   # [B, S, N]
        return torch.logsumexp(masked, dim=1)

    def probabilities(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """p(y = k | x, S) = sum_j a(x, x_j) y_j: [B, N], rows summing to 1."""
        return self.predict(params, x).exp()
