"""Prototypical Networks on n-grams: meta-train idf n-gram weights and a learned encoder, cosine prototypes.

Paper: Snell, Swersky and Zemel (2017), *Prototypical Networks for Few-shot Learning*, NeurIPS, for the
prototypes; the n-gram part is the TF-IDF baseline (``tfidf``) with weights learned across tasks, in the
spirit of Bao et al. (2020), *Few-shot Text Classification with Distributional Signatures*, ICLR, who
meta-learn which words matter from their statistics across tasks.

Idea: TF-IDF of character n-grams is hard to beat with five sentences per intent, because rare shared
n-grams ("flight", "recipe") are strong evidence; but idf from 25 sentences cannot know that "can you"
or "what is" say nothing about an intent. One weight per n-gram bucket (shared by all tasks, multiplying
the support set's idf) starts at the idf of the meta-train classes' sentences to the power p (fixed by
default: learned per bucket, the weights fitted the meta-train domains and lost on new ones, measured), and
a sentence encoder (hashed n-gram embeddings and an MLP) is meta-learned; each class is scored by both
cosines, weighted by meta-learned scales. With p = 0 and s_e = 0 it is exactly the ``tfidf`` learner.

Update rule, per task with support S and query Q (N classes); a_v = p ln(idf over the meta-train sentences):

    u_v = exp(a_v) idf_S,v;   g(x) = normalise((1 + ln tf(x)) u);   t_k = normalise(mean_{y = k} g(x))
    c_k = normalise(mean_{x in S, y = k} f_phi(x))
    logits_k(x) = s_e cos(f_phi(x), c_k) + s_t cos(g(x), t_k)
    outer loop:  (phi, s_e, s_t [, a]) <- ... - beta * grad mean_i CE(softmax(logits(x)), y) over (x, y) in Q_i

``adapt`` fills in ``prototypes`` [N, D], ``idf`` [1, V] (the weighted idf u) and ``ngram_prototypes`` [N, V].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from metaviz.config import param
from metaviz.functional import Params
from metaviz.learners.protonet import MetricConfig, ProtoNet, one_hot
from metaviz.learners.tfidf import corpus_idf, ngram_cosines, ngram_prototypes


@dataclass(frozen=True)
class NgramProtoConfig(MetricConfig):
    ngram_scale: float = param(10.0, "Initial n-gram cosine scale (s_t)", min=0.0, max=100.0, step=0.5,
                               help="How much the n-gram cosine counts; meta-learned from here.")
    encoder_scale: float = param(1.0, "Initial encoder cosine scale (s_e)", min=0.0, max=100.0, step=0.5,
                                 help="How much the learned encoder's cosine counts; meta-learned from here.")
    corpus_idf_power: float = param(0.5, "Meta-train idf power (p)", min=0.0, max=2.0, step=0.25,
                                    help="N-gram weights start at the idf over the meta-train sentences to this "
                                    "power; 0: plain TF-IDF weights.")
    learn_ngram_weights: bool = param(False, "Learn the n-gram weights",
                                      help="Meta-learn one weight per n-gram bucket (they fit the meta-train "
                                      "domains); off: keep the meta-train idf weights fixed.")


class NgramProtoNet(ProtoNet):
    __doc__ = __doc__
    name = "ngram_protonet"
    title = "ProtoNet on n-grams (meta-train idf weights + learned encoder)"
    Config = NgramProtoConfig
    inputs = frozenset({"tokens"})

    def __init__(self, config, task, net, device="cpu", strategy="auto"):
        super().__init__(config, task, net, device, strategy)
        dtype = self.params["prototypes"].dtype

        def leaf(value):
            return torch.tensor(value, dtype=dtype, device=self.device, requires_grad=True)

        self.params["ngram_log_weight"] = leaf([0.0] * task.vocab_size)
        self.params["scales"] = leaf([self.config.encoder_scale, self.config.ngram_scale])

    def make_optimizer(self, lr: float) -> torch.optim.Optimizer:
        """Meta-training starts here (``Run`` calls it once): the n-gram weights are set from the meta-train
        classes' sentences now, not in ``__init__``, so that loading a checkpoint (which brings its own weights)
        never reads the data set."""
        if self.config.corpus_idf_power:
            idf = corpus_idf(self.task.meta_train_inputs(), self.task.vocab_size).to(self.device)
            with torch.no_grad():
                self.params["ngram_log_weight"].copy_(self.config.corpus_idf_power * idf.log())
        if self.config.learn_ngram_weights:
            return super().make_optimizer(lr)
        return torch.optim.Adam([v for k, v in self.params.items() if k != "ngram_log_weight"], lr=lr)

    def ngram_weights(self, params: Params) -> torch.Tensor:
        log_weight = params["ngram_log_weight"]
        return torch.exp(log_weight if self.config.learn_ngram_weights else log_weight.detach())

    def summary_widths(self) -> dict[str, int]:
        return {"prototypes": self.config.embedding_dim, "idf": self.task.vocab_size,
                "ngram_prototypes": self.task.vocab_size}

    def summarize(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor) -> Params:
        z = F.normalize(self.embed(params, support_x), dim=-1)                          # [S, D]
        onehot = one_hot(support_y, self.n_way, z.dtype)                                 # [S, N]
        idf, prototypes = ngram_prototypes(support_x, support_y, self.n_way, self.task.vocab_size,
                                           self.ngram_weights(params))
        return {"prototypes": F.normalize(onehot.T @ z, dim=-1), "idf": idf[None], "ngram_prototypes": prototypes}

    def scores(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        z = F.normalize(self.embed(params, x), dim=-1)                                   # [B, D]
        ngram = ngram_cosines(x, params["idf"][0], params["ngram_prototypes"])            # [B, N]
        scales = params["scales"]
        return scales[0] * z @ params["prototypes"].T + scales[1] * ngram                # [B, N]
