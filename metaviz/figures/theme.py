"""One look for every figure, and a stable colour per learner.

Figures are built from plain dicts in one ``go.Figure(data=..., layout=...)`` call: live
views redraw them several times a second, and plotly's per-property setters cost far more.
No template object either: copying one costs ~90 ms a figure, and ``st.plotly_chart``
applies its own theme.
"""

from __future__ import annotations

import plotly.graph_objects as go

LEARNER_COLORS = {  # one colour per learner, the same in every figure; families share a hue range
    "maml": "#4c6ef5", "reptile": "#15aabf", "anil": "#7048e8",           # learn an initialization
    "metasgd": "#e8590c", "learned_optimizer": "#f08c00",                 # learn the update rule
    "protonet": "#2b8a3e", "matching": "#74b816", "siamese": "#0ca678",   # learn a metric
    "sequence": "#c2255c",                                                # learn with memory
    "cnp": "#ae3ec9",                                                     # task embedding
    "pretrained": "#868e96", "scratch": "#495057",                        # baselines
}
PALETTE = ["#e8590c", "#2b8a3e", "#ae3ec9", "#1098ad", "#f08c00", "#c2255c", "#5c940d", "#364fc7"]
TRUTH_COLOR = "#212529"
GRID = "#e9ecef"


def learner_color(name: str) -> str:
    """The colour of ``name`` in every figure; unknown names get a stable palette colour."""
    if name in LEARNER_COLORS:
        return LEARNER_COLORS[name]
    return PALETTE[sum(map(ord, name)) % len(PALETTE)]


def axis(title: str, **extra) -> dict:
    return dict(title=dict(text=title), gridcolor=GRID, zerolinecolor=GRID, **extra)


def layout(title: str = "", height: int = 340, uirevision: str | None = None, **extra) -> dict:
    base = dict(plot_bgcolor="white", height=height, uirevision=uirevision,
                title=dict(text=title, x=0.01, font=dict(size=15)),
                margin=dict(l=50, r=20, t=50 if title else 20, b=45),
                legend=dict(orientation="h", yanchor="bottom", y=1.0, x=1, xanchor="right"))
    base.update(extra)
    return base


def figure(traces: list[dict], **layout_args) -> go.Figure:
    """A figure from trace dicts (each with ``type``) and :func:`layout` arguments."""
    return go.Figure(data=traces, layout=layout(**layout_args))
