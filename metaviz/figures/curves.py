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


def loss_curves(train: Mapping[str, np.ndarray], val: Mapping[str, np.ndarray], learner: str,
                uirevision: str = "loss-curves", log_y: bool = True) -> go.Figure:
    """``train`` and ``val`` hold arrays ``step``, ``loss``, ``baseline_loss`` (NaN where absent)."""
    series = [(train, "loss", learner, "meta-train (smoothed)", "lines", None, 0.8),
              (val, "loss", learner, "meta-val (after adaptation)", "lines+markers", None, 1.0),
              (train, "baseline_loss", "pretrained", "baseline train (smoothed)", "lines", "dot", 0.8),
              (val, "baseline_loss", "pretrained", "baseline val (after fine-tune)", "lines+markers", "dot", 1.0)]
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
    return figure(traces, title="Loss", uirevision=uirevision, xaxis=axis("meta-iteration"),
                  yaxis=axis("loss", type="log" if log_y else "linear"))


def steps_curve(curve: np.ndarray, baseline_curve: np.ndarray | None, learner: str,
                uirevision: str = "steps-curve") -> go.Figure:
    """Held-out query loss against the number of inner steps at test time (MAML paper, fig. 3)."""
    traces = [dict(type="scatter", x=np.arange(len(values)), y=values, mode="lines+markers", name=name,
                   line=dict(color=learner_color(name), dash="dot" if name == "pretrained" else None))
              for name, values in ((learner, curve), ("pretrained", baseline_curve)) if values is not None]
    return figure(traces, title="Adaptation on held-out tasks", height=300, uirevision=uirevision,
                  xaxis=axis("inner gradient steps at test time", dtick=1),
                  yaxis=axis("held-out query loss", rangemode="tozero"))
