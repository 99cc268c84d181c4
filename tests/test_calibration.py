"""Temperature scaling and the expected calibration error against hand computations and known answers."""

from __future__ import annotations

import numpy as np
import pytest

from metaviz import calibration, checkpoint
from metaviz.tasks.digits import DigitsConfig
from metaviz.train import RunConfig, build_learner


def test_ece_of_a_hand_computed_example():
    # confidences 0.9 (right), 0.9 (wrong), 0.6 (right), 0.35 (wrong: the max is at class 1)
    p = np.array([[0.9, 0.1, 0.0], [0.05, 0.9, 0.05], [0.6, 0.4, 0.0], [0.3, 0.35, 0.35]])
    labels = np.array([0, 0, 0, 0])
    # 15 bins of width 1/15: 0.9 -> bin 13 (0.8667, 0.9333], 0.6 -> bin 8 (0.5333, 0.6], 0.35 -> bin 5 (0.3333, 0.4]
    # bin 13: acc 1/2, conf 0.9 -> |0.5 - 0.9| * 2/4; bin 8: |1 - 0.6| * 1/4; bin 5: |0 - 0.35| * 1/4
    expected = 0.4 * 2 / 4 + 0.4 / 4 + 0.35 / 4
    assert calibration.ece(p, labels) == pytest.approx(expected, abs=1e-12)
    bins = calibration.reliability(p, labels)
    assert bins.count.sum() == 4 and bins.count[13] == 2 and bins.count[8] == 1 and bins.count[5] == 1
    assert bins.accuracy[13] == 0.5 and np.isnan(bins.accuracy[0])
    assert len(bins.edges) == calibration.N_BINS + 1


def test_a_loop_reference_ece_on_random_probabilities():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5) * 0.5, size=500)
    labels = rng.integers(0, 5, 500)
    conf, right = p.max(1), p.argmax(1) == labels
    total = 0.0
    for b in range(15):
        inside = [(c, r) for c, r in zip(conf, right) if b / 15 < c <= (b + 1) / 15]
        if inside:
            total += len(inside) / 500 * abs(np.mean([r for _, r in inside]) - np.mean([c for c, _ in inside]))
    assert calibration.ece(p, labels) == pytest.approx(total, abs=1e-12)


@pytest.mark.parametrize("true_t", [0.5, 2.0, 4.0])
def test_fitting_recovers_the_temperature_that_generated_the_labels(true_t):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, size=(20000, 10))
    labels = np.array([rng.choice(10, p=row) for row in calibration.softmax(logits, true_t)])
    assert calibration.fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.05)
    # and scaling by the fitted temperature makes the probabilities calibrated
    fitted = calibration.fit_temperature(logits, labels)
    assert calibration.ece(calibration.softmax(logits, fitted), labels) < 0.02
    assert calibration.nll(logits, labels, fitted) <= calibration.nll(logits, labels, 1.0)


def test_nll_matches_its_definition_and_log_probabilities_fit_like_logits():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2, size=(300, 4)) + 50.0       # large logits: the stable form matters
    labels = rng.integers(0, 4, 300)
    p = calibration.softmax(logits, 1.5)
    assert calibration.nll(logits, labels, 1.5) == pytest.approx(-np.mean(np.log(p[np.arange(300), labels])), rel=1e-9)
    log_p = np.log(calibration.softmax(logits))            # logits minus a per-row constant
    assert calibration.fit_temperature(log_p, labels) == pytest.approx(calibration.fit_temperature(logits, labels),
                                                                       rel=1e-4)


def test_the_temperature_is_stored_in_the_checkpoint_and_checked_on_load(tmp_path):
    config = RunConfig("digits", "protonet", DigitsConfig(n_way=3))
    params = build_learner(config).state_numpy()
    assert checkpoint.load(checkpoint.save(tmp_path / "a.safetensors", config, params, 0)).temperature == 1.0
    path = checkpoint.save(tmp_path / "b.safetensors", config, params, 0, temperature=0.25)
    assert checkpoint.load(path).temperature == 0.25
    with pytest.raises(ValueError, match="positive"):
        checkpoint.save(tmp_path / "c.safetensors", config, params, 0, temperature=0.0)
    import safetensors.numpy

    data = safetensors.numpy.load_file(path)
    meta = dict(checkpoint.load(path).metadata, temperature="nan")
    (tmp_path / "d.safetensors").write_bytes(safetensors.numpy.save(data, metadata=meta))
    with pytest.raises(checkpoint.CheckpointError, match="temperature"):
        checkpoint.load(tmp_path / "d.safetensors")


def test_classify_applies_the_temperature_without_changing_a_prediction():
    from metaviz import fewshot

    config = RunConfig("digits", "protonet", DigitsConfig(n_way=3))
    params = build_learner(config).state_numpy()
    rng = np.random.default_rng(3)
    sx, qx = rng.random((6, 1, 8, 8)).astype(np.float32), rng.random((5, 1, 8, 8)).astype(np.float32)
    sy = np.array([0, 0, 1, 1, 2, 2])
    base = fewshot.classify(config, params, sx, sy, qx, ["a", "b", "c"])
    hot = fewshot.classify(config, params, sx, sy, qx, ["a", "b", "c"], temperature=3.0)
    np.testing.assert_allclose(hot.probabilities, calibration.softmax(np.log(base.probabilities), 3.0), atol=1e-5)
    assert np.array_equal(hot.predicted, base.predicted)
