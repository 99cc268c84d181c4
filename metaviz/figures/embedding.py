"""Pictures of an embedding space: points, prototypes and the nearest-prototype regions in a 2-D plane."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from metaviz.analysis.embedding import EmbeddingFrames, EmbeddingResult
from metaviz.figures.tasks import LABEL_COLORS, hex_rgb
from metaviz.figures.theme import TRUTH_COLOR, axis, figure

ROLE_MARKERS = {  # role -> (symbol, size, legend name)
    "support": ("circle", 10, "support"),
    "query": ("circle-open", 9, "query"),
    "prototype": ("star", 19, "prototype (class mean)"),
}


def class_color(label: int) -> str:
    """Task label colours: the Task Builder's ten first, then 24 more for tasks of up to 34 ways."""
    label = int(label)
    if label < len(LABEL_COLORS):
        return LABEL_COLORS[label]
    return qualitative.Dark24[(label - len(LABEL_COLORS)) % len(qualitative.Dark24)]


def _discrete_scale(n: int) -> list[list]:
    """A colorscale giving integer z = k the colour of label k, for zmin = -0.5 and zmax = n - 0.5."""
    scale = []
    for k in range(n):
        scale += [[k / n, class_color(k)], [(k + 1) / n, class_color(k)]]
    return scale


def embedding_figure(result: EmbeddingResult, x_range: tuple[float, float] | None = None,
                     y_range: tuple[float, float] | None = None, selected: int | None = None, title: str = "",
                     height: int = 520, uirevision: str | None = "embedding") -> go.Figure:
    """Support points (filled), query points (open), prototypes (stars), coloured by class, over the
    nearest-prototype regions when ``result`` has them (one light colour per class).

    Every point carries ``customdata`` = [index into result.coords, class name, role, nearest prototype's
    class], so a click (``st.plotly_chart(on_select="rerun")``) identifies it. Queries whose nearest
    prototype in the full space is of another class are crossed. ``selected`` rings one point."""
    n = len(result.class_names)
    names = np.array(result.class_names, dtype=object)
    nearest = result.nearest if result.nearest is not None else np.full(len(result.labels), -1)
    nearest_names = np.where(nearest >= 0, names[np.clip(nearest, 0, n - 1)], "–")
    traces: list[dict] = []
    if result.regions is not None:
        r = result.regions
        traces.append(dict(type="heatmap", x=r.x, y=r.y, z=r.labels, zmin=-0.5, zmax=n - 0.5,
                           colorscale=_discrete_scale(n), showscale=False, opacity=0.2, hoverinfo="skip",
                           name="nearest-prototype regions (in the plane)"))
    for role, (symbol, size, legend) in ROLE_MARKERS.items():
        idx = np.flatnonzero(result.roles == role)
        if not len(idx):
            continue
        colors = [class_color(k) for k in result.labels[idx]]
        marker = dict(symbol=symbol, size=size, color=colors,
                      line=dict(width=2 if role == "query" else 1,
                                color=colors if role == "query" else (TRUTH_COLOR if role == "prototype" else "white")))
        custom = [[int(i), str(names[result.labels[i]]), role, str(nearest_names[i])] for i in idx]
        traces.append(dict(type="scatter", mode="markers", name=legend, x=result.coords[idx, 0],
                           y=result.coords[idx, 1], marker=marker, customdata=custom,
                           hovertemplate="<b>%{customdata[1]}</b> (%{customdata[2]})<br>"
                                         "nearest prototype: %{customdata[3]}<extra></extra>"))
    wrong = np.flatnonzero((result.roles == "query") & (nearest >= 0) & (nearest != result.labels))
    if len(wrong):
        traces.append(dict(type="scatter", mode="markers", name="query nearer another class's prototype",
                           x=result.coords[wrong, 0], y=result.coords[wrong, 1], hoverinfo="skip",
                           marker=dict(symbol="x-thin-open", size=13, color=TRUTH_COLOR, line=dict(width=2))))
    if selected is not None and 0 <= selected < len(result.coords):
        traces.append(dict(type="scatter", mode="markers", name="selected", x=[result.coords[selected, 0]],
                           y=[result.coords[selected, 1]], hoverinfo="skip", showlegend=False,
                           marker=dict(symbol="circle-open", size=26, color=TRUTH_COLOR, line=dict(width=3))))
    # equal units on both axes (distances are what the picture is about); plotly widens one range to fit the
    # chart, the same way for every frame that shares the ranges
    xaxis = axis(result.axis_titles[0], range=list(x_range) if x_range else None)
    yaxis = axis(result.axis_titles[1], range=list(y_range) if y_range else None, scaleanchor="x")
    return figure(traces, title=title, height=height, uirevision=uirevision, xaxis=xaxis, yaxis=yaxis,
                  legend=dict(orientation="h", yanchor="top", y=-0.12, x=0, xanchor="left"),
                  margin=dict(l=50, r=20, t=50 if title else 20, b=90))


