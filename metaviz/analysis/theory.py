"""What theory says about why gradient-based meta-learning works, measured on a real network.

* :func:`first_order_gap`: how far first-order MAML (FOMAML) is from MAML. For one inner step
  theta' = theta - alpha g_S, MAML's meta-gradient is (I - alpha H_S) grad L_Q(theta'), so the second-order term
  alpha H_S grad L_Q(theta') is O(alpha) of the first-order one: the first-order approximation is close when
  alpha ||H_S|| is small (Finn et al. 2017, section 5.2; Nichol et al. 2018, section 5). Measured over a grid of
  inner learning rates and step counts with :func:`metaviz.analysis.lessons.maml_gradient_parts`.
* :func:`gradient_alignment`: Reptile as gradient alignment (Nichol, Achiam and Schulman 2018, *On First-Order
  Meta-Learning Algorithms*, section 5). A Taylor expansion of k >= 2 inner steps on minibatches A, B of a task
  gives the expected Reptile update  E[g_A + g_B] - (alpha / 2) grad E[g_A . g_B] + O(alpha^2):  joint training
  plus a term that *raises the inner product of two minibatches' gradients of the same task*, so that a step on
  one part of a task helps on the rest. Measured: the cosine of the support and the query gradient of each task
  (within a task) and of the support gradients of two different tasks (across tasks), at any parameters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from metaviz.analysis.adaptation import heldout_batch
from metaviz.analysis.lessons import maml_gradient_parts
from metaviz.functional import flatten, value_and_grad
from metaviz.train import RunConfig, build_learner

Params = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class FirstOrderGap:
    """MAML against FOMAML at each inner learning rate and number of inner steps, on the same tasks.

    inner_lrs [A]; inner_steps [S]; share [S, A]: ||g_MAML - g_FOMAML|| / ||g_MAML||, the second-order term's
    size relative to the whole meta-gradient; cosine [S, A]: the cosine of the angle between g_MAML and g_FOMAML.
    """

    inner_lrs: np.ndarray
    inner_steps: tuple[int, ...]
    share: np.ndarray
    cosine: np.ndarray


def first_order_gap(config: RunConfig, state: Params, inner_lrs: Sequence[float], inner_steps: Sequence[int],
                    n_tasks: int = 10, seed: int = 0) -> FirstOrderGap:
    """The second-order term's share of MAML's meta-gradient at ``state`` for each inner learning rate and
    number of inner steps (``config`` a MAML run's; each setting on the same ``n_tasks`` held-out tasks)."""
    share = np.zeros((len(inner_steps), len(inner_lrs)))
    cosine = np.zeros_like(share)
    for i, steps in enumerate(inner_steps):
        for j, lr in enumerate(inner_lrs):
            lc = dataclasses.replace(config.learner_config, inner_lr=float(lr), inner_steps=int(steps))
            parts = maml_gradient_parts(dataclasses.replace(config, learner_config=lc), state, n_tasks, seed)
            share[i, j] = parts.second_norm / max(parts.full_norm, 1e-300)
            cosine[i, j] = parts.cosine
    return FirstOrderGap(np.asarray(inner_lrs, dtype=float), tuple(int(s) for s in inner_steps), share, cosine)


@dataclass(frozen=True)
class Alignment:
    """How the gradients of tasks line up at each set of parameters (name -> params).

    names [M]; within [M, T]: per task, the cosine of its support-set and its query-set gradient (two
    minibatches of one task: what Reptile's second term raises); across [M, T (T - 1) / 2]: per pair of tasks,
    the cosine of their support-set gradients; within_dot [M, T] and across_dot [M, P]: the inner products
    themselves.
    """

    names: tuple[str, ...]
    within: np.ndarray
    across: np.ndarray
    within_dot: np.ndarray
    across_dot: np.ndarray


def task_gradients(config: RunConfig, state: Params, n_tasks: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradients of the support loss and of the query loss of each of ``n_tasks`` held-out tasks at
    ``state``, flattened: two [T, P] tensors (float64, on the CPU, one task at a time)."""
    learner = build_learner(dataclasses.replace(config, device="cpu"))
    learner.load_numpy(state)
    params = {k: v.detach().double() for k, v in learner.params.items()}
    learner.net.double()
    batch = heldout_batch(config, n_tasks, seed)
    support, query = [], []
    for i in range(batch.n_tasks):
        episode = batch.task(i)
        for x, y, out in ((episode.support_x, episode.support_y, support), (episode.query_x, episode.query_y, query)):
            x = x.double() if x.is_floating_point() else x
            y = y.double() if y.is_floating_point() else y
            grads, _ = value_and_grad(lambda p, x=x, y=y: learner.support_loss(p, x, y), params, create_graph=False)
            out.append(flatten(grads))
    return torch.stack(support), torch.stack(query)


def gradient_alignment(config: RunConfig, states: Mapping[str, Params], n_tasks: int = 20,
                       seed: int = 0) -> Alignment:
    """Within-task and across-task gradient cosines (and inner products) at each of ``states``, on the same
    ``n_tasks`` held-out tasks of ``config``."""
    within, across, within_dot, across_dot = [], [], [], []
    upper = torch.triu_indices(n_tasks, n_tasks, offset=1)
    for state in states.values():
        support, query = task_gradients(config, state, n_tasks, seed)  # [T, P] each
        dots = (support * query).sum(1)
        norms_s, norms_q = support.norm(dim=1), query.norm(dim=1)
        within_dot.append(dots)
        within.append(dots / (norms_s * norms_q).clamp_min(1e-300))
        gram = support @ support.T  # [T, T]
        across_dot.append(gram[upper[0], upper[1]])
        across.append((gram / torch.outer(norms_s, norms_s).clamp_min(1e-300))[upper[0], upper[1]])
    stack = lambda xs: torch.stack(xs).numpy()  # noqa: E731
    return Alignment(tuple(states), stack(within), stack(across), stack(within_dot), stack(across_dot))
