"""Conditional Neural Process: summarise the support set as one task vector, condition on it.

Paper: Garnelo, Rosenbaum, Maddison, Ramalho, Saxton, Shanahan, Teh, Rezende
and Eslami (2018), *Conditional Neural Processes*, ICML.

Idea: a task is a function; describe it by a vector. An encoder h maps each
labelled support pair to a representation r_i, their *mean* r is the task
vector (a mean, so the support set is read as a set: any size, any order), and
a decoder g maps a query input together with r to a prediction. Adapting to a
task is one forward pass, no gradient steps; tasks that behave alike get task
vectors that lie close together, which is what makes r worth plotting.

Update rule:

    r_i = h([f(x_i), y_i])      r = (1/S) sum_i r_i           (y_i one-hot for classes)
    regression:      mu(x), sigma(x) = g([f(x), r]),  sigma = min_std + (1 - min_std) softplus(.)
                     L_Q = mean_j -log N(y_j; mu(x_j), sigma(x_j)^2)        (Gaussian NLL)
    classification:  logits(x) = g([f(x), r]),  L_Q = cross-entropy
    outer loop:      all weights (f, h, g) <- Adam step on grad mean_i L_{Q_i}

f is the backbone ``self.net`` (outputs of size "features": an MLP for vectors,
a Conv4 for images), shared by encoder and decoder; h and g are MLPs.

For regression the CNP is trained with the Gaussian NLL, as in the paper: it
predicts its own uncertainty, large far from the support points. But the NLL
is not comparable with the other learners' losses (it has another scale and
can be negative), so ``predict`` returns the mean mu and ``query_metrics``
reports the MSE of mu as "loss", the number every regression learner reports;
the meta-training loss of each step (StepEvent) is the NLL itself.
``predict_distribution`` gives (mu, sigma). ``adapt`` ignores ``steps`` and
stores r in the parameters' ``context.r`` entry, which is zero in the
meta-parameters (the decoder's input when it has seen nothing); no
meta-objective reads that zero, so its meta-gradient is zero and the outer
optimizer leaves it there.
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

ENCODER, DECODER, TASK_VECTOR = "encoder.", "decoder.", "context.r"


@dataclass(frozen=True)
class CNPConfig(Config):
    features: int = param(32, "Input features (backbone outputs)", min=1, max=512, step=1,
                          help="Size of f(x), the backbone's embedding of each input.")
    r_dim: int = param(32, "Task vector size (r)", min=1, max=512, step=1)
    width: int = param(64, "Encoder and decoder width", min=2, max=512, step=1)
    min_std: float = param(0.05, "Minimum predicted std", min=1e-4, max=1.0, step=0.01, log=True,
                           help="Regression: sigma = min_std + (1 - min_std) softplus(.), which keeps the "
                                "Gaussian NLL from rewarding a collapse of sigma to zero.")


def _mlp(n_in: int, width: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         nn.Linear(width, n_out))


def _seed_from(net: nn.Module) -> int:
    """A seed for the extra modules, drawn from the backbone's seeded initial weights (so the run's seed
    decides them too)."""
    first = next(net.parameters()).detach().cpu().double().numpy().tobytes()
    return int.from_bytes(hashlib.sha256(first).digest()[:4], "little")


def _one_hot(y: torch.Tensor, n: int) -> torch.Tensor:
    """One-hot labels [N] -> [N, n] (``F.one_hot`` reads the largest label, which vmap cannot)."""
    return y[:, None] == torch.arange(n, device=y.device)


def _sub(params: Params, prefix: str) -> Params:
    return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}


def gaussian_nll(mean: torch.Tensor, std: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """mean over points of -log N(y; mean, std^2) = log std + (y - mean)^2 / (2 std^2) + log(2 pi) / 2."""
    return (torch.log(std) + (y - mean) ** 2 / (2 * std ** 2) + 0.5 * math.log(2 * math.pi)).mean()


class CNP(MetaLearner):
    __doc__ = __doc__
    name = "cnp"
    title = "Conditional Neural Process"
    family = "task-embedding"
    Config = CNPConfig
    has_inner_loop = False
    has_embedding = True  # the backbone outputs features f(x); task_vector gives the task embedding r

    @classmethod
    def net_out_dim(cls, task: TaskDistribution, config: CNPConfig) -> int:
        return config.features

    def __init__(self, config: CNPConfig | None, task: TaskDistribution, net: nn.Module,
                 device: torch.device | str = "cpu", strategy: str = "auto"):
        super().__init__(config, task, net, device, strategy)
        self.net_keys = list(self.params)
        c = self.config
        self.label_dim = task.out_dim
        n_out = 2 * task.out_dim if task.kind == "regression" else task.out_dim
        dtype = next(net.parameters()).dtype
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_seed_from(net))
            encoder = _mlp(c.features + self.label_dim, c.width, c.r_dim)
            decoder = _mlp(c.features + c.r_dim, c.width, n_out)
        self.encoder, self.decoder = encoder.to(self.device, dtype), decoder.to(self.device, dtype)
        self.params.update({ENCODER + k: v for k, v in init_params(self.encoder, self.device).items()})
        self.params.update({DECODER + k: v for k, v in init_params(self.decoder, self.device).items()})
        self.params[TASK_VECTOR] = torch.zeros(c.r_dim, dtype=dtype, device=self.device, requires_grad=True)

    def features(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """f(x): the backbone's embedding of each input, [N, *in_shape] -> [N, features]."""
        return forward(self.net, {k: params[k] for k in self.net_keys}, x)

    def encode(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor) -> torch.Tensor:
        """r_i = h([f(x_i), y_i]) for every support pair: [S, r_dim]."""
        fx = self.features(params, support_x)
        y = _one_hot(support_y, self.label_dim) if self.task.kind == "classification" else support_y
        return forward(self.encoder, _sub(params, ENCODER), torch.cat([fx, y.to(fx.dtype)], -1))

    def task_vector(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor) -> torch.Tensor:
        """r, the mean of the support pairs' encodings: [r_dim]."""
        return self.encode(params, support_x, support_y).mean(0)

    def adapt(self, params: Params, support_x: torch.Tensor, support_y: torch.Tensor,
              steps: int | None = None, first_order: bool = False) -> Adapted:
        """Read the support set: ``context.r`` becomes the task vector (``steps`` is ignored)."""
        r = self.task_vector(params, support_x, support_y)
        out = dict(params)
        out[TASK_VECTOR] = r
        return Adapted(out, torch.zeros(0, dtype=r.dtype, device=r.device))

    def decode(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """g([f(x), r]): [N, 2 * out_dim] (regression: mean, raw std) or [N, out_dim] logits."""
        fx = self.features(params, x)
        r = params[TASK_VECTOR].expand(fx.shape[0], -1)
        return forward(self.decoder, _sub(params, DECODER), torch.cat([fx, r], -1))

    def predict_distribution(self, params: Params, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Regression: the predicted mean and std, each [N, out_dim]."""
        mean, raw = self.decode(params, x).chunk(2, -1)
        min_std = self.config.min_std
        return mean, min_std + (1 - min_std) * F.softplus(raw)

    def predict(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """The mean (regression) or the logits (classification): [N, out_dim]."""
        if self.task.kind == "regression":
            return self.predict_distribution(params, x)[0]
        return self.decode(params, x)

    def task_loss(self, params: Params, episode: Episode) -> torch.Tensor:
        """Gaussian NLL of the queries (regression), cross-entropy (classification)."""
        adapted = self.adapt(params, episode.support_x, episode.support_y).params
        if self.task.kind == "regression":
            mean, std = self.predict_distribution(adapted, episode.query_x)
            return gaussian_nll(mean, std, episode.query_y)
        return self.task.loss(self.decode(adapted, episode.query_x), episode.query_y)

    def query_curve(self, params: Params, episode: Episode, steps: int) -> torch.Tensor:
        """No inner steps: the query metrics after reading the support set, repeated: [2, steps + 1]."""
        adapted = self.adapt(params, episode.support_x, episode.support_y).params
        return self.query_metrics(adapted, episode)[:, None].expand(2, steps + 1)
