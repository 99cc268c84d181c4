"""Figures of the few-shot text lesson: learners' accuracy on the same meta-test tasks."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from metaviz.figures.theme import layout


def accuracy_bars(accuracy: Mapping[str, np.ndarray], names: Mapping[str, str], title: str, axis: str,
                  chance: float) -> go.Figure:
    """One bar per learner: mean query accuracy over tasks, with the 95% interval; a dotted line at chance."""
    keys = list(accuracy)
    means = [float(np.mean(accuracy[k])) for k in keys]
    half = [float(1.96 * np.std(accuracy[k], ddof=1) / np.sqrt(len(accuracy[k]))) if len(accuracy[k]) > 1 else 0.0
            for k in keys]
    fig = go.Figure(go.Bar(x=[names[k] for k in keys], y=means, error_y=dict(type="data", array=half),
                           text=[f"{m:.1%}" for m in means], textposition="outside"),
                    layout=layout(title, height=380))
    fig.add_hline(y=chance, line_dash="dot")
    fig.update_yaxes(title_text=axis, range=[0, 1.05], tickformat=".0%")
    return fig
