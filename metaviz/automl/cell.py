"""What every DARTS cell shares: its edges and the mixed operation on one edge (Liu, Simonyan and Yang 2019).

    h_j = sum_{i<j} sum_o w_{ij,o} * o(h_i),    w_ij = softmax(alpha_ij)   (or one-hot: a discrete cell)
"""

from __future__ import annotations

import torch
from torch import nn


def edges(nodes: int) -> list[tuple[int, int]]:
    """(from, to) for every edge of a cell with ``nodes`` intermediate nodes, in order."""
    return [(i, j) for j in range(1, nodes + 1) for i in range(j)]


def mix(weights: torch.Tensor, ops: nn.ModuleList, h: torch.Tensor) -> torch.Tensor:
    """sum_o weights[o] * o(h) for one edge, skipping operations whose weight is a constant 0 (a discrete cell)."""
    return sum(w * op(h) for w, op in zip(weights, ops) if w.requires_grad or float(w) != 0.0)


def run_cell(stem: torch.Tensor, weights: torch.Tensor, mixed: nn.ModuleList, nodes: int) -> torch.Tensor:
    """The last node of a cell whose node 0 is ``stem``; weights [E, K], mixed[e] the K operations of edge e."""
    states = [stem]
    for j in range(1, nodes + 1):
        states.append(sum(mix(weights[e], mixed[e], states[i]) for e, (i, jj) in enumerate(edges(nodes)) if jj == j))
    return states[-1]
