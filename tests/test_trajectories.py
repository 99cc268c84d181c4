"""Shipped demo trajectories: the file round-trips, the page's run loads from it, and it is the run the page would
train (retrained here and compared), so shipping it changes the first figure's speed, not its content."""

import dataclasses

import numpy as np
import pytest

from metaviz import trajectories
from metaviz.analysis.embedding import omniglot_available, quick_config, quick_run
from metaviz.analysis.landscape import default_run, default_run_config, train_trajectory
from metaviz.train import RunConfig, TrainConfig

LANDSCAPE = trajectories.DEMO_DIR / "landscape-sine-maml-150-every-10.safetensors"


def test_save_load_round_trip_and_bad_files(tmp_path):
    config = default_run_config(seed=3, n_steps=4)
    trajectory = ((0, {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}), (2, {"w": np.ones((2, 3), np.float32)}))
    path = trajectories.save(tmp_path / "t.safetensors", config, trajectory, {"val_loss": np.array([1.5, np.nan])})
    loaded_config, loaded, arrays = trajectories.load(path)
    assert loaded_config == config and [s for s, _ in loaded] == [0, 2]
    np.testing.assert_array_equal(arrays["val_loss"], [1.5, np.nan])
    np.testing.assert_array_equal(loaded[0][1]["w"], trajectory[0][1]["w"])
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="bad.safetensors: not a metaviz trajectory"):
        trajectories.load(tmp_path / "bad.safetensors")


def test_cached_uses_the_file_only_for_its_own_config(tmp_path, monkeypatch):
    config = default_run_config(seed=0, n_steps=4)
    trajectories.save(tmp_path / "x.safetensors", config, ((0, {"w": np.zeros(2, np.float32)}),))
    monkeypatch.setattr(trajectories, "DEMO_DIR", tmp_path)
    fresh = ((0, {"w": np.ones(2, np.float32)}),)
    assert trajectories.cached("x", config, lambda: fresh)[0][1]["w"].sum() == 0  # the file
    other = dataclasses.replace(config, seed=1)
    assert trajectories.cached("x", other, lambda: fresh) is fresh  # another seed trains
    assert trajectories.cached("missing", config, lambda: fresh) is fresh


@pytest.mark.slow
@pytest.mark.skipif(not omniglot_available(), reason="Omniglot's background sets are not on this machine")
def test_the_shipped_embedding_run_is_the_run_the_page_would_train(monkeypatch):
    config = quick_config("omniglot", seed=0)
    shipped = quick_run(config).checkpoints
    monkeypatch.setattr(trajectories, "DEMO_DIR", trajectories.DEMO_DIR / "absent")  # train, not load
    retrained = quick_run(config).checkpoints
    assert [s for s, _ in retrained] == [s for s, _ in shipped] and len(shipped) == 11
    for (_, a), (_, b) in zip(retrained, shipped):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_the_shipped_landscape_run_is_the_run_the_page_would_train():
    stored_config, stored, _ = trajectories.load(LANDSCAPE)
    config, shipped = default_run(seed=0)
    assert stored_config == config and len(shipped) == 16
    retrained = train_trajectory(config, every=10)
    assert [s for s, _ in retrained] == [s for s, _ in shipped]
    for (_, a), (_, b) in zip(retrained, shipped):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_the_shipped_adaptation_run_is_the_run_the_page_would_train():
    from metaviz.analysis import adaptation

    config = adaptation.default_config(seed=0)
    shipped = adaptation.quick_run(config)  # from metaviz/zoo/demo
    assert shipped.source == "default" and len(shipped.checkpoints) == 11 and shipped.seconds > 0
    retrained = adaptation.trained_run(config)
    assert [c.step for c in retrained.checkpoints] == [c.step for c in shipped.checkpoints]
    for a, b in zip(retrained.checkpoints, shipped.checkpoints):
        assert a.config == b.config
        for part in ("learner", "baseline"):
            for k, v in getattr(a, part).items():
                np.testing.assert_allclose(v, getattr(b, part)[k], rtol=1e-4, atol=1e-5)
    assert retrained.evals.keys() == shipped.evals.keys()
    for k, v in retrained.evals.items():
        np.testing.assert_allclose(v, shipped.evals[k], rtol=1e-4, atol=1e-6)


def test_lesson_runs_are_recorded_once_and_then_loaded(tmp_path, monkeypatch):
    from metaviz.analysis import lessons

    config = RunConfig(task="sinusoid", learner="maml", seed=1, device="cpu",
                       train=TrainConfig(n_steps=3, meta_batch=4, eval_every=3, n_eval_tasks=1, eval_steps=0))
    monkeypatch.setattr(trajectories, "DEMO_DIR", tmp_path)
    trained = lessons.train_states({"maml": config}, baseline_of="maml")  # no file, not recording: trains
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("METAVIZ_RECORD_DEMOS", "1")
    recorded = lessons.train_states({"maml": config}, baseline_of="maml")
    (path,) = tmp_path.iterdir()
    assert path.name.startswith("lesson-maml-")
    calls = []
    monkeypatch.setattr(lessons, "_train_states", lambda *a: calls.append(a))
    loaded = lessons.train_states({"maml": config}, baseline_of="maml")
    assert not calls and loaded.seconds == pytest.approx(recorded.seconds)  # loaded, not trained
    assert loaded.states.keys() == trained.states.keys() == {"maml", "pretrained"}
    for state in trained.states:
        for k, v in trained.states[state].items():
            np.testing.assert_array_equal(loaded.states[state][k], v)  # the same seeded run, bit for bit
    other = dataclasses.replace(config, seed=2)
    monkeypatch.setattr(lessons, "_train_states", lambda *a: calls.append(a) or trained)
    lessons.train_states({"maml": other}, baseline_of="maml")
    assert len(calls) == 1  # another seed is another fingerprint: trained
