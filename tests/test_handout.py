"""The lesson handout (ui.handout): a valid, self-contained HTML page with every word escaped, the lesson's text
in the session's language, its figures and its self-check with the answers; the download on every lesson."""

from __future__ import annotations

from html.parser import HTMLParser

import plotly.graph_objects as go
import pytest
from apptests import open_lesson

from ui import course, handout, i18n, lesson
from ui.lesson import HANDOUT, LESSONS

VOID = {"meta", "br", "img", "hr", "input", "link", "col", "area", "base", "source", "wbr", "path", "rect"}
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Tags(HTMLParser):
    """The page's elements, checked to nest properly, and the text and scripts it holds."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.seen: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append(tag)
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data):
        if not self.open or self.open[-1] not in ("script", "style"):
            self.text.append(data)


def parse(page: str) -> Tags:
    assert page.startswith("<!DOCTYPE html>")
    tags = Tags()
    tags.feed(page)
    tags.close()
    assert not tags.errors and not tags.open, (tags.errors, tags.open)
    return tags


def test_markdown_subset_becomes_tags_and_everything_else_is_text():
    out = handout.markdown("A **bold** and *italic* word, $\\theta$ as written.\nSame paragraph.\n\n"
                           "Intro:\n- one *item*\n- two\n\nLast.")
    assert out == ("<p>A <strong>bold</strong> and <em>italic</em> word, $\\theta$ as written. Same paragraph.</p>\n"
                   "<p>Intro:</p>\n<ul><li>one <em>item</em></li><li>two</li></ul>\n<p>Last.</p>")
    assert handout.inline("a*b*c 2 * 3 * 4") == "a*b*c 2 * 3 * 4"  # no emphasis inside words or around spaces


def test_a_hostile_text_anywhere_comes_out_as_text():
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name=HOSTILE), layout=dict(title_text=HOSTILE))
    page = handout.page(HOSTILE, HOSTILE, [("", HOSTILE), (HOSTILE, f"- {HOSTILE}"), fig],
                        [(HOSTILE, [HOSTILE, "b"], HOSTILE, HOSTILE)], HOSTILE)
    tags = parse(page)
    assert "img" not in tags.seen and "<img" not in page and "<script>alert" not in page
    plain = parse(handout.page("en", "T", [go.Figure(go.Scatter(x=[1], y=[1]))], [], "A"))
    assert tags.seen.count("script") == plain.seen.count("script") > 0  # plotly's own, nothing from the text
    assert sum(HOSTILE in text for text in tags.text) >= 7  # shown, as text, everywhere it was put
    assert "alert(\\\"x\\\")\\u003c\\u002fscript\\u003e" in page  # the figure's JSON escapes it too


def test_the_page_holds_figures_in_order_with_plotly_inline_once_and_answers_last():
    first = go.Figure(go.Scatter(x=[0, 1], y=[1, 0], name="first-trace"))
    second = go.Figure(go.Bar(x=["a"], y=[2], name="second-trace"))
    marks = ("text-before-figures", "text-between-figures", "question-mark", "answers-mark", "why-mark")
    page = handout.page("en", "T", [("", marks[0]), first, ("Try this:", marks[1]), second],
                        [(marks[2], ["right-option", "no"], "right-option", marks[4])], marks[3])
    parse(page)
    assert page.count("<figure>") == 2 and page.count("plotly.js v") == 1  # the library's banner, once
    order = [page.index(s) for s in (marks[0], "first-trace", marks[1], "second-trace", *marks[2:])]
    assert order == sorted(order)
    assert page.count("right-option") == 2 and page.rindex("right-option") > page.index('<div class="answers">')


def test_a_page_without_checks_or_figures_has_no_answers_and_no_script():
    page = handout.page("en", "T", [("", "text")], [], "Answers")
    tags = parse(page)
    assert '<div class="answers">' not in page and "Answers" not in page and "script" not in tags.seen


# every lesson shows the download in tests/test_lessons.py; here the handout's content, through the real page
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_lesson_hands_out_its_text_figure_and_check_in_the_session_language(lang):
    page = "pages/learn/02_tasks.py"
    at = open_lesson(page, lang)
    words = i18n.catalogue(lang)
    (button,) = at.get("download_button")
    assert button.proto.label == words["lesson.handout"]
    kept = at.session_state[HANDOUT]
    out = handout.page(**kept)
    tags = parse(out)
    text = "".join(tags.text)
    assert f'lang="{lang}"' in out and words["l2.title"] in text
    body_start = words["l2.body"].split("**")[0].split("*")[0].strip()[:12]
    assert body_start and body_start in text
    assert words["lesson.try"] in text and words["lesson.answers"] in text
    figures = [p for p in kept["parts"] if isinstance(p, go.Figure)]
    assert figures and out.count("<figure>") == len(figures)
    names = [trace.name for trace in figures[0].data if trace.name]
    assert names and all(name in out for name in names)  # the figure's own traces, in its JSON
    question = words["l2.check"]
    assert handout.inline(question) in out


@pytest.mark.parametrize("length", course.PLANS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_course_handout_has_every_step_lesson_text_and_check_in_order(lang, length, monkeypatch):
    monkeypatch.setattr(i18n, "current", lambda: lang)  # the session's language, without a session
    monkeypatch.setattr(course, "current", lambda: lang)
    words = i18n.catalogue(lang)
    out = handout.page(**course.handout(length))
    tags = parse(out)
    text = "".join(tags.text)
    assert "<figure>" not in out and f'lang="{lang}"' in out
    steps = course.plan(length)
    places = [text.index(words[step.ask].split("*")[0][:20]) for step, _ in steps]
    assert places == sorted(places)  # every step, in the plan's order
    lessons = [step.page for step, _ in steps if step.page in {path for path, *_ in LESSONS}]
    for page in lessons:
        prefix = next(key for path, key, *_ in LESSONS if path == page).removeprefix("nav.")
        assert words[f"{prefix}.try"].split("*")[0][:20] in text
    checks = [check for page in lessons for check in lesson.checks_of(page)]
    assert out.count('<div class="answers">') == 1 and len(checks) > len(lessons) // 2
    tail = Tags()
    tail.feed(out[out.index('<div class="answers">'):])
    answers = "".join(tail.text)
    assert answers.startswith(words["lesson.answers"])
    assert all(words[check["why"]].split("*")[0][:20] in answers for check in checks)
    assert sum(f"{n}. " in text for n in range(1, len(checks) + 1)) == len(checks)


def test_the_course_page_offers_its_handout():
    at = open_lesson("pages/course.py", "zh")
    (button,) = at.get("download_button")
    assert button.proto.label == i18n.catalogue("zh")["course.handout"]
