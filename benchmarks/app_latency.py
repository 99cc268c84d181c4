"""How fast the app answers, measured as a user meets it: a real ``streamlit run app.py`` in Chromium.

Issue #7 asks for two things on CPU with the default sine setup:
- from pressing Start to the first plotted point, under a second;
- while a run trains at full speed, the controls answer within half a second.

Each measurement starts at the click (Playwright's click returns once the browser has dispatched it) and ends when
the browser shows the answer: the first trace in the loss chart; the Resume button after Pause; the Pause button
after Resume; the iteration counter one higher after Step (while paused). Repeated ``--repeats`` times; the JSON
has every sample, the table the median and the worst.

    python benchmarks/app_latency.py [--repeats 5] [--json docs/bench/app_latency.json]

Needs Debian's chromium (or METAVIZ_CHROMIUM) and ``pip install playwright`` (no browser download).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import CHROMIUM, CHROMIUM_FLAGS, streamlit_server, wait_idle  # noqa: E402

METRIC = "[data-testid='stMetricValue']"
TRACE = "[data-testid='stPlotlyChart'] .scatterlayer .trace"
COUNT_JS = (f"() => parseInt((document.querySelectorAll(\"{METRIC}\")[0] || {{innerText: '0'}})"
            ".innerText.replace(/,/g, ''))")


def button(tab, name: str):
    return tab.get_by_role("button", name=name, exact=True)


def timed(action, until) -> float:
    """Seconds from ``action()`` (a click) to ``until()`` returning (a wait for what the user sees)."""
    began = time.perf_counter()
    action()
    until()
    return time.perf_counter() - began


def measure(tab, repeats: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"start_to_first_point": [], "pause": [], "resume": [], "step": []}
    for _ in range(repeats):
        tab.goto(tab.base_url + "/train")
        wait_idle(tab)
        samples["start_to_first_point"].append(timed(
            lambda: button(tab, "Start").click(),
            lambda: tab.wait_for_function(f"() => document.querySelector(\"{TRACE}\") !== null && ({COUNT_JS})() > 0",
                                          polling="raf", timeout=30_000)))
        tab.wait_for_function(f"() => ({COUNT_JS})() > 20", timeout=60_000)  # now training at full speed
        samples["pause"].append(timed(lambda: button(tab, "Pause").click(),
                                      lambda: button(tab, "Resume").wait_for()))
        wait_idle(tab)
        after_step = f"() => ({COUNT_JS})() === {tab.evaluate(COUNT_JS) + 1}"
        samples["step"].append(timed(
            lambda: button(tab, "Step").click(),
            lambda: tab.wait_for_function(after_step, polling="raf", timeout=30_000)))  # noqa: B023 - called at once
        wait_idle(tab)
        samples["resume"].append(timed(lambda: button(tab, "Resume").click(),
                                       lambda: button(tab, "Pause").wait_for()))
        tab.wait_for_timeout(1000)  # a second of full-speed training, then reset for the next round
        button(tab, "Reset").click()
        tab.get_by_text("Press Start to meta-train").wait_for()
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="write every sample here")
    args = parser.parse_args(argv)
    import torch
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, streamlit_server("latency") as url:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        tab.set_default_timeout(30_000)
        tab.base_url = url
        tab.goto(url + "/train")  # the first visit imports torch and builds the pages: not what a click costs
        wait_idle(tab)
        samples = measure(tab, args.repeats)
        browser.close()
    goals = {"start_to_first_point": 1.0, "pause": 0.5, "resume": 0.5, "step": 0.5}
    print(f"{'what':<22} {'median s':>9} {'worst s':>8} {'goal s':>7}")
    for name, values in samples.items():
        print(f"{name:<22} {statistics.median(values):>9.3f} {max(values):>8.3f} {goals[name]:>7.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(
            date=time.strftime("%Y-%m-%d"), torch=torch.__version__, machine=platform.processor() or platform.machine(),
            cpus=os.cpu_count(), load_average=os.getloadavg(), goals_s=goals, samples_s=samples,
            median_s={k: statistics.median(v) for k, v in samples.items()}), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
