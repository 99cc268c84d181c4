"""Loss landscapes and the paths drawn on them; the two-tasks, two-parameters toy.

Colours are on a log10 scale by default (a landscape spans decades), with tick labels in loss units,
and the colour range is the landscape's own (:func:`metaviz.analysis.landscape.colour_range`): it
only changes when the grid is recomputed, so frames drawn while training goes on compare.

Every builder takes ``text``, a mapping of its words (title, axis titles, legend names, hover labels) to override
the English defaults listed in its ``TEXT`` entry, so that the app can draw them in the reader's language.
Entries with ``{placeholders}`` are filled here (numbers formatted by their format spec).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from metaviz.analysis.landscape import Landscape, Path, colour_range
from metaviz.analysis.toy import ToySurface, ToyUpdate
from metaviz.figures.theme import PALETTE, TRUTH_COLOR, axis, figure, learner_color

VIEWS = ("contour", "heatmap", "surface")
COLORSCALE = "Viridis"
OUTER_COLOR = "#f03e3e"
METHOD_COLORS = {"maml": learner_color("maml"), "fomaml": "#91a7ff", "reptile": learner_color("reptile"),
                 "second order": "#e03131"}
KEEP = dict(marker=dict(opacity=1))  # clicking the toy's grid selects a point: keep the other traces undimmed
PATH_WORDS = dict(meta_iteration="meta-iteration", inner_step="inner step", inner="inner loop, task {i}",
                  hover="loss here {loss:.4g}, on the plane {plane:.4g}<br>distance to the plane {distance:.3g}",
                  hover_share=" ({share:.0%} of its distance to the centre)")
TEXT: dict[str, dict[str, str]] = {
    # title: what the loss is (default: the landscape's own label)
    "landscape": dict(title="", loss="loss", outer="outer loop (meta-training)",
                      centre="theta at meta-iteration {step}",
                      pc1="PC 1 ({share:.0%} of the trajectory's variance)", pc2="PC 2 ({share:.0%})",
                      d1="direction 1 (filter-normalized)", d2="direction 2 (filter-normalized)", **PATH_WORDS),
    "path_loss": dict(title="Loss along the paths (dotted: on the plane)", outer="outer loop",
                      real="{name}: real", plane="{name}: on the plane", x="meta-iteration", y="outer loop",
                      x2="inner step", y2="inner loops", inner="inner loop, task {i}"),
    "toy": dict(title="Background: {label}", meta="MAML objective mean_i L_i(phi_i(theta))",
                joint="joint loss mean_i L_i(theta)", task_loss="task {i} loss", task_minimum="task {i} minimum",
                inner="task {i}: inner steps", inner_one="task {i}: inner step", maml="MAML update",
                fomaml="FOMAML update", reptile="Reptile update (direction)",
                second="second-order term (MAML - FOMAML)", theta="theta (click to move)", x="theta 1", y="theta 2",
                grid="click grid"),
}


def _text(kind: str, text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT[kind], **(text or {})}


def _log(values: np.ndarray, log: bool) -> np.ndarray:
    values = np.asarray(values, float)
    if not log:
        return values
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan)


def _colorbar(zrange: tuple[float, float], log: bool, title: str) -> dict:
    bar = dict(title=dict(text=title, side="right"), thickness=14)
    if log:
        ticks = np.arange(np.floor(zrange[0] * 2) / 2, zrange[1] + 1e-9, 0.5 if zrange[1] - zrange[0] < 3 else 1.0)
        bar.update(tickvals=ticks, ticktext=[f"{10**t:.3g}" for t in ticks])
    return bar


def axis_titles(landscape: Landscape, text: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The plane's axis titles: principal components with their share of the trajectory's variance, or
    random filter-normalized directions."""
    w, plane = _text("landscape", text), landscape.plane
    if plane.kind == "pca" and plane.explained is not None:
        return w["pc1"].format(share=float(plane.explained[0])), w["pc2"].format(share=float(plane.explained[1]))
    return w["d1"], w["d2"]


