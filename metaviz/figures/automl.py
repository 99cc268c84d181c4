"""Figures of the AutoML lab: learned hyperparameters over outer steps, search curves at equal compute, DARTS's
architecture weights as stacked bars, the derived cell as a small graph. Every word comes in through ``text``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from metaviz.automl.space import OPS, edges
from metaviz.figures.theme import GRID, PALETTE, axis, layout

OP_COLORS = dict(zip(OPS, ("#adb5bd", "#4c6ef5", "#2b8a3e", "#e8590c", "#ae3ec9"))) | {  # every space's operations
    "conv3": "#1098ad", "conv5": "#d6336c", "pool": "#f59f00"}


def hyperparameter_figure(steps: Sequence[int], lr: np.ndarray | None, wd: np.ndarray | None,
                          layers: Sequence[str], text: Mapping[str, str], uirevision: str = "automl-h") -> go.Figure:
    """lr [N, L] (mean over inner steps) and wd [N, L] per layer against outer steps, log scale, side by side."""
    panels = [(text["lr"], lr), (text["wd"], wd)]
    panels = [p for p in panels if p[1] is not None]
    fig = make_subplots(rows=1, cols=max(len(panels), 1), subplot_titles=[p[0] for p in panels])
    for col, (_, values) in enumerate(panels, start=1):
        for i, layer in enumerate(layers):
            fig.add_trace(go.Scatter(x=list(steps), y=values[:, i], mode="lines", name=layer, legendgroup=layer,
                                     showlegend=col == 1, line=dict(color=PALETTE[i % len(PALETTE)])), row=1, col=col)
    fig.update_yaxes(type="log", gridcolor=GRID)
    fig.update_xaxes(title_text=text["x"], gridcolor=GRID)
    fig.update_layout(layout(title=text["title"], height=330, uirevision=uirevision,
                             margin=dict(l=50, r=20, t=70, b=45)))
    return fig


def search_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], text: Mapping[str, str],
                  uirevision: str = "automl-s") -> go.Figure:
    """Best validation loss found so far against inner training steps spent, one line per search."""
    data = [dict(type="scatter", x=x.tolist(), y=y.tolist(), mode="lines+markers", name=name,
                 line=dict(color=PALETTE[i % len(PALETTE)], shape="hv"))
            for i, (name, (x, y)) in enumerate(curves.items())]
    return go.Figure(data=data, layout=layout(title=text["title"], uirevision=uirevision,
                                              xaxis=axis(text["x"]), yaxis=axis(text["y"], type="log")))


def alpha_figure(alpha: np.ndarray, nodes: int, text: Mapping[str, str], uirevision: str = "automl-a",
                 ops: Sequence[str] = OPS) -> go.Figure:
    """softmax(alpha) [E, len(ops)]: one stacked bar per edge, one colour per operation."""
    names = [f"{i}→{j}" for i, j in edges(nodes)]
    data = [dict(type="bar", x=names, y=alpha[:, k].tolist(), name=op, marker=dict(color=OP_COLORS[op]))
            for k, op in enumerate(ops)]
    return go.Figure(data=data, layout=layout(title=text["title"], uirevision=uirevision, barmode="stack",
                                              xaxis=axis(text["x"]), yaxis=axis(text["y"], range=[0, 1])))


def cell_figure(choice: Sequence[int], nodes: int, text: Mapping[str, str], ops: Sequence[str] = OPS) -> go.Figure:
    """The derived cell: nodes 0..N on a line, each edge an arc labelled with its operation."""
    data, annotations = [], []
    for e, (i, j) in enumerate(edges(nodes)):
        op = ops[choice[e]]
        t = np.linspace(0, 1, 30)
        height = 0.35 * (j - i) * (1 if e % 2 == 0 else -1)
        x, y = i + (j - i) * t, height * np.sin(np.pi * t)
        data.append(dict(type="scatter", x=x.tolist(), y=y.tolist(), mode="lines", showlegend=False,
                         line=dict(color=OP_COLORS[op], width=4), hoverinfo="skip"))
        annotations.append(dict(x=float(x[15]), y=float(y[15]), text=op, showarrow=False,
                                font=dict(color=OP_COLORS[op], size=13), bgcolor="white"))
    data.append(dict(type="scatter", x=list(range(nodes + 1)), y=[0] * (nodes + 1), mode="markers+text",
                     text=[text["input"]] + [str(n) for n in range(1, nodes + 1)], textposition="bottom center",
                     marker=dict(size=22, color="#212529"), showlegend=False))
    hidden = dict(visible=False)
    return go.Figure(data=data, layout=layout(title=text["title"], height=260, xaxis=hidden,
                                              yaxis=dict(visible=False, range=[-0.9, 0.9]), annotations=annotations))


def result_figure(rows: Sequence[tuple[str, float]], text: Mapping[str, str]) -> go.Figure:
    """One bar per (label, test score): the searched choice against the baselines."""
    return go.Figure(data=[dict(type="bar", x=[r[0] for r in rows], y=[r[1] for r in rows],
                                text=[f"{r[1]:.3g}" for r in rows], textposition="outside",
                                marker=dict(color=[PALETTE[i % len(PALETTE)] for i in range(len(rows))]))],
                     layout=layout(title=text["title"], xaxis=axis(""), yaxis=axis(text["y"], rangemode="tozero")))
