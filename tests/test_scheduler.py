"""The job scheduler: at most N runs train at once, the rest queue first come first served, paused and closed
workers free their slot or leave the queue, and the operator's per-session limits stop a run with a message."""

import time

import pytest

from metaviz.scheduler import Limits, Scheduler, default_max_jobs
from metaviz.store import Store
from metaviz.train import RunConfig, TrainConfig
from metaviz.worker import Worker

LONG = RunConfig(train=TrainConfig(meta_batch=2, n_steps=100_000, eval_every=50, n_eval_tasks=4, eval_steps=1,
                                   hidden=8), device="cpu")
SHORT = RunConfig(train=TrainConfig(meta_batch=2, n_steps=6, eval_every=3, n_eval_tasks=4, eval_steps=1, hidden=8),
                  device="cpu")


@pytest.fixture
def workers():
    made = []

    def make(*args, **kwargs):
        made.append(Worker(*args, **kwargs))
        return made[-1]

    yield make
    for w in made:
        w.close()


def test_scheduler_grants_in_order_and_reports_positions():
    s = Scheduler(2)
    a, b, c, d = (s.request() for _ in range(4))
    assert [s.position(t) for t in (a, b, c, d)] == [0, 0, 1, 2] and (s.running, s.waiting) == (2, 2)
    s.release(c)  # leaving the queue moves those behind it up
    assert s.position(d) == 1 and s.position(c) == -1
    s.release(a)
    assert s.granted(d) and s.waiting == 0
    s.release(a)  # twice: ignored
    assert s.running == 2
    unlimited = Scheduler(0)
    assert all(unlimited.granted(unlimited.request()) for _ in range(10))


def test_scheduler_wakes_the_waiting_and_drops_dead_owners():
    s = Scheduler(1)
    woken = []
    alive = {"a": True}
    a = s.request(alive=lambda: alive["a"])
    b = s.request(wake=lambda: woken.append("b"))
    c = s.request(wake=lambda: woken.append("c"))
    assert s.position(c) == 2 and woken == ["b"]  # c's arrival: b is told its (unchanged) place
    woken.clear()
    alive["a"] = False  # a's worker thread died without releasing: the next change drops it
    s.release(c)
    assert s.granted(b) and woken == ["b"] and s.position(a) == -1


def test_a_second_worker_queues_and_starts_when_the_first_pauses(workers):
    scheduler = Scheduler(1)
    first, second, third = (workers(scheduler=scheduler, limits=Limits()) for _ in range(3))
    first.start(LONG)
    first.wait(lambda s: s.status == "running" and s.step >= 1)
    queued = second.sync(second.start(LONG))
    assert (queued.status, queued.queue_position) == ("queued", 1) and queued.live and queued.active
    assert third.sync(third.start(LONG)).queue_position == 2
    time.sleep(0.3)
    assert second.snapshot().step == 0  # waiting, not training

    first.sync(first.pause())  # a paused run frees its slot: the head of the queue trains, the rest move up
    second.wait(lambda s: s.status == "running" and s.step >= 1)
    assert (third.wait(lambda s: s.queue_position == 1).status, first.snapshot().queue_position) == ("queued", 0)

    resumed = first.sync(first.resume())  # back to the end of the queue
    assert (resumed.status, resumed.queue_position) == ("queued", 2)
    stepped = first.sync(first.step(2))  # a step asked for while queued waits too
    assert stepped.status == "queued"
    second.close()  # a closed session frees its slot
    third.wait(lambda s: s.status == "running")
    assert first.wait(lambda s: s.queue_position == 1).step == resumed.step
    third.sync(third.pause())
    done = first.wait(lambda s: s.status == "paused" and s.step == resumed.step + 2)  # its 2 steps, then paused
    assert done.queue_position == 0 and scheduler.running == 0 and scheduler.waiting == 0


