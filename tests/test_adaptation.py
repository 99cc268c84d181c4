"""The Adaptation page: its analyses against loop references built from ``learner.adapt``, its figures' data,
and the page itself in AppTest (with no run, and with short runs in the session's worker)."""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from apptests import train_in_session
from streamlit.testing.v1 import AppTest

from metaviz import learners
from metaviz.analysis import adaptation as an
from metaviz.figures import adaptation as fig
from metaviz.figures.theme import learner_color
from metaviz.train import Run, RunConfig, TrainConfig, build_learner, train

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SMALL = TrainConfig(hidden=16, n_eval_tasks=4, meta_batch=4, eval_every=5, n_steps=10)
REGRESSION_INNER = [n for n in learners.available("regression") if learners.get(n).has_inner_loop]


def perturbed_state(config: RunConfig, name: str, scale: float = 0.1, seed: int = 1) -> dict[str, np.ndarray]:
    """The learner's seeded start plus noise, so no analysis sees a special (freshly initialised) network."""
    rng = np.random.default_rng(seed)
    learner = build_learner(config, name)
    weights = dict(learner.net.named_parameters())  # the network's own; learned step sizes etc. stay as they are
    return {k: v + scale * rng.standard_normal(v.shape).astype(v.dtype) if k in weights else v
            for k, v in learner.state_numpy().items()}


def loaded(config: RunConfig, name: str, state) -> "learners.MetaLearner":
    learner = build_learner(config, name)
    learner.load_numpy(state)
    return learner


def frozen(learner) -> dict[str, torch.Tensor]:
    return {k: v.detach() for k, v in learner.params.items()}


# ---- layer changes ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", REGRESSION_INNER)
def test_layer_changes_equal_a_loop_reference_from_adapt(name):
    config = RunConfig(learner=name, train=SMALL)
    state = perturbed_state(config, name)
    result = an.layer_changes(config, state, n_tasks=3, steps=3, seed=2)
    learner = loaded(config, name, state)
    batch = an.heldout_batch(config, 3, seed=2)
    layers = an.layer_groups(learner.net)
    assert result.layers == tuple(layers) and result.change.shape == (3, len(layers), 4)
    start = {k: v.double().numpy() for k, v in frozen(learner).items()}
    for t in range(3):
        ep = batch.task(t)
        for s in range(4):  # s inner steps taken at once by adapt, one task at a time, norms in float64
            adapted = learner.adapt(frozen(learner), ep.support_x, ep.support_y, steps=s).params
            for i, keys in enumerate(layers.values()):
                expected = np.sqrt(sum(((adapted[k].detach().double().numpy() - start[k]) ** 2).sum() for k in keys))
                np.testing.assert_allclose(result.change[t, i, s], expected, rtol=2e-4, atol=1e-6)
    norms = [np.sqrt(sum((start[k] ** 2).sum() for k in keys)) for keys in layers.values()]
    np.testing.assert_allclose(result.norm, norms, rtol=1e-6)
    np.testing.assert_allclose(result.relative, result.change.mean(0) / np.array(norms)[:, None], rtol=1e-6)
    assert result.is_head.tolist() == [False] * (len(layers) - 1) + [True]


def test_anil_moves_only_the_head_and_maml_moves_the_body():
    for name in ("anil", "maml"):
        config = RunConfig(learner=name, train=SMALL)
        result = an.layer_changes(config, perturbed_state(config, name), n_tasks=4, steps=2)
        body, head = result.change[:, ~result.is_head], result.change[:, result.is_head]
        assert np.all(head[:, :, 1:] > 0)
        if name == "anil":
            assert np.all(body == 0.0)  # exactly: ANIL returns the body's tensors untouched
        else:
            assert np.all(body[:, :, 1:] > 0)


def test_layer_changes_refuse_learners_without_an_inner_loop():
    config = RunConfig(learner="cnp", train=SMALL)
    with pytest.raises(ValueError, match="no gradient inner loop"):
        an.layer_changes(config, an.initial_state(config))


# ---- regression: fits and loss against steps -------------------------------------------------------------

def regression_states(config: RunConfig) -> dict:
    return {n: perturbed_state(config, n, seed=i) for i, n in enumerate(("maml", "pretrained"))} | \
        {"scratch": an.initial_state(config, "scratch")}


