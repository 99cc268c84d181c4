"""Meta-RL, drawn: trajectories on a held-out goal before and after policy-gradient steps (the MAML paper's
figure 5), and a bandit trial's pulls and cumulative regret beside UCB1, Thompson sampling and the Gittins index.

Builders take ``text`` (their words, over the English defaults of ``TEXT``) and ``names`` (learner -> legend
name), so the app draws them in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from metaviz.analysis.rl import BanditTrial, Trajectories
from metaviz.figures.theme import GRID, PALETTE, TRUTH_COLOR, layout, learner_color

CLASSICAL_COLORS = {"ucb1": PALETTE[3], "thompson": PALETTE[1], "gittins": PALETTE[4]}  # dotted beside the learner
STEP_COLORS = ["#adb5bd", "#e8590c", "#c2255c", "#364fc7", "#2b8a3e", "#ae3ec9"]  # before, after 1, 2, 3 ...
TEXT = {
    "paths": dict(title="Trajectories on a held-out goal", goal="goal", before="before adaptation",
                  after="after {n} step(s)", panel="{name}: return {before:.1f} → {after:.1f}", x="x", y="y"),
    "bandit": dict(regret="Cumulative regret (mean over {n} held-out bandits)", pulls="Pulls of one bandit",
                   x="pull", y_regret="regret", y_arm="arm", arm="arm {k} (mean {mean:.2f})",
                   ucb1="UCB1", thompson="Thompson sampling", gittins="Gittins index"),
}


def _text(kind: str, text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT[kind], **(text or {})}


def trajectory_figure(result: Trajectories, text: Mapping[str, str] | None = None,
                      names: Mapping[str, str] | None = None) -> go.Figure:
    """One panel per learner: its rollouts after 0..S steps (colour by step), the goal a star."""
    w, names = _text("paths", text), names or {}
    learners = list(result.paths)
    titles = [w["panel"].format(name=names.get(n, n), before=result.returns[n][0], after=result.returns[n][-1])
              for n in learners]
    fig = make_subplots(rows=1, cols=len(learners), subplot_titles=titles, shared_yaxes=True)
    for col, name in enumerate(learners, start=1):
        paths = result.paths[name]                                                    # [S + 1, R, H + 1, 2]
        for step in range(paths.shape[0]):
            label = w["before"] if step == 0 else w["after"].format(n=step)
            for r in range(paths.shape[1]):
                fig.add_trace(go.Scatter(x=paths[step, r, :, 0], y=paths[step, r, :, 1], mode="lines",
                                         line=dict(color=STEP_COLORS[step % len(STEP_COLORS)], width=2),
                                         name=label, legendgroup=label, showlegend=col == 1 and r == 0,
                                         opacity=0.85), row=1, col=col)
        fig.add_trace(go.Scatter(x=[result.goal[0]], y=[result.goal[1]], mode="markers", name=w["goal"],
                                 marker=dict(symbol="star", size=16, color=TRUTH_COLOR), legendgroup="goal",
                                 showlegend=col == 1), row=1, col=col)
        fig.update_xaxes(title_text=w["x"], gridcolor=GRID, zerolinecolor=GRID, row=1, col=col)
    fig.update_yaxes(title_text=w["y"], gridcolor=GRID, zerolinecolor=GRID, scaleanchor="x", row=1, col=1)
    fig.update_layout(**layout(w["title"], height=420))
    return fig


def bandit_figure(result: BanditTrial, n_tasks: int, text: Mapping[str, str] | None = None,
                  names: Mapping[str, str] | None = None) -> go.Figure:
    """Left: mean cumulative regret against pulls, per strategy; right: which arm the learner pulled when."""
    w, names = _text("bandit", text), names or {}
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4],
                        subplot_titles=[w["regret"].format(n=n_tasks), w["pulls"]])
    for name, curve in result.regret.items():
        label = w.get(name, names.get(name, name))
        color = CLASSICAL_COLORS.get(name, learner_color(name))
        fig.add_trace(go.Scatter(x=np.arange(1, len(curve) + 1), y=curve, mode="lines", name=label,
                                 line=dict(color=color, width=2 if name in CLASSICAL_COLORS else 3,
                                           dash="dot" if name in CLASSICAL_COLORS else "solid")),
                      row=1, col=1)
    best = int(np.argmax(result.means))
    colors = [PALETTE[1] if a == best else PALETTE[0] for a in result.pulls]  # green: the best arm
    fig.add_trace(go.Scatter(x=np.arange(1, len(result.pulls) + 1), y=result.pulls, mode="markers", showlegend=False,
                             marker=dict(size=6, color=colors)), row=1, col=2)
    ticks = [w["arm"].format(k=k, mean=m) for k, m in enumerate(result.means)]
    fig.update_yaxes(tickvals=list(range(len(ticks))), ticktext=ticks, title_text=w["y_arm"], row=1, col=2)
    fig.update_yaxes(title_text=w["y_regret"], gridcolor=GRID, row=1, col=1)
    fig.update_xaxes(title_text=w["x"], gridcolor=GRID)
    fig.update_layout(**layout("", height=380))
    return fig
