"""The adaptation view: a held-out task, its support points, and the fit after each inner step."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from metaviz.analysis.adaptation import AdaptationResult
from metaviz.figures.theme import GRID, TRUTH_COLOR, axis, figure, layout, learner_color

TITLES = {"maml": "MAML", "pretrained": "pretrained + fine-tune"}


def step_colors(n: int, name: str) -> list[str]:
    """Light to full colour from step 0 to step n-1 (step 0 is drawn dashed grey)."""
    scale = [[0, "#dee2e6"], [1, learner_color(name)]]
    return sample_colorscale(scale, list(np.linspace(0.35, 1.0, max(n, 1))))


def adaptation_figure(result: AdaptationResult, uirevision: str = "adaptation") -> go.Figure:
    """One panel per learner: truth, support points, prediction before and after each step."""
    names = list(result.predictions)
    titles = [f"{TITLES.get(n, n)} (MSE {result.grid_mse[n][0]:.2f} → {result.grid_mse[n][-1]:.2f})"
              for n in names]
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, subplot_titles=titles,
                        horizontal_spacing=0.04)
    for col, name in enumerate(names, start=1):
        preds = result.predictions[name]
        first = col == 1
        fig.add_trace(go.Scatter(x=result.x, y=result.truth, mode="lines", name="ground truth",
                                 line=dict(color=TRUTH_COLOR, width=3), showlegend=first,
                                 legendgroup="truth"), row=1, col=col)
        fig.add_trace(go.Scatter(x=result.x, y=preds[0], mode="lines", name="before adaptation",
                                 line=dict(color="#adb5bd", dash="dash"), showlegend=first,
                                 legendgroup="pre"), row=1, col=col)
        k = len(preds) - 1
        colors = step_colors(k, name)
        if k > 2:  # the steps in between as one light trace, broken by NaN (one trace draws fast)
            mid = preds[2:k]
            xs = np.concatenate([np.append(result.x, np.nan)] * len(mid))
            ys = np.concatenate([np.append(row, np.nan) for row in mid])
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"steps 2 to {k - 1}", showlegend=False,
                                     line=dict(color=colors[k // 2], width=1), opacity=0.5, hoverinfo="skip"),
                          row=1, col=col)
        for step in sorted({1, k} - {0}):  # the paper's figure: before, after 1 step, after k steps
            fig.add_trace(go.Scatter(x=result.x, y=preds[step], mode="lines",
                                     name=f"{TITLES.get(name, name)}: after {step} step{'s' * (step > 1)}",
                                     line=dict(color=colors[step - 1], width=3 if step == k else 2)),
                          row=1, col=col)
        fig.add_trace(go.Scatter(x=result.support_x, y=result.support_y, mode="markers",
                                 name=f"support set (K={len(result.support_x)})", showlegend=first,
                                 marker=dict(color="#e03131", size=9, symbol="triangle-up"),
                                 legendgroup="support"), row=1, col=col)
    fig.update_xaxes(title="x", gridcolor=GRID, zerolinecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID)
    fig.update_yaxes(title="y", col=1)
    fig.update_layout(layout(height=420, uirevision=uirevision, margin=dict(l=50, r=20, t=40, b=20),
                             legend=dict(orientation="h", yanchor="top", y=-0.18, x=0, xanchor="left")))
    return fig


def tasks_figure(x: np.ndarray, curves: np.ndarray, support_x: np.ndarray, support_y: np.ndarray) -> go.Figure:
    """Several tasks of one distribution: curves [T, G] on x [G]; support points [T, K]."""
    traces = []
    for i in range(curves.shape[0]):
        color = sample_colorscale("Viridis", [i / max(curves.shape[0] - 1, 1)])[0]
        traces.append(dict(type="scatter", x=x, y=curves[i], mode="lines", line=dict(color=color),
                           name=f"task {i + 1}", legendgroup=str(i)))
        traces.append(dict(type="scatter", x=support_x[i], y=support_y[i], mode="markers", showlegend=False,
                           marker=dict(color=color, size=7), legendgroup=str(i)))
    return figure(traces, height=320, xaxis=axis("x"), yaxis=axis("y"))
