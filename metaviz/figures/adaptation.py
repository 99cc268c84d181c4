"""Adaptation, drawn: the fit after each inner step on a held-out task (Home, Train and Adaptation pages), and the
Adaptation page's loss and accuracy against inner steps and shots, layer movement and meta-overfitting.

Every builder takes ``text``, a mapping of its words (title, axis titles, legend names) to override the English
defaults listed in its ``TEXT`` entry, and those that name learners take ``names`` (learner -> legend name) over
the short English ones in ``TITLES``, so that the app can draw them in the reader's language. Entries with
``{placeholders}`` are filled here (numbers formatted by their format spec).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from metaviz.analysis.adaptation import AdaptationResult, LayerChanges, OverfitCurves, ShotCurves, StepCurves
from metaviz.figures.theme import GRID, PALETTE, TRUTH_COLOR, axis, figure, layout, learner_color

TITLES = {"maml": "MAML", "pretrained": "pretrained + fine-tune", "scratch": "from scratch",  # short, for legends
          "reptile": "Reptile", "anil": "ANIL", "metasgd": "Meta-SGD", "learned_optimizer": "learned optimizer",
          "protonet": "ProtoNet", "matching": "Matching Net", "siamese": "Siamese", "sequence": "sequence model",
          "cnp": "CNP"}
CHANCE_COLOR = "#adb5bd"
CHANCE = "chance (1/{n})"
TEXT: dict[str, dict[str, str]] = {
    "fit": dict(panel="{name} (MSE {before:.2f} → {after:.2f})", truth="ground truth", before="before adaptation",
                between="steps 2 to {k}", after="{name}: after {n} steps", after_one="{name}: after {n} step",
                support="support set (K={k})", x="x", y="y"),
    "tasks": dict(task="task {i}", x="x", y="y"),
    "steps": dict(title_loss="Query loss against inner steps ({n} held-out tasks, ± s.e.)",
                  title_accuracy="Query accuracy against inner steps ({n} held-out tasks, ± s.e.)",
                  x="inner steps on the support set", y_loss="held-out query loss",
                  y_accuracy="held-out query accuracy", chance=CHANCE),
    "by_shots": dict(title="Accuracy against inner steps, per learner ({shots}-shot)", shot="{k}-shot",
                     x="inner steps", y="query accuracy", chance=CHANCE),
    "shots": dict(title="Accuracy against shots, after {step} inner steps",
                  title_one="Accuracy against shots, after {step} inner step",
                  x="K-shot (support examples per class)", y="query accuracy", chance=CHANCE),
    "layers": dict(title="How far each layer moved during adaptation (mean over held-out tasks)",
                   left="per inner step ({label})", right="after {n} inner steps", x="inner steps"),
    "overfit": dict(title="Meta-train against held-out tasks (shaded: the gap)", train="meta-train tasks",
                    heldout="held-out tasks", x="meta-iteration", y_loss="query loss after adaptation",
                    y_accuracy="query accuracy after adaptation"),
}


def _text(kind: str, text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT[kind], **(text or {})}


def title_of(name: str, names: Mapping[str, str] | None = None) -> str:
    """A learner's short legend name: ``names``' entry, else the English one in ``TITLES``, else ``name``."""
    return (names or {}).get(name) or TITLES.get(name, name)


def step_colors(n: int, name: str) -> list[str]:
    """Light to full colour from step 0 to step n-1 (step 0 is drawn dashed grey)."""
    scale = [[0, "#dee2e6"], [1, learner_color(name)]]
    return sample_colorscale(scale, list(np.linspace(0.35, 1.0, max(n, 1))))


def adaptation_figure(result: AdaptationResult, uirevision: str = "adaptation", text: Mapping[str, str] | None = None,
                      names: Mapping[str, str] | None = None) -> go.Figure:
    """One panel per learner: truth, support points, prediction before and after each step."""
    w, learners = _text("fit", text), names
    names = list(result.predictions)
    titles = [w["panel"].format(name=title_of(n, learners), before=result.grid_mse[n][0], after=result.grid_mse[n][-1])
              for n in names]
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, subplot_titles=titles,
                        horizontal_spacing=0.04)
    for col, name in enumerate(names, start=1):
        preds = result.predictions[name]
        first = col == 1
        fig.add_trace(go.Scatter(x=result.x, y=result.truth, mode="lines", name=w["truth"],
                                 line=dict(color=TRUTH_COLOR, width=3), showlegend=first,
                                 legendgroup="truth"), row=1, col=col)
        fig.add_trace(go.Scatter(x=result.x, y=preds[0], mode="lines", name=w["before"],
                                 line=dict(color="#adb5bd", dash="dash"), showlegend=first,
                                 legendgroup="pre"), row=1, col=col)
        k = len(preds) - 1
        colors = step_colors(k, name)
        if k > 2:  # the steps in between as one light trace, broken by NaN (one trace draws fast)
            mid = preds[2:k]
            xs = np.concatenate([np.append(result.x, np.nan)] * len(mid))
            ys = np.concatenate([np.append(row, np.nan) for row in mid])
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=w["between"].format(k=k - 1), showlegend=False,
                                     line=dict(color=colors[k // 2], width=1), opacity=0.5, hoverinfo="skip"),
                          row=1, col=col)
        for step in sorted({1, k} - {0}):  # the paper's figure: before, after 1 step, after k steps
            fig.add_trace(go.Scatter(x=result.x, y=preds[step], mode="lines",
                                     name=w["after_one" if step == 1 else "after"].format(
                                         name=title_of(name, learners), n=step),
                                     line=dict(color=colors[step - 1], width=3 if step == k else 2)),
                          row=1, col=col)
        fig.add_trace(go.Scatter(x=result.support_x, y=result.support_y, mode="markers",
                                 name=w["support"].format(k=len(result.support_x)), showlegend=first,
                                 marker=dict(color="#e03131", size=9, symbol="triangle-up"),
                                 legendgroup="support"), row=1, col=col)
    fig.update_xaxes(title=w["x"], gridcolor=GRID, zerolinecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID)
    fig.update_yaxes(title=w["y"], col=1)
    fig.update_layout(layout(height=420, uirevision=uirevision, margin=dict(l=50, r=20, t=40, b=20),
                             legend=dict(orientation="h", yanchor="top", y=-0.18, x=0, xanchor="left")))
    return fig


def tasks_figure(x: np.ndarray, curves: np.ndarray, support_x: np.ndarray, support_y: np.ndarray,
                 text: Mapping[str, str] | None = None) -> go.Figure:
    """Several tasks of one distribution: curves [T, G] on x [G]; support points [T, K]."""
    w = _text("tasks", text)
    traces = []
    for i in range(curves.shape[0]):
        color = sample_colorscale("Viridis", [i / max(curves.shape[0] - 1, 1)])[0]
        traces.append(dict(type="scatter", x=x, y=curves[i], mode="lines", line=dict(color=color),
                           name=w["task"].format(i=i + 1), legendgroup=str(i)))
        traces.append(dict(type="scatter", x=support_x[i], y=support_y[i], mode="markers", showlegend=False,
                           marker=dict(color=color, size=7), legendgroup=str(i)))
    return figure(traces, height=320, xaxis=axis(w["x"]), yaxis=axis(w["y"]))


def tasks_html(x: np.ndarray, curves: np.ndarray, support_x: np.ndarray, support_y: np.ndarray,
               text: Mapping[str, str] | None = None) -> str:
    """:func:`tasks_figure` as the light HTML/SVG chart (``metaviz.figures.light``): no plotly bundle, so a page
    can show it at once on a first visit."""
    from metaviz.figures.light import Line, line_chart

    w = _text("tasks", text)
    lines = []
    for i in range(curves.shape[0]):
        rgb = sample_colorscale("Viridis", [i / max(curves.shape[0] - 1, 1)])[0]  # "rgb(r, g, b)"
        color = "#{:02x}{:02x}{:02x}".format(*(round(float(c)) for c in rgb[rgb.index("(") + 1:-1].split(",")))
        lines.append(Line(x, curves[i], w["task"].format(i=i + 1), color))
        lines.append(Line(support_x[i], support_y[i], "", color, markers=True, connect=False))
    return line_chart(lines, x_title=w["x"], y_title=w["y"], height=320)


BOTTOM_LEGEND = dict(orientation="h", yanchor="top", y=-0.22, x=0, xanchor="left")  # clear of subplot titles
SHOT_DASHES = ("dot", "dash", "solid", "longdash", "dashdot")


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


def _band(x, mean, err, color: str, group: str) -> list[dict]:
    """mean ± err as a filled band (two traces: upper edge, then lower edge filled up to it)."""
    x = np.asarray(x)
    return [dict(type="scatter", x=x, y=mean + err, mode="lines", line=dict(width=0), showlegend=False,
                 hoverinfo="skip", legendgroup=group),
            dict(type="scatter", x=x, y=mean - err, mode="lines", line=dict(width=0), fill="tonexty",
                 fillcolor=_rgba(color, 0.15), showlegend=False, hoverinfo="skip", legendgroup=group)]


def step_curves_figure(curves: StepCurves, metric: str = "loss", n_way: int | None = None,
                       uirevision: str = "step-curves", text: Mapping[str, str] | None = None,
                       names: Mapping[str, str] | None = None) -> go.Figure:
    """Held-out query ``metric`` ("loss" or "accuracy") against inner steps, one line per learner (mean over
    tasks, ± one standard error as a band); with ``n_way``, chance level 1/N. The learners saw the same
    support sets."""
    if metric not in ("loss", "accuracy"):
        raise ValueError(f"metric must be 'loss' or 'accuracy', not {metric!r}")
    w = _text("steps", text)
    means, errors = curves.mean(metric), curves.sem(metric)
    traces = []
    for name, mean in means.items():
        color = learner_color(name)
        traces += _band(curves.steps, mean, errors[name], color, name)
        traces.append(dict(type="scatter", x=curves.steps, y=mean, mode="lines+markers",
                           name=title_of(name, names), legendgroup=name, line=dict(color=color, width=2,
                                                       dash="dot" if name in ("pretrained", "scratch") else None)))
    if metric == "accuracy" and n_way:
        traces.append(dict(type="scatter", x=[curves.steps[0], curves.steps[-1]], y=[1 / n_way] * 2, mode="lines",
                           name=w["chance"].format(n=n_way), line=dict(color=CHANCE_COLOR, dash="dash", width=1)))
    n_tasks = next(iter(curves.loss.values())).shape[0] if curves.loss else 0
    accuracy = metric == "accuracy"
    yaxis = axis(w["y_accuracy"], range=[0, 1.02]) if accuracy else axis(w["y_loss"], rangemode="tozero")
    return figure(traces, title=w["title_accuracy" if accuracy else "title_loss"].format(n=n_tasks),
                  height=360, uirevision=uirevision, xaxis=axis(w["x"], dtick=1), yaxis=yaxis)


def shot_colors(n: int, name: str) -> list[str]:
    """One shade of the learner's colour per shot count, light (fewest shots) to full."""
    return sample_colorscale([[0, "#dee2e6"], [1, learner_color(name)]], list(np.linspace(0.4, 1.0, max(n, 1))))


