"""Pages with nothing to show yet draw a figure (a drawn empty state) instead of only a notice: Runs and Compare
on an empty store, Your Data before two classes have examples. And the empty chart escapes its words."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metaviz.figures.light import empty_chart

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_empty_chart_is_a_light_chart_and_escapes_its_words():
    html = empty_chart("<b>title</b>", "a & b <script>")
    assert 'class="mv-light-chart mv-empty"' in html and "<polyline" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;title&lt;/b&gt;" in html


@pytest.mark.parametrize("page", ["pages/runs.py", "pages/compare.py", "pages/own_data.py"])
def test_empty_pages_draw_an_empty_state_figure(page, tmp_path, monkeypatch):
    monkeypatch.setenv("METAVIZ_HOME", str(tmp_path))  # an empty run store
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    drawn = [m.value for m in at.markdown if "mv-empty" in m.value]
    assert len(drawn) == 1 and "<svg" in drawn[0]
    assert at.info  # the notice stays, the figure comes with it
