"""First paint: the first figure a page sends the browser is a light one (SVG, no plotly bundle), and the
lessons' shipped default runs load only for their exact config and are the runs the lessons would train."""

import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from metaviz import trajectories
from metaviz.figures.light import drawable, from_figure, timeline_chart

APP = str(Path(__file__).resolve().parents[1] / "app.py")
LESSON_RUNS = sorted(trajectories.DEMO_DIR.glob("lesson-*.safetensors"))


def test_timeline_chart_splits_the_bar_by_length_and_escapes_labels():
    html = timeline_chart([("intro <b>", 10), ("lab", 30)], title="plan & co", x_title="minutes")
    widths = [float(w) for w in re.findall(r'<rect x="[^"]+" y="0" width="([^"]+)"', html)]
    assert widths == [pytest.approx(1000 * 10 / 40 - 2), pytest.approx(1000 * 30 / 40 - 2)]
    assert 'class="mv-light-chart"' in html and "intro &lt;b&gt;" in html and "plan &amp; co" in html
    assert "<b>" not in html and ">40<" in html  # the axis reaches the total


def test_drawable_only_for_lines_on_one_pair_of_axes():
    lines = go.Figure([go.Scatter(x=[0, 1], y=[1, 2], name="a"), go.Scatter(x=[0, 1], y=[2, 1], mode="markers")])
    assert drawable(lines) and "<polyline" in from_figure(lines)
    assert not drawable(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])))
    assert not drawable(go.Figure(go.Scatter(x=[0, 1], y=[1, 2], fill="tozeroy")))  # a band: plotly draws it
    panels = make_subplots(rows=1, cols=2)
    panels.add_trace(go.Scatter(x=[0, 1], y=[1, 2]), row=1, col=1)
    panels.add_trace(go.Scatter(x=[0, 1], y=[1, 2]), row=1, col=2)
    assert not drawable(panels)
    assert not drawable(go.Figure(go.Scatter(x=[0, 1], y=[1, 2], marker=dict(color=[1, 2]))))  # a colour scale


def sent_figures(page: str, monkeypatch) -> tuple[list[str], AppTest]:
    """The figures of a page's (second, warm) run in the order the browser gets them: "light", "plotly",
    "image"."""
    order = []
    enqueue = DeltaGenerator._enqueue

    def spy(self, delta_type, element, *args, **kwargs):
        if delta_type == "markdown" and "mv-light-chart" in element.body:
            order.append("light")
        elif delta_type in ("plotly_chart", "imgs"):
            order.append("plotly" if delta_type == "plotly_chart" else "image")
        return enqueue(self, delta_type, element, *args, **kwargs)

    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page(page)
    at.run()
    monkeypatch.setattr(DeltaGenerator, "_enqueue", spy)
    at.switch_page(page)  # a switch holds for one run
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return order, at


@pytest.mark.parametrize("page", ["pages/automl.py", "pages/meta_rl.py", "pages/train.py", "pages/course.py"])
def test_the_first_figure_a_page_sends_is_light(page, tmp_path, monkeypatch):
    monkeypatch.setenv("METAVIZ_HOME", str(tmp_path))  # no stored run
    order, at = sent_figures(page, monkeypatch)
    assert order and order[0] == "light", order
    if page == "pages/course.py":  # the plan's timeline: one part per step of the plan
        from ui import course

        timeline = next(m.value for m in at.markdown if "mv-light-chart" in m.value)
        assert timeline.count("<rect") == len(course.plan(at.radio(key="course-plan").value))


def test_a_lesson_draws_its_line_figure_light_and_then_plotly(monkeypatch):
    order, at = sent_figures("pages/learn/03_meta_testing.py", monkeypatch)
    assert order[:2] == ["light", "plotly"], order  # the light chart first, its plotly figure at the footer
    assert len(at.get("plotly_chart")) == 1 and not any("mv-light-chart" in m.value for m in at.markdown)


def stem_parts(path: Path) -> tuple[str, str | None]:
    """(the run's name in the lesson, baseline_of) of a shipped lesson run, from its file."""
    name = path.stem.split("-")[1]
    _, ((_, flat),), _ = trajectories.load(path)
    return name, name if any(k.startswith("pretrained|") for k in flat) else None


@pytest.mark.parametrize("path", LESSON_RUNS, ids=lambda p: p.stem)
def test_a_shipped_lesson_run_loads_only_for_its_exact_config(path, monkeypatch):
    import dataclasses

    from metaviz.analysis import lessons

    config, _, arrays = trajectories.load(path)
    name, baseline = stem_parts(path)
    assert path.stem == f"lesson-{name}-{trajectories.fingerprint(config, baseline)}"
    trained = []
    monkeypatch.setattr(lessons, "_train_states", lambda *a: trained.append(a) or lessons.Trained({}, 0.0, "cpu"))
    loaded = lessons.train_states({name: config}, baseline_of=baseline)
    assert not trained and loaded.seconds == pytest.approx(float(arrays["seconds"][0])) and name in loaded.states
    lessons.train_states({name: dataclasses.replace(config, seed=config.seed + 1)}, baseline_of=baseline)
    assert len(trained) == 1  # another seed: trained, not the shipped run


def test_the_lessons_ship_their_default_runs():
    assert len(LESSON_RUNS) >= 6 and sum(p.stat().st_size for p in LESSON_RUNS) < 1_000_000


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSON_RUNS, ids=lambda p: p.stem)
def test_a_shipped_lesson_run_is_the_run_the_lesson_would_train(path):
    import torch

    from metaviz.analysis import lessons

    config, _, _ = trajectories.load(path)
    name, baseline = stem_parts(path)
    shipped = lessons.train_states({name: config}, baseline_of=baseline)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as recorded (scripts/train_demo_zoo.py)
    try:
        retrained = lessons._train_states({name: config}, baseline)
    finally:
        torch.set_num_threads(threads)
    assert retrained.states.keys() == shipped.states.keys()
    for state, params in retrained.states.items():
        for k, v in params.items():
            np.testing.assert_allclose(shipped.states[state][k], v, rtol=1e-4, atol=1e-5)
