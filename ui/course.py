"""The course: the lessons and labs in the order a lecturer teaches them, as data.

A class is a list of :class:`Step`: the page to open, its title, what to show there and what to ask the
class (catalogue keys), and the minutes it takes in the 90-minute class and in the 45-minute one (0: left out
of that one). A new lesson joins the course with one line here. The Course page lists a plan
(:func:`plan`); presenter mode (:mod:`ui.presenter`) walks it with the arrow keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ui.i18n import current, t
from ui.lesson import LESSONS, check_parts, checks_of

PLANS = ("90", "45")  # the classes, by length in minutes
PLAN_KEYS = {"90": "course.plan_90", "45": "course.plan_45"}  # their names (catalogue keys)
HOME = "pages/home.py"


@dataclass(frozen=True)
class Step:
    page: str      # the page file, as app.py registers it
    title: str     # its navigation title (catalogue key)
    show: str      # what to show there (catalogue key)
    ask: str       # what to ask the class (catalogue key)
    minutes: tuple[int, int]  # in the 90-minute class, in the 45-minute class (0: not in it)


def lesson(title: str, show: str, ask: str, minutes: tuple[int, int]) -> Step:
    """The step of the lesson whose navigation title is ``title`` (its page from ``ui.lesson.LESSONS``)."""
    return Step(next(path for path, key, *_ in LESSONS if key == title), title, show, ask, minutes)


STEPS = (
    Step(HOME, "nav.home", "course.home_show", "course.home_ask", (4, 3)),
    lesson("nav.l1", "course.l1_show", "course.l1_ask", (6, 6)),
    lesson("nav.l2", "course.l2_show", "course.l2_ask", (5, 3)),
    lesson("nav.l3", "course.l3_show", "course.l3_ask", (4, 0)),
    lesson("nav.l4", "course.l4_show", "course.l4_ask", (6, 5)),
    lesson("nav.l5a", "course.l5a_show", "course.l5a_ask", (6, 4)),
    lesson("nav.l5b", "course.l5b_show", "course.l5b_ask", (4, 0)),
    lesson("nav.l5c", "course.l5c_show", "course.l5c_ask", (6, 5)),
    lesson("nav.l5d", "course.l5d_show", "course.l5d_ask", (3, 0)),
    lesson("nav.l5e", "course.l5e_show", "course.l5e_ask", (3, 0)),
    lesson("nav.l6a", "course.l6a_show", "course.l6a_ask", (5, 4)),
    lesson("nav.l6b", "course.l6b_show", "course.l6b_ask", (5, 4)),
    lesson("nav.l6c", "course.l6c_show", "course.l6c_ask", (3, 0)),
    lesson("nav.l6d", "course.l6d_show", "course.l6d_ask", (2, 0)),
    lesson("nav.l6e", "course.l6e_show", "course.l6e_ask", (4, 0)),
    lesson("nav.l6f", "course.l6f_show", "course.l6f_ask", (4, 0)),
    Step("pages/train.py", "nav.train", "course.train_show", "course.train_ask", (5, 5)),
    lesson("nav.l7", "course.l7_show", "course.l7_ask", (6, 3)),
    lesson("nav.l8", "course.l8_show", "course.l8_ask", (3, 0)),
    lesson("nav.l9", "course.l9_show", "course.l9_ask", (3, 0)),
    lesson("nav.l10", "course.l10_show", "course.l10_ask", (3, 3)),
)


def plan(length: str) -> list[tuple[Step, int]]:
    """The steps of the ``length``-minute class (one of :data:`PLANS`) with their minutes, in order."""
    column = PLANS.index(length)
    return [(step, step.minutes[column]) for step in STEPS if step.minutes[column]]


def url_path(page: str) -> str:
    """The address of a page file as ``st.navigation`` gives it (the lessons name theirs; the default page has
    the empty one)."""
    if page == HOME:
        return ""
    return next((url for path, _, _, url in LESSONS if path == page), Path(page).stem)


def neighbours(length: str, url: str) -> tuple[Step | None, Step | None, int]:
    """The steps before and after the page at ``url`` in the plan, and its place (0 for a page that is not in
    it, such as the Course page: its next step is the first)."""
    steps = [step for step, _ in plan(length)]
    urls = [url_path(step.page) for step in steps]
    if url not in urls:
        return None, steps[0], 0
    i = urls.index(url)
    return (steps[i - 1] if i else None), (steps[i + 1] if i + 1 < len(steps) else None), i + 1


def handout(length: str) -> dict:
    """The arguments of ``ui.handout.page`` for the whole ``length``-minute class in the session's language: each
    step with its minutes, what to show and what to ask; for a lesson also its text and its try-this; all the
    lessons' self-checks, with the answers at the end. No figures: each lesson's own handout has them as drawn."""
    parts, checks, start = [("", t("course.handout_intro", minutes=length))], [], 0
    lessons = {path for path, *_ in LESSONS}
    for n, (step, minutes) in enumerate(plan(length), 1):
        heading = t("course.step", n=n, title=t(step.title), start=start, end=start + minutes).replace("**", "")
        text = f"**{t('course.show')}** {t(step.show)}\n\n**{t('course.ask')}** {t(step.ask)}"
        if step.page in lessons:
            prefix = step.title.removeprefix("nav.")
            text += f"\n\n{t(prefix + '.body')}\n\n**{t('lesson.try')}** {t(prefix + '.try')}"
            checks += [check_parts(check) for check in checks_of(step.page)]
        parts.append((heading, text))
        start += minutes
    return dict(lang=current(), title=f"{t('course.title')} · {t(PLAN_KEYS[length])}", parts=parts,
                checks=checks, answers_title=t("lesson.answers"))
