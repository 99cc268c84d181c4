"""Figures of the Learn pages: pure builders, data in, plotly Figure out.

Every builder takes ``text``, a mapping of its words (title, axis titles, legend names) to override the English
defaults listed in its ``TEXT`` entry, so that the app can draw them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from metaviz.analysis.lessons import Cost, CurveReading, GradientParts, Reading, ShiftCurves, StepSizes, TaskVectors
from metaviz.figures.tasks import label_color
from metaviz.figures.theme import GRID, PALETTE, TRUTH_COLOR, axis, figure, layout, learner_color

TEXT: dict[str, dict[str, str]] = {
    "gradient": dict(title="MAML's meta-gradient, layer by layer", x="layer", y="norm of the part",
                     first="first-order part (FOMAML)", second="second-order term", full="full meta-gradient"),
    "step_sizes": dict(title="Learned step sizes, one per weight", x="layer", y="step size alpha",
                       init="starting value"),
    "reading": dict(title="Prediction after reading {k} example(s) per class (query accuracy {acc:.0%})",
                    support="support (read)", unread="support (not read yet)", query="query"),
    "curve": dict(title="What the CNP predicts after reading K points", x="x", y="y", truth="true function",
                  mean="mean, K = {k}", band="mean ± 2 std, K = {k}", support="support points"),
    "vectors": dict(title="Task vectors r of {n} tasks (PCA)", x="PC 1 ({p:.0%})", y="PC 2 ({p:.0%})",
                    colour="amplitude"),
    "shift": dict(title="Query loss after {steps} inner step(s), by task amplitude", x="amplitude of the sine task",
                  y="query MSE (median over tasks)", train="meta-training range", zero="predicting y = 0"),
    "cost": dict(title="One meta-gradient on {device}", seconds="milliseconds per meta-gradient",
                 memory="MiB kept for backward (one task)", cuda="GPU peak MiB (meta-batch)"),
    "sets": dict(title="Distinct {n}-way tasks (sets of classes)", x="log10 of the number of class sets",
                 classes="{c} meta-training classes"),
}


def _text(kind: str, text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT[kind], **(text or {})}


def gradient_parts_figure(parts: GradientParts, text: Mapping[str, str] | None = None) -> go.Figure:
    """Grouped bars per layer: the norms of the first-order part, the second-order term and their sum (the
    norms do not add up: the parts point in different directions)."""
    w = _text("gradient", text)
    series = (("first", parts.first_order, "#91a7ff"), ("second", parts.second_order, "#e03131"),
              ("full", parts.full, learner_color("maml")))
    traces = [dict(type="bar", x=list(parts.layers), y=values, name=w[key], marker=dict(color=color))
              for key, values, color in series]
    return figure(traces, title=w["title"], height=340, barmode="group", xaxis=axis(w["x"]),
                  yaxis=axis(w["y"], rangemode="tozero"))


def step_sizes_figure(sizes: StepSizes, text: Mapping[str, str] | None = None) -> go.Figure:
    """One box per layer of its learned step sizes, with the common starting value as a dashed line."""
    w = _text("step_sizes", text)
    traces = [dict(type="box", y=values, name=layer, boxpoints="outliers", marker=dict(color=PALETTE[i % len(PALETTE)]),
                   showlegend=False) for i, (layer, values) in enumerate(zip(sizes.layers, sizes.values))]
    traces.append(dict(type="scatter", x=[sizes.layers[0], sizes.layers[-1]], y=[sizes.init] * 2, mode="lines",
                       name=w["init"], line=dict(color=TRUTH_COLOR, dash="dash", width=1)))
    return figure(traces, title=w["title"], height=360, xaxis=axis(w["x"]), yaxis=axis(w["y"]))


def _rgba(color: str, alpha: float) -> str:
    h = color.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


def reading_figure(reading: Reading, index: int, text: Mapping[str, str] | None = None) -> go.Figure:
    """The plane coloured by the predicted class after reading ``reading.shots[index]`` examples per class
    (lighter where the prediction is less sure); the examples read (filled), those not read yet (faint) and the
    queries (open circles)."""
    w = _text("reading", text)
    index = min(max(index, 0), len(reading.shots) - 1)
    k, n = int(reading.shots[index]), reading.n_way
    labels, conf = reading.labels[index], reading.confidence[index]
    # one heatmap per class, transparent elsewhere; opacity follows the confidence above chance
    strength = np.clip((conf - 1 / n) / (1 - 1 / n), 0, 1)
    traces: list[dict] = []
    for c in range(n):
        z = np.where(labels == c, 0.15 + 0.45 * strength, np.nan)
        traces.append(dict(type="heatmap", x=reading.x, y=reading.y, z=z, zmin=0, zmax=1, showscale=False,
                           colorscale=[[0, _rgba(label_color(c), 0.0)], [1, _rgba(label_color(c), 1.0)]],
                           hoverinfo="skip", name=f"class {c}"))
    read = np.zeros(len(reading.support_y), bool)
    for c in range(n):
        read[np.flatnonzero(reading.support_y == c)[:k]] = True
    for mask, name, size, opacity in ((read, w["support"], 12, 1.0), (~read, w["unread"], 8, 0.35)):
        if mask.any():
            traces.append(dict(type="scatter", mode="markers", x=reading.support_x[mask, 0],
                               y=reading.support_x[mask, 1], name=name, opacity=opacity,
                               marker=dict(size=size, color=[label_color(c) for c in reading.support_y[mask]],
                                           line=dict(color=TRUTH_COLOR, width=1.5))))
    traces.append(dict(type="scatter", mode="markers", x=reading.query_x[:, 0], y=reading.query_x[:, 1],
                       name=w["query"], marker=dict(symbol="circle-open", size=8, line=dict(width=2),
                                                     color=[label_color(c) for c in reading.query_y])))
    title = w["title"].format(k=k, acc=float(reading.accuracy[index]))
    return figure(traces, title=title, height=460, xaxis=axis("", range=[reading.x[0], reading.x[-1]], showgrid=False),
                  yaxis=axis("", range=[reading.y[0], reading.y[-1]], showgrid=False, scaleanchor="x"),
                  legend=dict(orientation="h", yanchor="top", y=-0.08, x=0, xanchor="left"))


def curve_reading_figure(reading: CurveReading, text: Mapping[str, str] | None = None) -> go.Figure:
    """The true function, and for each K the CNP's mean with a band of two predicted standard deviations."""
    w = _text("curve", text)
    traces = [dict(type="scatter", x=reading.x, y=reading.truth, mode="lines", name=w["truth"],
                   line=dict(color=TRUTH_COLOR, width=3))]
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(reading.shots))]
    for k, mean, std, color in zip(reading.shots, reading.mean, reading.std, colors):
        group = f"k{k}"
        traces.append(dict(type="scatter", x=reading.x, y=mean + 2 * std, mode="lines", line=dict(width=0),
                           showlegend=False, hoverinfo="skip", legendgroup=group))
        traces.append(dict(type="scatter", x=reading.x, y=mean - 2 * std, mode="lines", line=dict(width=0),
                           fill="tonexty", fillcolor=_rgba(color, 0.12), name=w["band"].format(k=int(k)),
                           hoverinfo="skip", legendgroup=group, showlegend=False))
        traces.append(dict(type="scatter", x=reading.x, y=mean, mode="lines", name=w["mean"].format(k=int(k)),
                           line=dict(color=color, width=2), legendgroup=group))
    k_max = int(reading.shots.max())
    traces.append(dict(type="scatter", x=reading.support_x[:k_max], y=reading.support_y[:k_max],
                       mode="markers+text", name=w["support"], text=[str(i + 1) for i in range(k_max)],
                       textposition="top center", marker=dict(color="#e03131", size=9, symbol="triangle-up")))
    return figure(traces, title=w["title"], height=420, xaxis=axis(w["x"]), yaxis=axis(w["y"]),
                  legend=dict(orientation="h", yanchor="top", y=-0.15, x=0, xanchor="left"))