def test_a_finished_run_frees_its_slot_and_a_closed_worker_leaves_the_queue(workers):
    scheduler = Scheduler(1)
    first, second, third = (workers(scheduler=scheduler, limits=Limits()) for _ in range(3))
    first.sync(first.start(SHORT))
    assert second.sync(second.start(LONG)).status in ("queued", "running")
    assert third.sync(third.start(LONG)).status == "queued"
    first.wait(lambda s: s.status == "done")
    second.wait(lambda s: s.status == "running")  # the finished run's slot went to the next in line
    assert third.wait(lambda s: s.queue_position == 1).status == "queued"
    third.close()
    assert scheduler.waiting == 0 and scheduler.running == 1
    second.sync(second.stop())
    assert scheduler.running == 0


def test_the_step_limit_stops_a_run_with_a_message_and_saves_it(workers, tmp_path):
    store = Store(tmp_path)
    worker = workers(store=store, scheduler=Scheduler(1), limits=Limits(max_steps=7))
    worker.start(LONG)
    limited = worker.wait(lambda s: s.status == "limited")
    assert limited.step == 7 and "7 meta-iterations" in limited.message and "METAVIZ_MAX_STEPS" in limited.message
    assert not limited.live and not limited.active and limited.checkpoint.step == 7
    record = store.get(limited.run_id)
    assert record.status == "stopped" and store.last_checkpoint(record.id).step == 7  # resumable elsewhere
    assert worker.sync(worker.resume()).status == "limited" and worker.snapshot().step == 7
    again = worker.sync(worker.start(SHORT))  # the limit is the session's, over all its runs
    assert again.status == "limited" and again.step == 0


def test_the_time_limit_counts_training_time_only(workers):
    scheduler = Scheduler(1)
    holder = workers(scheduler=scheduler, limits=Limits())
    limited = workers(scheduler=scheduler, limits=Limits(max_seconds=0.5))
    holder.start(LONG)
    holder.wait(lambda s: s.status == "running")
    limited.sync(limited.start(LONG))
    time.sleep(0.8)  # queued for longer than its limit: not counted
    assert limited.snapshot().status == "queued"
    began = time.monotonic()  # before the pause: the slot may pass to the limited run before pause() returns
    holder.sync(holder.pause())
    snap = limited.wait(lambda s: s.status == "limited", timeout=30)
    assert time.monotonic() - began >= 0.5 and snap.step >= 1 and "METAVIZ_MAX_SECONDS" in snap.message


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("METAVIZ_MAX_JOBS", "3")
    monkeypatch.setenv("METAVIZ_MAX_STEPS", "100")
    monkeypatch.setenv("METAVIZ_MAX_SECONDS", "2.5")
    assert default_max_jobs() == 3 and Limits.from_env() == Limits(100, 2.5)
    monkeypatch.setenv("METAVIZ_MAX_STEPS", "lots")
    with pytest.raises(ValueError, match="METAVIZ_MAX_STEPS='lots' is not a whole number"):
        Limits.from_env()
    monkeypatch.setenv("METAVIZ_MAX_JOBS", "-1")
    with pytest.raises(ValueError, match="negative"):
        default_max_jobs()
    monkeypatch.delenv("METAVIZ_MAX_JOBS")
    import torch

    if torch.cuda.is_available():
        assert default_max_jobs() == 1
    else:
        assert 2 <= default_max_jobs() <= 4  # the CPU: half the cores, from 2 to 4


def test_the_train_page_shows_the_queue_position(monkeypatch, workers):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    import metaviz.scheduler

    scheduler = Scheduler(1)
    monkeypatch.setattr(metaviz.scheduler, "_DEFAULT", scheduler)  # the app's workers share this one
    holder = workers(scheduler=scheduler, limits=Limits())
    holder.start(LONG)
    holder.wait(lambda s: s.status == "running")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    at.button(key="start").click()
    at.run()
    deadline = time.monotonic() + 30
    while not any("position 1 in the queue" in i.value for i in at.info):
        assert time.monotonic() < deadline, [i.value for i in at.info]
        time.sleep(0.2)
        at.run()
    assert not at.exception
    assert scheduler.waiting == 1
    at.button(key="pause").click()  # Pause leaves the queue
    at.run()
    assert scheduler.waiting == 0 and not any("in the queue" in i.value for i in at.info)
