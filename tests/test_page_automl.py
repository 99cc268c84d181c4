"""The AutoML page: Start a search, watch it finish with its figures, in English and in Chinese."""

import json

import pytest
from apptests import open_page, wait_for
from test_i18n_pages import english_sentences, shown_texts

from metaviz import automl
from metaviz.store import Store


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
    assert any("mv-empty" in m.value for m in at.markdown)  # before Start: a drawn empty state, what to press
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


def test_the_lesson_opens_the_automl_lab_with_darts():
    at = open_page("pages/learn/09_automl.py", lang="zh")
    assert len(at.get("plotly_chart")) == 4
    at.radio(key="learn-9-order").set_value("second").run()
    at.button(key="lesson-lab").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="automl-method").value == "darts" and at.checkbox(key="automl-second").value


def test_the_shipped_lesson_result_has_the_shape_the_script_makes(monkeypatch):
    from metaviz.automl import lesson

    shipped = lesson.load()
    monkeypatch.setattr(lesson, "INNER", (3,))
    fresh = lesson.compute(outer=2, darts_steps=2)
    assert set(shipped) == set(fresh) and set(shipped["darts"]) == set(fresh["darts"]) == {"first", "second"}
    assert set(shipped["hyper"]) == {"10", "20", "40"}
    for entry in shipped["hyper"].values():
        # both searches are drawn at equal compute: the same inner steps after each outer step
        assert entry["curve"][0] == entry["random_curve"][0]
        assert entry["lr"].shape == (len(entry["curve"][0]), len(entry["layers"]))
        assert entry["hypergradient_s"] > entry["plain_run_s"] > 0
    assert set(fresh["hyper"]["3"]) == set(next(iter(shipped["hyper"].values())))


def test_step_pause_and_reset_on_the_page_and_the_search_is_saved(tmp_path, monkeypatch):
    monkeypatch.setenv("METAVIZ_HOME", str(tmp_path))
    at = open_page("pages/automl.py")
    at.selectbox(key="automl-task").set_value("blobs")
    at.selectbox(key="automl-method").set_value("unrolled").run()
    at.slider(key="automl-outer-hyperparameters").set_value(50)
    at.select_slider(key="automl-inner").set_value(10)
    assert at.button(key="automl-pause").disabled and at.button(key="automl-reset").disabled
    at.button(key="automl-step").click().run()  # before any Start: a new search, one outer step, then held
    wait_for(at, lambda at: at.button(key="automl-pause").label == "Resume", timeout=90)
    (record,) = Store(tmp_path).runs(kind="automl")
    wait_for(at, lambda at: Store(tmp_path).get(record.id).step == 1, timeout=30)
    assert Store(tmp_path).get(record.id).status == "paused"
    assert any(record.id in c.value for c in at.caption)  # "Saved as run ..."
    at.button(key="automl-step").click().run()
    wait_for(at, lambda at: Store(tmp_path).get(record.id).step == 2 and at.button(key="automl-pause").label
             == "Resume", timeout=60)
    at.button(key="automl-reset").click().run()
    assert any("mv-empty" in m.value for m in at.markdown) and at.button(key="automl-reset").disabled  # empty
    assert Store(tmp_path).get(record.id).status == "stopped"  # the stored run stays


def test_a_stored_search_opens_on_the_runs_page_in_chinese_and_compare_offers_no_repeats(tmp_path, monkeypatch):
    from metaviz.automl.search import AutoMLConfig
    from metaviz.commands.automl import search_and_record

    monkeypatch.setenv("METAVIZ_HOME", str(tmp_path))
    config = AutoMLConfig("digits", "darts", automl.get("darts").Config(space="conv", width=3, retrain_steps=5), 4)
    record, _ = search_and_record(config, Store(tmp_path), None, progress=lambda line: None)
    at = open_page("pages/runs.py", lang="zh")
    assert at.selectbox(key="runs.open").value == record.id
    titles = chart_titles(at)
    assert len(titles) == 4, titles  # search curves, retrained scores, the weights per edge, the derived cell
    assert not at.error
    found = {s for text in shown_texts(at) for s in english_sentences(text)}
    assert not found, sorted(found)
    at = open_page("pages/compare.py")
    assert not at.exception and at.button(key="compare.repeat").disabled
