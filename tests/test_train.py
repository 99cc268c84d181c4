"""The event stream: cadence, resumability, divergence, and that MAML learns to adapt."""

import numpy as np
import pytest
import torch

from metaviz.events import DivergedEvent, DoneEvent, EvalEvent, StepEvent
from metaviz.learners.maml import MAMLConfig
from metaviz.tasks.sinusoid import SinusoidConfig
from metaviz.train import Run, RunConfig, TrainConfig, train

SMALL = TrainConfig(meta_batch=4, n_steps=40, eval_every=10, n_eval_tasks=8, eval_steps=3, hidden=16)


def test_event_cadence():
    events = list(train(Run(RunConfig(train=SMALL)), 25))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "EvalEvent" and events[0].step == 0
    assert [e.step for e in events if isinstance(e, EvalEvent)] == [0, 10, 20]
    assert [e.step for e in events if isinstance(e, StepEvent)] == list(range(1, 26))
    assert isinstance(events[-1], DoneEvent) and events[-1].step == 25 and not events[-1].finished
    assert all(e.val.loss.shape == (4,) and e.baseline_val.loss.shape == (4,) and e.val.accuracy is None
               for e in events if isinstance(e, EvalEvent))


def test_resuming_gives_the_same_losses_as_an_uninterrupted_run():
    config = RunConfig(train=SMALL, seed=3)
    whole = [e for e in train(Run(config), 40) if not isinstance(e, DoneEvent)]
    run = Run(config)
    parts = [e for n in (15, 7, 18) for e in train(run, n) if not isinstance(e, DoneEvent)]
    assert [type(e) for e in whole] == [type(e) for e in parts]
    for a, b in zip(whole, parts):
        if isinstance(a, StepEvent):
            assert (a.step, a.loss, a.baseline_loss) == (b.step, b.loss, b.baseline_loss)
        else:
            np.testing.assert_array_equal(a.val.loss, b.val.loss)
    assert run.status == "done"


def test_train_stops_at_the_planned_number_of_steps():
    run = Run(RunConfig(train=SMALL))
    events = list(train(run, 1000))
    assert run.step == 40 and events[-1].finished
    assert list(train(run, 5))[-1] == DoneEvent(40, True)  # nothing more to do


def test_different_seeds_see_different_tasks():
    a = list(train(Run(RunConfig(train=SMALL, seed=0)), 2))[1]
    b = list(train(Run(RunConfig(train=SMALL, seed=1)), 2))[1]
    assert a.loss != b.loss


def test_divergence_stops_the_run_and_keeps_the_last_finite_parameters():
    learner = MAMLConfig(inner_lr=10.0, inner_steps=5)  # the inner loop explodes
    run = Run(RunConfig(learner_config=learner, train=SMALL))
    before = {k: v.detach().clone() for k, v in run.learner.params.items()}
    events = list(train(run, 10))
    diverged = [e for e in events if isinstance(e, DivergedEvent)]
    assert len(diverged) == 1 and run.status == "diverged"
    assert "Lower the meta learning rate" in diverged[0].message and "inner learning rate" in diverged[0].message
    assert all(torch.isfinite(v).all() for v in run.learner.params.values())
    if diverged[0].step == 1:  # no step was applied at all
        assert all(torch.equal(run.learner.params[k], before[k]) for k in before)
    again = list(train(run, 10))
    assert len(again) == 1 and isinstance(again[0], DivergedEvent)


def test_live_learning_rate_changes_apply_to_the_optimizers_and_the_inner_loop():
    run = Run(RunConfig(train=SMALL))
    run.set_meta_lr(0.05)
    run.set_inner_lr(0.002)
    assert run.optimizer.param_groups[0]["lr"] == 0.05 == run.baseline_optimizer.param_groups[0]["lr"]
    assert run.learner.config.inner_lr == 0.002 == run.baseline.config.inner_lr
    assert run.config.train.meta_lr == 0.05 and run.config.learner_config.inner_lr == 0.002


def test_run_config_round_trips_through_a_dict_and_rejects_bad_values():
    config = RunConfig(task_config=SinusoidConfig(k_shot=5), learner_config=MAMLConfig(first_order=True), seed=7)
    assert RunConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="k_shot"):
        SinusoidConfig(k_shot=0)
    with pytest.raises(ValueError, match="amp_min"):
        SinusoidConfig(amp_min=3.0, amp_max=1.0)
    with pytest.raises(ValueError, match="unknown fields"):
        RunConfig.from_dict({**config.to_dict(), "train": {"nonsense": 1}})
    with pytest.raises(ValueError, match="unknown meta-learner"):
        RunConfig(learner="nope")