def clicked(selection, n_points: int) -> int | None:
    """The index of the point clicked in an :func:`embedding_figure`, from ``st.plotly_chart``'s selection
    state (a dict with ``selection.points[*].customdata``), or None when nothing (valid) is selected."""
    points = ((selection or {}).get("selection") or {}).get("points") or []
    custom = points[0].get("customdata") if points else None
    if not custom:
        return None
    index = int(custom[0])
    return index if 0 <= index < n_points else None


def accuracy_figure(frames: EmbeddingFrames, current: int | None = None, height: int = 260) -> go.Figure:
    """Query accuracy of the nearest-prototype rule over the checkpoints: in the full space, in the plane,
    and the learner's own rule (when measured); a dotted line at chance (1/N); the shown frame marked."""
    steps = np.array(frames.steps)
    n = len(frames.frames[0].class_names)
    series = [("accuracy", "nearest prototype, full space", "solid"),
              ("plane_accuracy", "nearest prototype, in the plane", "dash"),
              ("learner_accuracy", f"{frames.learner}'s own prediction", "dot")]
    values = {key: np.array([np.nan if getattr(f, key) is None else getattr(f, key) for f in frames.frames], float)
              for key, _, _ in series}
    if np.allclose(values["learner_accuracy"], values["accuracy"]):  # ProtoNet's prediction is this very rule
        values["learner_accuracy"][:] = np.nan
        series[0] = ("accuracy", f"nearest prototype, full space (= {frames.learner}'s own prediction)", "solid")
    traces = []
    for key, name, dash in series:
        if not np.all(np.isnan(values[key])):
            traces.append(dict(type="scatter", mode="lines+markers", x=steps, y=values[key], name=name,
                               line=dict(dash=dash)))
    traces.append(dict(type="scatter", mode="lines", x=[steps.min(), steps.max()], y=[1 / n, 1 / n],
                       name=f"chance (1/{n})", line=dict(dash="dot", color="#adb5bd"), hoverinfo="skip"))
    shapes = []
    if current is not None:
        shapes.append(dict(type="line", x0=current, x1=current, y0=0, y1=1, yref="y",
                           line=dict(color=TRUTH_COLOR, width=1, dash="dot")))
    return figure(traces, height=height, xaxis=axis("meta-iteration"), yaxis=axis("query accuracy", range=[0, 1.02]),
                  shapes=shapes, legend=dict(orientation="h", yanchor="top", y=-0.25, x=0, xanchor="left"),
                  margin=dict(l=50, r=20, t=20, b=80))


def thumbnails(images: np.ndarray, color: str, zoom: int | None = None, pad: int = 2) -> np.ndarray:
    """Images [K, C, H, W] in [0, 1] side by side, each framed in ``color``: RGB uint8 [H', W', 3].
    Greyscale inputs here are ink on black (ink = 1): drawn dark on white, as in the Task Builder.
    ``zoom`` (pixels per input pixel) defaults to about 56 pixels per image."""
    k, c, h, w = images.shape
    zoom = zoom or max(1, round(56 / h))
    cell_h, cell_w = h * zoom + 2 * pad, w * zoom + 2 * pad
    out = np.empty((cell_h, k * cell_w, 3), dtype=np.uint8)
    out[:] = hex_rgb(color)
    for j, img in enumerate(images):
        img = np.repeat(np.repeat(img.transpose(1, 2, 0), zoom, 0), zoom, 1)
        rgb = 1.0 - np.repeat(img, 3, 2) if c == 1 else img[..., :3]
        out[pad:pad + h * zoom, j * cell_w + pad:j * cell_w + pad + w * zoom] = (np.clip(rgb, 0, 1) * 255).astype(
            np.uint8)
    return out
