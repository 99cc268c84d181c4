"""Training curves: meta-train and meta-validation loss over meta-iterations.

Every builder takes ``text``, a mapping of its words (title, axis titles, legend names) to override the English
defaults listed in its ``TEXT`` entry, so that the app can draw them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from scipy.signal import lfilter

from metaviz.figures.light import Line, line_chart
from metaviz.figures.theme import axis, figure, learner_color

MAX_POINTS = 600  # a live chart redraws every tick; keep it small

TEXT: dict[str, dict[str, str]] = {
    "loss": dict(title="Loss", x="meta-iteration", y="loss", train="meta-train (smoothed)",
                 val="meta-val (after adaptation)", test="meta-test, shifted (after adaptation)",
                 baseline_train="baseline train (smoothed)", baseline_val="baseline val (after fine-tune)",
                 baseline_test="baseline meta-test (after fine-tune)"),
    "accuracy": dict(title="Held-out accuracy", x="meta-iteration", y="query accuracy", val="meta-val",
                     test="meta-test", baseline_val="baseline val", baseline_test="baseline meta-test",
                     chance="chance (1/{n})"),
    "steps": dict(title="Adaptation on held-out tasks", x="inner gradient steps at test time",
                  y_loss="held-out query loss", y_log="held-out query loss (log)",
                  y_accuracy="held-out query accuracy", baseline="pretrained"),
}


def _text(kind: str, text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT[kind], **(text or {})}


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


def loss_lines(train: Mapping[str, np.ndarray], evals: Mapping[str, np.ndarray], learner: str,
               text: Mapping[str, str] | None = None) -> list[Line]:
    """The curves of the loss chart: meta-train loss (smoothed) and held-out losses over meta-iterations.

    ``train`` holds ``step``, ``loss``, ``baseline_loss``; ``evals`` holds ``step`` and
    ``val_loss``, ``baseline_val_loss``, ``test_loss``, ``baseline_test_loss`` (NaN where absent)."""
    w = _text("loss", text)
    series = [(train, "loss", learner, w["train"], False, None, 0.8),
              (evals, "val_loss", learner, w["val"], True, None, 1.0),
              (evals, "test_loss", learner, w["test"], True, "dash", 1.0),
              (train, "baseline_loss", "pretrained", w["baseline_train"], False, "dot", 0.8),
              (evals, "baseline_val_loss", "pretrained", w["baseline_val"], True, "dot", 1.0),
              (evals, "baseline_test_loss", "pretrained", w["baseline_test"], True, "dashdot", 1.0)]
    lines = []
    for data, key, name, label, markers, dash, opacity in series:
        steps, values = np.asarray(data.get("step", [])), np.asarray(data.get(key, []), float)
        if len(values) == 0 or np.all(np.isnan(values)):
            continue
        if data is train:  # one meta-batch's loss is noisy: draw its running mean
            values = ema(values)
        steps, values = decimate(steps, values)
        lines.append(Line(steps, values, label, learner_color(name), dash, markers, opacity))
    return lines


def _log_axis(lines: list[Line], log_y: bool) -> bool:
    # a log axis silently drops values <= 0 (a CNP's Gaussian NLL can be negative): fall back to linear
    return log_y and all(np.nanmin(line.y) > 0 for line in lines if np.isfinite(line.y).any())


def loss_curves(train: Mapping[str, np.ndarray], evals: Mapping[str, np.ndarray], learner: str,
                uirevision: str = "loss-curves", log_y: bool = True,
                text: Mapping[str, str] | None = None) -> go.Figure:
    """Meta-train loss (smoothed) and held-out losses over meta-iterations (see :func:`loss_lines`)."""
    w, lines = _text("loss", text), loss_lines(train, evals, learner, text)
    traces = [dict(type="scatter", x=line.x, y=line.y, mode="lines+markers" if line.markers else "lines",
                   name=line.name, opacity=line.opacity, marker=dict(size=5),
                   line=dict(color=line.color, dash=line.dash, width=2)) for line in lines]
    return figure(traces, title=w["title"], uirevision=uirevision, xaxis=axis(w["x"]),
                  yaxis=axis(w["y"], type="log" if _log_axis(lines, log_y) else "linear"))


def loss_html(train: Mapping[str, np.ndarray], evals: Mapping[str, np.ndarray], learner: str, log_y: bool = True,
             text: Mapping[str, str] | None = None) -> str:
    """The loss chart of :func:`loss_curves` as a light HTML chart (:mod:`metaviz.figures.light`), for redraws
    while a run trains: the same lines, axes and words, without hover or zoom."""
    w, lines = _text("loss", text), loss_lines(train, evals, learner, text)
    return line_chart(lines, title=w["title"], x_title=w["x"], y_title=w["y"], log_y=_log_axis(lines, log_y))


def accuracy_curves(evals: Mapping[str, np.ndarray], learner: str, n_way: int,
                    uirevision: str = "accuracy-curves", text: Mapping[str, str] | None = None) -> go.Figure:
    """Held-out query accuracy over meta-iterations, with chance level (1 / N) drawn."""
    w = _text("accuracy", text)
    series = [("val_accuracy", learner, w["val"], None), ("test_accuracy", learner, w["test"], "dash"),
              ("baseline_val_accuracy", "pretrained", w["baseline_val"], "dot"),
              ("baseline_test_accuracy", "pretrained", w["baseline_test"], "dashdot")]
    steps = np.asarray(evals.get("step", []))
    traces = [dict(type="scatter", x=steps, y=np.asarray(evals[key]), mode="lines+markers", name=label,
                   line=dict(color=learner_color(name), dash=dash))
              for key, name, label, dash in series if key in evals and not np.all(np.isnan(evals[key]))]
    if len(steps):
        traces.append(dict(type="scatter", x=[steps[0], steps[-1]], y=[1 / n_way] * 2, mode="lines",
                           name=w["chance"].format(n=n_way), line=dict(color="#adb5bd", dash="dot", width=1)))
    return figure(traces, title=w["title"], uirevision=uirevision, xaxis=axis(w["x"]),
                  yaxis=axis(w["y"], range=[0, 1.02]))


def steps_curve(curve: np.ndarray, baseline_curve: np.ndarray | None, learner: str, metric: str = "loss",
                uirevision: str = "steps-curve", text: Mapping[str, str] | None = None) -> go.Figure:
    """Held-out query loss (or accuracy) against the number of inner steps at test time (MAML paper, fig. 3).

    The learner's trace is named ``learner`` unless ``text`` names it (``learner=...``)."""
    w = _text("steps", text)
    shown = {learner: w.get("learner", learner), "pretrained": w["baseline"]}
    traces = [dict(type="scatter", x=np.arange(len(values)), y=values, mode="lines+markers", name=shown[name],
                   line=dict(color=learner_color(name), dash="dot" if name == "pretrained" else None))
              for name, values in ((learner, curve), ("pretrained", baseline_curve)) if values is not None]
    yaxis = axis(w["y_loss"] if metric == "loss" else f"held-out query {metric}", rangemode="tozero")
    values = np.concatenate([np.asarray(t["y"], float) for t in traces]) if traces else np.zeros(0)
    finite = values[np.isfinite(values) & (values > 0)]
    if metric == "loss" and finite.size and finite.max() > 100 * finite.min():
        # a learner whose steps overshoot (Meta-SGD past its trained steps) would flatten the rest
        yaxis = axis(w["y_log"], type="log")
    if metric == "accuracy":
        yaxis = axis(w["y_accuracy"], range=[0, 1.02])
    return figure(traces, title=w["title"], height=300, uirevision=uirevision,
                  xaxis=axis(w["x"], dtick=1), yaxis=yaxis)
