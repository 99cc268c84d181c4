"""The run store: what is written is read back, resumes equal uninterrupted runs, crashed writers are
marked interrupted (never a corrupt database), readers run beside a writer, deletes remove everything."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import metaviz
from metaviz import checkpoint
from metaviz.events import DoneEvent, EvalEvent, StepEvent
from metaviz.learners.maml import MAMLConfig
from metaviz.recorder import Recorder
from metaviz.store import Store, StoreError
from metaviz.train import Run, RunConfig, TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
SMALL = RunConfig(learner_config=MAMLConfig(first_order=True),
                  train=TrainConfig(meta_batch=4, n_steps=20, eval_every=5, n_eval_tasks=8, eval_steps=2, hidden=16))


def record_run(store, config=SMALL, steps=None, **options):
    run = Run(config)
    events = []
    with Recorder.start(store, run, source="test", **options) as recorder:
        for event in train(run, steps or config.train.n_steps):
            recorder.record(event)
            events.append(event)
    return recorder, run, events


def test_what_is_written_is_read_back(tmp_path):
    store = Store(tmp_path)
    recorder, run, events = record_run(store, checkpoint_every=10)
    record = store.get(recorder.id)
    assert (record.status, record.step, record.n_steps, record.seed) == ("done", 20, 20, 0)
    assert record.version == metaviz.__version__ and record.device == "cpu" and record.source == "test"
    assert record.wall_time > 0 and record.peak_rss > 2**20 and record.owner_pid is None
    assert record.run_config() == run.config

    steps = [e for e in events if isinstance(e, StepEvent)]
    evals = [e for e in events if isinstance(e, EvalEvent)]
    history = store.history(record.id)
    np.testing.assert_array_equal(history.train["step"], [e.step for e in steps])
    np.testing.assert_array_equal(history.train["loss"], [e.loss for e in steps])
    np.testing.assert_array_equal(history.train["baseline_loss"], [e.baseline_loss for e in steps])
    np.testing.assert_array_equal(history.evals["step"], [0, 5, 10, 15, 20])
    for key in evals[0].scalars():
        np.testing.assert_array_equal(history.evals[key], [e.scalars()[key] for e in evals])
    stored = store.evals(record.id)
    assert [s for s, _, _ in stored] == [e.step for e in evals]
    np.testing.assert_array_equal(stored[-1][2]["val"]["loss"], evals[-1].val.loss)
    assert history.final()["val_loss"] == evals[-1].scalars()["val_loss"]

    assert [c.step for c in store.checkpoints(record.id)] == [10, 20]
    loaded = checkpoint.load(store.last_checkpoint(record.id).path)
    assert loaded.step == 20 and loaded.config == run.config
    for name, value in run.learner.state_numpy().items():
        np.testing.assert_array_equal(loaded.params[name], value)
    assert [r.id for r in store.runs(learner="maml", status="done")] == [record.id]
    assert store.runs(learner="protonet") == [] and store.runs(status="running") == []


def abandon(recorder):
    """What a crash leaves: buffered rows written, no final status, no heartbeat from now on."""
    recorder.flush()
    recorder._stop.set()
    recorder._beat.join()


def test_resume_from_a_crash_equals_an_uninterrupted_run(tmp_path):
    store = Store(tmp_path)
    whole, whole_run, _ = record_run(store)

    run = Run(SMALL)
    crashed = Recorder.start(store, run, checkpoint_every=5)
    for event in train(run, 13):  # checkpoints at 5 and 10, then three more steps recorded
        if not isinstance(event, DoneEvent):
            crashed.record(event)
    abandon(crashed)
    assert store.history(crashed.id).train["step"][-1] == 13
    store.update(crashed.id, heartbeat=time.time() - 3600)  # silent for an hour: the owner is gone
    assert store.get(crashed.id).status == "running"
    assert store.reap() == [crashed.id]
    record = store.get(crashed.id)
    assert record.status == "interrupted" and "resume" in record.message

    resumed = Recorder.resume(store, crashed.id)
    assert resumed.run.step == 10 and store.get(crashed.id).status == "running"
    assert store.history(crashed.id).train["step"][-1] == 10  # what came after the checkpoint is dropped
    for event in train(resumed.run, 100):
        resumed.record(event)
    assert store.get(crashed.id).status == "done"

    a, b = store.history(crashed.id), store.history(whole.id)
    for key in ("step", "loss", "baseline_loss"):
        np.testing.assert_array_equal(a.train[key], b.train[key])
    for key in b.evals:
        np.testing.assert_array_equal(a.evals[key], b.evals[key])
    for name, value in whole_run.learner.state_numpy().items():
        np.testing.assert_array_equal(resumed.run.learner.state_numpy()[name], value)


def test_resuming_without_the_optimizer_state_diverges_from_the_uninterrupted_run(tmp_path):
    """The training state file is what makes a resume exact: without Adam's moments it differs."""
    store = Store(tmp_path)
    whole, _, _ = record_run(store)
    stopped, _, _ = record_run(store, steps=10)
    assert store.get(stopped.id).status == "stopped"
    store.last_checkpoint(stopped.id).state.unlink()
    resumed = Recorder.resume(store, stopped.id)
    for event in train(resumed.run, 100):
        resumed.record(event)
    a, b = store.history(stopped.id).train["loss"], store.history(whole.id).train["loss"]
    np.testing.assert_array_equal(a[:10], b[:10])
    assert not np.allclose(a[10:], b[10:], rtol=1e-6, atol=0)


