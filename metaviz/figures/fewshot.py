"""Figures for few-shot on a user's examples: query probabilities, and their change over the inner loop."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from metaviz.figures.theme import layout

SCALE = [[0.0, "#ffffff"], [1.0, "#2b8a3e"]]


def _short(names: Sequence[str], width: int = 28) -> list[str]:
    """Unique labels of at most ``width`` characters (the end of a long path is what tells files apart)."""
    out = []
    for i, n in enumerate(names):
        label = n if len(n) <= width else "..." + n[-(width - 3):]
        out.append(label if label not in out else f"{label} ({i + 1})")
    return out


def _heatmap(z: np.ndarray, classes: Sequence[str], rows: Sequence[str]) -> dict:
    return dict(type="heatmap", z=z, x=list(classes), y=rows, zmin=0.0, zmax=1.0, colorscale=SCALE,
                text=[[f"{v:.0%}" for v in row] for row in z], texttemplate="%{text}",
                hovertemplate="%{y}<br>%{x}: %{z:.3f}<extra></extra>", showscale=False)


def probability_figure(classes: Sequence[str], probabilities: np.ndarray, names: Sequence[str]) -> go.Figure:
    """Queries (rows) by classes (columns): p(class | query) in each cell. probabilities [Q, n]."""
    rows = _short(names)
    fig = go.Figure(data=[_heatmap(np.asarray(probabilities), classes, rows)],
                    layout=layout("Class probabilities of each query", height=120 + 34 * len(rows)))
    fig.update_yaxes(autorange="reversed")
    return fig


def inner_loop_figure(classes: Sequence[str], steps: np.ndarray, names: Sequence[str],
                      support_loss: np.ndarray | None = None) -> go.Figure:
    """The query probabilities after each inner step, as an animation with a slider.

    steps [T + 1, Q, n]: frame t shows p_t(class | query) after t gradient steps on the support set
    (t = 0: the meta-learned starting point). The slider's labels give the support loss at each step."""
    steps = np.asarray(steps)
    rows = _short(names)
    labels = [f"{t}" + (f" (loss {support_loss[t]:.2f})" if support_loss is not None else "")
              for t in range(len(steps))]
    frames = [go.Frame(data=[_heatmap(steps[t], classes, rows)], name=str(t)) for t in range(len(steps))]
    slider = dict(active=len(steps) - 1, currentvalue=dict(prefix="inner step "), pad=dict(t=40),
                  steps=[dict(label=labels[t], method="animate",
                              args=[[str(t)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                   transition=dict(duration=0))]) for t in range(len(steps))])
    play = dict(type="buttons", showactive=False, x=0, y=-0.08, xanchor="left", yanchor="top",
                buttons=[dict(label="Play", method="animate",
                              args=[None, dict(frame=dict(duration=600, redraw=True), fromcurrent=False,
                                               transition=dict(duration=0))])])
    fig = go.Figure(data=[_heatmap(steps[-1], classes, rows)], frames=frames,
                    layout=layout("Query probabilities, inner step by inner step", height=200 + 34 * len(rows),
                                  sliders=[slider], updatemenus=[play]))
    fig.update_yaxes(autorange="reversed")
    return fig
