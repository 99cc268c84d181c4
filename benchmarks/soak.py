"""Soak test: one session's worker trains while a page reads its snapshot and redraws, thousands of times;
the resident memory (RSS) is sampled along the way and must level off.

    python benchmarks/soak.py                                  # 5,000 refreshes, the app's default run
    python benchmarks/soak.py --refreshes 20000 --json soak.json
    python benchmarks/soak.py --history 500                    # reach the history bound sooner
    python benchmarks/soak.py --app --refreshes 500            # the real Train page, rerun in Streamlit's AppTest

What one refresh does is what the Train page's live fragment does each tick (ui/run_view.py),
without Streamlit: read ``Worker.snapshot()``; build the loss chart (the light HTML one while the run
trains, the plotly one once it stops), the accuracy curves for classification and the steps curve with
metaviz.figures; rebuild the adaptation figure when the parameters changed (about once a second, as
the page's memo does); and serialise every plotly figure to JSON as ``st.plotly_chart`` does. The worker
records to a run store in a temporary folder, as the app's does. Refreshes come 20 ms apart (``GAP``),
twenty times as often as the page's 0.4 s, so 5,000 refreshes stand for far more than a class period.

What should stay bounded: the worker's histories (``metaviz.worker.HISTORY`` points per curve),
its checkpoints (``KEEP_CHECKPOINTS``), the figures (decimated to a fixed number of points), and
so the RSS once the histories are full. Growth is reported as the slope of a least-squares line
through the RSS samples of the second half (MB per 1,000 refreshes), and memory before the
histories fill is expected to rise (they are filling).

Measured on a 2-core machine shared with other jobs (torch 2.13 CPU, Python 3.11), 2026-11-26; the
run is MAML on sine waves with the app's defaults (meta-batch 25, hidden 40, evaluation every 25):

    python benchmarks/soak.py --history 500          (re-measured with the 20 ms gap and the light live chart)
      5,000 refreshes in 263 s while the run trained 6,069 meta-iterations
      RSS 411.1 MB after the first 10% of refreshes, 426.9 MB at the end, peak 426.9 MB
      slope over the second half: +1.70 MB per 1,000 refreshes; histories 500 points, 32 checkpoints
    python benchmarks/soak.py --history 100 --no-store --refreshes 3000
      RSS 418.8 MB at 10%, 425.9 MB at the end, and flat at 425.9 MB over the last 1,100 refreshes
    python benchmarks/soak.py --history 100 --pause-at 0.1 --refreshes 8000   (paused after refresh 800)
      RSS 422.2 MB at 10%, 426.6 MB from refresh ~4,900 on, flat over the last 3,000 refreshes

    python benchmarks/soak.py --app --refreshes 1000    (the Train page in AppTest; the app's default run of
                                                        1,000 meta-iterations ends part-way, the page keeps drawing it)
      1,000 page reruns in 220 s; RSS 457.6 MB at 10%, 481.1 MB at the end, peak 484.4 MB,
      slope over the second half +1.45 MB per 1,000 reruns

So the RSS rises by 15-20 MB over the first ~1,000 refreshes (the histories fill; allocator arenas,
SQLite's page caches and lazy imports warm up), creeps up a few MB more, then stays flat, while
training and while paused alike. The creep is not a leak: plotly figures are reference cycles (each
object points to its parent), so the figures of past refreshes are freed by Python's cyclic garbage
collector, not at once, and the RSS follows the collector's high-water mark. tests/test_soak.py counts
what is still reachable after ``gc.collect()`` with tracemalloc: flat (under 1 MB over 120 refreshes).

See also tests/test_soak.py (marked slow), which runs a short version and asserts the bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb() -> float:
    """The current resident set size in MB (Linux: /proc/self/statm; elsewhere the peak, from getrusage)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@dataclass
class SoakResult:
    refreshes: int
    seconds: float
    steps: int                      # meta-iterations trained meanwhile
    history_points: int             # points per curve at the end
    checkpoints: int                # evaluation-step checkpoints held at the end
    rss_start: float                # MB, after the first 10% of refreshes
    rss_end: float
    rss_peak: float
    slope_mb_per_1000: float        # least-squares slope of RSS over the second half
    samples: list[tuple[int, float, float, int]] = field(default_factory=list)  # (refresh, seconds, MB, step)

    def summary(self) -> str:
        return (f"{self.refreshes:,} refreshes in {self.seconds:.0f} s while the run trained {self.steps:,} "
                f"meta-iterations\nRSS {self.rss_start:.1f} MB after the first 10% of refreshes, "
                f"{self.rss_end:.1f} MB at the end, peak {self.rss_peak:.1f} MB\nslope over the second half: "
                f"{self.slope_mb_per_1000:+.2f} MB per 1,000 refreshes"
                + (f"; histories {self.history_points} points, {self.checkpoints} checkpoints held"
                   if self.history_points >= 0 else ""))


