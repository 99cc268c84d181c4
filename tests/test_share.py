"""Teacher mode: an experiment survives a trip through the URL, and locked controls stay put."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.errors import AppTestError

from metaviz import learners, tasks
from metaviz.train import RunConfig, TrainConfig
from ui import share

APP = str(Path(__file__).resolve().parents[1] / "app.py")

CONFIGS = [
    RunConfig(),
    RunConfig(task="omniglot", learner="protonet", seed=7,
              task_config=tasks.get("omniglot").Config(n_way=20, rotations=True, split_by="alphabet"),
              train=TrainConfig(meta_batch=4, meta_lr=3e-4, baseline=False)),
    RunConfig(task="sinusoid", learner="maml", learner_config=learners.get("maml").Config(first_order=True,
                                                                                         inner_lr=0.05)),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_a_config_round_trips_through_query_parameters(config):
    params = share.encode(config)
    assert all(isinstance(v, str) for v in params.values())  # what a URL can carry
    assert share.decode(params) == config


def test_links_carry_only_what_differs_from_the_defaults():
    assert share.encode(RunConfig()) == {"task": "sinusoid", "learner": "maml"}
    assert share.encode(CONFIGS[2]) == {"task": "sinusoid", "learner": "maml", "learner.inner_lr": "0.05",
                                        "learner.first_order": "True"}


@pytest.mark.parametrize("params, message", [
    ({"task": "mnist"}, "not a task family"),
    ({"learner": "gpt"}, "not a meta-learner"),
    ({"train.meta_batch": "lots"}, "meta_batch"),
    ({"train.meta_batch": "0"}, "must be >= 1"),
    ({"learner.warp_drive": "1"}, "unknown fields"),
    ({"seed": "x"}, "whole number"),
])
def test_unusable_links_say_which_key_is_wrong(params, message):
    with pytest.raises(ValueError, match=message):
        share.decode(params)


def test_exported_experiments_import_and_strangers_files_do_not():
    assert share.import_json(share.export_json(CONFIGS[1]).encode()) == CONFIGS[1]
    with pytest.raises(ValueError, match="not a MetaViz experiment"):
        share.import_json(b'{"task": "sinusoid", "learner": "maml", "train": {"rocket": 1}}')
    with pytest.raises(ValueError, match="not a MetaViz experiment"):
        share.import_json(b"\x80\x04K\x01.")  # a pickle is just bad JSON here


def open_train(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_link_opens_its_experiment_with_locked_and_hidden_controls():
    query = share.encode(CONFIGS[1]) | {"lock": "learner,train.*", "hide": "task.split_by"}
    at = open_train(query)
    assert at.session_state[share.state.RUN_CONFIG] == CONFIGS[1]
    assert at.sidebar.number_input(key="mv.seed").value == 7
    learner_box = next(s for s in at.selectbox if s.label == "Meta-learner")
    assert learner_box.value == "protonet" and learner_box.disabled
    meta_batch = at.number_input(key="train.meta_batch") if "train.meta_batch" in [
        w.key for w in at.number_input] else at.slider(key="train.meta_batch")
    assert meta_batch.value == 4 and meta_batch.disabled
    assert "task.omniglot.split_by" not in [w.key for w in at.selectbox]  # hidden, value kept
    assert not at.slider(key="task.omniglot.n_way").disabled  # not locked

    with pytest.raises(AppTestError, match="disabled"):
        meta_batch.set_value(9)  # as in a browser: a disabled widget takes no input
    at.session_state["train.meta_batch"] = 9  # forced behind the widget's back: the lock puts it back
    at.run()
    assert at.session_state[share.state.RUN_CONFIG].train.meta_batch == 4
    assert at.query_params["train.meta_batch"] == ["4"] or at.query_params["train.meta_batch"] == "4"


def test_the_address_bar_follows_the_experiment():
    at = open_train({})
    at.slider(key="task.sinusoid.k_shot").set_value(7)
    at.run()
    params = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert share.decode(params).task_config.k_shot == 7
