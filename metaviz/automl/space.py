"""The DARTS search space: a small cell of mixed operations on vectors (Liu, Simonyan and Yang 2019).

    h_0 = stem(x)                                   (linear, in_dim -> width)
    h_j = sum_{i<j} sum_o softmax(alpha_{ij})_o * o(h_i)    for the cell's nodes j = 1..N
    y   = head(h_N)                                 (linear, width -> out_dim)

Each edge (i, j) mixes the candidate operations OPS; ``weights`` [E, len(OPS)] are the softmax of the architecture
parameters alpha. A one-hot ``weights`` is a discrete architecture, so the same network trains the derived cell.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

OPS = ("zero", "skip", "linear", "mlp", "tanh")


def edges(nodes: int) -> list[tuple[int, int]]:
    """(from, to) for every edge of a cell with ``nodes`` intermediate nodes, in order."""
    return [(i, j) for j in range(1, nodes + 1) for i in range(j)]


class Op(nn.Module):
    """One candidate operation, width -> width."""

    def __init__(self, kind: str, width: int):
        super().__init__()
        self.kind = kind
        if kind in ("linear", "tanh"):
            self.a = nn.Linear(width, width)
        elif kind == "mlp":
            self.a, self.b = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.kind == "zero":
            return torch.zeros_like(h)
        if self.kind == "skip":
            return h
        if self.kind == "linear":
            return torch.relu(self.a(h))
        if self.kind == "tanh":
            return torch.tanh(self.a(h))
        return self.b(torch.relu(self.a(h)))


class Cell(nn.Module):
    """x [B, in_dim], weights [E, len(OPS)] -> [B, out_dim]."""

    def __init__(self, in_dim: int, out_dim: int, width: int = 16, nodes: int = 2):
        super().__init__()
        self.edges = edges(nodes)
        self.stem = nn.Linear(in_dim, width)
        self.mixed = nn.ModuleList(nn.ModuleList(Op(k, width) for k in OPS) for _ in self.edges)
        self.head = nn.Linear(width, out_dim)
        self.nodes = nodes

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        states = [self.stem(x)]
        for j in range(1, self.nodes + 1):
            states.append(sum(sum(w * op(states[i]) for w, op in zip(weights[e], self.mixed[e]) if w.requires_grad
                                  or float(w) != 0.0)
                              for e, (i, jj) in enumerate(self.edges) if jj == j))
        return self.head(states[-1])


def one_hot(choice: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Weights [E, len(OPS)] of a discrete architecture: edge e uses OPS[choice[e]]."""
    out = torch.zeros(len(choice), len(OPS), dtype=dtype)
    out[torch.arange(len(choice)), torch.tensor(choice)] = 1.0
    return out


def derive(alpha: torch.Tensor) -> tuple[int, ...]:
    """The discrete cell DARTS keeps: on each edge the strongest operation other than zero (Liu et al. 2019, 2.4)."""
    masked = alpha.detach().clone()
    masked[:, OPS.index("zero")] = -torch.inf
    return tuple(int(i) for i in masked.argmax(-1))


def all_architectures(nodes: int) -> list[tuple[int, ...]]:
    """Every discrete cell without zero edges: (len(OPS) - 1) ** E of them."""
    usable = [i for i, k in enumerate(OPS) if k != "zero"]
    return list(itertools.product(usable, repeat=len(edges(nodes))))


def describe(choice: tuple[int, ...], nodes: int) -> list[str]:
    return [f"{i}->{j}: {OPS[k]}" for (i, j), k in zip(edges(nodes), choice)]


class Supernet:
    """A :class:`Cell` on one problem with its parameters as a dict (``torch.func.functional_call``)."""

    def __init__(self, problem, width: int, nodes: int, seed: int, dtype: torch.dtype = torch.float32):
        from metaviz.functional import init_params

        self.problem, self.nodes = problem, nodes
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.cell = Cell(problem.in_dim, problem.out_dim, width, nodes).to(dtype)
        self.init = init_params(self.cell)

    def loss(self, params: dict, weights: torch.Tensor, split: str) -> torch.Tensor:
        from torch.func import functional_call

        x, y = self.problem.split(split)
        return self.problem.loss(functional_call(self.cell, params, (x, weights)), y)

    @torch.no_grad()
    def score(self, params: dict, weights: torch.Tensor, split: str) -> tuple[float, float | None]:
        from torch.func import functional_call

        x, y = self.problem.split(split)
        prediction = functional_call(self.cell, params, (x, weights))
        return float(self.problem.loss(prediction, y)), self.problem.accuracy(prediction, y)

    def train_discrete(self, choice: tuple[int, ...], steps: int, lr: float) -> dict:
        """Train the cell ``choice`` from the fixed initialisation with Adam on the training split."""
        weights = one_hot(choice, next(iter(self.init.values())).dtype)
        params = {k: v.detach().clone().requires_grad_(True) for k, v in self.init.items()}
        optimizer = torch.optim.Adam(params.values(), lr=lr)
        for _ in range(steps):
            optimizer.zero_grad()
            self.loss(params, weights, "train").backward()
            optimizer.step()
        return {k: v.detach() for k, v in params.items()}

    def retrain_and_score(self, choice: tuple[int, ...], steps: int, lr: float) -> tuple[float, float, float | None]:
        """Train the cell ``choice`` from scratch; (validation loss, test loss, test accuracy or None)."""
        params = self.train_discrete(choice, steps, lr)
        weights = one_hot(choice, next(iter(self.init.values())).dtype)
        return self.score(params, weights, "val")[0], *self.score(params, weights, "test")