def test_maml_beats_the_pretrained_baseline_on_held_out_sine_tasks():
    # The MAML paper's setup: K=10, one inner step (alpha=0.01), 1-40-40-1 MLP; a higher
    # meta learning rate than the paper's 1e-3 so that a few hundred steps suffice.
    config = RunConfig(train=TrainConfig(meta_batch=25, n_steps=300, eval_every=300, n_eval_tasks=100,
                                         meta_lr=0.01), seed=0)
    evals = [e for e in train(Run(config), 300) if isinstance(e, EvalEvent)]
    first, last = evals[0], evals[-1]
    assert last.step == 300
    assert last.val_loss < 0.6 * last.baseline_val_loss
    assert last.val_loss < 0.5 * first.val_loss
    assert last.val.loss[10] < last.val.loss[1]  # more inner steps at test time keep helping


def test_config_strings_are_read_as_their_fields_types():
    assert MAMLConfig.from_dict({"first_order": "false", "inner_steps": "3"}) == MAMLConfig(first_order=False,
                                                                                           inner_steps=3)
    assert MAMLConfig.from_dict({"first_order": "True"}).first_order is True
    with pytest.raises(ValueError, match="not true or false"):
        MAMLConfig.from_dict({"first_order": "maybe"})
    with pytest.raises(ValueError, match="not a valid int"):
        MAMLConfig.from_dict({"inner_steps": "two"})


def test_a_shifted_meta_test_distribution_is_tracked_beside_meta_validation():
    config = RunConfig(train=SMALL, test_task_config=SinusoidConfig(amp_min=5.0, amp_max=10.0))
    evals = [e for e in train(Run(config), 20) if isinstance(e, EvalEvent)]
    last = evals[-1]
    assert last.test is not None and last.baseline_test is not None
    assert last.test.loss.shape == last.val.loss.shape
    # waves twice as tall are harder for a learner meta-trained on amplitudes 0.1 to 5
    assert last.test.loss[0] > 2 * last.val.loss[0]
    assert {"test_loss", "baseline_test_loss"} <= set(last.scalars())
    with pytest.raises(ValueError, match="same input shape"):
        from metaviz.tasks.digits import DigitsConfig
        Run(RunConfig(task="digits", task_config=DigitsConfig(n_way=3), test_task_config=DigitsConfig(n_way=4),
                      train=SMALL))


def test_changing_the_meta_learning_rate_keeps_each_groups_scale():
    from metaviz.learners.metasgd import MetaSGDConfig

    run = Run(RunConfig(learner="metasgd", learner_config=MetaSGDConfig(lr_scale=0.1), train=SMALL))
    assert [g["lr"] for g in run.optimizer.param_groups] == pytest.approx([0.01, 0.001])
    run.set_meta_lr(0.02)
    assert [g["lr"] for g in run.optimizer.param_groups] == pytest.approx([0.02, 0.002])


def test_distinct_tasks_draw_every_batch_from_a_fixed_pool_and_track_meta_training_tasks():
    config = RunConfig(seed=4, train=TrainConfig(meta_batch=6, n_steps=5, eval_every=5, n_eval_tasks=10,
                                                 eval_steps=1, hidden=8, distinct_tasks=3))
    run = Run(config)
    pool = run.task_pool.support_x  # [3, K, 1]
    for step in range(4):
        batch = run.batch_for_step(step).support_x
        matches = (batch[:, None] == pool[None]).flatten(2).all(-1)  # [6, 3]: batch task i is pool task j
        assert (matches.sum(1) == 1).all()
    assert run.train_eval_batch.n_tasks == 3  # min(n_eval_tasks, distinct_tasks): the whole pool
    last = [e for e in train(run, 5) if isinstance(e, EvalEvent)][-1]
    assert {"train_loss", "baseline_train_loss", "val_loss"} <= set(last.scalars())
    unlimited = Run(RunConfig(seed=4, train=TrainConfig(meta_batch=6, n_eval_tasks=10, hidden=8)))
    assert unlimited.task_pool is None and unlimited.train_eval_batch is None
