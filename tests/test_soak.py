"""A short soak: a recording worker trains while its snapshot is redrawn hundreds of times (as the Train page's
live fragment does); the histories and checkpoints stay within their bounds and refreshes accumulate no memory.
benchmarks/soak.py runs the long version (thousands of refreshes, RSS over time)."""

import gc
import importlib.util
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

import metaviz.worker
from metaviz.scheduler import Limits, Scheduler
from metaviz.store import Store
from metaviz.train import RunConfig, TrainConfig

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"
spec = importlib.util.spec_from_file_location("metaviz_soak", SCRIPT)
soak = sys.modules["metaviz_soak"] = importlib.util.module_from_spec(spec)  # dataclasses look their module up
spec.loader.exec_module(soak)

CONFIG = RunConfig(train=TrainConfig(meta_batch=4, n_steps=1_000_000, eval_every=10, n_eval_tasks=10, hidden=16),
                   device="cpu")


@pytest.mark.slow
def test_refreshes_accumulate_no_memory_while_a_run_trains(monkeypatch, tmp_path):
    monkeypatch.setattr(metaviz.worker, "HISTORY", 40)  # reach the bounds within the test
    monkeypatch.setattr(metaviz.worker, "KEEP_CHECKPOINTS", 8)
    worker = metaviz.worker.Worker(store=Store(tmp_path), scheduler=Scheduler(0), limits=Limits())
    memo: dict = {}
    rss = []
    try:
        worker.sync(worker.start(CONFIG), timeout=120)  # a new process first warms torch up (worker.warm_up)
        deadline = time.monotonic() + 120
        while worker.snapshot().step < 3 * 40:  # warm up: the histories fill and overflow
            soak.refresh(worker.snapshot(), memo)
            time.sleep(soak.GAP)  # redraws with pauses between them, as the page does (see benchmarks/soak.py)
            snap = worker.snapshot()
            assert time.monotonic() < deadline and snap.status in ("starting", "running"), (snap.status, snap.message)
        # Python-level allocations (numpy buffers included) are counted exactly by tracemalloc; the RSS also moves
        # with the allocator's arenas and SQLite's caches, which settle only after a thousand refreshes or so.
        # Plotly figures hold reference cycles (each object points to its parent), so a dropped figure waits for
        # the cyclic garbage collector: collect before each count to compare what is still reachable.
        # Refresh at least REFRESHES times and until the run has moved on by a whole history's length, so that
        # the bounded histories overflow while memory is measured however slowly the run trains (tracemalloc
        # slows the training thread too, and a loaded CI machine more).
        snap = worker.snapshot()
        began = snap.step
        tracemalloc.start()
        try:
            i = 0
            while i < REFRESHES or (snap.step < began + 40 and i < 50 * REFRESHES):
                snap = worker.snapshot()
                soak.refresh(snap, memo)
                time.sleep(soak.GAP)
                if i == REFRESHES // 4:
                    gc.collect()
                    first = tracemalloc.get_traced_memory()[0]
                if i % 20 == 0:
                    rss.append(soak.rss_mb())
                i += 1
            gc.collect()
            last = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        snap = worker.snapshot()
    finally:
        worker.close()
    assert snap.status == "running" and snap.step >= began + 40
    assert len(snap.train["step"]) == 40 and len(snap.evals["step"]) <= 40 and len(snap.checkpoints) <= 8 + 1
    # one leaked figure or snapshot per refresh is tens of kB: 120 refreshes would add several MB
    assert last - first < 1_000_000, f"{(last - first) / 1e6:.2f} MB more after {i - REFRESHES // 4} refreshes"
    assert max(rss) - rss[0] < 40, rss  # coarse: no runaway growth of the process either


REFRESHES = 160