def steps_by_shots_figure(curves: ShotCurves, uirevision: str = "steps-by-shots", text: Mapping[str, str] | None = None,
                          names: Mapping[str, str] | None = None) -> go.Figure:
    """Small multiples, one panel per learner: query accuracy against inner steps, one line per K-shot.
    The same tasks and query sets in every panel; only the learner and the support size change."""
    w, learners = _text("by_shots", text), names
    names = list(curves.accuracy)
    means = curves.mean("accuracy")
    fig = make_subplots(rows=1, cols=max(len(names), 1), shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[title_of(n, learners) for n in names])
    for col, name in enumerate(names, start=1):
        colors = shot_colors(len(curves.shots), name)
        for i, k in enumerate(curves.shots):  # one legend entry per K (it toggles that K in every panel)
            shot = w["shot"].format(k=k)
            fig.add_trace(go.Scatter(x=curves.steps, y=means[name][i], mode="lines+markers", name=shot,
                                     legendgroup=f"{k}-shot", showlegend=col == 1,
                                     hovertemplate=f"{title_of(name, learners)}, {shot}: %{{y:.3f}}<extra></extra>",
                                     line=dict(color=colors[i], width=2, dash=SHOT_DASHES[i % len(SHOT_DASHES)]),
                                     marker=dict(size=4)),
                          row=1, col=col)
        fig.add_trace(go.Scatter(x=[curves.steps[0], curves.steps[-1]], y=[1 / curves.n_way] * 2, mode="lines",
                                 name=w["chance"].format(n=curves.n_way), showlegend=col == 1, legendgroup="chance",
                                 line=dict(color=CHANCE_COLOR, dash="dash", width=1)), row=1, col=col)
    fig.update_xaxes(title=w["x"], gridcolor=GRID, zerolinecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID, range=[0, 1.02])
    fig.update_yaxes(title=w["y"], col=1)
    fig.update_layout(layout(title=w["title"].format(shots=", ".join(map(str, curves.shots))), height=380,
                             uirevision=uirevision, legend=BOTTOM_LEGEND, margin=dict(l=50, r=20, t=70, b=40)))
    return fig


