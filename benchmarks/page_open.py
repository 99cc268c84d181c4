"""Seconds from opening a page to its first figure, for every page and lesson, against a bare Streamlit page.

Run through ``python benchmarks/app_latency.py --pages [--rounds 5] [--json PATH] [--markdown PATH]``.

Each round starts fresh servers (``streamlit run``, headless, on localhost): one for MetaViz and one for each
floor page, so that no cross-session cache (``st.cache_data``, ``st.cache_resource``) survives from the round
before. A round first opens the MetaViz home page once, not counted: the server imports torch and the pages
on its first session, which is a cost of starting the server, not of opening a page. Then, for every page in
an order rotated from round to round, a fresh browser context (no cache, no cookies, a new Streamlit session)
opens the page's URL (**first visit**), and the same context opens it again (**second visit**: the browser's
cache is warm, the server's session is new).

A visit's time runs from the navigation's start to the moment a figure is in the page: an image
(``st.image``), the light SVG chart (``.mv-light-chart``), a drawn plotly chart (``.main-svg``), a
Vega-Lite canvas or any other ``svg`` in the main block of at least 100 x 60 pixels. A page with no figure
within ``TIMEOUT_S`` counts as that timeout (reported as ``none``).

The floors, measured in the same run under the same load, so that the ratios hold on any machine:

* ``floor: title + st.image``: a page whose only content is a title and one small PNG;
* ``floor: title + plotly``: the same with one small plotly chart instead (plotly's bundle on a first visit).
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import textwrap
from pathlib import Path

TIMEOUT_S = 20.0
FIGURE = ("[data-testid='stMain'] :is([data-testid='stImage'] img, .mv-light-chart, .js-plotly-plot .main-svg, "
          "[data-testid='stVegaLiteChart'] canvas, canvas.marks)")
ANY_SVG_JS = ("() => [...document.querySelectorAll(\"[data-testid='stMain'] svg\")].some(s => {"
              "const r = s.getBoundingClientRect(); return r.width >= 100 && r.height >= 60; })")

FLOOR_IMAGE = """
import numpy as np
import streamlit as st
st.title("Floor")
st.image(np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1)))
"""
FLOOR_PLOTLY = """
import plotly.graph_objects as go
import streamlit as st
st.title("Floor")
st.plotly_chart(go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 3, 2])))
"""


def app_pages() -> list[tuple[str, str]]:
    """(name, URL path) of every page of ``app.py`` and every lesson, in the navigation's order."""
    from ui.lesson import LESSONS

    main = ["home", "tasks", "train", "own_data", "own_text", "automl", "meta_rl", "adaptation", "landscape",
            "embedding", "runs", "compare", "course"]
    return [(name, "" if name == "home" else name) for name in main] + [(url, url) for *_, url in LESSONS]


def first_figure(context, url: str) -> float:
    """Seconds from navigating ``context``'s page to ``url`` until a figure is in it (``TIMEOUT_S`` if none)."""
    import time

    tab = context.pages[0] if context.pages else context.new_page()
    start = time.perf_counter()
    tab.goto(url, wait_until="commit")
    deadline = start + TIMEOUT_S
    while time.perf_counter() < deadline:
        if tab.query_selector(FIGURE) is not None or tab.evaluate(ANY_SVG_JS):
            return min(time.perf_counter() - start, TIMEOUT_S)
        tab.wait_for_timeout(25)
    return TIMEOUT_S


def measure(rounds: int, progress=print, only: set[str] | None = None,
            after_round=None) -> dict[str, dict[str, list[float]]]:
    """{page: {"first": [seconds per round], "second": [...]}} for every page (or those named in ``only``)
    and the two floors; ``after_round(samples)`` is called after each round (to keep what a cut run measured)."""
    import sys

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
    from conftest import CHROMIUM, CHROMIUM_FLAGS, streamlit_server

    pages = [(n, u) for n, u in app_pages() if only is None or n in only]
    samples: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        floors = {}
        for name, code in (("floor: title + st.image", FLOOR_IMAGE), ("floor: title + plotly", FLOOR_PLOTLY)):
            path = Path(tmp) / f"{name.split('+ ')[1].replace('.', '_')}.py"
            path.write_text(textwrap.dedent(code))
            floors[name] = path
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        for r in range(rounds):
            with contextlib.ExitStack() as stack:
                app = stack.enter_context(streamlit_server(f"pages-{r}"))
                servers = {name: stack.enter_context(streamlit_server(f"floor-{r}-{i}", script=path))
                           for i, (name, path) in enumerate(floors.items())}
                warm = browser.new_context(viewport={"width": 1400, "height": 1000})
                first_figure(warm, app + "/")  # the server's own start (imports), not counted
                warm.close()
                shift = r * len(pages) // max(rounds, 1)
                visits = [(n, app + "/" + u) for n, u in pages[shift:] + pages[:shift]]
                visits += [(n, url + "/") for n, url in servers.items()]
                for name, url in visits:
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    try:
                        first, second = first_figure(context, url), first_figure(context, url)
                    finally:
                        context.close()
                    entry = samples.setdefault(name, {"first": [], "second": []})
                    entry["first"].append(first)
                    entry["second"].append(second)
                    progress(f"round {r + 1}/{rounds} {name}: first {first:.2f} s, second {second:.2f} s")
            if after_round is not None:
                after_round(samples)
        browser.close()
    return samples


def summary(samples: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    """Median and worst of each visit kind per page, and the medians' ratio to the image floor's."""
    floor = {kind: statistics.median(samples["floor: title + st.image"][kind]) for kind in ("first", "second")}
    out = {}
    for name, entry in samples.items():
        row = {}
        for kind in ("first", "second"):
            row[f"{kind}_median_s"] = statistics.median(entry[kind])
            row[f"{kind}_worst_s"] = max(entry[kind])
            row[f"{kind}_vs_floor"] = row[f"{kind}_median_s"] / floor[kind]
        out[name] = row
    return out


def markdown(rows: dict[str, dict[str, float]], header: str) -> str:
    def cell(v: float) -> str:
        return "none" if v >= TIMEOUT_S else f"{v:.2f}"

    def ratio(r: dict, kind: str) -> str:  # a page with no figure within the timeout: at least that many floors
        return ("> " if r[f"{kind}_median_s"] >= TIMEOUT_S else "") + f"{r[f'{kind}_vs_floor']:.2f}"

    lines = [header, "", "| page | first visit: median s | worst s | / floor | second visit: median s | worst s "
             "| / floor |", "|---|---|---|---|---|---|---|"]
    for name, r in sorted(rows.items(), key=lambda kv: (not kv[0].startswith("floor"), kv[0])):
        lines.append(f"| {name} | {cell(r['first_median_s'])} | {cell(r['first_worst_s'])} | "
                     f"{ratio(r, 'first')} | {cell(r['second_median_s'])} | {cell(r['second_worst_s'])} | "
                     f"{ratio(r, 'second')} |")
    return "\n".join(lines)
