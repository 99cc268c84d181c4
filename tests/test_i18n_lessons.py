"""The lessons draw the shared figure builders with the builders' own words (``text=``/``names=`` from
:mod:`ui.words`): in Chinese their legends say the catalogue's words, in English exactly the builders' English
defaults (``TEXT``, ``TITLES``), so the English pictures are the ones the builders draw without the app."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from apptests import open_page
from streamlit.testing.v1 import AppTest

from metaviz.figures import adaptation, embedding, tasks
from ui import i18n, words

CATALOGUES = {lang: i18n.catalogue(lang) for lang in ("en", "zh")}
ZH = CATALOGUES["zh"]


def legend(at: AppTest) -> list[str]:
    """The trace names of the page's first plotly chart, in order."""
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [trace["name"] for trace in spec["data"] if trace.get("name")]


def chart(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def count(values) -> int:
    """How many values a trace's ``x`` holds: a list, or plotly's typed array ({"dtype", "bdata"})."""
    if isinstance(values, dict):
        return len(np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"])))
    return len(values)


# ---- English: the words the lessons pass are the builders' own defaults -------------------------------------

@pytest.mark.parametrize(("given", "defaults"), [
    (words.fit, adaptation.TEXT["fit"]), (words.overfit, adaptation.TEXT["overfit"]),
    (words.task_preview, tasks.TEXT["preview"]), (words.task_split, tasks.TEXT["split"]),
    (words.embedding, embedding.TEXT["embedding"])], ids=lambda f: getattr(f, "__name__", ""))
def test_the_words_in_english_are_the_builders_defaults(given, defaults):
    text = given()  # no session: English
    assert text and {k: defaults[k] for k in text} == text


def test_the_learner_names_in_english_are_the_builders_titles():
    assert {k: adaptation.TITLES[k] for k in words.learner_names()} == words.learner_names()


# ---- the lessons, opened in English and in Chinese ----------------------------------------------------------

def words_of(lang: str, keys: dict[str, str], english: dict[str, str]) -> dict[str, str]:
    """A builder's words in ``lang``: the catalogue's in Chinese, the builder's ``TEXT`` defaults in English."""
    return dict(english) if lang == "en" else {name: ZH[key] for name, key in keys.items()}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_2_draws_the_task_preview_in_its_words(lang):
    w = words_of(lang, {"truth": "fig_tasks.truth", "support": "fig_tasks.support", "query": "fig_tasks.query"},
                 tasks.TEXT["preview"])
    at = open_page("pages/learn/02_tasks.py", lang=lang)
    names = legend(at)
    assert names == [w["truth"], w["support"], w["query"]] * 3  # three sine tasks
    panels = [a["text"] for a in chart(at)["layout"]["annotations"]]
    task = tasks.TEXT["preview"]["task"] if lang == "en" else ZH["fig_tasks.task"]
    assert panels == [task.format(i=i) for i in (1, 2, 3)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_3_draws_the_class_split_in_its_words_under_its_own_title(lang):
    keys = {"train": "fig_tasks.split_train", "val": "fig_tasks.split_val", "test": "fig_tasks.split_test",
            "val_test": "fig_tasks.split_val_test", "unused": "fig_tasks.split_unused"}
    w = words_of(lang, keys, tasks.TEXT["split"])
    at = open_page("pages/learn/03_meta_testing.py", lang=lang, timeout=300)
    spec = chart(at)
    shown = {trace["name"].rsplit(" (", 1)[0]: trace for trace in spec["data"]}
    assert set(shown) <= set(w.values()) and {w["train"], w["test"]} <= set(shown)
    for name, trace in shown.items():  # "<split> (<number of classes>)"
        assert trace["name"] == f"{name} ({len(trace['text'])})"
    assert spec["layout"]["title"]["text"] == CATALOGUES[lang]["l3.figure_title"]  # the lesson's own title


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_1_draws_the_adaptation_in_its_words_and_learner_names(lang):
    keys = {k: f"fig_adapt.fit_{k}" for k in ("truth", "before", "between", "after", "after_one", "support")}
    w = words_of(lang, keys, adaptation.TEXT["fit"])
    titles = {"maml": "MAML"} | ({k: adaptation.TITLES[k] for k in ("scratch", "pretrained")} if lang == "en" else
                                 {k: ZH[f"fig_adapt.name_{k}"] for k in ("scratch", "pretrained")})
    at = open_page("pages/learn/01_learning_to_learn.py", lang=lang, timeout=300)
    spec = chart(at)
    support = next(trace for trace in spec["data"] if trace.get("mode") == "markers")
    k = count(support["x"])  # the support set's size
    panel = [w["truth"], w["before"], w["between"].format(k=9)]
    expected = []
    for name in ("scratch", "pretrained", "maml"):  # the lesson's order; ten inner steps drawn
        expected += panel + [w["after_one"].format(name=titles[name], n=1),
                             w["after"].format(name=titles[name], n=10), w["support"].format(k=k)]
    assert legend(at) == expected
    # the panel titles are the lesson's own (three errors: before, after 1 step, after 10)
    panels = [a["text"] for a in spec["layout"]["annotations"]]
    names = {"scratch": CATALOGUES[lang]["l1.scratch"], "pretrained": CATALOGUES[lang]["l1.pretrained"],
             "maml": "MAML"}
    assert [p.split("：" if lang == "zh" else ":")[0] for p in panels] == list(names.values())
