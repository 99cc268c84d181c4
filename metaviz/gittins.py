"""The Gittins index of a Bernoulli arm with a Beta posterior, by calibration (retirement) and dynamic programming.

Paper: Gittins (1979), *Bandit processes and dynamic allocation indices*; Gittins, Glazebrook and Weber (2011),
*Multi-armed Bandit Allocation Indices* (2nd ed.), chapters 7-8, whose tables give the values the tests check;
the calibration method as laid out by Edwards (2019), *Practical Calculation of Gittins Indices for Multi-armed
Bandits*, arXiv:1909.05075. Duan et al. (2016) compare RL^2 with it on Bernoulli bandits.

Idea: with rewards discounted by gamma per pull, the Bayes-optimal way to play K independent arms is to pull the
arm of largest *index*, a number computed for each arm alone. The index of an arm whose success probability has
posterior Beta(a, b) is the per-pull payment lambda of a "retirement" option (take lambda forever instead) at which
one is indifferent, in state (a, b), between retiring and pulling the arm once more and then continuing
optimally. For a fixed lambda that optimal-stopping problem is one backward dynamic programme over every posterior
state at once, so a grid of lambdas gives every state's index: the lambda where pulling stops being worth more
than retiring (linear interpolation between grid points).

Update rule (the programme, for each lambda on the grid, mu = a / (a + b)):

    V(a, b) = max( lambda / (1 - gamma),  mu (1 + gamma V(a + 1, b)) + (1 - mu) gamma V(a, b + 1) )
    at depth a + b = N (truncation): V = max(lambda, mu) / (1 - gamma)   (the posterior has settled: retire or
                                                                          keep pulling a known arm)
    index(a, b) = the lambda at which  pull(a, b; lambda) - lambda / (1 - gamma)  crosses zero

A Gittins strategy on a bandit with a uniform prior (Beta(1, 1)) pulls argmax_k index(1 + wins_k, 1 + losses_k).
It is optimal for the infinite discounted problem, not for n undiscounted pulls; ``discount`` trades the two.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=8)
def gittins_table(discount: float, max_total: int, depth: int = 0, n_grid: int = 2001, settle: bool = True
                  ) -> np.ndarray:
    """Index[a, b] for every a, b >= 1 with a + b <= ``max_total`` (other entries NaN): [max_total, max_total].

    ``depth``: the truncation a + b = N of the programme (0: ``max_total`` plus enough pulls for discount^k to
    fall below 1e-3, at most 600 more); ``n_grid``: lambdas on [0, 1] (the index of a Bernoulli arm lies there)."""
    if not 0 < discount < 1:
        raise ValueError(f"the discount must lie strictly between 0 and 1, not {discount}")
    if max_total < 2:
        raise ValueError(f"max_total must be at least 2 (the state a = b = 1), not {max_total}")
    depth = depth or max_total + min(600, int(np.ceil(np.log(1e-3) / np.log(discount))))
    depth = max(depth, max_total)
    lam = np.linspace(0.0, 1.0, n_grid)[:, None]                                   # [M, 1]
    retire = lam / (1 - discount)
    a = np.arange(1, depth)                                                         # a = 1..N-1 on diagonal N
    value = (np.maximum(lam, a / depth) if settle else np.repeat(lam, len(a), 1)) / (1 - discount)  # [M, N - 1]
    table = np.full((max_total, max_total), np.nan)
    for total in range(depth - 1, 1, -1):                                          # diagonals a + b = total
        a = np.arange(1, total)
        mu = a / total
        pull = mu * (1 + discount * value[:, 1:total]) + (1 - mu) * discount * value[:, :total - 1]  # [M, total - 1]
        if total <= max_total:
            table[a, total - a] = _crossing(lam[:, 0], pull - retire)
        value = np.maximum(retire, pull)
    return table


def _crossing(lam: np.ndarray, advantage: np.ndarray) -> np.ndarray:
    """Per column, the lambda where ``advantage`` [M, S] (decreasing in lambda) crosses zero, interpolated."""
    above = (advantage >= 0).sum(0).clip(1, len(lam) - 1)     # advantage >= 0 on the first `above` grid points
    cols = np.arange(advantage.shape[1])
    lo, hi = advantage[above - 1, cols], advantage[above, cols]
    step = lam[1] - lam[0]
    return lam[above - 1] + step * np.where(lo > hi, lo / np.maximum(lo - hi, 1e-300), 0.0).clip(0, 1)


def brute_force_index(a: int, b: int, discount: float, depth: int) -> float:
    """The index from its definition, for tiny trees: the largest, over every stopping rule that pulls at least once
    and at most ``depth`` times, of E[discounted reward] / E[discounted pulls] (a reference for the tests)."""
    nodes = [(i, j, d) for d in range(depth) for i in range(d + 1) for j in [d - i]]     # (wins, losses, pulls)
    best = 0.0
    for mask in range(1 << (len(nodes) - 1)):            # the root always pulls; each other node pulls or stops
        pulls = {nodes[0]} | {n for k, n in enumerate(nodes[1:]) if mask >> k & 1}
        reward = weight = 0.0
        stack = [(0, 0, 0, 1.0)]                         # (wins, losses, pulls so far, probability of the path)
        while stack:
            i, j, d, prob = stack.pop()
            if d >= depth or (i, j, d) not in pulls:
                continue
            mu = (a + i) / (a + b + i + j)
            reward += prob * discount ** d * mu
            weight += prob * discount ** d
            stack += [(i + 1, j, d + 1, prob * mu), (i, j + 1, d + 1, prob * (1 - mu))]
        best = max(best, reward / weight)
    return best
