"""A reliability diagram (Guo et al. 2017, *On Calibration of Modern Neural Networks*, figure 1): per
confidence bin, the share of predictions that were right against the mean confidence. A calibrated model's
bars reach the diagonal; bars under it are over-confident. Drawn for the raw probabilities (T = 1) and the
temperature-scaled ones side by side, each named with its expected calibration error (ECE).

``text`` overrides the English words (``TEXT``), so that the app draws it in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from metaviz.calibration import Reliability
from metaviz.figures.theme import PALETTE, TRUTH_COLOR, axis, figure

TEXT = dict(title="Reliability: confidence against accuracy", x="confidence (highest probability)",
            y="share right", raw="T = 1, ECE {ece}", scaled="T = {t}, ECE {ece}", ideal="calibrated",
            hover="{n} predictions")


def reliability_figure(raw: Reliability, scaled: Reliability | None = None, temperature: float = 1.0,
                       text: Mapping[str, str] | None = None, height: int = 340) -> go.Figure:
    """Bars of accuracy per non-empty bin at the bins' mean confidence, for ``raw`` and (when given) ``scaled``."""
    w = {**TEXT, **(text or {})}
    width = float(raw.edges[1] - raw.edges[0])
    traces = [dict(type="scatter", x=[0, 1], y=[0, 1], mode="lines", name=w["ideal"],
                   line=dict(color=TRUTH_COLOR, dash="dot", width=1), hoverinfo="skip")]
    pairs = [(raw, w["raw"].format(ece=f"{raw.ece:.3f}"), PALETTE[0])]
    if scaled is not None:
        pairs.append((scaled, w["scaled"].format(t=f"{temperature:.2f}", ece=f"{scaled.ece:.3f}"), PALETTE[3]))
    hover = "%{customdata[0]:.2f} -> %{y:.0%}<br>" + w["hover"].format(n="%{customdata[1]}") + "<extra></extra>"
    for k, (rel, name, colour) in enumerate(pairs):
        filled = rel.count > 0
        centres = (rel.edges[:-1] + width / 2)[filled]
        traces.append(dict(type="bar", x=centres.tolist(), y=np.nan_to_num(rel.accuracy[filled]).tolist(),
                           width=width * (0.9 if scaled is None else 0.45), offset=None if scaled is None else
                           (-0.45 + 0.45 * k) * width, name=name, marker=dict(color=colour, opacity=0.8),
                           customdata=np.stack([rel.confidence[filled], rel.count[filled]], 1).tolist(),
                           hovertemplate=hover))
    return figure(traces, title=w["title"], height=height, barmode="overlay",
                  xaxis=axis(w["x"], range=[0, 1.0]), yaxis=axis(w["y"], range=[0, 1.02]))