def test_the_last_fit_equals_the_adapted_prediction():
    config = RunConfig(train=SMALL)
    states = regression_states(config)
    result = an.adaptation_curves(config, states, task_seed=4, steps=5, grid=40)
    x = torch.tensor(result.x, dtype=torch.float32)[:, None]
    sx, sy = (torch.tensor(a)[:, None] for a in (result.support_x, result.support_y))
    for name, state in states.items():
        learner = loaded(config, name, state)
        adapted = learner.adapt(frozen(learner), sx, sy, steps=5).params
        np.testing.assert_allclose(result.predictions[name][-1], learner.predict(adapted, x)[:, 0].detach().numpy(),
                                   rtol=1e-5, atol=1e-5)


def test_step_curves_score_every_learner_on_the_same_support_sets():
    config = RunConfig(train=SMALL)
    states = regression_states(config)
    curves = an.step_curves(config, states, n_tasks=3, steps=3, seed=5)
    batch = an.heldout_batch(config, 3, seed=5)  # one batch for all: the same support and query sets
    for name, state in states.items():
        learner = loaded(config, name, state)
        assert curves.loss[name].shape == (3, 4) and np.isnan(curves.accuracy[name]).all()
        for t in range(3):
            ep = batch.task(t)
            for s in range(4):
                adapted = learner.adapt(frozen(learner), ep.support_x, ep.support_y, steps=s).params
                loss = float(((learner.predict(adapted, ep.query_x) - ep.query_y) ** 2).mean().detach())
                np.testing.assert_allclose(curves.loss[name][t, s], loss, rtol=1e-4)
    means, sem = curves.mean("loss"), curves.sem("loss")
    np.testing.assert_allclose(means["maml"], curves.loss["maml"].mean(0))
    np.testing.assert_allclose(sem["maml"], curves.loss["maml"].std(0, ddof=1) / np.sqrt(3))


def test_baselines_adapt_like_the_run_and_scratch_is_the_run_start():
    config = RunConfig(learner="maml", learner_config=learners.get("maml").Config(inner_lr=0.05, inner_steps=3),
                       train=SMALL, seed=3)
    for name in ("pretrained", "scratch", "reptile"):
        short = an.comparison_config(config, name, n_steps=7)
        assert short.learner_config.inner_lr == 0.05 and short.learner_config.inner_steps == 3
        assert (short.seed, short.task_config, short.train.hidden) == (3, config.task_config, 16)
        assert short.train.n_steps == 7 and not short.train.baseline
    scratch = an.initial_state(config, "scratch")
    for k, v in build_learner(config).state_numpy().items():  # the run's learner starts where scratch stays
        np.testing.assert_array_equal(scratch[k], v)
    with pytest.raises(ValueError, match="does not do regression"):
        an.comparison_config(config, "protonet")


def test_brief_training_is_a_short_run_of_the_comparison_config():
    config = RunConfig(train=SMALL)
    state = an.brief_train(config, "pretrained", n_steps=3, meta_batch=2)
    run = Run(an.comparison_config(config, "pretrained", 3, 2))
    list(train(run, 3))
    for k, v in run.learner.state_numpy().items():
        np.testing.assert_array_equal(state[k], v)
    assert any(not np.array_equal(state[k], v) for k, v in an.initial_state(config, "pretrained").items())


# ---- classification: shots ---------------------------------------------------------------------------------

def digits_config(**train) -> RunConfig:
    task = dataclasses.replace(RunConfig(task="digits").task_config, n_way=3, k_shot=2, n_query=4)
    return RunConfig(task="digits", task_config=task, train=dataclasses.replace(SMALL, **train))


