"""Figures of the "why does it work?" lesson: pure builders, data in, plotly Figure out.

Every builder takes ``text``, a mapping of its words to override the English defaults in ``TEXT``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from metaviz.analysis.theory import Alignment, FirstOrderGap
from metaviz.figures.theme import PALETTE, axis, figure, learner_color

TEXT: dict[str, dict[str, str]] = {
    "gap": dict(title="How much FOMAML leaves out", x="inner learning rate α (log scale)",
                y="‖second-order term‖ / ‖MAML meta-gradient‖", steps="{k} inner step(s)",
                cosine="cos(MAML, FOMAML) = {c:.3f}"),
    "alignment": dict(title="Do task gradients line up?", y="cosine of two gradients",
                      within="same task (support vs query)", across="two different tasks"),
}


def _text(kind: str, text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT[kind], **(text or {})}


def gap_figure(gap: FirstOrderGap, text: Mapping[str, str] | None = None) -> go.Figure:
    """The second-order term's share of MAML's meta-gradient against the inner learning rate (both axes log),
    one line per number of inner steps; hovering a point gives the cosine of MAML's and FOMAML's gradients.
    A setting whose inner loop diverged (not finite) is left out of its line."""
    w = _text("gap", text)
    traces = []
    for i, steps in enumerate(gap.inner_steps):
        finite = np.isfinite(gap.share[i]) & (gap.share[i] > 0)
        traces.append(dict(type="scatter", x=gap.inner_lrs[finite], y=gap.share[i][finite], mode="lines+markers",
                           name=w["steps"].format(k=steps), line=dict(color=PALETTE[i % len(PALETTE)], width=2),
                           text=[w["cosine"].format(c=c) for c in gap.cosine[i][finite]],
                           hovertemplate="α = %{x:g}: %{y:.3f}<br>%{text}<extra></extra>"))
    return figure(traces, title=w["title"], height=380, xaxis=axis(w["x"], type="log"),
                  yaxis=axis(w["y"], type="log"), legend=dict(orientation="h", yanchor="top", y=-0.2, x=0,
                                                               xanchor="left"),
                  margin=dict(l=60, r=20, t=50, b=45))


def alignment_figure(alignment: Alignment, names: Mapping[str, str] | None = None,
                     text: Mapping[str, str] | None = None) -> go.Figure:
    """Box plots of gradient cosines at each set of parameters: within a task (its support and its query
    gradient) and across tasks (two tasks' support gradients), side by side. ``names``: the label of each set."""
    w = _text("alignment", text)
    labels = [(names or {}).get(n, n) for n in alignment.names]
    traces = []
    for kind, values in (("within", alignment.within), ("across", alignment.across)):
        x = [label for label, row in zip(labels, values) for _ in row]
        traces.append(dict(type="box", x=x, y=np.concatenate(list(values)), name=w[kind], boxmean=True,
                           marker=dict(color=learner_color("maml") if kind == "within" else "#adb5bd")))
    return figure(traces, title=w["title"], height=380, boxmode="group", xaxis=axis(""),
                  yaxis=axis(w["y"], range=[-1.05, 1.05], zeroline=True),
                  legend=dict(orientation="h", yanchor="top", y=-0.15, x=0, xanchor="left"))