# The page redraws every 0.4 s and is idle in between. Redrawing in a tight loop instead starves the training
# thread: each torch op releases the GIL, and the busy Python thread takes it back for a whole switch interval
# (5 ms) every time, so a run that makes 40 meta-iterations a second alone made none in 20 s of back-to-back
# redraws. A short pause between redraws keeps both going, as in the app.
GAP = 0.02


def refresh(snap, memo: dict) -> int:
    """One redraw of the Train page's live part from ``snap``; returns the bytes of HTML and JSON it produced."""
    from metaviz import learners, tasks
    from metaviz.analysis.adaptation import adaptation_curves
    from metaviz.figures.adaptation import adaptation_figure
    from metaviz.figures.curves import accuracy_curves, loss_curves, loss_html, steps_curve

    if snap.config is None:
        return 0
    # while the run trains the page draws the light loss chart (HTML), once it stops the plotly one
    light = loss_html(snap.train, snap.evals, snap.config.learner) if snap.live else ""
    figures = [] if snap.live else [loss_curves(snap.train, snap.evals, snap.config.learner)]
    classification = tasks.get(snap.config.task).kind == "classification"
    if classification:
        figures.append(accuracy_curves(snap.evals, snap.config.learner, snap.config.task_config.n_way))
    ev = snap.last_eval
    if ev is not None and learners.get(snap.config.learner).has_inner_loop:
        metric = "accuracy" if classification else "loss"
        key = ("steps", ev.step)
        if memo.get("steps", (None,))[0] != key:  # the page memoises it per evaluation
            base = None if ev.baseline_val is None else getattr(ev.baseline_val, metric)
            memo["steps"] = (key, steps_curve(getattr(ev.val, metric), base, snap.config.learner, metric))
        figures.append(memo["steps"][1])
    ckpt = snap.checkpoint
    if ckpt is not None and not classification:
        key = ("adaptation", ckpt.step)
        if memo.get("adaptation", (None,))[0] != key:  # recomputed when the parameters change, as on the page
            states = {ckpt.config.learner: ckpt.learner}
            if ckpt.baseline is not None:
                states["pretrained"] = ckpt.baseline
            memo["adaptation"] = (key, adaptation_figure(adaptation_curves(ckpt.config, states, 0, steps=10)))
        figures.append(memo["adaptation"][1])
    return len(light) + sum(len(f.to_json()) for f in figures)


