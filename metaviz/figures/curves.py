"""Training curves: meta-train and meta-validation loss over meta-iterations."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from scipy.signal import lfilter

from metaviz.figures.theme import axis, figure, learner_color

MAX_POINTS = 600  # a live chart redraws every tick; keep it small


def decimate(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive points into at most ``max_points`` bins, ignoring NaN (keeps the shape).

    Each bin is drawn at its last x, so the newest point is always on the chart."""
    if len(x) <= max_points:
        return x, y
    edges = np.linspace(0, len(x), max_points + 1).astype(int)
    valid = ~np.isnan(y)
    sums = np.add.reduceat(np.where(valid, y, 0.0), edges[:-1])
    counts = np.add.reduceat(valid.astype(float), edges[:-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return x[edges[1:] - 1], np.where(counts > 0, sums / counts, np.nan)


def ema(values: np.ndarray, weight: float = 0.9) -> np.ndarray:
    """Bias-corrected exponential moving average (TensorBoard's smoothing); NaN points are skipped.

    s_t = weight * s_{t-1} + (1 - weight) * v_t,   shown as s_t / (1 - weight^n_t),
    where n_t counts the finite values so far."""
    values = np.asarray(values, float)
    finite = np.isfinite(values)
    kept = values[finite]
    n = np.arange(1, len(kept) + 1)
    out = np.full(len(values), np.nan)
    out[finite] = lfilter([1 - weight], [1, -weight], kept) / (1 - weight**n)
    return out


def loss_curves(train: Mapping[str, np.ndarray], evals: Mapping[str, np.ndarray], learner: str,
                uirevision: str = "loss-curves", log_y: bool = True) -> go.Figure:
    """Meta-train loss (smoothed) and held-out losses over meta-iterations.

    ``train`` holds ``step``, ``loss``, ``baseline_loss``; ``evals`` holds ``step`` and
    ``val_loss``, ``baseline_val_loss``, ``test_loss``, ``baseline_test_loss`` (NaN where absent)."""
    series = [(train, "loss", learner, "meta-train (smoothed)", "lines", None, 0.8),
              (evals, "val_loss", learner, "meta-val (after adaptation)", "lines+markers", None, 1.0),
              (evals, "test_loss", learner, "meta-test, shifted (after adaptation)", "lines+markers", "dash", 1.0),
              (train, "baseline_loss", "pretrained", "baseline train (smoothed)", "lines", "dot", 0.8),
              (evals, "baseline_val_loss", "pretrained", "baseline val (after fine-tune)", "lines+markers", "dot", 1.0),
              (evals, "baseline_test_loss", "pretrained", "baseline meta-test (after fine-tune)", "lines+markers",
               "dashdot", 1.0)]
    traces = []
    for data, key, name, label, mode, dash, opacity in series:
        steps, values = np.asarray(data.get("step", [])), np.asarray(data.get(key, []), float)
        if len(values) == 0 or np.all(np.isnan(values)):
            continue
        if data is train:  # one meta-batch's loss is noisy: draw its running mean
            values = ema(values)
        steps, values = decimate(steps, values)
        traces.append(dict(type="scatter", x=steps, y=values, mode=mode, name=label, opacity=opacity,
                           line=dict(color=learner_color(name), dash=dash, width=2), marker=dict(size=5)))
    # a log axis silently drops values <= 0 (a CNP's Gaussian NLL can be negative): fall back to linear
    positive = all(np.nanmin(t["y"]) > 0 for t in traces if np.isfinite(t["y"]).any())
    return figure(traces, title="Loss", uirevision=uirevision, xaxis=axis("meta-iteration"),
                  yaxis=axis("loss", type="log" if log_y and positive else "linear"))


def accuracy_curves(evals: Mapping[str, np.ndarray], learner: str, n_way: int,
                    uirevision: str = "accuracy-curves") -> go.Figure:
    """Held-out query accuracy over meta-iterations, with chance level (1 / N) drawn."""
    series = [("val_accuracy", learner, "meta-val", None), ("test_accuracy", learner, "meta-test", "dash"),
              ("baseline_val_accuracy", "pretrained", "baseline val", "dot"),
              ("baseline_test_accuracy", "pretrained", "baseline meta-test", "dashdot")]
    steps = np.asarray(evals.get("step", []))
    traces = [dict(type="scatter", x=steps, y=np.asarray(evals[key]), mode="lines+markers", name=label,
                   line=dict(color=learner_color(name), dash=dash))
              for key, name, label, dash in series if key in evals and not np.all(np.isnan(evals[key]))]
    if len(steps):
        traces.append(dict(type="scatter", x=[steps[0], steps[-1]], y=[1 / n_way] * 2, mode="lines",
                           name=f"chance (1/{n_way})", line=dict(color="#adb5bd", dash="dot", width=1)))
    return figure(traces, title="Held-out accuracy", uirevision=uirevision, xaxis=axis("meta-iteration"),
                  yaxis=axis("query accuracy", range=[0, 1.02]))


def steps_curve(curve: np.ndarray, baseline_curve: np.ndarray | None, learner: str, metric: str = "loss",
                uirevision: str = "steps-curve") -> go.Figure:
    """Held-out query loss (or accuracy) against the number of inner steps at test time (MAML paper, fig. 3)."""
    traces = [dict(type="scatter", x=np.arange(len(values)), y=values, mode="lines+markers", name=name,
                   line=dict(color=learner_color(name), dash="dot" if name == "pretrained" else None))
              for name, values in ((learner, curve), ("pretrained", baseline_curve)) if values is not None]
    yaxis = axis(f"held-out query {metric}", rangemode="tozero")
    values = np.concatenate([np.asarray(t["y"], float) for t in traces]) if traces else np.zeros(0)
    finite = values[np.isfinite(values) & (values > 0)]
    if metric == "loss" and finite.size and finite.max() > 100 * finite.min():
        # a learner whose steps overshoot (Meta-SGD past its trained steps) would flatten the rest
        yaxis = axis("held-out query loss (log)", type="log")
    if metric == "accuracy":
        yaxis = axis("held-out query accuracy", range=[0, 1.02])
    return figure(traces, title="Adaptation on held-out tasks", height=300, uirevision=uirevision,
                  xaxis=axis("inner gradient steps at test time", dtick=1), yaxis=yaxis)
