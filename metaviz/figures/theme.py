"""One look for every figure, and a stable colour per learner."""

from __future__ import annotations

import plotly.graph_objects as go

LEARNER_COLORS = {
    "maml": "#4c6ef5",
    "pretrained": "#868e96",
}
PALETTE = ["#e8590c", "#2b8a3e", "#ae3ec9", "#1098ad", "#f08c00", "#c2255c", "#5c940d", "#364fc7"]
TRUTH_COLOR = "#212529"


def learner_color(name: str) -> str:
    """The colour of ``name`` in every figure; unknown names get a stable palette colour."""
    if name in LEARNER_COLORS:
        return LEARNER_COLORS[name]
    return PALETTE[sum(map(ord, name)) % len(PALETTE)]


def styled(fig: go.Figure, title: str = "", height: int = 340, uirevision: str | None = None) -> go.Figure:
    fig.update_layout(template="plotly_white", title=dict(text=title, x=0.01, font=dict(size=15)),
                      height=height, margin=dict(l=50, r=20, t=50 if title else 20, b=45),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=1, xanchor="right"),
                      uirevision=uirevision)
    return fig
