"""Training curves: meta-train and meta-validation loss over meta-iterations."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from metaviz.figures.theme import learner_color, styled

MAX_POINTS = 600  # a live chart redraws every tick; keep it small


def decimate(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive points into at most ``max_points`` bins (keeps the curve's shape)."""
    if len(x) <= max_points:
        return x, y
    bins = np.array_split(np.arange(len(x)), max_points)
    return np.array([x[b[-1]] for b in bins]), np.array([np.nanmean(y[b]) for b in bins])


def loss_curves(train: Mapping[str, np.ndarray], val: Mapping[str, np.ndarray], learner: str,
                uirevision: str = "loss-curves", log_y: bool = True) -> go.Figure:
    """``train`` and ``val`` hold arrays ``step``, ``loss``, ``baseline_loss`` (NaN where absent)."""
    fig = go.Figure()
    series = [(train, "loss", learner, "meta-train", "lines", None),
              (val, "loss", learner, "meta-val (after adaptation)", "lines+markers", None),
              (train, "baseline_loss", "pretrained", "baseline train", "lines", "dot"),
              (val, "baseline_loss", "pretrained", "baseline val (after fine-tune)", "lines+markers", "dot")]
    for data, key, name, label, mode, dash in series:
        steps, values = np.asarray(data.get("step", [])), np.asarray(data.get(key, []), float)
        if len(values) == 0 or np.all(np.isnan(values)):
            continue
        steps, values = decimate(steps, values)
        opacity = 0.55 if label.endswith("train") or label == "meta-train" else 1.0
        fig.add_trace(go.Scatter(x=steps, y=values, mode=mode, name=f"{name} {label}" if name != learner
                                 else label, line=dict(color=learner_color(name), dash=dash, width=2),
                                 opacity=opacity, marker=dict(size=5)))
    fig.update_xaxes(title="meta-iteration")
    fig.update_yaxes(title="loss", type="log" if log_y else "linear")
    return styled(fig, "Loss", uirevision=uirevision)


def steps_curve(curve: np.ndarray, baseline_curve: np.ndarray | None, learner: str,
                uirevision: str = "steps-curve") -> go.Figure:
    """Held-out query loss against the number of inner steps at test time (MAML paper, fig. 3)."""
    fig = go.Figure()
    for name, values in ((learner, curve), ("pretrained", baseline_curve)):
        if values is None:
            continue
        fig.add_trace(go.Scatter(x=np.arange(len(values)), y=values, mode="lines+markers", name=name,
                                 line=dict(color=learner_color(name), dash="dot" if name == "pretrained" else None)))
    fig.update_xaxes(title="inner gradient steps at test time", dtick=1)
    fig.update_yaxes(title="held-out query loss", rangemode="tozero")
    return styled(fig, "Adaptation on held-out tasks", height=300, uirevision=uirevision)