def test_shot_episodes_are_nested_disjoint_and_counted():
    config = digits_config()
    episodes = an.shot_episodes(config, (10, 1, 5), n_tasks=4, seed=1)
    assert list(episodes) == [1, 5, 10]
    widest = an.heldout_batch(config, 4, 1, task_config=dataclasses.replace(config.task_config, k_shot=10))
    for k, ep in episodes.items():
        assert ep.support_x.shape == (4, 3 * k, 64) and ep.query_x.shape == (4, 3 * 4, 64)
        for t in range(4):
            counts = torch.bincount(ep.support_y[t], minlength=3)
            assert counts.tolist() == [k, k, k]
            torch.testing.assert_close(ep.query_x[t], episodes[1].query_x[t])      # the same queries at every K
            torch.testing.assert_close(ep.query_y[t], widest.query_y[t])
            support, query = ep.support_x[t], ep.query_x[t]
            assert not (support[:, None] == query[None]).all(-1).any()           # no example in both
            assert len(torch.unique(support, dim=0)) == 3 * k                   # no example twice
            for c in range(3):  # the first k examples of class c in the widest draw, with their labels
                torch.testing.assert_close(support[ep.support_y[t] == c],
                                           widest.support_x[t][widest.support_y[t] == c][:k])
    with pytest.raises(ValueError, match="60-shot"):
        an.shot_episodes(config, (1, 60))
    with pytest.raises(ValueError, match="classification"):
        an.shot_episodes(RunConfig(train=SMALL), (1, 5))


def test_shot_curves_match_a_loop_reference():
    config = digits_config()
    states = {"maml": perturbed_state(config, "maml"), "protonet": perturbed_state(config, "protonet")}
    curves = an.shot_curves(config, states, shots=(1, 5), n_tasks=3, steps=2, seed=2)
    episodes = an.shot_episodes(config, (1, 5), n_tasks=3, seed=2)
    assert curves.shots.tolist() == [1, 5] and curves.n_way == 3
    for name, state in states.items():
        learner = loaded(config, name, state)
        assert curves.accuracy[name].shape == (2, 3, 3)
        for i, k in enumerate((1, 5)):
            for t in range(3):
                ep = episodes[k].task(t)
                for s in range(3):
                    adapted = learner.adapt(frozen(learner), ep.support_x, ep.support_y, steps=s).params
                    accuracy = float((learner.predict(adapted, ep.query_x).argmax(-1) == ep.query_y).float().mean())
                    assert curves.accuracy[name][i, t, s] == pytest.approx(accuracy)
    assert np.ptp(curves.accuracy["protonet"], axis=2).max() == 0  # one pass over the support set: flat in steps


def test_shot_curves_stream_draws_the_end_shots_first_then_equals_the_one_shot_call():
    config = digits_config()
    states = {"maml": perturbed_state(config, "maml"), "protonet": perturbed_state(config, "protonet")}
    kw = dict(n_tasks=3, steps=2, seed=2)
    parts = list(an.shot_curves_stream(config, states, shots=(1, 3, 5), **kw))
    assert [p.done for p in parts] == [1, 2] and parts[-1].final and not parts[0].final
    assert parts[0].result.shots.tolist() == [1, 5] and parts[-1].result.shots.tolist() == [1, 3, 5]
    whole = an.shot_curves(config, states, shots=(1, 3, 5), **kw)
    for name in states:
        np.testing.assert_array_equal(parts[-1].result.accuracy[name], whole.accuracy[name])
        np.testing.assert_array_equal(parts[-1].result.loss[name], whole.loss[name])
        np.testing.assert_array_equal(parts[0].result.accuracy[name], whole.accuracy[name][[0, 2]])
    assert [p.result.shots.tolist() for p in an.shot_curves_stream(config, states, shots=(1, 5), **kw)] == [[1, 5]]


# ---- meta-overfitting and run records -----------------------------------------------------------------

