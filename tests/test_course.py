"""The course path (ui.course), the Course page and presenter mode: the plans add up, every step's link opens its
page, presenter mode shows every step without the sidebar and links its neighbours, and locks stay locked."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptests import open_lesson
from streamlit.testing.v1 import AppTest

from ui import course, i18n, presenter
from ui.lesson import LESSONS

ROOT = Path(__file__).resolve().parents[1]


def links(at: AppTest) -> list:
    return [link.proto for link in at.get("page_link")]


@pytest.mark.parametrize(("length", "minutes"), [("90", 90), ("45", 45)])
def test_each_plan_fills_its_class_in_course_order(length, minutes):
    steps = course.plan(length)
    assert sum(m for _, m in steps) == minutes and all(m > 0 for _, m in steps)
    order = [s.page for s in course.STEPS]
    assert [order.index(s.page) for s, _ in steps] == sorted(order.index(s.page) for s, _ in steps)
    assert {s.page for s, _ in course.plan("45")} <= {s.page for s, _ in course.plan("90")}


def test_every_step_names_a_page_and_its_words_in_every_language():
    for step in course.STEPS:
        assert (ROOT / step.page).is_file(), step.page
        for code in i18n.languages():
            words = i18n.catalogue(code)
            assert all(words.get(k, "").strip() for k in (step.title, step.show, step.ask)), (code, step)
    assert [course.url_path(path) for path, *_ in LESSONS] == [url for *_, url in LESSONS]
    assert course.url_path(course.HOME) == "" and course.url_path("pages/train.py") == "train"


def test_neighbours_walk_the_plan_and_start_from_pages_outside_it():
    steps = [s for s, _ in course.plan("45")]
    urls = [course.url_path(s.page) for s in steps]
    assert course.neighbours("45", "course") == (None, steps[0], 0)
    assert course.neighbours("45", urls[0]) == (None, steps[1], 1)
    assert course.neighbours("45", urls[-1]) == (steps[-2], None, len(steps))
    assert "learn-3" not in urls and course.neighbours("90", "learn-3")[2] == 4  # in the long class only


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_course_page_links_every_step_and_shares_itself(lang):
    at = open_lesson("pages/course.py", lang)
    words = i18n.catalogue(lang)
    assert at.title[0].value == words["course.title"]
    for length in course.PLANS:
        at.radio(key="course-plan").set_value(length).run()
        assert not at.exception
        steps = course.plan(length)
        shown = links(at)
        assert shown[0].page == course.url_path(steps[0][0].page) and "present=1" in shown[0].query_string
        assert [p.page for p in shown[1:]] == [course.url_path(s.page) for s, _ in steps]  # Streamlit checks each
        assert at.code[0].value.endswith(f"?plan={length}&lang={lang}")
        assert any(words["course.total"].format(minutes=length) == c.value for c in at.caption)


def test_a_shared_course_link_opens_its_plan_in_presenter_mode_with_its_locks():
    at = open_lesson("pages/course.py", "zh", plan="45", lock="learner")
    assert at.radio(key="course-plan").value == "45"
    assert "lock=learner" in links(at)[0].query_string and "lock=learner" in at.code[0].value


# every lesson also opens in presenter mode in tests/test_lessons.py (its Chinese cases); here the bar on each kind
# of step: the lab's pages, the first and the last step, one left out of the short class
STEP_PAGES = [course.HOME, "pages/train.py", "pages/learn/02_tasks.py", "pages/learn/06d_task_sources.py"]


@pytest.mark.parametrize("page", STEP_PAGES, ids=lambda p: Path(p).stem)
def test_presenter_mode_shows_a_step_without_the_sidebar_between_its_neighbours(page):
    at = open_lesson(page, "zh", present="1", plan="90")
    assert not at.sidebar.children, "presenter mode draws no sidebar"
    before, after, place = course.neighbours("90", course.url_path(page))
    words = i18n.catalogue("zh")
    assert at.caption[0].value == words["presenter.step"].format(i=place, n=len(course.plan("90")), minutes=90)
    bar = [p for p in links(at) if "present=1" in p.query_string]
    assert [p.page for p in bar] == [course.url_path(s.page) for s in (before, after) if s is not None]
    assert not any(c.value.startswith(words["lesson.papers"]) for c in at.caption)  # one idea per screen
    if page in (path for path, *_ in LESSONS):
        assert at.get("plotly_chart"), "the lesson's figure is drawn"


def test_presenter_mode_keeps_locked_controls_locked_and_its_place_in_the_url():
    at = open_lesson("pages/train.py", "en", present="1", plan="45", lock="learner")
    learner = next(s for s in at.selectbox if s.label == "Meta-learner")
    assert learner.disabled
    assert at.query_params["present"] == "1" and at.query_params["plan"] == "45"  # share.sync kept them
    assert all("lock=learner" in p.query_string for p in links(at))


def test_leaving_presenter_mode_brings_the_sidebar_back_and_the_switch_enters_it():
    at = open_lesson("pages/learn/02_tasks.py", "en", present="1")
    at.button(key="presenter-leave").click().run()
    assert not at.exception and "present" not in at.query_params and at.sidebar.children
    at.button(key="presenter-switch").click().run()
    assert at.query_params["present"] == "1" and not at.sidebar.children


def test_the_injected_style_and_script_are_constants_whatever_the_url_says():
    """Nothing from a URL reaches the page's CSS and script: a plan that is markup falls back to the long class,
    and the only HTML on the page is the two constant blocks, unchanged."""
    hostile = "</style><script>alert(1)</script>"
    at = open_lesson("pages/learn/02_tasks.py", "en", present="1", plan=hostile, lock=hostile)
    bodies = [element.proto.body for element in at.get("html")]
    assert sorted(bodies) == sorted([presenter.STYLE, presenter.KEYS])  # (a style-only block is drawn apart)
    assert at.caption[0].value.startswith("Step 3 of") and "90-minute" in at.caption[0].value
