"""The background worker: commands in, snapshots out, from any thread."""

import threading
import time

import numpy as np
import pytest

from metaviz.learners.maml import MAMLConfig
from metaviz.train import RunConfig, TrainConfig
from metaviz.worker import Worker

SMALL = RunConfig(train=TrainConfig(meta_batch=4, n_steps=400, eval_every=10, n_eval_tasks=8, eval_steps=2,
                                    hidden=16))


@pytest.fixture
def worker():
    w = Worker()
    yield w
    w.close()


def test_start_pause_step_resume_and_stop(worker):
    worker.start(SMALL)
    snap = worker.wait(lambda s: s.step >= 5)
    assert snap.status == "running" and snap.device.startswith("cpu")
    worker.pause()
    paused = worker.wait(lambda s: s.status == "paused")
    time.sleep(0.3)
    assert worker.snapshot().step == paused.step  # a pause holds

    worker.step()
    stepped = worker.wait(lambda s: s.step == paused.step + 1 and s.status == "paused")
    time.sleep(0.2)
    assert worker.snapshot().step == stepped.step  # exactly one

    worker.resume()
    worker.wait(lambda s: s.step >= stepped.step + 5)
    worker.stop()
    idle = worker.wait(lambda s: s.status == "idle")
    assert idle.step == 0 and idle.config is None


def test_histories_checkpoints_and_completion(worker):
    worker.start(RunConfig(train=TrainConfig(meta_batch=4, n_steps=30, eval_every=10, n_eval_tasks=8,
                                             eval_steps=2, hidden=16)))
    done = worker.wait(lambda s: s.status == "done")
    assert done.step == 30
    assert list(done.train["step"]) == list(range(1, 31))
    assert list(done.evals["step"]) == [0, 10, 20, 30]
    assert np.isfinite(done.evals["val_loss"]).all() and np.isnan(done.evals["test_loss"]).all()
    assert done.checkpoint.step == 30 and set(done.checkpoint.learner) == set(done.checkpoint.baseline)
    assert done.last_eval.step == 30
    assert [c.step for c in done.checkpoints] == [0, 10, 20, 30]


def test_checkpoint_history_stays_bounded_and_evenly_spaced(worker, monkeypatch):
    monkeypatch.setattr("metaviz.worker.KEEP_CHECKPOINTS", 4)
    worker.start(RunConfig(train=TrainConfig(meta_batch=2, n_steps=11, eval_every=1, n_eval_tasks=2,
                                             eval_steps=1, hidden=8, baseline=False)))
    done = worker.wait(lambda s: s.status == "done")
    # 12 evaluations (steps 0..11): every 4th kept once the stride has doubled twice, plus the latest
    assert [c.step for c in done.checkpoints] == [0, 4, 8, 11]
    first = done.checkpoints[0].learner
    assert any(not np.array_equal(first[k], done.checkpoint.learner[k]) for k in first)


def test_step_from_idle_starts_a_paused_run(worker):
    worker.start(SMALL, paused=True)
    worker.step()
    snap = worker.wait(lambda s: s.step == 1 and s.status == "paused")
    assert snap.checkpoint is not None


def test_learning_rates_change_while_running(worker):
    worker.start(SMALL)
    worker.wait(lambda s: s.step >= 2)
    worker.set(meta_lr=0.05, inner_lr=0.002)
    snap = worker.wait(lambda s: s.config.train.meta_lr == 0.05)
    assert snap.config.learner_config.inner_lr == 0.002


def test_divergence_is_reported_not_raised(worker):
    worker.start(RunConfig(learner_config=MAMLConfig(inner_lr=10.0, inner_steps=5), train=SMALL.train))
    snap = worker.wait(lambda s: s.status == "diverged")
    assert "diverged" in snap.message and worker.alive
    worker.resume()  # nothing to resume: still diverged, still alive
    time.sleep(0.1)
    assert worker.snapshot().status == "diverged"


def test_errors_become_a_status(worker):
    worker.start(RunConfig(device="no-such-device"))
    snap = worker.wait(lambda s: s.status == "error")
    assert "not available" in snap.message and worker.alive
    worker.start(SMALL)  # the worker still takes new runs
    worker.wait(lambda s: s.step >= 1)


def test_snapshots_are_safe_to_read_from_other_threads(worker):
    worker.start(SMALL)
    seen, errors = [], []

    def reader():
        try:
            for _ in range(200):
                s = worker.snapshot()
                assert len(s.train.get("step", [])) == len(s.train.get("loss", []))
                seen.append(s.version)
        except AssertionError as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and seen


def test_close_stops_the_thread():
    w = Worker()
    w.start(SMALL)
    w.wait(lambda s: s.step >= 1)
    w.close()
    assert not w.alive


def test_a_new_worker_imports_what_the_first_optimizer_needs_before_any_command():
    # In a fresh process the first torch optimizer imports torch._dynamo (seconds): the worker's thread does
    # it when it starts, so the first Start in an app does not pay it.
    import subprocess
    import sys

    code = ("import sys; from metaviz.worker import Worker\n"
            "assert 'torch._dynamo' not in sys.modules, 'imported too early for this test to mean anything'\n"
            "w = Worker(); w.sync(w.pause(), timeout=120)\n"
            "print('torch._dynamo' in sys.modules); w.close()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
