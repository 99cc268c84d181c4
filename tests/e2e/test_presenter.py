"""Presenter mode in a real browser: no sidebar, and the arrow keys walk the course path (ui.course) from the
Course page, keeping the language, the plan and the locks of the link that opened it."""

from __future__ import annotations

from urllib.parse import urlparse

from ui import course


def arrive(page, url: str) -> None:
    page.wait_for_url(lambda address: urlparse(address).path.strip("/") == url, timeout=60_000)
    page.locator(".st-key-mv-present-next").wait_for(timeout=60_000)
    # the lessons compute on open (a few seconds alone; far longer on a loaded machine)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=240_000)
    sidebar = page.locator("[data-testid='stSidebar']")
    assert sidebar.count() == 0 or not sidebar.is_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    assert all(p in page.url for p in ("present=1", "plan=45", "lang=zh", "lock=learner"))


def press(page, key: str) -> None:
    page.locator("h1").first.click()  # the page, not a control, has the focus
    page.keyboard.press(key)


def test_the_arrow_keys_walk_the_course_in_presenter_mode(page):
    steps = [course.url_path(s.page) for s, _ in course.plan("45")]
    page.goto(page.base_url + "/course?present=1&plan=45&lang=zh&lock=learner")
    arrive(page, "course")
    assert page.locator("h1").first.inner_text().strip() == "一堂元学习课"
    for url in steps[:2]:  # the Home page, lesson 1
        press(page, "ArrowRight")
        arrive(page, url)
    press(page, "ArrowLeft")
    arrive(page, steps[0])
    press(page, "Escape")  # leaves presenter mode: the sidebar is back
    page.locator("[data-testid='stSidebar']").wait_for()
    assert "present=1" not in page.url