def shots_figure(curves: ShotCurves, step: int, uirevision: str = "shots", text: Mapping[str, str] | None = None,
                 names: Mapping[str, str] | None = None) -> go.Figure:
    """Query accuracy against K (examples per class) after ``step`` inner steps, one line per learner."""
    w = _text("shots", text)
    step = min(max(step, 0), len(curves.steps) - 1)
    traces = [dict(type="scatter", x=curves.shots, y=mean[:, step], mode="lines+markers", name=title_of(name, names),
                   line=dict(color=learner_color(name), width=2), marker=dict(size=8))
              for name, mean in curves.mean("accuracy").items()]
    traces.append(dict(type="scatter", x=[curves.shots[0], curves.shots[-1]], y=[1 / curves.n_way] * 2,
                       mode="lines", name=w["chance"].format(n=curves.n_way),
                       line=dict(color=CHANCE_COLOR, dash="dash", width=1)))
    return figure(traces, title=w["title_one" if step == 1 else "title"].format(step=step), height=340,
                  uirevision=uirevision, xaxis=axis(w["x"], type="log", tickvals=list(curves.shots)),
                  yaxis=axis(w["y"], range=[0, 1.02]))


def layer_colors(changes: LayerChanges) -> list[str]:
    """Body layers in greys and blues (input side lighter), the head in a strong colour."""
    body = sample_colorscale([[0, "#a5d8ff"], [1, "#1c3d5a"]],
                             list(np.linspace(0, 1, max(int((~changes.is_head).sum()), 2))))
    out, i = [], 0
    for head in changes.is_head:
        out.append(PALETTE[0] if head else body[i])
        i += not head
    return out


