"""Pictures of tasks: regression curves, 2-D points, image grids, and the class split.

The figure builders take ``text``, a mapping of their words (subplot titles, legend names) to override the
English defaults listed in their ``TEXT`` entry, so that the app can draw them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from metaviz.analysis.tasks import ClassSplit, TaskPreview
from metaviz.figures.theme import GRID, TRUTH_COLOR, figure, layout

LABEL_COLORS = ["#e8590c", "#1c7ed6", "#2b8a3e", "#ae3ec9", "#f59f00", "#0ca678", "#d6336c", "#5c7cfa",
                "#74b816", "#495057"]
SPLIT_COLORS = {0: "#4c6ef5", 1: "#f59f00", 2: "#e03131", 3: "#c2255c", -1: "#dee2e6"}
SPLIT_NAMES = {0: "meta-train", 1: "meta-validation", 2: "meta-test", 3: "meta-validation and meta-test",
               -1: "unused"}
SPLIT_WORDS = {0: "train", 1: "val", 2: "test", 3: "val_test", -1: "unused"}  # split code -> its TEXT entry

TEXT: dict[str, dict[str, str]] = {
    "preview": dict(task="task {i}", truth="true function", support="support", query="query",
                    point="class {label} ({part})"),
    "split": dict(zip(SPLIT_WORDS.values(), SPLIT_NAMES.values())),
}


def _text(kind: str, text: Mapping[str, str] | None) -> dict[str, str]:
    return {**TEXT[kind], **(text or {})}


def label_color(label: int) -> str:
    """The colour of task label ``label`` in every task picture."""
    return LABEL_COLORS[int(label) % len(LABEL_COLORS)]


def hex_rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def preview_figure(p: TaskPreview, text: Mapping[str, str] | None = None) -> go.Figure:
    """Regression: true curves with support (filled) and query (hollow) points; 2-D: points by label."""
    w = _text("preview", text)
    n = p.support_x.shape[0]
    fig = make_subplots(rows=1, cols=n, subplot_titles=[w["task"].format(i=i + 1) for i in range(n)],
                        horizontal_spacing=0.05)
    for t in range(n):
        first = t == 0
        if p.kind == "regression":
            if p.curves is not None:
                fig.add_trace(go.Scatter(x=p.x_grid, y=p.curves[t], mode="lines", name=w["truth"],
                                         line=dict(color=TRUTH_COLOR), showlegend=first), row=1, col=t + 1)
            for x, y, part, symbol in ((p.support_x, p.support_y, "support", "circle"),
                                       (p.query_x, p.query_y, "query", "circle-open")):
                fig.add_trace(go.Scatter(x=x[t, :, 0], y=y[t, :, 0], mode="markers", name=w[part], showlegend=first,
                                         marker=dict(symbol=symbol, size=8, color="#e03131" if part == "support"
                                                     else "#1c7ed6")), row=1, col=t + 1)
        else:
            for x, y, part, symbol in ((p.support_x, p.support_y, "support", "circle"),
                                       (p.query_x, p.query_y, "query", "circle-open")):
                for label in np.unique(y[t]):
                    pts = x[t][y[t] == label]
                    fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", showlegend=False,
                                             name=w["point"].format(label=label, part=w[part]),
                                             marker=dict(symbol=symbol, size=9 if part == "support" else 7,
                                                         color=label_color(label))), row=1, col=t + 1)
    fig.update_xaxes(gridcolor=GRID, zerolinecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID)
    fig.update_layout(layout(height=320, margin=dict(l=40, r=20, t=40, b=30)))
    return fig


def image_grid(images: np.ndarray, labels: np.ndarray, n_way: int, pad: int = 2, zoom: int = 3) -> np.ndarray:
    """One row per task label: that label's images side by side, framed in the label's colour.

    images [N*K, C, H, W] in [0, 1] (ink shown dark), labels [N*K] -> RGB uint8 [rows, cols, 3]."""
    per_label = [np.flatnonzero(labels == label) for label in range(n_way)]
    k = max(len(i) for i in per_label)
    _, c, h, w = images.shape
    cell_h, cell_w = h * zoom + 2 * pad, w * zoom + 2 * pad
    out = np.full((n_way * cell_h, k * cell_w, 3), 255, dtype=np.uint8)
    for label, idx in enumerate(per_label):
        frame = hex_rgb(label_color(label))
        for j, i in enumerate(idx):
            img = images[i].transpose(1, 2, 0)
            img = np.repeat(np.repeat(img, zoom, 0), zoom, 1)
            rgb = np.repeat(img, 3, 2) if c == 1 else img
            if c == 1:  # greyscale data here is ink-on-black (ink = 1): draw ink dark on white
                rgb = 1.0 - rgb
            y0, x0 = label * cell_h, j * cell_w
            out[y0:y0 + cell_h, x0:x0 + cell_w] = frame
            pixels = (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
            out[y0 + pad:y0 + pad + h * zoom, x0 + pad:x0 + pad + w * zoom] = pixels
    return out


def split_figure(cs: ClassSplit, columns: int = 40, text: Mapping[str, str] | None = None) -> go.Figure:
    """Every class as a square coloured by its split, in rows of ``columns`` (hover for names)."""
    w = _text("split", text)
    n = len(cs.names)
    rows = int(np.ceil(n / columns))
    order = np.arange(n)
    if cs.groups is not None:
        order = np.array(sorted(range(n), key=lambda i: (cs.groups[i], i)))
    traces = []
    for code, word in SPLIT_WORDS.items():
        name = w[word]
        members = [i for i in order if cs.split[i] == code]
        if not members:
            continue
        pos = np.array([np.flatnonzero(order == i)[0] for i in members])
        hover = [cs.names[i] + (f" ({cs.groups[i]})" if cs.groups else "") for i in members]
        traces.append(dict(type="scatter", x=pos % columns, y=-(pos // columns), mode="markers", name=f"{name} "
                           f"({len(members)})", text=hover, hoverinfo="text",
                           marker=dict(symbol="square", size=11, color=SPLIT_COLORS[code])))
    hidden = dict(visible=False, showgrid=False, zeroline=False)
    return figure(traces, height=80 + 18 * rows, xaxis=hidden, yaxis=dict(hidden, scaleanchor="x"),
                  margin=dict(l=10, r=10, t=30, b=10))