def _hover_path(path: Path, name: str, w: Mapping[str, str]) -> list[str]:
    unit = w["meta_iteration"] if path.kind == "outer" else w["inner_step"]
    return [f"{name}<br>{unit} {x:g}<br>" + w["hover"].format(loss=t, plane=p, distance=r)
            + ("" if np.isnan(q) else w["hover_share"].format(share=q))
            for x, t, p, r, q in zip(path.x, path.true_loss, path.plane_loss, path.residual, path.relative)]


def _path_traces(paths: Sequence[Path], landscape: Landscape, log: bool, three_d: bool,
                 w: Mapping[str, str]) -> list[dict]:
    traces, inner = [], 0
    for path in paths:  # inner paths come in task order (path_overlays): the i-th is task i
        if path.kind == "outer":
            color, name = OUTER_COLOR, w["outer"]
            symbols = ["circle"] * (len(path.x) - 1) + ["diamond"]
        else:
            color, name = PALETTE[inner % len(PALETTE)], w["inner"].format(i=inner)
            symbols = ["circle"] * (len(path.x) - 1) + ["arrow"]
            inner += 1
        base = dict(x=path.coords[:, 0], y=path.coords[:, 1], name=name, text=_hover_path(path, name, w),
                    hoverinfo="text",
                    line=dict(color=color, width=3 if path.kind == "outer" else 2))
        if three_d:
            z = _log(path.plane_loss, log)
            traces.append(dict(type="scatter3d", z=z, mode="lines+markers", marker=dict(size=3, color=color), **base))
        else:
            traces.append(dict(type="scatter", mode="lines+markers", marker=dict(
                symbol=symbols, size=[6] * (len(path.x) - 1) + [13], color=color, angleref="previous",
                line=dict(color="white", width=1)), **base))
    return traces