def layer_changes_figure(changes: dict[str, LayerChanges], relative: bool = True, name: str = "maml",
                         uirevision: str = "layer-changes", text: Mapping[str, str] | None = None) -> go.Figure:
    """Left: how far each layer moved against inner steps, for the last entry of ``changes`` (label ->
    LayerChanges, e.g. "meta-iteration 0", "meta-iteration 500"). Right: each layer after the last inner step,
    one bar per entry (earlier ones grey, the last in learner ``name``'s colour), so the start of meta-training
    can be compared with the chosen checkpoint.
    ``relative``: divided by the layer's norm (a fraction), else the raw L2 norm of the change."""
    w = _text("layers", text)
    labels = list(changes)
    current = changes[labels[-1]]
    kind = "||Δθ|| / ||θ||" if relative else "||Δθ||"
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.1,
                        subplot_titles=[w["left"].format(label=labels[-1]), w["right"].format(n=current.steps[-1])])
    values = current.relative if relative else current.mean_change
    for layer, label, color, row in zip(current.layers, current.labels, layer_colors(current), values):
        fig.add_trace(go.Scatter(x=current.steps, y=row, mode="lines+markers", name=label, legendgroup=layer,
                                 line=dict(color=color, width=3 if layer == current.layers[-1] else 2)),
                      row=1, col=1)
    greys = sample_colorscale([[0, "#dee2e6"], [1, "#868e96"]], list(np.linspace(0, 1, max(len(labels) - 1, 2))))
    for i, label in enumerate(labels):
        ch = changes[label]
        last = (ch.relative if relative else ch.mean_change)[:, -1]
        color = learner_color(name) if i == len(labels) - 1 else greys[i]
        fig.add_trace(go.Bar(x=list(ch.labels), y=last, name=label, marker=dict(color=color)), row=1, col=2)
    fig.update_xaxes(title=w["x"], dtick=1, gridcolor=GRID, row=1, col=1)
    fig.update_xaxes(tickangle=-30, row=1, col=2)
    fig.update_yaxes(title=kind, gridcolor=GRID, zerolinecolor=GRID, rangemode="tozero")
    fig.update_layout(layout(title=w["title"],
                             height=460, uirevision=uirevision, barmode="group", legend=dict(BOTTOM_LEGEND, y=-0.35),
                             margin=dict(l=55, r=20, t=70, b=40)))
    return fig


def overfitting_figure(curves: dict[str, OverfitCurves], uirevision: str = "overfitting",
                       text: Mapping[str, str] | None = None) -> go.Figure:
    """One panel per run (label -> curves): meta-train and held-out performance after adaptation over
    meta-iterations, with the gap between them shaded. A gap that opens is meta-overfitting."""
    w = _text("overfit", text)
    labels = list(curves)
    fig = make_subplots(rows=1, cols=max(len(labels), 1), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=labels)
    metric = next(iter(curves.values())).metric if curves else "loss"
    for col, label in enumerate(labels, start=1):
        c = curves[label]
        first = col == 1
        fig.add_trace(go.Scatter(x=c.step, y=c.train, mode="lines+markers", name=w["train"],
                                 legendgroup="train", showlegend=first, line=dict(color=PALETTE[3], width=2)),
                      row=1, col=col)
        fig.add_trace(go.Scatter(x=c.step, y=c.heldout, mode="lines+markers", name=w["heldout"],
                                 legendgroup="heldout", showlegend=first, line=dict(color=PALETTE[0], width=2),
                                 fill="tonexty", fillcolor=_rgba(PALETTE[0], 0.12)), row=1, col=col)
    fig.update_xaxes(title=w["x"], gridcolor=GRID, zerolinecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID)
    if metric == "accuracy":
        fig.update_yaxes(range=[0, 1.02])
    fig.update_yaxes(title=w["y_accuracy" if metric == "accuracy" else "y_loss"], col=1)
    fig.update_layout(layout(title=w["title"], height=380,
                             uirevision=uirevision, legend=BOTTOM_LEGEND, margin=dict(l=50, r=20, t=70, b=40)))
    return fig
