"""Sequence model: read the labelled support set with attention, predict the queries in one pass.

Paper: the black-box (model-based) idea comes from memory-augmented networks,
Santoro, Bartunov, Botvinick, Wierstra and Lillicrap (2016), *Meta-Learning
with Memory-Augmented Neural Networks*, ICML, which read (x_i, y_i) pairs one
by one into an external memory. The attention here follows Mishra, Rohaninejad,
Chen and Abbeel (2018), *A Simple Neural Attentive Meta-Learner* (SNAIL), ICLR,
which replaced the memory by attention over the whole labelled sequence. SNAIL
reads it causally, in order, with temporal convolutions between attention
layers; this learner reads it as a *set*, with a small transformer-style
encoder and no positions (the order of the support set carries no information).

Idea: no gradient steps and no hand-designed adaptation at all. Whatever
"learning from the support set" means is left to a network that takes the
labelled examples as input: meta-training turns it into a learning algorithm
in its weights (and its activations are the task's "fast weights"). At test
time the support set is read in one forward pass.

Update rule. Each support example becomes a token
e_i = W [f(x_i), y_i, 1] + b, each query a token W [f(x), 0, 0] + b, where f is
the backbone (``self.net``, outputs of size "features": an MLP for vectors, a
Conv4 for images), y_i the one-hot label (classification) or the value
(regression), and the last entry marks a labelled token. Then

    memory = [null; Enc(e_1..e_S)]        Enc: pre-LayerNorm self-attention blocks over the support tokens
    y_hat(x) = head(Dec(token(x), memory)) Dec: blocks in which each query attends to the memory only
    outer loop: all weights <- Adam step on grad mean_i L_{Q_i}(y_hat)      (MSE or cross-entropy)

``null`` is a learned token that every query can attend to, so a query always
has something to read (without it, an empty support set would give a softmax
over nothing). Queries do not see each other, so each prediction depends only
on its own input and the support set, and it is invariant to the order of the
support set. ``adapt`` computes the memory and stores it in the parameters'
``attn.memory`` entry (the meta-parameters hold the null token alone there),
ignoring ``steps``: a query curve over "inner steps" is flat.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from metaviz.config import Config, param
from metaviz.functional import Params, forward, init_params
from metaviz.learners.base import Adapted, MetaLearner
from metaviz.tasks.base import Episode, TaskDistribution

ATTN = "attn."
MEMORY = ATTN + "memory"


@dataclass(frozen=True)
class SequenceConfig(Config):
    features: int = param(32, "Input features (backbone outputs)", min=1, max=512, step=1,
                          help="Size of f(x), the backbone's embedding of each input.")
    width: int = param(32, "Attention width (d)", options=(8, 16, 32, 64, 128),
                       help="Size of every token.")
    heads: int = param(2, "Attention heads", options=(1, 2, 4, 8))
    blocks: int = param(2, "Blocks", min=1, max=4, step=1,
                        help="Self-attention blocks over the support set, and as many cross-attention blocks "
                             "from the queries to it.")

    def __post_init__(self):
        super().__post_init__()
        if self.width % self.heads:
            raise ValueError(f"SequenceConfig: heads ({self.heads}) must divide the width ({self.width})")


class _Block(nn.Module):
    """Parameters of one pre-LayerNorm attention block (used for initialisation and names only)."""

    def __init__(self, d: int, cross: bool):
        super().__init__()
        self.ln_q = nn.LayerNorm(d)
        if cross:
            self.ln_kv = nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln_mlp = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))


class _Reader(nn.Module):
    """Parameters of the attention reader (used for initialisation and names only)."""

    def __init__(self, features: int, label_dim: int, d: int, blocks: int, out_dim: int):
        super().__init__()
        self.embed = nn.Linear(features + label_dim + 1, d)
        self.memory = nn.Parameter(0.02 * torch.randn(1, d))  # the null token
        self.enc = nn.ModuleList(_Block(d, cross=False) for _ in range(blocks))
        self.dec = nn.ModuleList(_Block(d, cross=True) for _ in range(blocks))
        self.ln_out = nn.LayerNorm(d)
        self.out = nn.Linear(d, out_dim)


def _seed_from(net: nn.Module) -> int:
    """A seed for the extra modules, drawn from the backbone's seeded initial weights (so the run's seed
    decides them too)."""
    first = next(net.parameters()).detach().cpu().double().numpy().tobytes()
    return int.from_bytes(hashlib.sha256(first).digest()[:4], "little")


def _one_hot(y: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
    """One-hot labels [N] -> [N, n] (``F.one_hot`` reads the largest label, which vmap cannot)."""
    return (y[:, None] == torch.arange(n, device=y.device)).to(dtype)


def _linear(p: Params, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, p[name + ".weight"], p[name + ".bias"])


def _norm(p: Params, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], p[name + ".weight"], p[name + ".bias"])


def _attend(p: Params, pre: str, q: torch.Tensor, kv: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head attention of the rows of ``q`` [Nq, d] over the rows of ``kv`` [Nk, d]."""
    d = q.shape[-1]

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(t.shape[0], heads, d // heads).transpose(0, 1)          # [h, N, d/h]

    qh, kh, vh = split(_linear(p, pre + "q", q)), split(_linear(p, pre + "k", kv)), split(_linear(p, pre + "v", kv))
    weights = torch.softmax(qh @ kh.transpose(1, 2) / math.sqrt(d // heads), -1)  # [h, Nq, Nk]
    return _linear(p, pre + "o", (weights @ vh).transpose(0, 1).reshape(q.shape[0], d))


def _block(p: Params, pre: str, h: torch.Tensor, heads: int, memory: torch.Tensor | None = None) -> torch.Tensor:
    """h + attention(LN h, LN memory or LN h), then h + MLP(LN h)."""
    hq = _norm(p, pre + "ln_q", h)
    kv = hq if memory is None else _norm(p, pre + "ln_kv", memory)
    h = h + _attend(p, pre, hq, kv, heads)
    z = _norm(p, pre + "ln_mlp", h)
    return h + _linear(p, pre + "mlp.2", torch.relu(_linear(p, pre + "mlp.0", z)))


class Sequence(MetaLearner):
    __doc__ = __doc__
    name = "sequence"
    title = "Sequence model (attention over the support set)"
    family = "model"
    Config = SequenceConfig
    has_inner_loop = False
    has_embedding = True  # the backbone outputs features f(x), not the task's outputs

    @classmethod
    def net_out_dim(cls, task: TaskDistribution, config: SequenceConfig) -> int:
        return config.features

    def __init__(self, config: SequenceConfig | None, task: TaskDistribution, net: nn.Module,
                 device: torch.device | str = "cpu", strategy: str = "auto"):
        super().__init__(config, task, net, device, strategy)
        self.net_keys = list(self.params)
        c = self.config
        self.label_dim = task.out_dim
        dtype = next(net.parameters()).dtype
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_seed_from(net))
            reader = _Reader(c.features, self.label_dim, c.width, c.blocks, task.out_dim)
        self.reader = reader.to(self.device, dtype)
        self.params.update({ATTN + k: v for k, v in init_params(self.reader, self.device).items()})

    def features(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """f(x): the backbone's embedding of each input, [N, *in_shape] -> [N, features]."""
        return forward(self.net, {k: params[k] for k in self.net_keys}, x)

    def tokens(self, params: Params, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """[f(x), label, 1] for labelled inputs, [f(x), 0, 0] for queries (``y`` None), embedded: [N, d]."""
        fx = self.features(params, x)
        if y is None:
            label = torch.zeros(fx.shape[0], self.label_dim + 1, dtype=fx.dtype, device=fx.device)
        else:
            if self.task.kind == "classification":
                y = _one_hot(y, self.label_dim, fx.dtype)
            label = torch.cat([y.to(fx.dtype), torch.ones_like(fx[:, :1])], -1)
        return _linear(params, ATTN + "embed", torch.cat([fx, label], -1))

    def adapt(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor,
              steps: int | None = None, first_order: bool = False) -> Adapted:
        """Read the support set: ``attn.memory`` becomes [null; Enc(support tokens)] (``steps`` is ignored)."""
        h = self.tokens(params, support_x, support_y)
        for i in range(self.config.blocks):
            h = _block(params, f"{ATTN}enc.{i}.", h, self.config.heads)
        out = dict(params)
        out[MEMORY] = torch.cat([params[MEMORY][:1], h])  # the null token, then the support set
        return Adapted(out, torch.zeros(0, dtype=h.dtype, device=h.device))

    def predict(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """Each query attends to ``attn.memory`` (with the meta-parameters, the null token alone)."""
        h = self.tokens(params, x, None)
        for i in range(self.config.blocks):
            h = _block(params, f"{ATTN}dec.{i}.", h, self.config.heads, params[MEMORY])
        return _linear(params, ATTN + "out", _norm(params, ATTN + "ln_out", h))

    def query_curve(self, params: Params, episode: Episode, steps: int) -> torch.Tensor:
        """No inner steps: the query metrics after reading the support set, repeated: [2, steps + 1]."""
        adapted = self.adapt(params, episode.support_x, episode.support_y).params
        return self.query_metrics(adapted, episode)[:, None].expand(2, steps + 1)
