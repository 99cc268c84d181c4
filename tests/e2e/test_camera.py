"""The webcam on Your Data in Chromium, with Chromium's fake camera (a moving test pattern): take pictures into
two classes, then one as a query, and see them as examples and a prediction."""

from __future__ import annotations

import sys

import pytest
from conftest import CHROMIUM, CHROMIUM_FLAGS, ROOT, browser_tab, wait_idle

sys.path.insert(0, str(ROOT / "tests"))  # the shared model fixtures of the few-shot tests
from fewshot_models import omniglot_available, zoo_path  # noqa: E402

pytestmark = pytest.mark.skipif(not omniglot_available(), reason="Omniglot's minimal sets are not available")
playwright_api = pytest.importorskip("playwright.sync_api")
FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@pytest.fixture(scope="module")
def camera_browser(browser):
    """A second Chromium from the same Playwright, whose camera is the fake device and always allowed."""
    b = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS + FAKE_CAMERA)
    yield b
    b.close()


def take(tab, into: str | None) -> None:
    """Take one picture and add it to class ``into`` (None: as a query)."""
    wait_idle(tab)
    shoot, clear = tab.get_by_test_id("stCameraInputButton"), tab.get_by_role("button", name="Clear photo")
    for _ in range(3):  # a click while the fresh camera widget is still starting its stream is lost: try again
        tab.wait_for_function("() => { const b = document.querySelector(\"[data-testid='stCameraInputButton']\");"
                              " return b && !b.disabled && b.innerText.includes('Take Photo'); }")
        shoot.click()
        try:
            clear.wait_for(timeout=10_000)  # the picture is taken and sent
            break
        except playwright_api.TimeoutError:
            continue
    clear.wait_for()
    wait_idle(tab)
    if into is not None:
        box = tab.locator("[data-testid='stTextInput']").filter(has_text="Class of this picture").locator("input")
        box.fill(into)
        box.press("Enter")
        wait_idle(tab)
    tab.get_by_role("button", name="Add to class" if into is not None else "Add as query").click()
    wait_idle(tab)


def test_scenario_webcam_pictures_become_examples_and_a_query_gets_a_prediction(camera_browser, server, request):
    zoo_path("protonet-omniglot")
    with browser_tab(camera_browser, server, request.node.name) as tab:
        tab.context.grant_permissions(["camera"], origin=server)
        tab.goto(tab.base_url + "/own_data")
        tab.locator("h1", has_text="Your own data").wait_for()
        wait_idle(tab)
        tab.locator("[data-testid='stButtonGroup']").get_by_text("Take pictures").click()
        wait_idle(tab)
        for cls in ("mug", "mug", "pen", "pen"):
            take(tab, cls)
        tab.get_by_text("Support set: 2 classes, 4 examples").wait_for()
        tab.get_by_text("Your images are in colour, so the photo model is chosen").first.wait_for()  # webcam: photos
        tab.get_by_text("mug: 2 examples").wait_for()
        tab.get_by_text("pen: 2 examples").wait_for()
        assert not tab.locator("[data-testid='stException']").count()
        take(tab, None)
        tab.get_by_role("heading", name="Predictions").wait_for()
        wait_idle(tab)
        prediction = tab.get_by_text("camera-5.jpg:").first
        prediction.wait_for()
        text = prediction.inner_text()
        assert ("mug" in text or "pen" in text) and "%" in text, text
        tab.get_by_text("Can you trust the probabilities?").first.wait_for()  # the reliability diagram's heading
        assert not tab.locator("[data-testid='stException']").count()
