"""The Your Data page in Chromium: uploads (a zip of classes, queries, a malicious zip) and the canvas."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, wait_idle

sys.path.insert(0, str(ROOT / "tests"))  # the shared model fixtures of the few-shot tests
from fewshot_models import omniglot_available, zoo_path  # noqa: E402

pytestmark = pytest.mark.skipif(not omniglot_available(), reason="Omniglot's minimal sets are not available")


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buffer.getvalue()


def uploader(tab, label: str):
    return tab.locator("[data-testid='stFileUploader']").filter(has_text=label).locator("input[type='file']")


def open_with_protonet(tab) -> None:
    """The page with the shipped ProtoNet, the model it offers first."""
    zoo_path("protonet-omniglot")
    tab.goto(tab.base_url + "/own_data")
    tab.locator("h1", has_text="Your own data").wait_for()
    wait_idle(tab)
    tab.get_by_text("Prototypical Network, Omniglot").first.wait_for()
    tab.get_by_text("28x28 greyscale, ink = 1").first.wait_for()
    wait_idle(tab)


def omniglot_files(n_classes: int = 3) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A zip with one class folder per character (one drawing each) from the first official one-shot
    run, and another person's drawing of each character as queries."""
    from metaviz.data.omniglot import Archive
    from metaviz.data.oneshot import find_runs

    with Archive(find_runs()) as archive:
        pairs = dict(line.split() for line in archive.read("run01/class_labels.txt").decode().splitlines() if line)
        classes = sorted(set(pairs.values()))[:n_classes]
        support = zipped({f"symbols/char{i + 1}/{Path(c).name}": archive.read(c) for i, c in enumerate(classes)})
        queries = [(f"query-{classes.index(c) + 1}.png", archive.read(t)) for t, c in sorted(pairs.items())
                   if c in classes]
    return support, queries


def test_scenario_4_upload_a_zip_and_queries_then_a_malicious_zip(page):
    open_with_protonet(page)
    support, queries = omniglot_files(3)
    uploader(page, "Zip of class folders").set_input_files(
        files=[{"name": "symbols.zip", "mimeType": "application/zip", "buffer": support}])
    page.get_by_text("Support set: 3 classes, 3 examples").wait_for()
    wait_idle(page)
    uploader(page, "Query images").set_input_files(
        files=[{"name": n, "mimeType": "image/png", "buffer": d} for n, d in queries])
    page.get_by_role("heading", name="Predictions").wait_for()
    wait_idle(page)
    for name, _ in queries:
        page.get_by_text(f"{name}:").first.wait_for()
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg")

    evil = zipped({"../../outside.png": queries[0][1], "/etc/absolute.png": queries[0][1],
                   "char4/ok.png": queries[1][1]})
    uploader(page, "Zip of class folders").set_input_files(
        files=[{"name": "evil.zip", "mimeType": "application/zip", "buffer": evil}])
    page.get_by_text("Support set: 4 classes, 4 examples").wait_for()
    wait_idle(page)
    warning = page.locator("[data-testid='stAlertContentWarning']").filter(has_text="not used").first
    assert "evil.zip:../../outside.png" in warning.inner_text() and "unsafe path" in warning.inner_text()
    page.get_by_role("heading", name="Predictions").wait_for()       # the page still works
    page.get_by_role("heading", name="Predictions").scroll_into_view_if_needed()  # for the screenshot
    assert page.locator("[data-testid='stException']").count() == 0


SHAPES = {  # one stroke each (one mouse-up, so one value sent), in canvas pixels (210 x 210)
    "hook": [(70, 45), (70, 160), (150, 160)],
    "zigzag": [(40, 60), (90, 150), (130, 60), (175, 150)],
    "loop": [(55, 55), (155, 55), (155, 155), (55, 155), (55, 60)],
}


def draw(tab, stroke, shift: tuple[int, int] = (0, 0)) -> None:
    """Draw one stroke with the mouse, then wait for the rerun the canvas's new value starts."""
    selector = "iframe[title='streamlit_drawable_canvas.st_canvas']"
    tab.frame_locator(selector).locator("canvas.upper-canvas").last.wait_for()
    box = tab.locator(selector).first.bounding_box()
    x0, y0 = stroke[0]
    tab.mouse.move(box["x"] + x0 + shift[0], box["y"] + y0 + shift[1])
    tab.mouse.down()
    for x, y in stroke[1:]:
        tab.mouse.move(box["x"] + x + shift[0], box["y"] + y + shift[1], steps=12)
    tab.mouse.up()
    try:  # the value reaches the server a moment after mouse-up; a click before that would miss it
        tab.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=5_000)
    except Exception:  # noqa: BLE001 - a rerun quicker than the poll is fine too
        pass
    wait_idle(tab)


def test_scenario_5_draw_symbols_and_a_query(page):
    open_with_protonet(page)
    page.locator("[data-testid='stButtonGroup']").get_by_text("Draw symbols").click()
    wait_idle(page)
    for i, (name, stroke) in enumerate(SHAPES.items()):
        draw(page, stroke)
        field = page.get_by_role("textbox", name="Class of this drawing")
        field.fill(name)
        field.press("Enter")
        wait_idle(page)
        page.get_by_role("button", name="Add to class").click()
        page.get_by_text(f"Support set: {i + 1} classes, {i + 1} examples").wait_for()
        wait_idle(page)
    draw(page, SHAPES["hook"], shift=(10, -8))    # the query: another hook, drawn a little elsewhere
    page.get_by_role("button", name="Add as query").click()
    page.get_by_role("heading", name="Predictions").wait_for()
    wait_idle(page)
    answer = page.get_by_text("drawing-4.png:").first.inner_text()
    assert "hook" in answer, answer
    page.get_by_role("heading", name="Predictions").scroll_into_view_if_needed()  # for the screenshot
    assert page.locator("[data-testid='stException']").count() == 0


HOSTILE = "<img src=x onerror=alert(1)>"


def test_a_class_and_a_file_named_like_html_show_as_text_and_run_nothing(page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_with_protonet(page)
    support, queries = omniglot_files(2)
    with zipfile.ZipFile(io.BytesIO(support)) as z:
        first, second = (z.read(n) for n in sorted(z.namelist()))
    hostile = zipped({f"{HOSTILE}/a.png": first, "plain/b.png": second, f"{HOSTILE}/[x](javascript:alert(2)).txt": b""})
    uploader(page, "Zip of class folders").set_input_files(
        files=[{"name": "evil.zip", "mimeType": "application/zip", "buffer": hostile}])
    page.get_by_text("Support set: 2 classes, 2 examples").wait_for()
    wait_idle(page)
    uploader(page, "Query images").set_input_files(
        files=[{"name": "<b onmouseover=alert(3)>q.png", "mimeType": "image/png", "buffer": queries[0][1]}])
    page.get_by_role("heading", name="Predictions").wait_for()
    wait_idle(page)
    page.mouse.move(10, 10)
    page.get_by_text(HOSTILE).first.wait_for()  # the class's name, shown as the text it is
    page.get_by_text("<b onmouseover=alert(3)>q.png:").first.wait_for()
    assert page.locator("img[src='x']").count() == 0 and page.locator("b[onmouseover]").count() == 0
    assert dialogs == [] and page.locator("[data-testid='stException']").count() == 0
