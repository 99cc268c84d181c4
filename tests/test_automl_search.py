"""The AutoML event stream: resumable, registered methods, configs round-trip."""

import numpy as np
import pytest

from metaviz import automl
from metaviz.automl.search import AutoMLConfig, AutoMLRun, OuterStepEvent, ResultEvent, search
from metaviz.events import DoneEvent
from metaviz.registry import classes_in, plugin_modules

SMALL = {"unrolled": {"inner_steps": 4, "hidden": 8}, "implicit": {"steps_per_outer": 3, "neumann_steps": 3,
                                                                    "hidden": 8},
         "random_search": {"inner_steps": 4, "hidden": 8}, "grid_search": {"inner_steps": 4, "hidden": 8},
         "darts": {"retrain_steps": 5, "width": 6}, "random_nas": {"train_steps": 5, "width": 6}}


def small_config(method: str, task: str = "blobs", steps: int = 4) -> AutoMLConfig:
    return AutoMLConfig(task=task, method=method, method_config=automl.get(method).Config(**SMALL[method]),
                        outer_steps=steps, seed=1)


def test_one_method_per_module_and_every_method_is_registered():
    modules = plugin_modules("metaviz.automl.methods")
    assert all(len(classes_in(m, automl.SearchMethod)) == 1 for m in modules)
    assert set(automl.available()) == set(SMALL)
    assert set(automl.available("architecture")) == {"darts", "random_nas"}


@pytest.mark.parametrize("method", sorted(SMALL))
def test_a_search_resumed_in_pieces_gives_the_same_stream_as_one_call(method):
    whole = [e for e in search(AutoMLRun(small_config(method)), 10) if isinstance(e, OuterStepEvent)]
    run = AutoMLRun(small_config(method))
    first = list(search(run, 2))
    assert isinstance(first[-1], DoneEvent) and not first[-1].finished
    rest = list(search(run, 10))
    pieces = [e for e in first + rest if isinstance(e, OuterStepEvent)]
    assert [e.step for e in pieces] == [1, 2, 3, 4]
    assert [e.compute_steps for e in pieces] == [e.compute_steps for e in whole]
    np.testing.assert_allclose([e.val_loss for e in pieces], [e.val_loss for e in whole], rtol=1e-5)
    assert isinstance(rest[-2], ResultEvent) and rest[-1].finished
    assert rest[-2].compute_steps == 4 * run.method.cost_per_step()
    assert list(search(run, 5))[-1].finished  # nothing left to do, and no second result


def test_config_round_trips_and_bad_input_is_rejected():
    config = small_config("darts", task="digits")
    assert AutoMLConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="tasks"):
        AutoMLConfig(task="omniglot")
    with pytest.raises(ValueError, match="available"):
        AutoMLConfig(method="no-such-method")
    with pytest.raises(TypeError, match="DartsConfig"):
        AutoMLConfig(method="darts", method_config=automl.get("unrolled").Config())


def test_the_worker_waits_for_a_scheduler_slot_and_runs_the_baseline_at_equal_compute():
    from metaviz.automl.worker import AutoMLWorker, curve
    from metaviz.scheduler import Scheduler

    scheduler = Scheduler(1)
    other = scheduler.request()  # a meta-training run holds the only slot
    worker = AutoMLWorker(scheduler)
    worker.start(small_config("unrolled", steps=3))
    import time

    time.sleep(0.5)
    assert worker.snapshot().status == "queued" and not worker.snapshot().steps
    scheduler.release(other)
    snap = worker.wait(60)
    assert snap.status == "done" and len(snap.steps) == 3 and snap.result and snap.baseline_result
    assert curve(snap.steps)[0].tolist() == curve(snap.baseline_steps)[0].tolist() == [4, 8, 12]
    assert scheduler.running == 0
