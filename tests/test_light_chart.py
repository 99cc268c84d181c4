"""The light live chart (metaviz.figures.light): where it puts each point, its ticks, and its escaping."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from metaviz.figures.curves import loss_curves, loss_html, loss_lines
from metaviz.figures.light import SCALE, Line, line_chart, log_ticks, nice_ticks, tick_label


def parse(html: str) -> ET.Element:
    return ET.fromstring(html)  # well-formed XML: every element closed, every word escaped


def polylines(root: ET.Element) -> list[np.ndarray]:
    """Each drawn line's points as an array [n, 2] in viewBox units."""
    return [np.array([[float(v) for v in p.split(",")] for p in e.get("points").split()])
            for e in root.iter() if e.tag.endswith("polyline")]


def tick_positions(root: ET.Element, axis: str) -> dict[str, float]:
    """Tick label -> its position along the axis in percent (x: from the left; y: from the top)."""
    found = {}
    for span in root.iter("span"):
        style = span.get("style", "")
        match = re.search(r"left:([\d.]+)%;top:100%" if axis == "x" else r"right:100%;top:([\d.]+)%", style)
        if match:
            found[span.text] = float(match.group(1))
    return found


def test_nice_ticks_are_round_evenly_spaced_and_inside_the_range():
    assert np.allclose(nice_ticks(0.0, 1.0), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ticks = nice_ticks(3.0, 97.0, count=5)
    assert np.allclose(ticks, [20, 40, 60, 80])
    for lo, hi in [(-3.7, 12.1), (0.0013, 0.0091), (1e4, 2.5e5)]:
        ticks = nice_ticks(lo, hi)
        step = np.diff(ticks)
        assert ticks.min() >= lo and ticks.max() <= hi and np.allclose(step, step[0])
        mantissa = step[0] / 10 ** np.floor(np.log10(step[0]))
        assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-6


def test_log_ticks_use_powers_of_ten_then_finer_multiples_for_a_short_range():
    assert np.allclose(log_ticks(0.01, 10.0), [0.01, 0.1, 1, 10])
    assert np.allclose(log_ticks(0.05, 0.9), [0.05, 0.1, 0.2, 0.5])
    assert np.allclose(log_ticks(1.5, 4.2), [2, 3, 4])


def test_tick_labels_have_the_decimals_their_spacing_needs():
    assert tick_label(0.4, 0.2) == "0.4" and tick_label(40.0, 20.0) == "40" and tick_label(0.25, 0.05) == "0.25"
    assert tick_label(-0.0, 0.5) == "0.0" and tick_label(1000.0) == "1000" and tick_label(0.001) == "0.001"


def test_points_land_where_the_documented_map_puts_them():
    x = np.arange(11.0)
    y = 2 * x + 1
    root = parse(line_chart([Line(x, y, "a", "#123456")]))
    (points,) = polylines(root)
    x0, x1 = 0 - 0.02 * 10, 10 + 0.02 * 10  # the x span is padded by 2 %, the y span by 5 %
    v0, v1 = 1 - 0.05 * 20, 21 + 0.05 * 20
    assert np.allclose(points[:, 0], SCALE * (x - x0) / (x1 - x0), atol=0.06)
    assert np.allclose(points[:, 1], SCALE * (1 - (y - v0) / (v1 - v0)), atol=0.06)
    # tick labels sit where their values map to
    for label, left in tick_positions(root, "x").items():
        assert left == pytest.approx(100 * (float(label) - x0) / (x1 - x0), abs=0.01)
    for label, top in tick_positions(root, "y").items():
        assert top == pytest.approx(100 * (1 - (float(label) - v0) / (v1 - v0)), abs=0.01)
    assert set(tick_positions(root, "y")) == {"0", "5", "10", "15", "20"}  # the span is [0, 22]


def test_a_log_axis_spaces_a_geometric_series_evenly_and_leaves_out_non_positive_values():
    x = np.arange(5.0)
    y = np.array([-1.0, 1.0, 10.0, 100.0, 1000.0])
    (points,) = polylines(parse(line_chart([Line(x, y, "a", "#000")], log_y=True)))
    assert len(points) == 4  # y = -1 cannot be drawn on a log axis
    assert np.allclose(np.diff(points[:, 1]), np.diff(points[:, 1])[0], atol=0.06)
    assert np.all(np.diff(points[:, 1]) < 0)  # larger values higher up


def test_nan_breaks_a_line_and_markers_draw_one_dot_per_point():
    y = np.array([1.0, 2.0, np.nan, 3.0, 4.0, 5.0])
    root = parse(line_chart([Line(np.arange(6.0), y, "a", "#000", markers=True)]))
    assert [len(p) for p in polylines(root)] == [2, 3]
    dots = "".join(e.get("d") for e in root.iter() if e.tag.endswith("path"))
    assert dots.count("M") == 5


def test_words_are_escaped_and_lines_with_nothing_to_draw_are_left_out():
    name = 'loss <b>"&</b>'
    lines = [Line(np.arange(3.0), np.ones(3), name, '#000" onload="x'),
             Line(np.arange(3.0), np.full(3, np.nan), "gone", "#f00")]
    html = line_chart(lines, title="<script>x</script>", x_title="a & b", y_title="y")
    assert "<script>" not in html and "<b>" not in html and 'onload="' not in html
    root = parse(html)
    words = "".join(root.itertext())
    assert name in words and "<script>x</script>" in words and "a & b" in words and "gone" not in words
    assert len(polylines(root)) == 1


def test_an_empty_chart_still_draws_its_frame():
    root = parse(line_chart([], title="Loss", x_title="x", y_title="y"))
    assert polylines(root) == [] and "Loss" in "".join(root.itertext())


def test_the_live_loss_chart_draws_the_lines_of_the_plotly_one():
    n = 50
    train = {"step": np.arange(n), "loss": np.exp(-np.arange(n) / 20) + 0.1, "baseline_loss": np.full(n, 0.9)}
    evals = {"step": np.arange(0, n, 10), "val_loss": np.linspace(1, 0.3, 5), "test_loss": np.full(5, np.nan)}
    figure, root = loss_curves(train, evals, "maml"), parse(loss_html(train, evals, "maml"))
    names = [e.get("data-name") for e in root.iter() if e.tag.endswith("polyline")]
    assert names == [trace.name for trace in figure.data]
    for line, trace in zip(loss_lines(train, evals, "maml"), figure.data, strict=True):
        assert np.allclose(line.y, trace.y)
    assert figure.layout.yaxis.type == "log"
    negative = dict(train, loss=np.linspace(0.5, -0.5, n))  # a Gaussian NLL can go below zero: a linear axis
    assert len(polylines(parse(loss_html(negative, evals, "cnp")))[0]) == n
