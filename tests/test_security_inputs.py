"""The other ways in (issue 17): run-store queries are parameterised, names from uploads and files are shown
as text, teacher links and experiment files are held to the widgets' ranges with a message, never an exception."""

import json
import math
import re
from pathlib import Path

import pytest

from metaviz.messages import KeyedError
from metaviz.store import Store
from ui import share
from ui.i18n import literal

SQL = "'; DROP TABLE runs; --"
CONFIG = {"task": "sinusoid", "learner": "maml", "train": {"n_steps": 3}}


def test_a_run_named_like_sql_round_trips_and_filters_are_parameters(tmp_path):
    store = Store(tmp_path)
    run_id = store.create_run(CONFIG, name=SQL, device=SQL, source=SQL, status="done", version=SQL,
                              git_commit=SQL, group_id=SQL)
    other = store.create_run(CONFIG, name="plain", status="done")
    store.add_metrics(run_id, [(1, SQL, 0.5)], [], step=1, message=SQL)
    record = Store(tmp_path).get(run_id)
    assert (record.name, record.device, record.source, record.version, record.git_commit, record.message) == (
        SQL, SQL, SQL, SQL, SQL, SQL)
    assert Store(tmp_path).history(run_id).evals[SQL][-1] == 0.5  # a metric named so, too
    assert [r.id for r in store.runs(group_id=SQL)] == [run_id]
    assert store.runs(task=SQL) == [] and store.runs(status=SQL) == []
    assert {r.id for r in store.runs()} == {run_id, other}  # the table is still there
    for prefix in ("%", "_", "\\", "' OR 1=1 --"):  # LIKE wildcards and quotes match nothing
        with pytest.raises(ValueError, match="no run"):
            store.resolve(prefix)


@pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "**bold** $x^2$",
                                  "a`b`c", "line\nbreak", "\\*", "&lt;b&gt;", "#", "---"])
def test_literal_shows_any_name_as_written(name):
    shown = literal(name)
    # CommonMark reads a backslash before ASCII punctuation as that character, so no markdown, math or HTML is
    # left: every mark is escaped, and unescaping gives back the name (newlines flattened to spaces)
    assert re.fullmatch(r"(?:[^!-/:-@\[-`{-~]|\\[!-/:-@\[-`{-~])*", shown), shown
    assert re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", shown) == " ".join(name.splitlines())


@pytest.mark.parametrize("params, key", [
    ({"task.k_shot": "1000000000"}, None),
    ({"train.meta_lr": "nan"}, None),
    ({"train.meta_lr": "inf"}, None),
    ({"train.n_steps": "1e999"}, None),
    ({"seed": str(2**40)}, "sec.seed_range"),
    ({"seed": "-1"}, "sec.seed_range"),
    ({"task": "<img src=x onerror=alert(1)>"}, "ui_share.bad_task"),
])
def test_out_of_range_link_values_are_refused_with_their_field(params, key):
    with pytest.raises(ValueError) as caught:
        share.decode(params)
    field = next(iter(params)).split(".")[-1]
    assert field in str(caught.value)
    if key:
        assert isinstance(caught.value, KeyedError) and caught.value.key == key


def test_an_experiment_file_outside_the_ranges_is_refused_with_a_message():
    for bad in ({**CONFIG, "train": {"meta_lr": math.nan}}, {**CONFIG, "seed": 2**40}, {**CONFIG, "device": "cpu;x"},
                {**CONFIG, "extra": 1}, [1, 2], "text"):
        with pytest.raises(KeyedError) as caught:
            share.import_json(json.dumps(bad).encode())
        assert caught.value.key == "ui_share.not_experiment" and str(caught.value)
    with pytest.raises(KeyedError, match="not a MetaViz experiment"):
        share.import_json(b"[" * 50_000)  # nested past Python's recursion limit


def test_a_hostile_link_opens_the_page_with_a_toast_not_an_exception():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.query_params.update({"task": "sinusoid", "seed": str(2**40), "train.meta_lr": "nan"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("seed" in toast.value for toast in at.toast)