def soak(refreshes: int = 5000, config=None, history: int | None = None, samples: int = 100,
         progress: bool = False, store: bool = True, pause_at: float | None = None, gap: float = GAP) -> SoakResult:
    """Train ``config`` (default: the app's defaults, MAML on sine) in a recording worker and redraw its snapshot
    ``refreshes`` times, sampling the RSS ``samples`` times. ``history`` overrides the worker's bound on points per
    curve (to reach it sooner). ``store``: record the run in a run store, as the app does. ``pause_at``: pause the
    run after this fraction of the refreshes and go on refreshing (memory that still grows then grows per refresh,
    not per meta-iteration). ``gap``: seconds between two refreshes (see :data:`GAP`)."""
    import metaviz.worker
    from metaviz.scheduler import Limits, Scheduler
    from metaviz.store import Store
    from metaviz.train import RunConfig, TrainConfig

    if history is not None:
        metaviz.worker.HISTORY = history
    config = config or RunConfig(train=TrainConfig(n_steps=1_000_000), device="cpu")
    every = max(1, refreshes // samples)
    with tempfile.TemporaryDirectory(prefix="metaviz-soak-") as home:
        worker = metaviz.worker.Worker(store=Store(home) if store else None, scheduler=Scheduler(0), limits=Limits())
        try:
            worker.start(config)
            worker.wait(lambda s: s.step >= 1, timeout=120)
            memo: dict = {}
            began = time.monotonic()
            points: list[tuple[int, float, float, int]] = []
            for i in range(1, refreshes + 1):
                if pause_at is not None and i == int(pause_at * refreshes):
                    worker.sync(worker.pause())
                snap = worker.snapshot()
                refresh(snap, memo)
                time.sleep(gap)
                if i % every == 0 or i == refreshes:
                    points.append((i, time.monotonic() - began, rss_mb(), snap.step))
                    if progress:
                        print(f"\r{i:>7,} refreshes  step {snap.step:>7,}  RSS {points[-1][2]:7.1f} MB", end="",
                              file=sys.stderr, flush=True)
            if progress:
                print(file=sys.stderr)
            snap = worker.snapshot()
            if snap.status not in ("running", "done", "paused"):
                raise RuntimeError(f"the run stopped: {snap.status} {snap.message}")
        finally:
            worker.close()
    seconds = points[-1][1]
    refreshed, mb = np.array([p[0] for p in points], float), np.array([p[2] for p in points])
    half = refreshed >= refreshes / 2
    slope = float(np.polyfit(refreshed[half], mb[half], 1)[0] * 1000) if half.sum() >= 2 else 0.0
    start = next(p[2] for p in points if p[0] >= refreshes / 10)
    return SoakResult(refreshes, seconds, snap.step, len(snap.train["step"]), len(snap.checkpoints), start,
                      float(mb[-1]), float(mb.max()), slope, points)


def soak_app(refreshes: int = 500, samples: int = 50, progress: bool = False) -> SoakResult:
    """The same through Streamlit: the Train page of ``app.py`` in AppTest, rerun ``refreshes`` times while its
    session's worker trains the app's default run (each rerun is a whole page run, heavier than the live
    fragment's tick, and includes session state, widgets and Streamlit's element protos)."""
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory(prefix="metaviz-soak-") as home:
        os.environ["METAVIZ_HOME"] = home
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
        at.run()
        at.switch_page("pages/train.py")
        at.run()
        at.button(key="start").click()
        at.run()
        every = max(1, refreshes // samples)
        began = time.monotonic()
        points: list[tuple[int, float, float, int]] = []
        for i in range(1, refreshes + 1):
            at.run()
            if at.exception:
                raise RuntimeError(at.exception[0].value)
            if i % every == 0 or i == refreshes:
                step = int(next(m.value for m in at.metric if m.label == "Meta-iterations").split("/")[0]
                           .replace(",", ""))
                points.append((i, time.monotonic() - began, rss_mb(), step))
                if progress:
                    print(f"\r{i:>7,} reruns  step {step:>7,}  RSS {points[-1][2]:7.1f} MB", end="", file=sys.stderr,
                          flush=True)
        at.button(key="reset").click()
        at.run()
    refreshed, mb = np.array([p[0] for p in points], float), np.array([p[2] for p in points])
    half = refreshed >= refreshes / 2
    slope = float(np.polyfit(refreshed[half], mb[half], 1)[0] * 1000) if half.sum() >= 2 else 0.0
    start = next(p[2] for p in points if p[0] >= refreshes / 10)
    return SoakResult(refreshes, points[-1][1], points[-1][3], -1, -1, start, float(mb[-1]), float(mb.max()), slope,
                      points)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refreshes", type=int, default=5000)
    parser.add_argument("--history", type=int, default=None, help="points kept per curve (default: the worker's)")
    parser.add_argument("--task", default="sinusoid")
    parser.add_argument("--learner", default="maml")
    parser.add_argument("--no-store", action="store_true", help="do not record the run in a run store")
    parser.add_argument("--pause-at", type=float, default=None, metavar="FRACTION",
                        help="pause training after this fraction of the refreshes, refreshing on (default: never)")
    parser.add_argument("--app", action="store_true", help="rerun the Train page in Streamlit's AppTest instead "
                        "(default 500 reruns)")
    parser.add_argument("--json", metavar="PATH", help="write the result and every RSS sample here")
    args = parser.parse_args(argv)
    if args.app:
        result = soak_app(args.refreshes if args.refreshes != 5000 else 500, progress=True)
        print(result.summary().replace("refreshes", "page reruns"))
        if args.json:
            Path(args.json).write_text(json.dumps(asdict(result), indent=1))
        return 0
    from metaviz.train import RunConfig, TrainConfig

    config = RunConfig(task=args.task, learner=args.learner, train=TrainConfig(n_steps=1_000_000), device="cpu")
    result = soak(args.refreshes, config, args.history, progress=True, store=not args.no_store,
                  pause_at=args.pause_at)
    print(result.summary())
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(result), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
