"""The Your Text page in Chromium: a newcomer types three sentences for each of four intents of their own,
then queries, and reads the predictions with their probabilities."""

from __future__ import annotations

import re
import sys
import time

import pytest
from conftest import ROOT, wait_idle

sys.path.insert(0, str(ROOT))
from metaviz import textshot  # noqa: E402

pytestmark = pytest.mark.skipif("intents-clinc150" not in textshot.text_models(),
                                reason="the shipped text model is not installed")

INTENTS = {  # none of them is one of the page's examples (balance, music, weather, alarm)
    "pizza": ["i want to order a pizza", "get me a large pepperoni pizza", "can i order pizza for delivery"],
    "taxi": ["call me a taxi to the airport", "i need a cab right now", "book a taxi for tonight"],
    "translate": ["how do you say hello in french", "translate thank you into spanish", "what is goodbye in german"],
    "reminder": ["remind me to call mom at noon", "set a reminder to buy milk", "remind me about the meeting tomorrow"],
}
QUERIES = {"order a pizza with extra cheese": "pizza", "get a taxi to the station": "taxi",
           "translate good morning into italian": "translate", "remind me to water the plants": "reminder"}


def type_into(tab, label: str, text: str) -> None:
    """Clear a text area and type ``text`` key by key, as a person would; Ctrl+Enter sends it to the app."""
    box = tab.locator("[data-testid='stTextArea']").filter(has_text=label).locator("textarea")
    box.click()
    box.press("Control+a")
    box.press("Delete")
    for i, line in enumerate(text.split("\n")):
        if i:
            box.press("Shift+Enter")
        box.press_sequentially(line)
    box.press("Control+Enter")
    box.blur()  # leaving the box sends it too, should the key press come while the app is still running
    wait_idle(tab)


def table_cells(tab, first: str, timeout_s: float = 90) -> list[str]:
    """The texts of the predictions table's cells, once its first cell is ``first``. The grid draws on a
    canvas; its cells are also in the page for screen readers (not visible), which is what is read here."""
    deadline = time.monotonic() + timeout_s
    while True:
        table = tab.locator("[data-testid='stDataFrame']").first
        table.scroll_into_view_if_needed()  # the grid fills in its cells once it is on screen
        cells = table.locator("[role='gridcell']").all_inner_texts()
        if cells[:1] == [first]:
            return cells
        assert time.monotonic() < deadline, f"the predictions table shows {cells}, not the typed queries"
        tab.wait_for_timeout(500)


def test_a_newcomer_types_four_intents_and_reads_predictions_with_probabilities(page):
    page.goto(page.base_url + "/own_text")
    page.locator("h1", has_text="Your Text").wait_for(timeout=120_000)  # the first run imports torch
    wait_idle(page)
    type_into(page, "Your intents", "\n".join(f"{intent}: {s}" for intent, lines in INTENTS.items() for s in lines))
    page.get_by_text("4 intents, 12 example sentences").wait_for(timeout=90_000)
    type_into(page, "Queries", "\n".join(QUERIES))
    page.get_by_role("heading", name="Predictions").wait_for()
    cells = table_cells(page, first=next(iter(QUERIES)))
    rows = [cells[i:i + 3] for i in range(0, len(cells), 3)]
    assert [r[0] for r in rows] == list(QUERIES)
    assert [r[1] for r in rows] == list(QUERIES.values())          # each query gets the intent it was about
    for _, _, probability in rows:
        assert re.fullmatch(r"\d{1,3}%", probability) and 50 <= int(probability[:-1]) <= 100
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Leave-one-out").inner_text()
    assert "100%" in metric                                          # four well-separated intents
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg")
    heatmap = page.locator("[data-testid='stPlotlyChart']").filter(has_text="Class probabilities").first
    labels = heatmap.locator("svg text").all_text_contents()
    assert set(INTENTS) <= set(labels)                               # one column per typed intent
    assert not page.locator("[data-testid='stException']").count()
