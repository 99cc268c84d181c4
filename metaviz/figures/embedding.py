"""Pictures of an embedding space: points, prototypes and the nearest-prototype regions in a 2-D plane.

Every builder takes ``text``, a mapping of its words (title, axis titles, legend names, hover labels) to override
the English defaults listed in its ``TEXT`` entry, so that the app can draw them in the reader's language.
Entries with ``{placeholders}`` are filled here (numbers formatted by their format spec).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from metaviz.analysis.embedding import EmbeddingFrames, EmbeddingResult
from metaviz.figures.tasks import LABEL_COLORS, hex_rgb
from metaviz.figures.theme import TRUTH_COLOR, axis, figure

ROLE_MARKERS = {  # role -> (symbol, size)
    "support": ("circle", 10),
    "query": ("circle-open", 9),
    "prototype": ("star", 19),
}
TEXT: dict[str, dict[str, str]] = {
    # legend_<role>: the legend's name of each role's points, <role>: the role in a point's hover label (hover:
    # {name} the class, {nearest} the nearest prototype's class);
    # pc: a PCA axis (from the axis title that metaviz.analysis.embedding writes), tsne: a t-SNE axis
    "embedding": dict(legend_support="support", legend_query="query", legend_prototype="prototype (class mean)",
                      support="support", query="query", prototype="prototype",
                      hover="<b>{name}</b> ({role})<br>nearest prototype: {nearest}",
                      regions="nearest-prototype regions (in the plane)",
                      wrong="query nearer another class's prototype", pc="PC {i} ({share:.0%} of the variance)",
                      tsne="t-SNE {i}"),
    "accuracy": dict(full="nearest prototype, full space", plane="nearest prototype, in the plane",
                     own="{learner}'s own prediction",
                     full_own="nearest prototype, full space (= {learner}'s own prediction)",
                     chance="chance (1/{n})", x="meta-iteration", y="query accuracy"),
}
PC_TITLE = re.compile(r"PC (?P<i>\d+) \((?P<percent>\d+)% of the variance\)")
TSNE_TITLE = re.compile(r"t-SNE (?P<i>\d+)")


def _text(kind: str, text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT[kind], **(text or {})}


def axis_title(title: str, text: Mapping[str, str] | None = None) -> str:
    """An axis title of :class:`EmbeddingResult` ("PC 1 (43% of the variance)", "t-SNE 2") in ``text``'s words
    (other titles as they are)."""
    w = _text("embedding", text)
    if match := PC_TITLE.fullmatch(title):
        return w["pc"].format(i=int(match["i"]), share=int(match["percent"]) / 100)
    if match := TSNE_TITLE.fullmatch(title):
        return w["tsne"].format(i=int(match["i"]))
    return title


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
                     height: int = 520, uirevision: str | None = "embedding",
                     text: Mapping[str, str] | None = None) -> go.Figure:
    """Support points (filled), query points (open), prototypes (stars), coloured by class, over the
    nearest-prototype regions when ``result`` has them (one light colour per class).

    Every point carries ``customdata`` = [index into result.coords, class name, role, nearest prototype's
    class], so a click (``st.plotly_chart(on_select="rerun")``) identifies it. Queries whose nearest
    prototype in the full space is of another class are crossed. ``selected`` rings one point."""
    w = _text("embedding", text)
    n = len(result.class_names)
    names = np.array(result.class_names, dtype=object)
    nearest = result.nearest if result.nearest is not None else np.full(len(result.labels), -1)
    nearest_names = np.where(nearest >= 0, names[np.clip(nearest, 0, n - 1)], "–")
    traces: list[dict] = []
    if result.regions is not None:
        r = result.regions
        traces.append(dict(type="heatmap", x=r.x, y=r.y, z=r.labels, zmin=-0.5, zmax=n - 0.5,
                           colorscale=_discrete_scale(n), showscale=False, opacity=0.2, hoverinfo="skip",
                           name=w["regions"]))
    for role, (symbol, size) in ROLE_MARKERS.items():
        idx = np.flatnonzero(result.roles == role)
        if not len(idx):
            continue
        colors = [class_color(k) for k in result.labels[idx]]
        marker = dict(symbol=symbol, size=size, color=colors,
                      line=dict(width=2 if role == "query" else 1,
                                color=colors if role == "query" else (TRUTH_COLOR if role == "prototype" else "white")))
        custom = [[int(i), str(names[result.labels[i]]), role, str(nearest_names[i])] for i in idx]
        traces.append(dict(type="scatter", mode="markers", name=w[f"legend_{role}"], x=result.coords[idx, 0],
                           y=result.coords[idx, 1], marker=marker, customdata=custom,
                           hovertemplate=w["hover"].format(name="%{customdata[1]}", role=w[role],
                                                           nearest="%{customdata[3]}") + "<extra></extra>"))
    wrong = np.flatnonzero((result.roles == "query") & (nearest >= 0) & (nearest != result.labels))
    if len(wrong):
        traces.append(dict(type="scatter", mode="markers", name=w["wrong"],
                           x=result.coords[wrong, 0], y=result.coords[wrong, 1], hoverinfo="skip",
                           marker=dict(symbol="x-thin-open", size=13, color=TRUTH_COLOR, line=dict(width=2))))
    if selected is not None and 0 <= selected < len(result.coords):
        traces.append(dict(type="scatter", mode="markers", name="selected", x=[result.coords[selected, 0]],
                           y=[result.coords[selected, 1]], hoverinfo="skip", showlegend=False,
                           marker=dict(symbol="circle-open", size=26, color=TRUTH_COLOR, line=dict(width=3))))
    # equal units on both axes (distances are what the picture is about); plotly widens one range to fit the
    # chart, the same way for every frame that shares the ranges
    xaxis = axis(axis_title(result.axis_titles[0], w), range=list(x_range) if x_range else None)
    yaxis = axis(axis_title(result.axis_titles[1], w), range=list(y_range) if y_range else None, scaleanchor="x")
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


def accuracy_figure(frames: EmbeddingFrames, current: int | None = None, height: int = 260,
                    text: Mapping[str, str] | None = None) -> go.Figure:
    """Query accuracy of the nearest-prototype rule over the checkpoints: in the full space, in the plane,
    and the learner's own rule (when measured); a dotted line at chance (1/N); the shown frame marked."""
    w = _text("accuracy", text)
    steps = np.array(frames.steps)
    n = len(frames.frames[0].class_names)
    series = [("accuracy", w["full"], "solid"), ("plane_accuracy", w["plane"], "dash"),
              ("learner_accuracy", w["own"].format(learner=frames.learner), "dot")]
    values = {key: np.array([np.nan if getattr(f, key) is None else getattr(f, key) for f in frames.frames], float)
              for key, _, _ in series}
    if np.allclose(values["learner_accuracy"], values["accuracy"]):  # ProtoNet's prediction is this very rule
        values["learner_accuracy"][:] = np.nan
        series[0] = ("accuracy", w["full_own"].format(learner=frames.learner), "solid")
    traces = []
    for key, name, dash in series:
        if not np.all(np.isnan(values[key])):
            traces.append(dict(type="scatter", mode="lines+markers", x=steps, y=values[key], name=name,
                               line=dict(dash=dash)))
    traces.append(dict(type="scatter", mode="lines", x=[steps.min(), steps.max()], y=[1 / n, 1 / n],
                       name=w["chance"].format(n=n), line=dict(dash="dot", color="#adb5bd"), hoverinfo="skip"))
    shapes = []
    if current is not None:
        shapes.append(dict(type="line", x0=current, x1=current, y0=0, y1=1, yref="y",
                           line=dict(color=TRUTH_COLOR, width=1, dash="dot")))
    return figure(traces, height=height, xaxis=axis(w["x"]), yaxis=axis(w["y"], range=[0, 1.02]),
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
