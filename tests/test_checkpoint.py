"""Checkpoints round-trip a learner exactly, and anything else gets an error that says what is wrong."""

import dataclasses
import io
import json

import numpy as np
import pytest
import safetensors.numpy
import torch

from metaviz import checkpoint, tasks
from metaviz.checkpoint import CheckpointError
from metaviz.train import Run, RunConfig, TrainConfig, train


@pytest.fixture(scope="module")
def trained():
    run = Run(RunConfig(task="sinusoid", learner="metasgd", seed=3,
                        train=TrainConfig(meta_batch=4, eval_every=100, n_eval_tasks=2, baseline=False)))
    for _ in train(run, 3):
        pass
    return run


def test_round_trip_restores_config_step_and_predictions(tmp_path, trained):
    path = checkpoint.save_run(tmp_path / "m.safetensors", trained)
    for source in (path, path.read_bytes()):
        loaded = checkpoint.load(source)
        assert loaded.config == trained.config and loaded.step == 3
        learner = checkpoint.build(loaded)
        x = torch.linspace(-5, 5, 7).unsqueeze(1)
        assert torch.equal(learner.predict(learner.params, x), trained.learner.predict(trained.learner.params, x))
    assert not list(tmp_path.glob("*.tmp")), "the temporary file is renamed into place"


def test_pickle_truncation_and_foreign_files_are_refused(tmp_path, trained):
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buffer)  # a pickle: never loaded
    with pytest.raises(CheckpointError, match="pickled"):
        checkpoint.load(buffer.getvalue())
    good = checkpoint.save_run(tmp_path / "m.safetensors", trained).read_bytes()
    with pytest.raises(CheckpointError, match="corrupt|impossible"):
        checkpoint.load(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="not a metaviz checkpoint"):
        checkpoint.load(safetensors.numpy.save({"w": np.zeros(2, np.float32)}))
    with pytest.raises(CheckpointError, match="cannot read"):
        checkpoint.load(tmp_path / "missing.safetensors")


def test_mismatched_shapes_name_the_parameter(tmp_path, trained):
    params = trained.learner.state_numpy()
    bigger = dataclasses.replace(trained.config, train=dataclasses.replace(trained.config.train, hidden=41))
    path = checkpoint.save(tmp_path / "m.safetensors", bigger, params, 3)
    with pytest.raises(CheckpointError, match="wrong shapes"):
        checkpoint.build(checkpoint.load(path))
    meta = checkpoint.load(path).metadata
    assert json.loads(meta["config"])["train"]["hidden"] == 41


@pytest.mark.parametrize("name", sorted(checkpoint.zoo()))
def test_zoo_checkpoints_build(name):
    loaded = checkpoint.load(checkpoint.zoo()[name])
    learner = checkpoint.build(loaded)
    # step counts gradient steps of meta-training; the text model's best state on meta-validation is step 0 of its
    # encoder (its meta-learned part, the n-gram weighting, is fitted on the meta-train domains before step 1), so
    # what every shipped file must carry is the record of how it scored, not a positive step.
    assert loaded.config.task in tasks.available() and loaded.step >= 0
    assert json.loads(loaded.metadata["metrics"]), f"{name} ships without its measured metrics"
    assert all(torch.isfinite(p).all() for p in learner.params.values())
