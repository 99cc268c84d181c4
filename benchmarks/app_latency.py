"""How fast the app answers, measured as a user meets it: a real ``streamlit run app.py`` in Chromium.

Issue #7 asks for two things on CPU with the default sine setup:
- from pressing Start to the first plotted point, under a second;
- while a run trains at full speed, the controls answer within half a second.

Each measurement starts at the click (Playwright's click returns once the browser has dispatched it) and ends when
the browser shows the answer: the first curve in the live loss chart; the Resume button after Pause; the Pause button
after Resume; the iteration counter one higher after Step (while paused). Pause is timed twice: about a second after
Start (``pause``: the browser is still drawing the page's first charts, and loads plotly for them) and after three
seconds of training (``pause_after_3s``). Repeated ``--repeats`` times; the JSON has every sample, the table the
median and the worst.

The server column is when the server finished a whole-page run after the click, if one finished before the
answer showed (NaN otherwise: Pause reruns only the buttons, a fragment; after Resume and Step the answer shows
while the page run is still going on).

    python benchmarks/app_latency.py [--repeats 5] [--json docs/bench/app_latency.json]

With ``--pages``, it measures instead how fast every page and lesson shows its first figure, on fresh servers
in fresh browser sessions, first and second visit apart, against a bare Streamlit page measured in the same
run (``benchmarks/page_open.py`` says how):

    python benchmarks/app_latency.py --pages [--rounds 5] [--json docs/bench/page_open.json] [--markdown PATH]

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
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from conftest import CHROMIUM, CHROMIUM_FLAGS, streamlit_server, wait_idle  # noqa: E402

METRIC = "[data-testid='stMetricValue']"
TRACE = ".mv-light-chart polyline.line"  # the live loss chart's first curve
COUNT_JS = (f"() => parseInt((document.querySelectorAll(\"{METRIC}\")[0] || {{innerText: '0'}})"
            ".innerText.replace(/,/g, ''))")


def button(tab, name: str):
    tab.mouse.move(1, 1)  # away from the last button: its tooltip would cover its neighbour
    return tab.get_by_role("button", name=name, exact=True)


def settled(tab) -> None:
    """Wait until the browser has nothing left to draw (a user clicks on a page that has finished drawing;
    while a run trains the page never settles, and that is what the pause measurement is about)."""
    wait_idle(tab)
    tab.evaluate("() => new Promise(done => requestIdleCallback(() => done(), {timeout: 5000}))")


class ServerRuns:
    """When the server says a script run finished (Streamlit's ``script_finished`` message on the websocket),
    so that a delay can be split into the server's part (the rerun the click asked for) and the browser's."""

    def __init__(self, tab):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.finished: list[float] = []  # perf_counter times of whole-page (not fragment) runs finishing
        full = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY

        def frame(payload) -> None:
            if isinstance(payload, bytes):
                msg = ForwardMsg.FromString(payload)
                if msg.WhichOneof("type") == "script_finished" and msg.script_finished == full:
                    self.finished.append(time.perf_counter())

        tab.on("websocket", lambda ws: ws.on("framereceived", frame))

    def after(self, began: float) -> float:
        return next((t - began for t in self.finished if t > began), float("nan"))


def timed(action, until, server: ServerRuns | None = None, split: list | None = None) -> float:
    """Seconds from ``action()`` (a click) to ``until()`` returning (a wait for what the user sees); with
    ``server``, the seconds until the server finished the rerun the click caused go into ``split``."""
    began = time.perf_counter()
    action()
    until()
    total = time.perf_counter() - began
    if server is not None:
        split.append(server.after(began))
    return total


def measure(tab, repeats: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"start_to_first_point": [], "pause": [], "resume": [], "step": [],
                                       "pause_after_3s": []}
    server = ServerRuns(tab)
    for name in list(samples):
        samples[f"{name}_server_rerun"] = []
    for _ in range(repeats):
        tab.goto(tab.base_url + "/train")
        settled(tab)
        samples["start_to_first_point"].append(timed(
            lambda: button(tab, "Start").click(force=True),
            lambda: tab.wait_for_function(f"() => document.querySelector(\"{TRACE}\") !== null && ({COUNT_JS})() > 0",
                                          polling="raf", timeout=30_000),
            server, samples["start_to_first_point_server_rerun"]))
        tab.wait_for_function(f"() => ({COUNT_JS})() > 20", timeout=60_000)  # now training at full speed
        samples["pause"].append(timed(lambda: button(tab, "Pause").click(force=True),
                                      lambda: button(tab, "Resume").wait_for(), server, samples["pause_server_rerun"]))
        settled(tab)
        after_step = f"() => ({COUNT_JS})() === {tab.evaluate(COUNT_JS) + 1}"
        samples["step"].append(timed(
            lambda: button(tab, "Step").click(force=True),
            lambda: tab.wait_for_function(after_step, polling="raf", timeout=30_000),  # noqa: B023 - called at once
            server, samples["step_server_rerun"]))
        settled(tab)
        samples["resume"].append(timed(lambda: button(tab, "Resume").click(force=True),
                                       lambda: button(tab, "Pause").wait_for(), server, samples["resume_server_rerun"]))
        tab.wait_for_timeout(3000)  # three seconds of full-speed training: the page's charts are all drawn
        samples["pause_after_3s"].append(timed(lambda: button(tab, "Pause").click(force=True),
                                               lambda: button(tab, "Resume").wait_for(), server,
                                               samples["pause_after_3s_server_rerun"]))
        button(tab, "Reset").click()
        tab.get_by_text("Press Start to meta-train").wait_for()
    return samples


def browser_busy(tab, seconds: float = 10.0) -> dict[str, float]:
    """While a run trains: how much of the browser's main thread goes to long tasks (over 50 ms, mostly plotly
    laying charts out again). A click waits for the task in progress, so this is where slow answers come from."""
    tab.goto(tab.base_url + "/train")
    wait_idle(tab)
    button(tab, "Start").click()
    tab.wait_for_function(f"() => ({COUNT_JS})() > 20", timeout=60_000)
    tab.evaluate("() => { window.__long = []; new PerformanceObserver(list => list.getEntries().forEach("
                 "e => window.__long.push(e.duration))).observe({type: 'longtask'}); }")
    tab.wait_for_timeout(seconds * 1000)
    long = tab.evaluate("() => window.__long")
    button(tab, "Reset").click()
    return dict(seconds=seconds, long_tasks=len(long), busy_fraction=sum(long) / 1000 / seconds,
                longest_s=max(long, default=0.0) / 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="write every sample here")
    parser.add_argument("--pages", action="store_true", help="time every page's first figure instead")
    parser.add_argument("--rounds", type=int, default=5, help="--pages: rounds, each on fresh servers")
    parser.add_argument("--markdown", type=Path, default=None, help="--pages: write the table here too")
    parser.add_argument("--only", default="", help="--pages: these pages only (comma-separated names)")
    args = parser.parse_args(argv)
    if args.pages:
        return pages_main(args)
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
        busy = browser_busy(tab)
        browser.close()
    goals = {"start_to_first_point": 1.0, "pause": 0.5, "resume": 0.5, "step": 0.5, "pause_after_3s": 0.5}
    print(f"{'what':<22} {'median s':>9} {'worst s':>8} {'goal s':>7}   {'server rerun done, median s':>26}")
    for name, goal in goals.items():
        values, server_part = samples[name], samples[f"{name}_server_rerun"]
        print(f"{name:<22} {statistics.median(values):>9.3f} {max(values):>8.3f} {goal:>7.1f}   "
              f"{statistics.median(server_part):>26.3f}")
    print(f"browser main thread while training: {busy['busy_fraction']:.0%} busy in long tasks "
          f"({busy['long_tasks']} in {busy['seconds']:g} s, longest {busy['longest_s']:.3f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(
            date=time.strftime("%Y-%m-%d"), torch=torch.__version__, machine=platform.processor() or platform.machine(),
            cpus=os.cpu_count(), load_average=os.getloadavg(), goals_s=goals, samples_s=samples,
            median_s={k: statistics.median(v) for k, v in samples.items()}, browser_while_training=busy),
            indent=2) + "\n")
    return 0


def pages_main(args) -> int:
    import page_open
    import torch

    load_before = os.getloadavg()

    def keep(samples):  # each round's samples as soon as it ends, beside the JSON
        if args.json:
            args.json.with_suffix(".partial.json").write_text(json.dumps(dict(
                load_average_before=load_before, load_average_now=os.getloadavg(), samples_s=samples), indent=2))

    samples = page_open.measure(args.rounds, progress=lambda line: print(line, file=sys.stderr, flush=True),
                                only=set(args.only.split(",")) if args.only else None, after_round=keep)
    load_after = os.getloadavg()
    rows = page_open.summary(samples)
    header = (f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
              f"torch {torch.__version__}, Chromium headless; {args.rounds} rounds; load average (1, 5, 15 min) "
              f"{' / '.join(f'{v:.1f}' for v in load_before)} before and "
              f"{' / '.join(f'{v:.1f}' for v in load_after)} after")
    table = page_open.markdown(rows, header)
    print(table)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dict(
            date=time.strftime("%Y-%m-%d"), torch=torch.__version__, cpus=os.cpu_count(), rounds=args.rounds,
            load_average_before=load_before, load_average_after=load_after, timeout_s=page_open.TIMEOUT_S,
            samples_s=samples, summary=rows), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
