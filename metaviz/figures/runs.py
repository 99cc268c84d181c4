"""Stored runs on shared axes: one colour per learner (the same everywhere), one dash per run of it.

Each builder takes ``text``, a mapping of its words to override the English defaults (``LABELS`` for the
metric, ``TEXT`` for the rest), so that the app can draw them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from metaviz.analysis.runs import SeedSpread
from metaviz.figures.curves import decimate, ema
from metaviz.figures.theme import axis, figure, learner_color

DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
LABELS = {"loss": "meta-train loss (smoothed)", "val_loss": "meta-val loss", "val_accuracy": "meta-val accuracy",
          "baseline_val_loss": "baseline meta-val loss", "test_loss": "meta-test loss",
          "test_accuracy": "meta-test accuracy", "train_loss": "loss on meta-training tasks",
          "train_accuracy": "accuracy on meta-training tasks"}
TEXT: dict[str, dict[str, str]] = {
    "compare": dict(x="meta-iteration"),  # title and y: the metric's label
    "spread": dict(title="{label}: spread over seeds", x="meta-iteration", seed="seed {seed}", band="± 1 std",
                   mean="mean of {n} seeds"),
}


def _text(kind: str, key: str, text: Mapping[str, str] | None) -> dict[str, str]:
    """The words of a figure of metric ``key``: ``TEXT[kind]``, the metric's ``label``, then the overrides."""
    return {**TEXT[kind], "label": LABELS.get(key, key), **(text or {})}


def compare_curves(series: Sequence[tuple[str, str, dict[str, np.ndarray]]], key: str,
                   uirevision: str = "compare", text: Mapping[str, str] | None = None) -> go.Figure:
    """``key`` of several runs over meta-iterations. ``series``: (label, learner, table) where the
    table holds ``step`` and ``key`` (a History's ``train`` or ``evals``). Per-step losses are
    smoothed (one meta-batch is noisy); a log axis is used for positive losses. ``text``: ``label`` (the
    title and the y axis) and ``x``."""
    w = _text("compare", key, text)
    seen: dict[str, int] = {}
    traces = []
    for label, learner, table in series:
        steps, values = np.asarray(table.get("step", []), float), np.asarray(table.get(key, []), float)
        if not len(values) or np.isnan(values).all():
            continue
        if key == "loss":
            values = ema(values)
        steps, values = decimate(steps, values)
        dash = DASHES[seen.get(learner, 0) % len(DASHES)]
        seen[learner] = seen.get(learner, 0) + 1
        traces.append(dict(type="scatter", x=steps, y=values, name=label, mode="lines" if key == "loss"
                           else "lines+markers", line=dict(color=learner_color(learner), dash=dash, width=2),
                           marker=dict(size=5)))
    accuracy = key.endswith("accuracy")
    positive = all(np.nanmin(t["y"]) > 0 for t in traces if np.isfinite(t["y"]).any())
    yaxis = axis(w["label"], range=[0, 1.02]) if accuracy else axis(
        w["label"], type="log" if positive and traces else "linear")
    return figure(traces, title=w["label"], uirevision=uirevision, xaxis=axis(w["x"]), yaxis=yaxis)


def spread_figure(spread: SeedSpread, learner: str, uirevision: str = "spread",
                  text: Mapping[str, str] | None = None) -> go.Figure:
    """Each seed thin, the mean bold, and a band of plus or minus one standard deviation. ``text``: ``label``
    (the metric), ``title`` and trace names with their placeholders ({label}, {seed}, {n}), ``x``."""
    w = _text("spread", spread.key, text)
    color = learner_color(learner)
    traces = [dict(type="scatter", x=spread.steps, y=row, mode="lines", name=w["seed"].format(seed=seed), opacity=0.35,
                   line=dict(color=color, width=1), showlegend=False)
              for seed, row in zip(spread.seeds, spread.values)]
    band = np.isfinite(spread.std)
    if band.any():
        x = spread.steps[band]
        traces.append(dict(type="scatter", x=np.concatenate([x, x[::-1]]),
                           y=np.concatenate([(spread.mean + spread.std)[band], (spread.mean - spread.std)[band][::-1]]),
                           fill="toself", fillcolor=color, opacity=0.18, line=dict(width=0), name=w["band"],
                           hoverinfo="skip"))
    traces.append(dict(type="scatter", x=spread.steps, y=spread.mean, mode="lines+markers",
                       name=w["mean"].format(n=len(spread.seeds)), line=dict(color=color, width=3)))
    label = w["label"]
    yaxis = axis(label, range=[0, 1.02]) if spread.key.endswith("accuracy") else axis(label)
    return figure(traces, title=w["title"].format(label=label), uirevision=uirevision, xaxis=axis(w["x"]),
                  yaxis=yaxis)