def task_vectors_figure(vectors: TaskVectors, text: Mapping[str, str] | None = None) -> go.Figure:
    """Each task's vector r in the plane of its first two principal components, coloured by amplitude, with
    the phase on hover."""
    w = _text("vectors", text)
    hover = [f"A = {a:.2f}, phi = {p:.2f}" for a, p in zip(vectors.amplitude, vectors.phase)]
    traces = [dict(type="scatter", mode="markers", x=vectors.coords[:, 0], y=vectors.coords[:, 1], text=hover,
                   hoverinfo="text", showlegend=False,
                   marker=dict(size=9, color=vectors.amplitude, colorscale="Viridis", showscale=True,
                               colorbar=dict(title=dict(text=w["colour"]), thickness=12)))]
    return figure(traces, title=w["title"].format(n=len(vectors.amplitude)), height=420,
                  xaxis=axis(w["x"].format(p=float(vectors.explained[0]))),
                  yaxis=axis(w["y"].format(p=float(vectors.explained[1]))))


def shift_figure(curves: ShiftCurves, names: Mapping[str, str] | None = None,
                 text: Mapping[str, str] | None = None) -> go.Figure:
    """Query loss against the amplitude of the tasks, one line per learner, the error of predicting zero as a
    dashed reference, the meta-training range shaded. ``names``: legend name of each learner (default: its key)."""
    w = _text("shift", text)
    traces = [dict(type="scatter", x=curves.centres, y=loss, mode="lines+markers",
                   name=(names or {}).get(name, name),
                   line=dict(color=learner_color(name), width=2, dash="dot" if name == "pretrained" else None))
              for name, loss in curves.loss.items()]
    traces.append(dict(type="scatter", x=curves.centres, y=curves.reference, mode="lines", name=w["zero"],
                       line=dict(color="#adb5bd", dash="dash", width=1.5)))
    lo, hi = curves.train_range
    shapes = [dict(type="rect", xref="x", yref="paper", x0=lo, x1=hi, y0=0, y1=1, fillcolor="#4c6ef5",
                   opacity=0.08, line=dict(width=0))]
    annotations = [dict(x=(lo + hi) / 2, y=1.0, xref="x", yref="paper", text=w["train"], showarrow=False,
                        yanchor="bottom", font=dict(size=11, color="#364fc7"))]
    return figure(traces, title=w["title"].format(steps=curves.steps), height=380, shapes=shapes,
                  annotations=annotations, xaxis=axis(w["x"]), yaxis=axis(w["y"], type="log"),
                  legend=dict(orientation="h", yanchor="top", y=-0.18, x=0, xanchor="left"),
                  margin=dict(l=50, r=20, t=70, b=45))


