"""What a user sees in Chromium: pages load, and training updates live without clicks."""

from __future__ import annotations

import re

from conftest import browser_tab, streamlit_server, wait_idle

PAGES = [("Task Builder", "Task Builder"), ("Train", "Train a meta-learner"), ("Home", "learning to learn, live")]


def metric(tab, index: int) -> str:
    return tab.locator("[data-testid='stMetricValue']").nth(index).inner_text()


LIVE_LINE = ".mv-light-chart polyline.line"  # the light loss chart drawn while a run trains


def loss_chart_points(tab) -> str:
    """The points of the first curve of the live loss chart (they change when new points arrive)."""
    return tab.locator(LIVE_LINE).first.get_attribute("points") or ""


def iterations(tab) -> int:
    return int(re.match(r"\s*([\d,]+)", metric(tab, 0)).group(1).replace(",", ""))


def test_every_page_loads_and_home_shows_a_chart_on_first_load(page):
    page.goto(page.base_url)
    wait_idle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg")
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 1  # the adaptation
    assert page.locator(".mv-light-chart polyline").count() == 5  # the task gallery, the page's first figure
    assert page.locator("[data-testid='stException']").count() == 0
    for name, heading in PAGES:
        page.locator("[data-testid='stSidebarNav'] a", has_text=name).first.click()
        page.locator("h1", has_text=heading).wait_for()
        wait_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0, name


def test_training_updates_live_pauses_and_resets(page):
    page.goto(page.base_url + "/train")
    wait_idle(page)
    page.get_by_role("button", name="Start", exact=True).click()
    # The counter and the loss chart move with no further clicks: only the fragment's timer drives them.
    page.wait_for_function("() => { const m = document.querySelectorAll(\"[data-testid='stMetricValue']\");"
                           " return m.length && parseInt(m[0].innerText.replace(/,/g, '')) > 5; }", timeout=30_000)
    page.wait_for_selector(LIVE_LINE)
    first_count, first_points = iterations(page), loss_chart_points(page)
    page.wait_for_function(f"() => parseInt(document.querySelectorAll(\"[data-testid='stMetricValue']\")[0]"
                           f".innerText.replace(/,/g, '')) > {first_count + 10}", timeout=30_000)
    page.wait_for_function(f"(before) => {{ const p = document.querySelector(\"{LIVE_LINE}\");"
                           " return p && p.getAttribute('points') !== before; }", arg=first_points, timeout=30_000)
    assert page.get_by_text("running").first.is_visible()

    page.get_by_role("button", name="Pause", exact=True).click()
    page.get_by_role("button", name="Resume", exact=True).wait_for()
    # the buttons answer at once; the status row catches up at its next refresh, and then its counter is final
    page.locator("[data-testid='stMetricValue']").first.wait_for()
    page.get_by_text("paused", exact=True).first.wait_for()
    wait_idle(page)
    paused_at = iterations(page)
    page.wait_for_timeout(1500)  # a pause must hold: nothing may change over a second and a half
    assert iterations(page) == paused_at
    # stopped, the loss chart is the interactive plotly one, with the same curve
    page.wait_for_selector("[data-testid='stPlotlyChart'] .scatterlayer .trace path.js-line")
    assert page.locator(LIVE_LINE).count() == 0

    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"() => parseInt(document.querySelectorAll(\"[data-testid='stMetricValue']\")[0]"
                           f".innerText.replace(/,/g, '')) === {paused_at + 1}", timeout=30_000)
    # the buttons catch up with the step however fast it was: Resume, enabled (not a disabled Start)
    page.mouse.move(1, 1)  # the Step button's tooltip would cover its neighbours
    resume = page.get_by_role("button", name="Resume", exact=True)
    resume.wait_for()
    assert resume.is_enabled()

    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text("Press Start to meta-train").wait_for()
    assert metric(page, 0).startswith("0")
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_direct_link_to_a_page_on_a_fresh_server_opens_it_inside_the_app(browser):
    # Until st.navigation has run once in a server process, Streamlit runs a pages/ file alone;
    # the page must still come up with the router's sidebar and navigation.
    with streamlit_server("fresh-server") as url, browser_tab(browser, url, "direct-link-fresh-server") as tab:
        tab.goto(url + "/train")
        tab.locator("h1", has_text="Train a meta-learner").wait_for()
        wait_idle(tab)
        nav = tab.locator("[data-testid='stSidebarNav'] a").all_inner_texts()
        assert any("Home" in n for n in nav) and not any(n.strip() == "app" for n in nav)
        tab.get_by_text("Seed").first.wait_for()  # the shared sidebar
        tab.get_by_role("button", name="Start", exact=True).click()
        tab.wait_for_function("() => parseInt(document.querySelectorAll(\"[data-testid='stMetricValue']\")[0]"
                              ".innerText.replace(/,/g, '')) > 0", timeout=30_000)


def test_task_builder_preview_follows_n_way_and_k_shot(page):
    page.goto(page.base_url + "/tasks")
    page.locator("h1", has_text="Task Builder").wait_for()
    wait_idle(page)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Task family").first.click()
    page.get_by_role("option", name="Digits 8x8 (scikit-learn)").click()
    page.get_by_text("support: 1 per class").first.wait_for()

    def set_slider(label: str, presses: int) -> None:
        slider = page.locator("[data-testid='stSlider']").filter(has_text=label).get_by_role("slider")
        slider.focus()
        for _ in range(presses):
            slider.press("ArrowRight")
        wait_idle(page)

    set_slider("K-shot", 2)            # 1 -> 3 examples per class
    page.get_by_text("support: 3 per class").first.wait_for()
    set_slider("N-way", 1)             # 3 -> 4 classes per task
    # the support grid of a 4-way 3-shot task: 4 rows of 3 framed 8x8 digits (24 + 2*2 pixels a cell at zoom 3)
    page.wait_for_function("() => { const i = document.querySelector(\"[data-testid='stImage'] img\");"
                           " return i && i.naturalWidth === 3 * 28 && i.naturalHeight === 4 * 28; }")
    assert page.locator("[data-testid='stException']").count() == 0
