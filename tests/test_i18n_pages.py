"""Every page of the app, opened in Chinese, shows no English sentence: what the user reads (titles, text,
widget labels and help, metrics, figure titles, axes and legends) comes from the catalogue. This checks the
rendered page, so it also catches text that the source scan of tests/test_i18n.py cannot see (words built in
the engine, figure defaults a page forgot to override)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from apptests import open_page
from streamlit.testing.v1 import AppTest

from ui.lesson import LESSONS

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
LAB = ["pages/home.py", "pages/tasks.py", "pages/train.py", "pages/own_data.py", "pages/own_text.py",
       "pages/adaptation.py",
       "pages/landscape.py", "pages/embedding.py", "pages/runs.py", "pages/compare.py", "pages/automl.py",
       "pages/meta_rl.py", "pages/course.py"]
TEXT = ["title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"]
WIDGETS = ["button", "selectbox", "slider", "select_slider", "radio", "multiselect", "number_input", "text_input",
           "toggle", "checkbox", "metric", "expander", "tabs"]
# A run of three or more English words is a sentence left untranslated. Names stay as they are (MAML, Omniglot,
# "Prototypical Networks"), so a run made only of capitalised names, units or symbols does not count.
SENTENCE = re.compile(r"\b[A-Za-z][a-z'-]+(?:[ ,]+[A-Za-z][a-z'-]+){2,}\b")
STRIP = [re.compile(p) for p in (r"`[^`]*`", r"\$[^$]*\$", r"https?://\S+", r"\]\([^)]*\)", r"<[^>]+>",
                                 r"\*[^*]+\*")]  # code, LaTeX, links, html, paper titles in italics


def english_sentences(text: str) -> list[str]:
    for pattern in STRIP:
        text = pattern.sub(" ", text)
    return [m.group(0) for m in SENTENCE.finditer(text)
            if any(word[0].islower() for word in re.findall(r"[A-Za-z][a-z'-]+", m.group(0)))]


def shown_texts(at: AppTest) -> list[str]:
    """Everything the page says in words: text elements, widget labels and help, metrics, figure words."""
    out = []
    for kind in TEXT:
        out += [str(e.value) for e in at.get(kind)]
    for kind in WIDGETS:
        for e in at.get(kind):
            proto = e.proto
            out += [getattr(proto, name) for name in ("label", "help") if getattr(proto, name, "")]
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec.get("layout", {})
        out += [t.get("name", "") for t in spec.get("data", [])]
        title = layout.get("title")
        out.append(title.get("text", "") if isinstance(title, dict) else str(title or ""))
        for key, axis in layout.items():
            if key.startswith(("xaxis", "yaxis")) and isinstance(axis.get("title"), dict):
                out.append(axis["title"].get("text", ""))
        out += [a.get("text", "") for a in layout.get("annotations", [])]
    return [t for t in out if t]


def open_in_chinese(page: str) -> AppTest:
    return open_page(page, lang="zh", timeout=300)


@pytest.mark.parametrize("page", LAB + [path for path, *_ in LESSONS])
def test_a_page_in_chinese_shows_no_english_sentence(page):
    at = open_in_chinese(page)
    found = {s for text in shown_texts(at) for s in english_sentences(text)}
    assert not found, f"English left on {page} in Chinese: {sorted(found)}"


def test_the_check_finds_english_and_lets_names_through():
    assert english_sentences("Press Start to meta-train") == ["Press Start to meta-train"]
    assert english_sentences("按 Start 开始：MAML / FOMAML, Prototypical Networks, Conv4 on Omniglot") == []
    assert english_sentences("见 *Model-Agnostic Meta-Learning for fast adaptation* 与 `python -m metaviz`") == []


@pytest.mark.parametrize("page, key", [("pages/learn/04_bilevel.py", "learn-4-preset"),
                                       ("pages/learn/05c_metric.py", "learn-5c-when"),
                                       ("pages/learn/06c_cost.py", "learn-6c-task"),
                                       ("pages/landscape.py", "landscape.view")])
def test_a_chinese_page_keeps_its_option_labels_after_a_choice(page, key):
    # AppTest formats options again outside the script run when a widget is set: labels looked up while drawing
    # (ui.i18n.labels) stay Chinese, where a format_func calling t() later would fall back to English
    at = open_in_chinese(page)
    widgets = at.get("selectbox") + at.get("radio") + at.get("button_group")
    chosen = next(w for w in widgets if getattr(w, "key", None) == key)
    chosen.set_value(chosen.value).run()  # setting any widget makes AppTest format every option again
    assert not at.exception, [e.value for e in at.exception]
    found = {s for text in shown_texts(at) for s in english_sentences(text)}
    assert not found, f"English left on {page} in Chinese after a choice: {sorted(found)}"
