"""A light line chart (HTML and SVG), for a view that redraws several times a second while a run trains.

A browser lays a plotly chart out again at every redraw, changed or not: 60-160 ms on a slow shared core, which
left the Train page's controls answering in seconds (benchmarks/app_latency.py). The same lines drawn as one SVG
element cost the browser about a millisecond. There is no hover or zoom: live views show this chart while a run
trains and the plotly figure once it stops.

The chart fills its container's width: the title and legend are HTML (the legend wraps), the plot box is an SVG
whose viewBox is the unit square scaled to the box (``preserveAspectRatio="none"``, strokes that do not scale),
and tick labels sit at percentages of the box. Data (x, y) maps to the box as

    u = (x - x0) / (x1 - x0),   w = (v(y) - v0) / (v1 - v0),   v = log10 on a log axis, else the identity,

drawn at (1000 u, 1000 (1 - w)) in the viewBox, and labelled at left: 100 u %, top: 100 (1 - w) %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np

HEIGHT = 340  # px, as the plotly charts
SCALE = 1000  # the viewBox is SCALE x SCALE
DASHES = {None: "", "solid": "", "dash": "7,4", "dot": "2,3", "dashdot": "7,3,2,3"}


@dataclass(frozen=True)
class Line:
    """One curve: ``x`` and ``y`` of the same length (a NaN in ``y`` breaks the line), its legend label and
    look (``dash``: None, "dash", "dot" or "dashdot", as in plotly)."""
    x: np.ndarray
    y: np.ndarray
    name: str
    color: str
    dash: str | None = None
    markers: bool = False
    opacity: float = 1.0
    connect: bool = True  # False: the markers only (support points), with no legend entry when ``name`` is ""


def nice_ticks(lo: float, hi: float, count: int = 5) -> np.ndarray:
    """About ``count`` round values (1, 2 or 5 times a power of ten apart) within [lo, hi]."""
    if not hi > lo:
        return np.array([lo])
    raw = (hi - lo) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return np.arange(first, hi + step * 1e-9, step)


def log_ticks(lo: float, hi: float) -> np.ndarray:
    """Round values within [lo, hi] (both > 0) for a log axis: powers of ten, with 2 and 5 times them (then
    every multiple) when fewer than three values would fall in the range."""
    exponents = range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
    for multiples in ((1,), (1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
        ticks = np.array([m * 10.0**e for e in exponents for m in multiples])
        ticks = ticks[(ticks >= lo * (1 - 1e-9)) & (ticks <= hi * (1 + 1e-9))]
        if len(ticks) >= 3:
            return ticks
    return ticks


def tick_label(value: float, step: float | None = None) -> str:
    """``value`` with as many decimals as the tick spacing ``step`` needs (None: shortest form)."""
    value += 0.0  # -0.0 + 0.0 is 0.0: no "-0" label
    if step is None or step <= 0:
        return f"{value:g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}" if abs(value) < 1e6 else f"{value:.3g}"


def _span(values: np.ndarray, pad: float = 0.05) -> tuple[float, float]:
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        return lo - 1.0, hi + 1.0
    margin = (hi - lo) * pad
    return lo - margin, hi + margin


def _runs(mask: np.ndarray) -> list[slice]:
    """Maximal runs of True in ``mask``, as slices."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [slice(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _stroke(color: str, dash: str | None, width: float = 2, opacity: float = 1.0) -> str:
    dasharray = DASHES.get(dash, "")
    return (f'stroke="{escape(color)}" stroke-width="{width:g}" stroke-opacity="{opacity:g}" '
            'vector-effect="non-scaling-stroke"' + (f' stroke-dasharray="{dasharray}"' if dasharray else ""))