def test_a_held_run_cannot_be_taken_over_or_deleted(tmp_path):
    store = Store(tmp_path)
    run = Run(SMALL)
    recorder = Recorder.start(store, run, checkpoint_every=1)
    for event in train(run, 2):
        recorder.record(event)
    with pytest.raises(StoreError, match="is running in process"):
        Recorder.resume(store, recorder.id)
    with pytest.raises(StoreError, match="stop it first"):
        store.delete(recorder.id)
    store.delete(recorder.id, force=True)
    with pytest.raises(StoreError, match="no longer held"):
        recorder.flush()  # the writer learns at its next write and stops


WRITER = textwrap.dedent("""
    import sys, time
    from metaviz.store import Store
    store = Store(sys.argv[1])
    run_id = store.create_run({"task": "sinusoid", "learner": "maml", "seed": 0, "train": {"n_steps": 10**6}},
                              owner_token="tok", source="test")
    print(run_id, flush=True)
    batch = int(sys.argv[2])
    for step in range(int(sys.argv[3])):
        store.add_metrics(run_id, [(step, "loss", float(i)) for i in range(batch)], token="tok", step=step)
        time.sleep(float(sys.argv[4]))
    print("finished", flush=True)
""")


def writer(home, batch, steps, pause):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(batch), str(steps), str(pause)],
                               stdout=subprocess.PIPE, text=True, env=env)
    return process, process.stdout.readline().strip()