def cost_figure(cost: Cost, names: Mapping[str, str] | None = None, text: Mapping[str, str] | None = None) -> go.Figure:
    """Side by side: milliseconds per meta-gradient and the memory kept for the backward pass (and, on CUDA,
    the GPU's peak), one bar per method."""
    w = _text("cost", text)
    labels = [(names or {}).get(m, m) for m in cost.methods]
    colors = [learner_color("maml") if m == "maml" else "#91a7ff" if m == "fomaml" else learner_color(m)
              for m in cost.methods]
    panels = [(w["seconds"], 1000 * cost.seconds), (w["memory"], cost.saved_mib)]
    if cost.cuda_peak_mib is not None:
        panels.append((w["cuda"], cost.cuda_peak_mib))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.1)
    for col, (_, values) in enumerate(panels, start=1):
        fig.add_trace(go.Bar(x=labels, y=values, marker=dict(color=colors), showlegend=False,
                             text=[f"{v:.3g}" for v in values], textposition="outside"), row=1, col=col)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID, rangemode="tozero")
    fig.update_layout(layout(title=w["title"].format(device=cost.device), height=380,
                             margin=dict(l=50, r=20, t=80, b=45)))
    return fig


def class_sets_figure(rows: Sequence[tuple[str, int, float]], n_way: int,
                      text: Mapping[str, str] | None = None) -> go.Figure:
    """Horizontal bars: for each source of tasks (label, meta-training classes, log10 of C(classes, N)), the
    number of distinct N-way class sets on a log10 scale."""
    w = _text("sets", text)
    values = [v if np.isfinite(v) else 0.0 for _, _, v in rows]
    traces = [dict(type="bar", orientation="h", y=[label for label, _, _ in rows], x=values,
                   marker=dict(color=[PALETTE[i % len(PALETTE)] for i in range(len(rows))]),
                   text=[w["classes"].format(c=c) for _, c, _ in rows], textposition="auto",
                   hovertemplate="%{y}: 10^%{x:.1f}<extra></extra>", showlegend=False)]
    return figure(traces, title=w["title"].format(n=n_way), height=120 + 60 * len(rows),
                  xaxis=axis(w["x"], rangemode="tozero"), yaxis=dict(autorange="reversed"),
                  margin=dict(l=160, r=20, t=50, b=45))
