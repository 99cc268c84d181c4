"""The DARTS search spaces: a small cell of mixed operations (Liu, Simonyan and Yang 2019).

    h_0 = stem(x)                                   (linear, in_dim -> width)
    h_j = sum_{i<j} sum_o softmax(alpha_{ij})_o * o(h_i)    for the cell's nodes j = 1..N
    y   = head(h_N)                                 (linear, width -> out_dim)

Each edge (i, j) mixes the candidate operations of a space; ``weights`` [E, K] are the softmax of the architecture
parameters alpha (K operations). A one-hot ``weights`` is a discrete architecture, so the same network trains the
derived cell. Two spaces (:data:`SPACES`): "vector" (:data:`OPS` on vectors, here) and "conv" (conv 3x3, conv 5x5,
max pooling, skip and zero on 8x8 images: :mod:`metaviz.automl.conv_space`). Operation 0 is "zero" in each.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from metaviz.automl.cell import edges, run_cell
from metaviz.automl.conv_space import CONV_OPS, ConvCell

__all__ = ["OPS", "SPACES", "Cell", "Supernet", "all_architectures", "derive", "describe", "edges", "one_hot"]

OPS = ("zero", "skip", "linear", "mlp", "tanh")
SPACES = {"vector": OPS, "conv": CONV_OPS}  # space -> its operations


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
        return self.head(run_cell(self.stem(x), weights, self.mixed, self.nodes))


def one_hot(choice: tuple[int, ...], dtype: torch.dtype = torch.float32, n_ops: int = len(OPS)) -> torch.Tensor:
    """Weights [E, n_ops] of a discrete architecture: edge e uses operation choice[e]."""
    out = torch.zeros(len(choice), n_ops, dtype=dtype)
    out[torch.arange(len(choice)), torch.tensor(choice)] = 1.0
    return out


def derive(alpha: torch.Tensor) -> tuple[int, ...]:
    """The discrete cell DARTS keeps: on each edge the strongest operation other than zero (Liu et al. 2019, 2.4)."""
    masked = alpha.detach().clone()
    masked[:, 0] = -torch.inf  # "zero" in every space
    return tuple(int(i) for i in masked.argmax(-1))


def all_architectures(nodes: int, ops: tuple[str, ...] = OPS) -> list[tuple[int, ...]]:
    """Every discrete cell without zero edges: (len(ops) - 1) ** E of them."""
    usable = [i for i, k in enumerate(ops) if k != "zero"]
    return list(itertools.product(usable, repeat=len(edges(nodes))))


def describe(choice: tuple[int, ...], nodes: int, ops: tuple[str, ...] = OPS) -> list[str]:
    return [f"{i}->{j}: {ops[k]}" for (i, j), k in zip(edges(nodes), choice)]


class Supernet:
    """The cell of a space on one problem with its parameters as a dict (``torch.func.functional_call``)."""

    def __init__(self, problem, width: int, nodes: int, seed: int, dtype: torch.dtype = torch.float32,
                 space: str = "vector"):
        from metaviz.functional import init_params

        if space not in SPACES:
            raise ValueError(f"unknown search space {space!r}; one of {sorted(SPACES)}")
        if space == "conv" and problem.image_shape is None:
            raise ValueError(f"the conv search space needs image inputs (digits), not {problem.task}")
        self.problem, self.nodes, self.space, self.ops = problem, nodes, space, SPACES[space]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            cell = (Cell(problem.in_dim, problem.out_dim, width, nodes) if space == "vector"
                    else ConvCell(problem.image_shape, problem.out_dim, width, nodes))
            self.cell = cell.to(dtype)
        self.init = init_params(self.cell)

    def one_hot(self, choice: tuple[int, ...]) -> torch.Tensor:
        return one_hot(choice, next(iter(self.init.values())).dtype, len(self.ops))

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
        weights = self.one_hot(choice)
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
        weights = self.one_hot(choice)
        return self.score(params, weights, "val")[0], *self.score(params, weights, "test")
