"""Scenario 6: a shared link opens the same experiment, and the controls it locks cannot be changed."""

from __future__ import annotations

from conftest import wait_idle


def shown(selectbox) -> str:
    """The option a selectbox shows (its text, or its input's value)."""
    inputs = selectbox.locator("input")
    return selectbox.inner_text() + " " + (inputs.first.input_value() if inputs.count() else "")


def test_a_shared_link_opens_its_setup_with_locked_controls(page):
    page.goto(page.base_url + "/train?task=digits&learner=protonet&task.k_shot=3&seed=5&train.meta_batch=7"
              "&lock=learner,train.*")
    page.locator("h1", has_text="Train a meta-learner").wait_for()
    wait_idle(page)
    boxes = page.locator("[data-testid='stSelectbox']")
    assert "Digits" in shown(boxes.filter(has_text="Task family"))
    learner = boxes.filter(has_text="Meta-learner")
    assert "Prototypical" in shown(learner)
    assert learner.locator("input").is_disabled()          # locked: the picker takes no input
    seed = page.locator("[data-testid='stSidebar'] [data-testid='stNumberInput'] input")
    assert seed.input_value() == "5"

    page.get_by_text("Task settings").click()
    k_shot = page.locator("[data-testid='stSlider']").filter(has_text="K-shot")
    assert k_shot.locator("[data-testid='stSliderThumbValue']").inner_text() == "3"
    assert k_shot.get_by_role("slider").get_attribute("aria-disabled") != "true"
    page.get_by_text("Training settings").click()
    meta_batch = page.locator("[data-testid='stNumberInput'], [data-testid='stSlider']").filter(
        has_text="Meta-batch")
    field = meta_batch.locator("input, [role='slider']").first
    assert field.is_disabled() or field.get_attribute("aria-disabled") == "true"
    value = field.input_value() if field.evaluate("e => e.tagName") == "INPUT" else meta_batch.locator(
        "[data-testid='stSliderThumbValue']").inner_text()
    assert value == "7"
    assert "train.meta_batch=7" in page.url and "lock=" in page.url  # the address bar still is the link
    assert page.locator("[data-testid='stException']").count() == 0