def test_overfitting_curves_measure_the_gap_and_check_their_input():
    loss = an.overfitting_curves([0, 10, 20], [2.0, 1.0, np.nan], [2.5, 2.0, 3.0], "loss")
    assert loss.step.tolist() == [0, 10] and loss.gap.tolist() == [0.5, 1.0]   # NaN points dropped
    accuracy = an.overfitting_curves([0, 10], [0.5, 0.9], [0.4, 0.6], "accuracy")
    np.testing.assert_allclose(accuracy.gap, [0.1, 0.3])
    with pytest.raises(ValueError, match="differ in length"):
        an.overfitting_curves([0, 1], [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="metric"):
        an.overfitting_curves([0], [1.0], [1.0], "mse")
    assert an.overfit_from_evals({"step": np.arange(3.0), "val_loss": np.ones(3)}) is None
    evals = {"step": np.arange(2.0), "val_loss": np.array([3.0, 2]), "train_loss": np.array([np.nan, np.nan])}
    assert an.overfit_from_evals(evals) is None  # the run did not evaluate its meta-training tasks


def test_overfit_configs_differ_only_in_distinct_tasks():
    few, unlimited = an.overfit_configs(RunConfig(train=SMALL, seed=4), 6, n_steps=40, eval_every=10)
    assert few.train.distinct_tasks == 6 and unlimited.train.distinct_tasks == 0
    assert dataclasses.replace(few.train, distinct_tasks=0) == unlimited.train
    assert unlimited.train.eval_train  # both runs can draw meta-train against held-out
    assert (few.seed, few.learner, few.train.n_steps) == (4, "maml", 40)
    with pytest.raises(ValueError, match="at least 1"):
        an.overfit_configs(RunConfig(), 0)


def test_quick_run_keeps_a_checkpoint_at_each_evaluation():
    config = dataclasses.replace(an.default_config(n_steps=10), train=dataclasses.replace(SMALL, eval_train=True))
    record = an.quick_run(config)
    assert [c.step for c in record.checkpoints] == [0, 5, 10] and record.evals["step"].tolist() == [0, 5, 10]
    assert record.at(7).step == 5 and record.at(100).step == 10
    curves = an.overfit_from_evals(record.evals)
    assert curves is not None and len(curves.step) == 3
    run = Run(config)
    list(train(run, 10))
    for k, v in run.learner.state_numpy().items():
        np.testing.assert_array_equal(record.checkpoints[-1].learner[k], v)
    np.testing.assert_array_equal(record.checkpoints[0].learner["head.bias"], an.initial_state(config)["head.bias"])


def test_comparison_states_train_only_what_the_run_lacks():
    record = an.quick_run(dataclasses.replace(an.default_config(n_steps=5), train=SMALL))
    ckpt, asked = record.checkpoints[-1], []

    def train_briefly(config, name):
        asked.append((config, name))
        return {"trained": name}

    states = an.comparison_states(ckpt, ["maml", "pretrained", "scratch", "reptile", "maml"], train_briefly)
    assert list(states) == ["maml", "pretrained", "scratch", "reptile"]
    assert states["maml"] is ckpt.learner and states["pretrained"] is ckpt.baseline
    assert asked == [(ckpt.config, "reptile")] and states["reptile"] == {"trained": "reptile"}
    for k, v in an.initial_state(ckpt.config, "scratch").items():
        np.testing.assert_array_equal(states["scratch"][k], v)
    no_baseline = dataclasses.replace(ckpt, baseline=None)
    an.comparison_states(no_baseline, ["pretrained"], train_briefly)
    assert asked[-1] == (ckpt.config, "pretrained")  # a run without its baseline gets a brief one


def test_records_from_the_worker_tell_runs_apart():
    from metaviz.worker import Worker

    config = RunConfig(train=dataclasses.replace(SMALL, n_steps=10), device="cpu")
    worker = Worker()
    try:
        worker.sync(worker.start(config))
        first = an.record_from_snapshot(worker.wait(lambda s: s.status == "done", 60))
        assert [c.step for c in first.checkpoints] == [0, 5, 10] and first.status == "done"
        assert an.same_run(first, an.record_from_snapshot(worker.snapshot()))
        worker.sync(worker.start(config))
        second = an.record_from_snapshot(worker.wait(lambda s: s.status == "done", 60))
        assert not an.same_run(first, second)  # the same settings, but a new run
    finally:
        worker.close()


def test_fingerprint_follows_the_values():
    a = {"maml": {"w": np.zeros(3, np.float32)}, "scratch": {"w": np.ones(3, np.float32)}}
    b = {"maml": {"w": np.array([0, 0, 1e-7], np.float32)}, "scratch": {"w": np.ones(3, np.float32)}}
    assert an.fingerprint(a) == an.fingerprint({k: dict(v) for k, v in a.items()}) != an.fingerprint(b)


# ---- figures ---------------------------------------------------------------------------------------------

def test_step_curves_figure_draws_means_bands_and_chance():
    rng = np.random.default_rng(0)
    curves = an.StepCurves(np.arange(4), {"maml": rng.random((5, 4)), "scratch": rng.random((5, 4))},
                           {"maml": rng.random((5, 4)), "scratch": rng.random((5, 4))})
    figure = fig.step_curves_figure(curves, "accuracy", n_way=5)
    lines = {t.name: t for t in figure.data if t.name}
    assert list(lines) == ["MAML", "from scratch", "chance (1/5)"]
    np.testing.assert_allclose(lines["MAML"].y, curves.accuracy["maml"].mean(0))
    assert lines["MAML"].line.color == learner_color("maml") and list(lines["chance (1/5)"].y) == [0.2, 0.2]
    upper, lower = figure.data[0], figure.data[1]
    sem = curves.accuracy["maml"].std(0, ddof=1) / np.sqrt(5)
    np.testing.assert_allclose(upper.y, curves.accuracy["maml"].mean(0) + sem)
    np.testing.assert_allclose(lower.y, curves.accuracy["maml"].mean(0) - sem)
    assert lower.fill == "tonexty" and figure.layout.yaxis.range == (0, 1.02)


def test_shot_figures_draw_one_panel_per_learner_and_one_line_per_shot():
    rng = np.random.default_rng(1)
    acc = {n: rng.random((3, 6, 5)) for n in ("maml", "protonet")}
    curves = an.ShotCurves(np.array([1, 5, 10]), np.arange(5), acc, acc, n_way=3)
    small = fig.steps_by_shots_figure(curves)
    assert [a.text for a in small.layout.annotations] == ["MAML", "ProtoNet"]
    lines = [t for t in small.data if t.xaxis == "x2" and t.name.endswith("-shot")]  # the ProtoNet panel
    assert [t.name for t in lines] == ["1-shot", "5-shot", "10-shot"]
    assert all(t.hovertemplate.startswith("ProtoNet") for t in lines)
    np.testing.assert_allclose(lines[1].y, acc["protonet"][1].mean(0))
    by_shots = fig.shots_figure(curves, step=2)
    maml = next(t for t in by_shots.data if t.name == "MAML")
    assert list(maml.x) == [1, 5, 10]
    np.testing.assert_allclose(maml.y, acc["maml"].mean(1)[:, 2])
    assert by_shots.data[-1].name == "chance (1/3)"


def test_layer_changes_figure_draws_each_layer_and_the_last_step_per_checkpoint():
    config = RunConfig(train=SMALL)
    before = an.layer_changes(config, an.initial_state(config), n_tasks=2, steps=3)
    after = an.layer_changes(config, perturbed_state(config, "maml"), n_tasks=2, steps=3)
    figure = fig.layer_changes_figure({"meta-iteration 0": before, "meta-iteration 10": after}, name="anil")
    lines = [t for t in figure.data if t.type == "scatter"]
    bars = [t for t in figure.data if t.type == "bar"]
    assert [t.name for t in lines] == list(after.labels) and len(lines) == 3
    np.testing.assert_allclose(lines[2].y, after.relative[2])
    assert [b.name for b in bars] == ["meta-iteration 0", "meta-iteration 10"]
    np.testing.assert_allclose(bars[0].y, before.relative[:, -1])
    assert bars[1].marker.color == learner_color("anil")  # the chosen checkpoint in the learner's colour
    absolute = fig.layer_changes_figure({"now": after}, relative=False)
    np.testing.assert_allclose(absolute.data[0].y, after.mean_change[0])


def test_overfitting_figure_draws_train_and_heldout_per_run():
    few = an.overfitting_curves([0, 10, 20], [2.0, 1.0, 0.5], [2.0, 2.2, 2.5])
    many = an.overfitting_curves([0, 10, 20], [2.0, 1.5, 1.0], [2.0, 1.6, 1.1])
    figure = fig.overfitting_figure({"5 distinct tasks": few, "unlimited": many})
    assert [a.text for a in figure.layout.annotations] == ["5 distinct tasks", "unlimited"]
    assert [t.name for t in figure.data] == ["meta-train tasks", "held-out tasks"] * 2
    np.testing.assert_allclose(figure.data[1].y, [2.0, 2.2, 2.5])
    assert figure.data[3].xaxis == "x2" and figure.data[1].fill == "tonexty"


# ---- the page --------------------------------------------------------------------------------------------

def chart_titles(at: AppTest) -> list[str]:
    out = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out.append((spec["layout"].get("title") or {}).get("text", ""))
    return out


def open_adaptation(at: AppTest, until=lambda at: True) -> AppTest:
    """Switch to the Adaptation page; press Refresh until ``until(at)``."""
    at.switch_page("pages/adaptation.py")
    at.run()
    deadline = time.monotonic() + 60
    while True:
        at.button(key="adapt.refresh").click()
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        if until(at):
            return at
        assert time.monotonic() < deadline, "the page did not reach the expected state"
        time.sleep(0.3)


def run_done(at: AppTest) -> bool:
    return any("(run done when read)" in c.value for c in at.caption)



def test_page_opens_with_figures_from_a_default_run():
    at = open_adaptation(AppTest.from_file(APP, default_timeout=120))
    assert at.title[0].value == "Adaptation"
    assert any("No run in this session yet" in i.value for i in at.info)
    titles = chart_titles(at)
    assert len(titles) == 4 and any(t.startswith("Query loss against inner steps") for t in titles)
    assert any(t.startswith("How far each layer moved") for t in titles)
    assert any(t.startswith("Meta-train against held-out") for t in titles)  # the default run tracks train tasks


def iterations(at: AppTest) -> int:
    return int(next(m.value for m in at.metric if m.label == "Meta-iterations").split("/")[0].replace(",", ""))


def rerun_until(at: AppTest, predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(at):
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.2)
        at.run()
        assert not at.exception, [e.value for e in at.exception]


def test_page_holds_the_run_checkpoints_until_refresh():
    config = RunConfig(train=TrainConfig(n_steps=1000, eval_every=2, n_eval_tasks=5, eval_train=True))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["mv.run_config"] = config
    at.switch_page("pages/train.py")
    at.run()
    at.button(key="start").click()
    at.run()
    rerun_until(at, lambda a: iterations(a) >= 4)
    at.button(key="pause").click()
    at.run()
    rerun_until(at, lambda a: a.button(key="start").label == "Resume")
    paused = iterations(at)

    at = open_adaptation(at)
    assert not at.info  # the session's run, not the default one
    options = at.select_slider(key="adapt.step").options
    assert options[0] == "0" and options[-1] == str(paused) and len(chart_titles(at)) == 4
    at.switch_page("pages/train.py")
    at.run()
    at.button(key="step").click()
    at.run()
    rerun_until(at, lambda a: iterations(a) == paused + 1)

    at.switch_page("pages/adaptation.py")
    at.run()
    assert at.select_slider(key="adapt.step").options == options  # held until Refresh
    assert any(f"reached meta-iteration {paused + 1}: press Refresh" in c.value for c in at.caption)
    at.button(key="adapt.refresh").click()
    at.run()
    assert at.select_slider(key="adapt.step").options[-1] == str(paused + 1)
    at.select_slider(key="adapt.step").set_value(0)
    at.slider(key="adapt.inner").set_value(3)
    at.run()
    assert not at.exception and any("from meta-iteration 0" in c.value for c in at.caption)
    at.switch_page("pages/train.py")
    at.run()
    at.button(key="reset").click()
    at.run()


@pytest.mark.slow
def test_page_compares_classification_learners_and_runs_the_overfitting_pair():
    config = RunConfig(task="blobs", train=TrainConfig(n_steps=10, eval_every=5, n_eval_tasks=5))
    at = open_adaptation(train_in_session(config), run_done)
    titles = chart_titles(at)
    assert any(t.startswith("Accuracy against inner steps, per learner") for t in titles)
    assert any(t.startswith("Accuracy against shots") for t in titles)
    at.multiselect(key="adapt.learners").select("protonet")  # not trained by the run: trained briefly here
    at.run()
    assert not at.exception and not at.error
    small = json.loads(next(c for c in at.get("plotly_chart") if "per learner" in str(c.proto.spec)).proto.spec)
    assert [a["text"] for a in small["layout"]["annotations"]] == ["MAML", "pretrained + fine-tune", "from scratch",
                                                                  "ProtoNet"]
    at.number_input(key="adapt.budget").set_value(50)
    at.button(key="adapt.compare").click()
    at.run()

    def pair_titles() -> list[str]:
        for chart in at.get("plotly_chart"):
            layout = json.loads(chart.proto.spec)["layout"]
            if "distinct tasks" in json.dumps(layout.get("annotations", [])):
                return [a["text"] for a in layout["annotations"]]
        return []

    deadline = time.monotonic() + 120
    while not (len(pair_titles()) == 2 and all(t.endswith("(50/50)") for t in pair_titles())):
        assert time.monotonic() < deadline, f"the comparison did not finish: {pair_titles()}"
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    assert pair_titles() == ["5 distinct tasks (50/50)", "unlimited distinct tasks (50/50)"]