def line_chart(lines: list[Line], title: str = "", x_title: str = "", y_title: str = "", log_y: bool = False,
               height: int = HEIGHT) -> str:
    """One ``<div>`` of HTML drawing ``lines`` with axes, ticks, a title and a legend, ``height`` px tall and as
    wide as its container. Every word is escaped. Text and axes take the page's colour (``currentColor``), so
    the chart suits light and dark themes. On a log axis, points with y <= 0 are left out (as plotly does)."""
    def shown(line: Line) -> np.ndarray:
        x, y = np.asarray(line.x, float), np.asarray(line.y, float)
        return np.isfinite(y) & np.isfinite(x) & ((y > 0) if log_y else True)

    lines = [line for line in lines if shown(line).any()]
    swatch = ('<svg width="24" height="10" style="vertical-align:middle;margin-right:4px">'
              '<line x1="0" x2="24" y1="5" y2="5" {}/></svg>')
    legend = "".join(f'<span style="white-space:nowrap">{swatch.format(_stroke(line.color, line.dash))}'
                     f'{escape(line.name)}</span>' for line in lines if line.name or line.connect)
    out = [f'<div class="mv-light-chart" role="img" aria-label="{escape(title)}" style="display:flex;'
           f'flex-direction:column;height:{height}px;font-size:12px;line-height:1.3">',
           f'<div style="font-size:15px;padding:4px 0 2px 8px">{escape(title)}</div>',
           '<div style="display:flex;flex-wrap:wrap;gap:2px 14px;justify-content:flex-end;padding:0 8px">'
           f'{legend}</div>',
           '<div style="flex:1;display:flex;min-height:0;padding:10px 16px 0 0">',
           f'<div style="width:22px;display:flex;align-items:center;justify-content:center"><span style="'
           f'transform:rotate(-90deg);white-space:nowrap">{escape(y_title)}</span></div>',
           '<div style="flex:1;position:relative;margin:0 0 22px 40px;border-bottom:1px solid currentColor;'
           'border-bottom-color:rgba(128,128,128,0.6)">']
    svg = [f'<svg viewBox="0 0 {SCALE} {SCALE}" preserveAspectRatio="none" width="100%" height="100%" '
           'style="position:absolute;inset:0;overflow:visible">']
    labels = []
    if lines:
        xs = np.concatenate([np.asarray(line.x, float)[shown(line)] for line in lines])
        ys = np.concatenate([np.asarray(line.y, float)[shown(line)] for line in lines])
        x0, x1 = _span(xs, pad=0.02)
        value = np.log10 if log_y else np.asarray
        v0, v1 = _span(value(ys))

        def u(x):  # 0 at the left of the box, 1 at the right
            return (np.asarray(x, float) - x0) / (x1 - x0)

        def w(y):  # 0 at the bottom of the box, 1 at the top
            return (value(np.asarray(y, float)) - v0) / (v1 - v0)

        x_ticks = nice_ticks(x0, x1, count=6)
        y_ticks = log_ticks(10**v0, 10**v1) if log_y else nice_ticks(v0, v1)
        x_step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else None
        y_step = None if log_y or len(y_ticks) < 2 else y_ticks[1] - y_ticks[0]
        grid = ('<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="currentColor" stroke-opacity="0.12" '
                'vector-effect="non-scaling-stroke"/>')
        for tick in x_ticks:
            a = float(u(tick))
            svg.append(grid.format(SCALE * a, SCALE * a, 0, SCALE))
            labels.append(f'<span style="position:absolute;left:{100 * a:.2f}%;top:100%;transform:translateX(-50%);'
                          f'padding-top:3px">{tick_label(tick, x_step)}</span>')
        for tick in y_ticks:
            b = 1 - float(w(tick))
            svg.append(grid.format(0, SCALE, SCALE * b, SCALE * b))
            labels.append(f'<span style="position:absolute;right:100%;top:{100 * b:.2f}%;transform:translateY(-50%);'
                          f'padding-right:5px">{tick_label(tick, y_step)}</span>')
        for line in lines:
            keep = shown(line)
            x, y = np.asarray(line.x, float), np.asarray(line.y, float)
            for run in _runs(keep):
                px, py = SCALE * u(x[run]), SCALE * (1 - w(y[run]))
                points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
                if line.connect:
                    svg.append(f'<polyline class="line" data-name="{escape(line.name)}" points="{points}" '
                               f'fill="none" {_stroke(line.color, line.dash, opacity=line.opacity)}/>')
                if line.markers:  # a zero-length segment with round caps: a dot that the box's scaling keeps round
                    dots = "".join(f"M{a:.1f} {b:.1f}h0" for a, b in zip(px, py, strict=True))
                    svg.append(f'<path d="{dots}" stroke="{escape(line.color)}" stroke-width="6" '
                               'stroke-linecap="round" vector-effect="non-scaling-stroke"/>')
    svg.append("</svg>")
    out += svg + labels
    out.append(f'</div></div><div style="text-align:center;padding-bottom:2px">{escape(x_title)}</div></div>')
    return "".join(out)


def empty_chart(title: str, message: str, height: int = 220) -> str:
    """A drawn empty state, for a view with nothing to show yet: a faint axes box with a dashed sketch of a
    falling curve (a drawing, not data) and ``message`` across it. One ``<div>``; words escaped."""
    sketch = " ".join(f"{SCALE * u:.0f},{SCALE * (0.12 + 0.7 * math.exp(-4 * u)):.0f}"
                      for u in np.linspace(0.04, 0.96, 24))
    return (f'<div class="mv-light-chart mv-empty" role="img" aria-label="{escape(title)}" style="display:flex;'
            f'flex-direction:column;height:{height}px;font-size:13px;opacity:0.85">'
            f'<div style="font-size:15px;padding:4px 0 2px 8px">{escape(title)}</div>'
            '<div style="flex:1;position:relative;margin:6px 16px 12px 40px;border-left:1px solid currentColor;'
            'border-bottom:1px solid currentColor;border-color:rgba(128,128,128,0.6)">'
            f'<svg viewBox="0 0 {SCALE} {SCALE}" preserveAspectRatio="none" width="100%" height="100%" '
            'style="position:absolute;inset:0">'
            f'<polyline points="{sketch}" fill="none" {_stroke("currentColor", "dash", opacity=0.35)}/></svg>'
            '<div style="position:absolute;inset:0;display:flex;align-items:center;justify-content:center;'
            f'text-align:center;padding:0 12%">{escape(message)}</div></div></div>')