def test_a_killed_writer_leaves_an_intact_database_and_an_interrupted_run(tmp_path):
    process, run_id = writer(tmp_path, batch=50, steps=10**6, pause=0.0)
    store = Store(tmp_path)
    deadline = time.monotonic() + 30
    while store.get(run_id).step < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.get(run_id).status == "running"  # alive: not reaped
    process.send_signal(signal.SIGKILL)  # mid-stream, most likely inside a transaction
    process.wait()
    record = Store(tmp_path).get(run_id)  # opening the store notices the dead owner
    assert record.status == "interrupted" and f"pid {process.pid}" in record.message
    with sqlite3.connect(tmp_path / "runs.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts = conn.execute("SELECT step, COUNT(*) FROM metrics WHERE run_id=? GROUP BY step", (run_id,)).fetchall()
    assert len(counts) >= 20 and all(n == 50 for _, n in counts)  # whole transactions only
    assert [s for s, _ in counts] == list(range(len(counts)))


def test_readers_run_beside_a_writer(tmp_path):
    process, run_id = writer(tmp_path, batch=20, steps=150, pause=0.002)
    store, seen = Store(tmp_path), []
    while process.poll() is None:
        history = store.history(run_id)  # never "database is locked", never half a transaction
        seen.append(len(history.train["step"]))
        assert len(store.runs()) == 1
    assert process.wait() == 0 and process.stdout.read().strip() == "finished"
    assert seen == sorted(seen) and len(set(seen)) > 3  # reads interleaved with the writes
    assert len(store.history(run_id).train["step"]) == 150


def test_delete_removes_the_run_its_metrics_and_its_files(tmp_path):
    store = Store(tmp_path)
    keep, _, _ = record_run(store, steps=5)
    gone, _, _ = record_run(store, steps=5, checkpoint_every=1)
    folder = store.checkpoint_dir(gone.id)
    assert len(list(folder.iterdir())) == 10  # parameters and training state at steps 1..5
    store.delete(gone.id[:5])  # a unique prefix is enough
    assert not folder.exists() and [r.id for r in store.runs()] == [keep.id]
    with sqlite3.connect(tmp_path / "runs.sqlite") as conn:
        for table in ("metrics", "evals", "checkpoints"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id=?", (gone.id,)).fetchone()[0] == 0
    with pytest.raises(StoreError, match="no run"):
        store.get(gone.id)
    assert len(store.history(keep.id).train["step"]) == 5


def test_data_folder_comes_from_metaviz_home(tmp_path, monkeypatch):
    monkeypatch.setenv("METAVIZ_HOME", str(tmp_path / "home"))
    store = Store()
    assert store.path == tmp_path / "home" / "runs.sqlite" and store.path.exists()
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_app_worker_records_its_runs_and_resumes_stored_ones(tmp_path):
    from metaviz.worker import Worker

    store = Store(tmp_path)
    config = RunConfig(train=TrainConfig(meta_batch=4, n_steps=400, eval_every=5, n_eval_tasks=8, eval_steps=2,
                                         hidden=16))
    first = Worker(store=store)
    try:
        first.start(config)
        snap = first.wait(lambda s: s.step >= 6)
        run_id = snap.run_id
        record = store.get(run_id)
        assert record.status == "running" and record.source == "app" and record.owner_pid == os.getpid()
        paused = first.sync(first.pause())
        assert store.get(run_id).status == "paused"
        assert store.last_checkpoint(run_id).step == paused.step
        first.sync(first.step(2))
        stepped = first.wait(lambda s: s.status == "paused" and s.step == paused.step + 2)
        # the checkpoint of the earlier pause was replaced, not kept beside the new one
        assert [c.step for c in store.checkpoints(run_id)] == [stepped.step]
    finally:
        first.close()
    record = store.get(run_id)
    assert record.status == "stopped" and record.step == stepped.step and record.owner_pid is None

    second = Worker(store=store)
    try:
        resumed = second.sync(second.resume_stored(run_id[:4], paused=True), timeout=60)
        assert (resumed.status, resumed.step, resumed.run_id) == ("paused", stepped.step, run_id)
        assert list(resumed.train["step"]) == list(range(1, stepped.step + 1))  # the past is drawn too
        assert store.get(run_id).status == "paused"
        second.step(3)
        second.wait(lambda s: s.status == "paused" and s.step == stepped.step + 3)
        history = store.history(run_id)
        assert list(history.train["step"]) == list(range(1, stepped.step + 4))
        failed = second.sync(second.resume_stored("nope"), timeout=60)
        assert failed.status == "error" and "no run 'nope'" in failed.message
    finally:
        second.close()
    assert store.get(run_id).status == "stopped"


OPEN_AT_ONCE = """
import sys, time
from metaviz.store import Store
start = float(sys.argv[2])
while time.time() < start:  # every process opens the new store at the same moment, as torchrun's ranks do
    pass
store = Store(sys.argv[1])
print(len(store.runs()))
"""


def test_processes_that_open_a_new_store_at_the_same_moment_all_succeed(tmp_path):
    """Switching a new database to WAL needs an exclusive lock that SQLite does not wait for: the store
    retries, so no process fails with "database is locked"."""
    start = f"{time.time() + 2.0:.3f}"
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, str(tmp_path / "home"), start],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert all(code == 0 and out.strip() == "0" for out, _, code in results), [err for _, err, _ in results]
    assert Store(tmp_path / "home").path.exists()


def test_a_schema_1_store_gains_the_kind_and_result_columns_and_its_runs_are_meta_runs(tmp_path):
    store = Store(tmp_path)
    rid = store.create_run(SMALL.to_dict())
    conn = sqlite3.connect(store.path)  # what a schema-1 file looks like: neither column, user_version 1
    conn.execute("ALTER TABLE runs DROP COLUMN kind")
    conn.execute("ALTER TABLE runs DROP COLUMN result")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    store._local.conn.close()
    reopened = Store(tmp_path)
    record = reopened.get(rid)
    assert (record.kind, record.result) == ("meta", None)
    assert record.run_config() == SMALL
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    with pytest.raises(StoreError, match="kind"):
        reopened.update(rid, kind="automl")
