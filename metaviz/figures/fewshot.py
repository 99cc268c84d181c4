"""Figures for few-shot on a user's examples: query probabilities, and their change over the inner loop.

Each builder takes ``text``, a mapping of its words to override the English defaults in its ``TEXT`` entry, so
that the app can draw them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from metaviz.figures.theme import layout

SCALE = [[0.0, "#ffffff"], [1.0, "#2b8a3e"]]
TEXT: dict[str, dict[str, str]] = {
    "probabilities": dict(title="Class probabilities of each query"),
    "inner_loop": dict(title="Query probabilities, inner step by inner step", step="inner step ",
                       loss=" (loss {loss})", play="Play"),
}


def _text(kind: str, text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT[kind], **(text or {})}


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


def probability_figure(classes: Sequence[str], probabilities: np.ndarray, names: Sequence[str],
                       text: Mapping[str, str] | None = None) -> go.Figure:
    """Queries (rows) by classes (columns): p(class | query) in each cell. probabilities [Q, n]."""
    w = _text("probabilities", text)
    rows = _short(names)
    fig = go.Figure(data=[_heatmap(np.asarray(probabilities), classes, rows)],
                    layout=layout(w["title"], height=120 + 34 * len(rows)))
    fig.update_yaxes(autorange="reversed")
    return fig


def inner_loop_figure(classes: Sequence[str], steps: np.ndarray, names: Sequence[str],
                      support_loss: np.ndarray | None = None, text: Mapping[str, str] | None = None) -> go.Figure:
    """The query probabilities after each inner step, as an animation with a slider.

    steps [T + 1, Q, n]: frame t shows p_t(class | query) after t gradient steps on the support set
    (t = 0: the meta-learned starting point). The slider's labels give the support loss at each step."""
    w = _text("inner_loop", text)
    steps = np.asarray(steps)
    rows = _short(names)
    labels = [f"{t}" + (w["loss"].format(loss=f"{support_loss[t]:.2f}") if support_loss is not None else "")
              for t in range(len(steps))]
    frames = [go.Frame(data=[_heatmap(steps[t], classes, rows)], name=str(t)) for t in range(len(steps))]
    slider = dict(active=len(steps) - 1, currentvalue=dict(prefix=w["step"]), pad=dict(t=40),
                  steps=[dict(label=labels[t], method="animate",
                              args=[[str(t)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                   transition=dict(duration=0))]) for t in range(len(steps))])
    play = dict(type="buttons", showactive=False, x=0, y=-0.08, xanchor="left", yanchor="top",
                buttons=[dict(label=w["play"], method="animate",
                              args=[None, dict(frame=dict(duration=600, redraw=True), fromcurrent=False,
                                               transition=dict(duration=0))])])
    fig = go.Figure(data=[_heatmap(steps[-1], classes, rows)], frames=frames,
                    layout=layout(w["title"], height=200 + 34 * len(rows),
                                  sliders=[slider], updatemenus=[play]))
    fig.update_yaxes(autorange="reversed")
    return fig
