"""The AutoML page in Chromium: Start, and the search moves with no clicks; Pause holds, Step does one outer step,
Reset empties the page."""

from __future__ import annotations

import re
import time

from conftest import wait_idle

STATUS = re.compile(r"(?:Searching: outer step|Paused at outer step) (\d+)")


def outer_step(tab) -> int:
    """The outer step the status caption shows (-1 before it shows one)."""
    for text in tab.locator("[data-testid='stCaptionContainer']").all_inner_texts():
        if match := STATUS.search(text):
            return int(match.group(1))
    return -1


def wait_step(tab, predicate, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate(step := outer_step(tab)):
            return step
        tab.wait_for_timeout(200)
    raise AssertionError(f"the outer step stayed at {outer_step(tab)}")


def test_the_search_moves_live_and_pause_step_reset_answer(page):
    page.goto(page.base_url + "/automl")
    wait_idle(page)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Method").first.click()
    page.get_by_role("option", name="Hypergradient, unrolled").click()  # outer steps of 40 inner ones
    wait_idle(page)
    # The most outer steps (400): on an idle machine the default 20 finish before Pause can be clicked.
    page.locator("[data-testid='stSlider']").filter(has_text="Outer steps").get_by_role("slider").press("End")
    wait_idle(page)
    page.get_by_role("button", name="Start", exact=True).click()
    first = wait_step(page, lambda s: s >= 1)
    wait_step(page, lambda s: s >= first + 2)  # only the fragment's timer redraws it
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg")

    page.get_by_role("button", name="Pause", exact=True).click()
    page.get_by_role("button", name="Resume", exact=True).wait_for()
    page.get_by_text("Paused at outer step").first.wait_for()
    held = outer_step(page)
    page.wait_for_timeout(1500)
    assert outer_step(page) == held

    page.get_by_role("button", name="Step", exact=True).click()
    wait_step(page, lambda s: s == held + 1)
    page.get_by_text("Paused at outer step").first.wait_for()
    page.wait_for_timeout(1000)
    assert outer_step(page) == held + 1

    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text("Press Start to watch").wait_for()
    assert page.locator("[data-testid='stException']").count() == 0