def landscape_figure(landscape: Landscape, paths: Sequence[Path] = (), view: str = "contour", log: bool = True,
                     uirevision: str = "landscape", height: int = 520,
                     text: Mapping[str, str] | None = None) -> go.Figure:
    """The loss on the plane (contour, heatmap or 3-D surface) with the paths projected on it.

    Paths are drawn at their projected coordinates; hovering a point gives the loss at the real point,
    at its projection, and its distance to the plane. On the surface, paths ride at the loss of their
    projections (the height the surface shows there)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
    w = _text("landscape", text)
    title = w["title"] or landscape.label
    z = _log(landscape.loss, log)
    zrange = colour_range(landscape.loss, log)
    xt, yt = axis_titles(landscape, w)
    common = dict(x=landscape.a, y=landscape.b, z=z, customdata=landscape.loss, colorscale=COLORSCALE,
                  colorbar=_colorbar(zrange, log, w["loss"]), name=title)
    hover = f"a %{{x:.3f}}, b %{{y:.3f}}<br>{w['loss']} %{{customdata:.4g}}<extra></extra>"
    centre = dict(name=w["centre"].format(step=landscape.plane.step), marker=dict(color="white", size=11,
                  symbol="x", line=dict(color=TRUTH_COLOR, width=2)))
    if view == "surface":  # clipped at the colour range: a few exploding corners would flatten the rest
        bar = common["colorbar"]
        zaxis = dict(title=dict(text=w["loss"]), range=[zrange[0], zrange[1]],
                     **({k: bar[k] for k in ("tickvals", "ticktext")} if log else {}))
        traces = [dict(type="surface", cmin=zrange[0], cmax=zrange[1], hovertemplate=hover, showscale=True,
                       **{**common, "z": np.minimum(z, zrange[1])}),
                  dict(type="scatter3d", x=[0.0], y=[0.0], z=[z[len(landscape.b) // 2, len(landscape.a) // 2]],
                       mode="markers", **{**centre, "marker": dict(color=TRUTH_COLOR, size=5)})]
        traces += _path_traces(paths, landscape, log, three_d=True, w=w)
        return figure(traces, title=title, height=height, uirevision=uirevision,
                      scene=dict(xaxis=dict(title=dict(text=xt)), yaxis=dict(title=dict(text=yt)), zaxis=zaxis),
                      legend=dict(orientation="h", yanchor="top", y=0, x=0, xanchor="left"),
                      margin=dict(l=0, r=0, t=40, b=0))
    if view == "contour":
        trace = dict(type="contour", zmin=zrange[0], zmax=zrange[1], zauto=False, ncontours=30,
                     contours=dict(coloring="heatmap", showlines=True), line=dict(width=0.5, color="white"),
                     hovertemplate=hover, **common)
    else:
        trace = dict(type="heatmap", zmin=zrange[0], zmax=zrange[1], zauto=False, hovertemplate=hover, **common)
    traces = [trace, dict(type="scatter", x=[0.0], y=[0.0], mode="markers", **centre)]
    traces += _path_traces(paths, landscape, log, three_d=False, w=w)
    span = (landscape.a[0], landscape.a[-1]), (landscape.b[0], landscape.b[-1])
    return figure(traces, title=title, height=height, uirevision=uirevision,
                  xaxis=axis(xt, range=list(span[0]), showgrid=False, zeroline=False),
                  yaxis=axis(yt, range=list(span[1]), showgrid=False, zeroline=False),
                  legend=dict(orientation="h", yanchor="top", y=-0.15, x=0, xanchor="left"),
                  margin=dict(l=60, r=20, t=50, b=60))


def path_loss_figure(paths: Sequence[Path], log: bool = True, uirevision: str = "path-loss",
                     height: int = 520, text: Mapping[str, str] | None = None) -> go.Figure:
    """The loss along each path, measured at its real points (solid) and at their projections on the
    plane (dotted, what the contours show). Where the two part, the picture of the path misleads.

    Top: the outer loop against meta-iteration. Bottom: each inner loop against inner step."""
    w = _text("path_loss", text)
    traces, inner = [], 0
    for path in paths:  # inner paths come in task order (path_overlays): the i-th is task i
        outer = path.kind == "outer"
        color = OUTER_COLOR if outer else PALETTE[inner % len(PALETTE)]
        name = w["outer"] if outer else w["inner"].format(i=inner)
        inner += 0 if outer else 1
        axes = dict(xaxis="x", yaxis="y") if outer else dict(xaxis="x2", yaxis="y2")
        traces.append(dict(type="scatter", x=path.x, y=path.true_loss, mode="lines+markers",
                           name=w["real"].format(name=name), legendgroup=name, line=dict(color=color, width=2),
                           marker=dict(size=5), **axes))
        traces.append(dict(type="scatter", x=path.x, y=path.plane_loss, mode="lines",
                           name=w["plane"].format(name=name), legendgroup=name,
                           line=dict(color=color, width=2, dash="dot"), **axes))
    kind = "log" if log and all(np.nanmin(t["y"]) > 0 for t in traces if np.isfinite(t["y"]).any()) else "linear"
    return figure(traces, title=w["title"], height=height, uirevision=uirevision,
                  xaxis=axis(w["x"], domain=[0, 1], anchor="y"),
                  yaxis=axis(w["y"], type=kind, domain=[0.58, 1.0], anchor="x"),
                  xaxis2=axis(w["x2"], domain=[0, 1], anchor="y2", dtick=1),
                  yaxis2=axis(w["y2"], type=kind, domain=[0.0, 0.38], anchor="x2"),
                  legend=dict(orientation="h", yanchor="top", y=-0.12, x=0, xanchor="left", font=dict(size=10)),
                  margin=dict(l=60, r=20, t=50, b=60))


def _arrow(start: np.ndarray, end: np.ndarray, name: str, color: str, dash: str | None = None,
           width: float = 3, group: str | None = None) -> dict:
    return dict(type="scatter", x=[start[0], end[0]], y=[start[1], end[1]], mode="lines+markers", name=name,
                legendgroup=group or name, line=dict(color=color, width=width, dash=dash), hoverinfo="name+x+y",
                marker=dict(symbol=["circle", "arrow"], size=[0, 14], angleref="previous", color=color),
                unselected=KEEP)


def toy_figure(surface: ToySurface, update: ToyUpdate | None, background: str = "meta", arrow: float = 1.2,
               uirevision: str = "toy", height: int = 560, text: Mapping[str, str] | None = None) -> go.Figure:
    """The toy's plane: a contour of MAML's objective (``background="meta"``) or the joint loss ("joint"),
    each task's own contour lines and minimum, an invisible grid of clickable points, and from the chosen
    theta each task's inner steps (to scale) and the meta-updates: MAML's drawn ``arrow`` long, FOMAML's and
    the second-order term on the same scale (from FOMAML's tip to MAML's: they add up), and Reptile's
    direction, as long as MAML's (its size is in other units)."""
    if background not in ("meta", "joint"):
        raise ValueError(f"background must be 'meta' or 'joint', not {background!r}")
    w = _text("toy", text)
    z = surface.meta_loss if background == "meta" else surface.joint_loss
    label = w[background]
    traces = [dict(type="contour", x=surface.x, y=surface.y, z=np.log10(z + 1e-3), colorscale="Greys",
                   reversescale=True, opacity=0.55, ncontours=25, showscale=False, name=label, hoverinfo="skip",
                   contours=dict(coloring="fill", showlines=False))]
    for i in range(2):
        color = PALETTE[i]
        traces.append(dict(type="contour", x=surface.x, y=surface.y, z=surface.task_loss[i],
                           name=w["task_loss"].format(i=i + 1), showscale=False, hoverinfo="skip",
                           contours=dict(coloring="none", start=0.25, end=8, size=0.75),
                           line=dict(color=color, width=1)))
        traces.append(dict(type="scatter", x=[surface.centres[i, 0]], y=[surface.centres[i, 1]], mode="markers",
                           name=w["task_minimum"].format(i=i + 1), marker=dict(symbol="star", size=14, color=color),
                           unselected=KEEP))
    gx, gy = np.meshgrid(surface.x[::2], surface.y[::2])
    traces.append(dict(type="scatter", x=gx.ravel(), y=gy.ravel(), mode="markers", name=w["grid"],
                       showlegend=False, hoverinfo="none", marker=dict(size=9, color="rgba(0,0,0,0)"),
                       selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0))))
    if update is not None:
        theta = update.theta
        for i in range(2):
            path = update.inner[i]
            traces.append(dict(type="scatter", x=path[:, 0], y=path[:, 1], mode="lines+markers",
                               name=w["inner" if len(path) > 2 else "inner_one"].format(i=i + 1), unselected=KEEP,
                               line=dict(color=PALETTE[i], width=2, dash="dash"),
                               marker=dict(symbol=["circle"] * (len(path) - 1) + ["arrow"],
                                           size=[5] * (len(path) - 1) + [12], angleref="previous",
                                           color=PALETTE[i])))
        # MAML, FOMAML and the second-order term share one scale (MAML's arrow is ``arrow`` long), so they add
        # up; Reptile's update is a displacement in other units: drawn as long as MAML's, only its direction counts
        scale = arrow / max(float(np.linalg.norm(update.direction["maml"])), 1e-9 * arrow)
        ends = {m: theta + scale * update.direction[m] for m in ("maml", "fomaml")}
        reptile = update.direction["reptile"]
        ends["reptile"] = theta + arrow * reptile / max(float(np.linalg.norm(reptile)), 1e-12)
        for method in ("maml", "fomaml", "reptile"):
            traces.append(_arrow(theta, ends[method], w[method], METHOD_COLORS[method]))
        # -(g_maml - g_fomaml) from FOMAML's tip ends at MAML's: the two vectors add up
        traces.append(_arrow(ends["fomaml"], ends["maml"], w["second"],
                             METHOD_COLORS["second order"], dash="dot", width=2.5))
        traces.append(dict(type="scatter", x=[theta[0]], y=[theta[1]], mode="markers", name=w["theta"],
                           marker=dict(size=11, color=TRUTH_COLOR, symbol="circle-open", line=dict(width=2)),
                           unselected=KEEP))
    lo, hi = float(surface.x[0]), float(surface.x[-1])
    return figure(traces, title=w["title"].format(label=label), height=height,
                  uirevision=uirevision, hovermode="closest", clickmode="event+select",
                  xaxis=axis(w["x"], range=[lo, hi], showgrid=False, zeroline=False, constrain="domain"),
                  yaxis=axis(w["y"], range=[lo, hi], showgrid=False, zeroline=False, scaleanchor="x",
                             scaleratio=1),
                  legend=dict(orientation="h", yanchor="top", y=-0.16, x=0, xanchor="left"),
                  margin=dict(l=50, r=20, t=50, b=40))
