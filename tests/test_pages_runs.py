"""The Runs and Compare pages through the router (AppTest), over runs stored in a temporary METAVIZ_HOME."""

import base64
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from metaviz.figures.theme import learner_color
from metaviz.learners.maml import MAMLConfig
from metaviz.recorder import Recorder
from metaviz.store import Store
from metaviz.train import Run, RunConfig, TrainConfig, train

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TINY = TrainConfig(meta_batch=4, n_steps=10, eval_every=5, n_eval_tasks=8, eval_steps=2, hidden=16)


def stored_run(store, learner="maml", steps=None, seed=0, **kw):
    config = RunConfig(learner=learner, learner_config=MAMLConfig(first_order=True) if learner == "maml" else None,
                       train=TINY, seed=seed)
    run = Run(config)
    with Recorder.start(store, run, source="test", checkpoint_every=5, **kw) as recorder:
        for event in train(run, steps or TINY.n_steps):
            recorder.record(event)
    return recorder.id


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("METAVIZ_HOME", str(tmp_path))
    return Store(tmp_path)


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(page)  # straight there: the Home page would meta-train its demo first
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def values(data):
    """A trace's x or y: plotly sends numpy arrays as base64 typed arrays."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
    return np.asarray(data, float)


def test_runs_page_without_runs_says_how_to_make_one(home):
    at = open_page("pages/runs.py")
    assert at.title[0].value == "Runs"
    assert any("python -m metaviz train" in i.value for i in at.info)


def test_runs_page_lists_filters_and_opens_runs(home):
    maml = stored_run(home, "maml")
    reptile = stored_run(home, "reptile")
    at = open_page("pages/runs.py")
    assert len(at.dataframe[0].value) == 2
    at.multiselect(key="runs.learner").select("reptile").run()
    assert list(at.dataframe[0].value["run"]) == [reptile]
    at.multiselect(key="runs.learner").unselect("reptile").run()

    at.selectbox(key="runs.open").set_value(maml).run()
    assert not at.exception
    loss = charts(at)[0]
    val = next(t for t in loss["data"] if t["name"].startswith("meta-val"))
    history = home.history(maml)
    np.testing.assert_allclose(values(val["y"]), history.evals["val_loss"])
    assert val["line"]["color"] == learner_color("maml")
    meta_iterations = next(m.value for m in at.metric if m.label == "Meta-iterations")
    assert meta_iterations == "10 / 10"


def test_runs_page_deletes_a_run_after_confirmation(home):
    keep, gone = stored_run(home), stored_run(home, seed=1)
    at = open_page("pages/runs.py")
    at.selectbox(key="runs.open").set_value(gone).run()
    assert at.button(key="runs.delete").disabled
    at.checkbox(key="runs.confirm").check().run()
    at.button(key="runs.delete").click().run()
    assert not at.exception
    assert [r.id for r in home.runs()] == [keep]
    assert not home.checkpoint_dir(gone).exists()


def test_compare_page_draws_runs_on_shared_axes(home):
    ids = [stored_run(home, "maml"), stored_run(home, "reptile")]
    at = open_page("pages/compare.py")
    assert at.title[0].value == "Compare"
    assert sorted(at.multiselect(key="compare.runs").value) == sorted(ids)
    (figure,) = charts(at)
    colors = {t["name"].split(" · ")[0]: t["line"]["color"] for t in figure["data"]}
    assert colors == {"maml": learner_color("maml"), "reptile": learner_color("reptile")}
    table = at.dataframe[0].value
    assert sorted(table["run"]) == sorted(ids)
    for _, row in table.iterrows():
        assert row["val loss"] == home.history(row["run"]).final()["val_loss"]
        assert row["wall time (s)"] > 0 and row["peak memory (MiB)"] > 0

    at.segmented_control(key="compare.key").set_value("loss").run()
    (figure,) = charts(at)
    assert figure["layout"]["yaxis"]["title"]["text"] == "meta-train loss (smoothed)"


def test_same_setup_several_seeds_trains_repeats_and_shows_the_spread(home):
    base = stored_run(home, "maml", seed=4)
    at = open_page("pages/compare.py")
    at.selectbox(key="compare.base").set_value(base)
    at.number_input(key="compare.n").set_value(2)
    at.button(key="compare.repeat").click().run()
    assert not at.exception
    if not all(r.status == "done" for r in home.runs(group_id=base) if r.id != base):  # repeats train: a result
        assert at.get("progress"), "no progress bar while the repeats train"
        assert any("<svg" in m.value for m in at.markdown), "the setup's own run is not drawn (light chart)"
        assert not [c for c in at.get("plotly_chart") if "mean of" in c.proto.spec]  # no plotly while refreshing
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        group = home.runs(group_id=base)
        if len(group) == 3 and all(r.status == "done" for r in group):
            break
        time.sleep(0.2)
    assert sorted(r.seed for r in group) == [4, 5, 6]
    at.run()
    assert not at.exception
    finals = [home.history(r.id).final()["val_loss"] for r in group]
    (label,) = [m for m in at.metric if m.label.startswith("Final")]
    assert label.label == "Final meta-val loss over 3 seeds"
    assert label.value == f"{np.mean(finals):.4g} ± {np.std(finals, ddof=1):.2g}"
    spread = charts(at)[-1]
    mean = next(t for t in spread["data"] if t["name"].startswith("mean of 3"))
    assert values(mean["y"])[-1] == pytest.approx(np.mean(finals))


def recording(store: Store) -> Recorder:
    """A run recorded in ``store`` as it trains, 7 meta-iterations in (checkpoint at step 5), still "running"."""
    config = RunConfig(learner_config=MAMLConfig(first_order=True), train=TrainConfig(
        meta_batch=4, n_steps=400, eval_every=5, n_eval_tasks=8, eval_steps=2, hidden=16))
    run = Run(config)
    recorder = Recorder.start(store, run, checkpoint_every=5)
    for event in train(run, 7):
        recorder.record(event)
    recorder.flush()
    return recorder


def test_runs_page_resumes_an_interrupted_run_in_the_session_worker(home):
    crashed = recording(home)
    crashed._stop.set()  # a crash: no final status, no more heartbeats
    home.update(crashed.id, heartbeat=time.time() - 3600)
    at = open_page("pages/runs.py")
    assert home.get(crashed.id).status == "interrupted"
    at.selectbox(key="runs.open").set_value(crashed.id).run()
    at.button(key="runs.resume").click().run()
    assert not at.exception, [e.value for e in at.exception]
    record = home.get(crashed.id)
    assert record.status in ("running", "paused") and record.owner_pid == os.getpid()
    assert at.title[0].value != "Runs"  # moved on to the Train page, which draws the resumed run
    deadline = time.monotonic() + 60
    while home.get(crashed.id).step < 8 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert home.get(crashed.id).step >= 8  # training goes on from the checkpoint at step 5
    at.switch_page("pages/train.py").run()  # AppTest keeps its own page; st.switch_page moved the script only
    assert int(next(m.value for m in at.metric if m.label == "Meta-iterations").split("/")[0]) >= 8
    at.button(key="reset").click().run()
    assert not at.exception
    assert home.get(crashed.id).status == "stopped"


def test_runs_page_draws_a_training_run_with_the_light_chart_and_a_finished_one_with_plotly(home):
    recorder = recording(home)
    try:
        at = open_page("pages/runs.py")
        at.selectbox(key="runs.open").set_value(recorder.id).run()
        assert home.get(recorder.id).status == "running"
        live = [m.value for m in at.markdown if "mv-light-chart" in m.value]  # redrawn every second: light
        assert len(live) == 1 and "meta-train (smoothed)" in live[0]
        assert "Loss" not in [c["layout"].get("title", {}).get("text") for c in charts(at)]
    finally:
        recorder.close("done")
    at = open_page("pages/runs.py")
    at.selectbox(key="runs.open").set_value(recorder.id).run()
    assert not any("mv-light-chart" in m.value for m in at.markdown)
    assert charts(at)[0]["layout"]["title"]["text"] == "Loss"