def drawable(fig) -> bool:
    """Whether :func:`from_figure` draws ``fig`` faithfully: lines and markers only (scatter traces with no fill
    area and one colour per trace), all on one pair of axes, and the axes not reversed or on a date scale."""
    layout = fig.layout
    axes = {k for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))}
    if not fig.data or axes - {"xaxis", "yaxis"} or layout.annotations:
        return False
    return all(trace.type == "scatter" and trace.x is not None and trace.y is not None
               and trace.fill in (None, "none") and (trace.xaxis or "x") == "x" and (trace.yaxis or "y") == "y"
               and not isinstance(trace.marker.color, tuple | list) and trace.error_y.array is None
               for trace in fig.data) and layout.xaxis.type in (None, "-", "linear") and layout.yaxis.type in (
        None, "-", "linear", "log") and layout.xaxis.autorange != "reversed" and layout.yaxis.autorange != "reversed"


def from_figure(fig, height: int = HEIGHT) -> str:
    """A plotly figure of line and marker traces (``type="scatter"``) as the light chart: the same lines, names,
    colours, dashes, title, axis titles and log axis; no hover or zoom. For live views that would otherwise send
    the browser a plotly chart to lay out again at every refresh while a run trains (the plotly figure is drawn
    once the run stops)."""
    lines = []
    for trace in fig.data:
        if trace.type != "scatter" or trace.x is None or trace.y is None:
            continue
        mode = trace.mode or "lines"
        color = trace.line.color or (trace.marker.color if isinstance(trace.marker.color, str) else None)
        lines.append(Line(np.asarray(trace.x, float), np.asarray(trace.y, float), trace.name or "",
                          color or "#636efa", trace.line.dash, "markers" in mode,
                          1.0 if trace.opacity is None else float(trace.opacity), "lines" in mode))
    layout = fig.layout
    return line_chart(lines, title=layout.title.text or "", x_title=layout.xaxis.title.text or "",
                      y_title=layout.yaxis.title.text or "", log_y=layout.yaxis.type == "log",
                      height=int(layout.height or height))


PALETTE = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880")


def timeline_chart(parts: list[tuple[str, float]], title: str = "", x_title: str = "", height: int = 150) -> str:
    """A timeline as one bar split into ``parts`` (label, length) in order, each as wide as its share of the
    total and numbered from 1 (its label shows on hover), over an axis from 0 to the total: a class plan at a
    glance. One ``<div>``; words escaped."""
    total = float(sum(length for _, length in parts)) or 1.0
    rects, numbers, start = [], [], 0.0
    for n, (label, length) in enumerate(parts, 1):
        x, w = SCALE * start / total, SCALE * length / total
        rects.append(f'<rect x="{x:.1f}" y="0" width="{max(w - 2, 1):.1f}" height="{SCALE}" '
                     f'fill="{PALETTE[(n - 1) % len(PALETTE)]}" fill-opacity="0.75"><title>{n}. {escape(label)} '
                     f'({length:g})</title></rect>')
        numbers.append(f'<span style="position:absolute;left:{100 * (start + length / 2) / total:.2f}%;top:50%;'
                       f'transform:translate(-50%,-50%);color:#fff;font-weight:600">{n}</span>')
        start += length
    ticks = "".join(f'<span style="position:absolute;left:{100 * v / total:.2f}%;transform:translateX(-50%)">'
                    f'{tick_label(v)}</span>' for v in nice_ticks(0.0, total, 6))
    return (f'<div class="mv-light-chart" role="img" aria-label="{escape(title)}" style="display:flex;'
            f'flex-direction:column;height:{height}px;font-size:12px;line-height:1.3">'
            f'<div style="font-size:15px;padding:4px 0 2px 8px">{escape(title)}</div>'
            '<div style="flex:1;position:relative;margin:8px 16px 0 16px">'
            f'<svg viewBox="0 0 {SCALE} {SCALE}" preserveAspectRatio="none" width="100%" height="100%" '
            f'style="position:absolute;inset:0">{"".join(rects)}</svg>{"".join(numbers)}</div>'
            f'<div style="position:relative;height:18px;margin:2px 16px 0 16px">{ticks}</div>'
            f'<div style="text-align:center;padding-bottom:2px">{escape(x_title)}</div></div>')
