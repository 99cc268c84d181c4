"""Prototypical Networks: classify by the distance to each class's mean embedding.

Paper: Snell, Swersky and Zemel (2017), *Prototypical Networks for Few-shot
Learning*, NeurIPS.

Idea: learn an embedding f_phi in which the points of a class cluster around a
single *prototype*, the mean of its support embeddings. A new task needs no
gradient steps: embed its support set, average per class, and give a query the
class of the nearest prototype. With the squared Euclidean distance this is a
linear classifier on the embedding (weights 2 c_k, bias -|c_k|^2), so the
network is meta-trained to make nearest-mean classification work on new classes.

Update rule, for a meta-batch of N-way tasks with support S_i and query Q_i:

    prototypes (per task, no inner loop):  c_k = mean_{(x, y) in S_i, y = k} f_phi(x)
    class scores:                          logits_k(x) = -|f_phi(x) - c_k|^2
    outer loop:  phi <- phi - beta * grad_phi mean_i CE(softmax(logits(x)), y) over (x, y) in Q_i

Here ``adapt`` computes the prototypes and returns them with the embedding
parameters, in the ``"prototypes"`` entry ([N, D]; empty, [0, D], in the
meta-parameters). There is no inner loss, so the query curve over "inner
steps" is flat.

This module also holds :class:`MetricLearner`, the shared base of the metric
learners (Matching Networks and the Siamese network import it from here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from metaviz.config import Config, param
from metaviz.functional import Params, forward
from metaviz.learners.base import Adapted, MetaLearner
from metaviz.tasks.base import Episode, TaskDistribution


@dataclass(frozen=True)
class MetricConfig(Config):
    """Shared by the metric learners: the size of the embedding the backbone outputs."""

    embedding_dim: int = param(64, "Embedding size", min=1, max=1024, step=1,
                               help="Outputs of the backbone: the dimension of the space classes are compared in.")


def one_hot(y: torch.Tensor, n_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """[S] int labels -> [S, N] one-hot, without data-dependent shapes (works under vmap)."""
    return (y[:, None] == torch.arange(n_classes, device=y.device)).to(dtype)


class MetricLearner(MetaLearner):
    """Base of the metric learners (no ``name``, so the registry does not list it).

    ``adapt`` runs no gradient steps: it embeds the support set and returns the meta-parameters with
    a *summary* of the support set filled in (prototypes, or the support embeddings and their one-hot
    labels). The meta-parameters hold those entries too, empty (zero rows): the parameters keep the
    same keys before and after ``adapt``, as for every learner, the placeholders add no numbers to a
    checkpoint, and their meta-gradient is empty. ``predict`` needs a filled-in summary;
    ``query_metrics`` computes it from the episode's support set when given the bare meta-parameters,
    so the base class's ``query_curve`` and ``evaluate`` work unchanged and give a flat curve.
    Subclasses implement :meth:`summary_widths`, :meth:`summarize` and :meth:`scores`.
    """

    family = "metric"
    Config = MetricConfig
    kinds = frozenset({"classification"})
    has_inner_loop = False
    has_embedding = True

    @classmethod
    def net_out_dim(cls, task: TaskDistribution, config: Config) -> int:
        return config.embedding_dim

    def __init__(self, config, task, net, device="cpu", strategy="auto"):
        super().__init__(config, task, net, device, strategy)
        self.net_keys = tuple(self.params)  # the backbone's parameters; subclasses may add more meta-parameters
        dtype = next(iter(self.params.values())).dtype
        for key, width in self.summary_widths().items():
            self.params[key] = torch.zeros(0, width, dtype=dtype, device=self.device, requires_grad=True)

    @property
    def n_way(self) -> int:
        return self.task.out_dim

    def summary_widths(self) -> dict[str, int]:
        """The entries of the support summary and their widths (each is [rows, width])."""
        raise NotImplementedError

    @property
    def support_keys(self) -> tuple[str, ...]:
        return tuple(self.summary_widths())

    def embed(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Embeddings of inputs ``x`` [B, *in_shape] -> [B, D] (meta-parameters or adapted ones)."""
        return forward(self.net, {k: params[k] for k in self.net_keys}, x)

    def summarize(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor) -> Params:
        """The support summary: a dict with the keys ``support_keys``."""
        raise NotImplementedError

    def scores(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Class scores [B, N] of inputs ``x``; ``params`` holds the support summary."""
        raise NotImplementedError

    def has_support(self, params: Mapping[str, torch.Tensor]) -> bool:
        """Whether ``params`` carries a filled-in support summary (static shapes: fine under vmap)."""
        return all(k in params and params[k].shape[0] > 0 for k in self.support_keys)

    def adapt(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor,
              steps: int | None = None, first_order: bool = False) -> Adapted:
        """No gradient steps (``steps`` and ``first_order`` are ignored): ``params`` with the summary of
        this support set, recomputed from scratch (so calling it again on its own output is a no-op)."""
        out = dict(params)
        out.update(self.summarize(params, support_x, support_y))
        losses = torch.zeros(0, dtype=support_x.dtype if support_x.is_floating_point() else torch.float32,
                             device=support_x.device)
        return Adapted(out, losses)

    def predict(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Class scores [B, N] (used as logits); ``params`` must come from :meth:`adapt`."""
        if not self.has_support(params):
            raise ValueError(f"{self.name} predicts from a support set: pass the params returned by adapt() "
                             f"(they fill in {list(self.support_keys)}), not the bare meta-parameters")
        return self.scores(params, x)

    def query_metrics(self, params: Params, episode: Episode) -> torch.Tensor:
        """[loss, accuracy] of N-way classification of the queries; bare meta-parameters are first
        given the summary of the episode's support set."""
        if not self.has_support(params):
            params = self.adapt(params, episode.support_x, episode.support_y).params
        return super().query_metrics(params, episode)


class ProtoNet(MetricLearner):
    __doc__ = __doc__
    name = "protonet"
    title = "Prototypical Networks"

    def summary_widths(self) -> dict[str, int]:
        return {"prototypes": self.config.embedding_dim}

    def summarize(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor) -> Params:
        z = self.embed(params, support_x)                                  # [S, D]
        onehot = one_hot(support_y, self.n_way, z.dtype)                   # [S, N]
        counts = onehot.sum(0).clamp(min=1)                                # [N]
        return {"prototypes": (onehot.T @ z) / counts[:, None]}            # [N, D]

    def scores(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        z = self.embed(params, x)                                          # [B, D]
        return -((z[:, None, :] - params["prototypes"][None]) ** 2).sum(-1)  # [B, N]
