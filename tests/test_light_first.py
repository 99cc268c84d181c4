"""Light charts first: plotly figures of lines converted to the light SVG chart (the live evaluation panels), and
the Home page's task gallery drawn light. Checked against the plotly figure's own traces."""

import re

import numpy as np
import plotly.graph_objects as go

from metaviz.figures.adaptation import tasks_figure, tasks_html
from metaviz.figures.curves import steps_curve
from metaviz.figures.light import from_figure


def polylines(html: str) -> list[str]:
    return re.findall(r'<polyline class="line" data-name="([^"]*)"', html)


def test_from_figure_keeps_lines_names_markers_and_the_log_axis():
    fig = go.Figure([go.Scatter(x=[0, 1, 2], y=[1, 10, 100], mode="lines", name="a", line=dict(color="#112233")),
                     go.Scatter(x=[0, 1], y=[5, 6], mode="markers", name="b<i>", marker=dict(color="#445566")),
                     go.Heatmap(z=[[1, 2], [3, 4]])])
    fig.update_layout(title="T", xaxis_title="x", yaxis_title="y", yaxis_type="log")
    html = from_figure(fig)
    assert polylines(html) == ["a"]  # the markers-only trace draws dots, no line; the heatmap is left out
    assert 'stroke="#112233"' in html and 'stroke="#445566"' in html and "b&lt;i&gt;" in html
    assert "M" in html and ">T<" in html
    assert ">100<" in html or ">10<" in html  # log ticks at powers of ten


def test_steps_curve_light_version_has_the_same_traces():
    fig = steps_curve(np.array([1.0, 0.5, 0.3]), np.array([1.0, 0.9, 0.8]), "maml")
    assert polylines(from_figure(fig)) == [t.name for t in fig.data]


def test_tasks_html_draws_the_gallery_of_tasks_figure():
    x = np.linspace(-5, 5, 20)
    curves, sx = np.sin(x)[None] * np.arange(1, 4)[:, None], np.zeros((3, 2))
    html = tasks_html(x, curves, sx, np.ones((3, 2)), text=dict(task="task {i}"))
    named = [t.name for t in tasks_figure(x, curves, sx, np.ones((3, 2)), text=dict(task="task {i}")).data if t.name]
    assert polylines(html) == named == ["task 1", "task 2", "task 3"]
    assert html.count("h0") == 6  # the support points, as dots
