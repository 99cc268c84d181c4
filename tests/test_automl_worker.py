"""The AutoML worker: Pause holds, Step does exactly one outer step, a paused search resumes exactly; every search
is a stored run of kind "automl" that reads back as the snapshot the page drew live."""

import math
import time

import numpy as np
import pytest

from metaviz import automl
from metaviz.automl.search import AutoMLConfig, OuterStepEvent, paired, search_runs
from metaviz.automl.worker import AutoMLWorker, stored_snapshot
from metaviz.scheduler import Scheduler
from metaviz.store import Store


def config(method="unrolled", steps=6):
    fields = {"unrolled": {"inner_steps": 4, "hidden": 8}, "darts": {"retrain_steps": 5, "width": 6}}[method]
    return AutoMLConfig("blobs", method, automl.get(method).Config(**fields), steps, seed=1)


def uninterrupted(cfg):
    runs = search_runs(cfg)
    return [(who, e.compute_steps, e.val_loss) for who, e in paired(runs) if isinstance(e, OuterStepEvent)]


def test_pause_holds_gives_the_slot_back_and_resume_continues_the_same_search():
    scheduler = Scheduler(1)
    worker = AutoMLWorker(scheduler)
    worker.start(config(steps=6))
    worker.wait_for(lambda s: len(s.steps) >= 2, timeout=60)
    worker.pause()
    held = worker.wait_for(lambda s: s.status == "paused", timeout=30)
    time.sleep(0.6)
    assert len(worker.snapshot().steps) == len(held.steps)  # nothing moved while paused
    assert scheduler.running == 0  # a paused search holds no slot
    worker.resume()
    snap = worker.wait(60)
    assert snap.status == "done" and snap.result is not None and snap.baseline_result is not None
    got = [("method", e.compute_steps, e.val_loss) for e in snap.steps]
    expected = [row for row in uninterrupted(config(steps=6)) if row[0] == "method"]
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    np.testing.assert_allclose([g[2] for g in got], [e[2] for e in expected], rtol=1e-6)


def test_step_does_exactly_one_outer_step_of_the_method_at_equal_compute():
    worker = AutoMLWorker(Scheduler(1))
    worker.start(config("darts", steps=4), paused=True)
    time.sleep(0.3)
    assert worker.snapshot().status == "paused" and not worker.snapshot().steps
    for n in (1, 2):
        worker.step()
        snap = worker.wait_for(lambda s, n=n: s.status == "paused" and len(s.steps) == n, timeout=60)
        time.sleep(0.3)
        assert len(worker.snapshot().steps) == n
        # the baseline (random cells, 5 steps each) leads: it never trails the method's compute
        assert snap.baseline_steps[-1].compute_steps >= snap.steps[-1].compute_steps
    worker.step(2)  # the last two steps: the run finishes with both results
    snap = worker.wait(60)
    assert snap.status == "done" and [e.step for e in snap.steps] == [1, 2, 3, 4] and snap.result


def test_reset_forgets_the_search_and_stop_keeps_it():
    worker = AutoMLWorker(Scheduler(1))
    worker.start(config(steps=400), paused=True)
    worker.step()
    worker.wait_for(lambda s: len(s.steps) == 1 and s.status == "paused")
    worker.resume()
    worker.stop()
    assert worker.snapshot().status == "stopped" and worker.snapshot().steps
    worker.reset()
    assert worker.snapshot().status == "idle" and not worker.snapshot().steps and not worker.snapshot().active


@pytest.mark.parametrize("method", ["unrolled", "darts"])
def test_a_search_is_a_stored_run_that_reads_back_as_what_was_drawn(tmp_path, method):
    store = Store(tmp_path)
    worker = AutoMLWorker(Scheduler(1), store=store)
    worker.start(config(method, steps=4))
    live = worker.wait(60)
    assert live.status == "done" and live.run_id and not live.problem
    record = store.get(live.run_id)
    assert (record.kind, record.status, record.learner, record.task, record.step, record.n_steps) == (
        "automl", "done", method, "blobs", 4, 4)
    assert record.run_config() == config(method, steps=4) and record.owner_token is None
    assert record.result["method"]["test_loss"] == pytest.approx(live.result.test_loss)
    stored = stored_snapshot(store, live.run_id)
    assert stored.result == live.result and stored.baseline_result == live.baseline_result
    assert stored.grid_result == live.grid_result and (method == "darts") == (live.grid_result is None)
    assert [e.compute_steps for e in stored.grid_steps] == [e.compute_steps for e in live.grid_steps]
    assert [e.compute_steps for e in stored.steps] == [e.compute_steps for e in live.steps]
    np.testing.assert_allclose([e.val_loss for e in stored.steps], [e.val_loss for e in live.steps], rtol=1e-6)
    key = "alpha" if method == "darts" else "weight_decay"
    np.testing.assert_allclose(stored.steps[-1].hyperparameters[key], live.steps[-1].hyperparameters[key], rtol=1e-6)
    if method == "unrolled":  # per layer, the mean over the inner steps
        np.testing.assert_allclose(stored.steps[-1].hyperparameters["lr"][0],
                                   live.steps[-1].hyperparameters["lr"].mean(0), rtol=1e-6)
    best = min(e.val_loss for e in live.baseline_steps)
    assert math.isclose(store.finals([record.id])[record.id]["baseline_val_loss"], best, rel_tol=1e-6)
    assert [r.id for r in store.runs(kind="automl")] == [record.id] and not store.runs(kind="meta")


def test_a_search_whose_stored_run_is_deleted_goes_on_unsaved_and_says_so(tmp_path):
    store = Store(tmp_path)
    worker = AutoMLWorker(Scheduler(1), store=store)
    worker.start(config(steps=40))
    run_id = worker.wait_for(lambda s: len(s.steps) >= 1).run_id
    store.delete(run_id, force=True)  # the Runs page's Delete, while it searches
    snap = worker.wait(120)
    assert snap.status == "done" and len(snap.steps) == 40 and snap.result is not None
    assert "no longer held" in snap.problem and not store.runs()


def test_a_search_that_outlives_stops_wait_ends_and_never_draws_over_the_next():
    worker = AutoMLWorker(Scheduler(2))
    worker.start(config(steps=400))
    worker.wait_for(lambda s: len(s.steps) >= 1)
    old = worker._thread
    worker.stop(timeout=0.0)  # gave up waiting: the old thread is still inside an outer step
    worker.start(config("darts", steps=3))
    new = worker.wait(60)
    old.join(60)
    assert not old.is_alive()  # it saw its own stop and ended
    assert new.status == "done" and new.config.method == "darts" and [e.step for e in new.steps] == [1, 2, 3]
    assert worker.snapshot() == new
