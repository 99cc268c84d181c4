"""The AutoML page: Start a search, watch it finish with its figures, in English and in Chinese."""

import json

import pytest
from apptests import open_page, wait_for
from test_i18n_pages import english_sentences, shown_texts


def chart_titles(at) -> list[str]:
    out = []
    for chart in at.get("plotly_chart"):
        title = json.loads(chart.proto.spec).get("layout", {}).get("title", {})
        out.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return out


@pytest.mark.parametrize(("method", "lang", "expected"),
                         [pytest.param("unrolled", "en", 2, marks=pytest.mark.slow), ("darts", "zh", 4)])
def test_start_runs_the_search_and_its_baseline_to_the_end(method, lang, expected):
    at = open_page("pages/automl.py", lang=lang)
    assert at.info  # before Start: what to press
    at.selectbox(key="automl-task").set_value("blobs")
    at.selectbox(key="automl-method").set_value(method).run()
    at.slider(key=f"automl-outer-{'architecture' if method == 'darts' else 'hyperparameters'}").set_value(8)
    at.select_slider(key="automl-inner").set_value(10)
    at.button(key="automl-start").click().run()
    wait_for(at, lambda at: len(at.get("plotly_chart")) >= expected, timeout=90)
    assert not at.error
    titles = chart_titles(at)
    assert len(titles) >= expected
    if lang == "zh":
        found = {s for text in shown_texts(at) for s in english_sentences(text)}
        assert not found, sorted(found)
