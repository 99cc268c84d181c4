"""What Your Data shows for the photo model (metaviz/photo_results.py, metaviz/figures/reliability.py): embeddings of
both sets in one pass, leave-one-out with probabilities, the reliability diagram, photos against drawings."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image

from metaviz import photo_results, photoshot
from metaviz.calibration import reliability, softmax
from metaviz.figures.reliability import reliability_figure


def crops(name: str, k: int, seed: int) -> list[np.ndarray]:
    """k random square crops of one of scikit-learn's bundled photos, preprocessed for the photo model."""
    photo = load_sample_image(name)
    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    out = []
    for _ in range(k):
        s = int(rng.integers(160, 300))
        y, x = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
        out.append(photoshot.as_inputs([Image.fromarray(photo[y:y + s, x:x + s])])[0])
    return out


@pytest.fixture(scope="module")
def photos():
    sx = np.stack(crops("china.jpg", 3, 0) + crops("flower.jpg", 3, 1))
    qx = np.stack(crops("china.jpg", 2, 2) + crops("flower.jpg", 2, 3))
    s, q = photo_results.embed_sets(sx, qx)
    return sx, np.array([0, 0, 0, 1, 1, 1]), qx, np.array([0, 0, 1, 1]), s, q


def test_one_pass_over_both_sets_gives_each_image_its_own_features(photos):
    sx, _, qx, _, s, q = photos
    alone = photoshot.embed(qx[:1])  # each image's features depend on that image alone (running BatchNorm)
    np.testing.assert_allclose(q.features[0], alone.features[0], rtol=1e-4, atol=1e-5)
    assert s.features.shape == (6, 1280) and q.features.shape == (4, 1280)


@pytest.mark.parametrize("head", ["prototype", "logistic"])
def test_predictions_and_leave_one_out_with_probabilities(photos, head):
    _, sy, _, qy, s, q = photos
    r = photo_results.result(s, sy, q, ("china", "flower"), head)
    assert (r.prediction.predicted == qy).all()  # a palace and a flower: easy for an ImageNet network
    held = r.held_out
    assert held.scored.all() and held.probabilities.shape == (6, 2)
    accuracy, count = photoshot.leave_one_out(s, sy, head)
    assert count == 6 and held.accuracy == pytest.approx(accuracy)  # the engine's own leave-one-out agrees
    np.testing.assert_allclose(held.probabilities.sum(1), 1.0)
    rel = held.reliability()
    assert rel.count.sum() == 6 and r.familiarity.verdict == "familiar"


def test_held_out_probabilities_are_those_of_a_loop_over_the_support_set(photos):
    _, sy, _, _, s, _ = photos
    held = photo_results.held_out(s, sy, "prototype", 2)
    for i in range(6):
        keep = np.arange(6) != i
        logits = photoshot.head_logits("prototype", s.take(keep), sy[keep], s.take([i]), 2)
        np.testing.assert_allclose(held.raw[i], softmax(logits, 1.0)[0], rtol=1e-10)


def test_untempered_undoes_the_temperature_and_drawings_are_told_from_photos(photos):
    logits = np.random.default_rng(0).normal(size=(5, 4)) * 4
    np.testing.assert_allclose(photo_results.untempered(softmax(logits, 1.64), 1.64), softmax(logits, 1.0),
                               atol=1e-12)
    sx = photos[0]
    grey = np.repeat(sx.mean(1, keepdims=True), 3, 1)
    assert photo_results.image_kind(sx) == "photos" and photo_results.image_kind(grey) == "drawings"
    assert photo_results.image_kind(np.zeros((0, 3, 8, 8))) is None


def test_reliability_figure_draws_the_non_empty_bins_at_their_accuracy():
    p = np.array([[0.95, 0.05], [0.9, 0.1], [0.55, 0.45], [0.3, 0.7]])
    labels = np.array([0, 1, 0, 1])
    raw, scaled = reliability(p, labels), reliability(softmax(np.log(p), 2.0), labels)
    fig = reliability_figure(raw, scaled, 2.0)
    bars = [d for d in fig.data if d.type == "bar"]
    assert len(bars) == 2 and f"ECE {raw.ece:.3f}" in bars[0].name and "T = 2.00" in bars[1].name
    # by hand: confidences 0.55 (right), 0.7 (right), 0.9 (wrong), 0.95 (right), each alone in a 1/15-wide bin
    assert list(bars[0].y) == [1.0, 1.0, 0.0, 1.0]
    np.testing.assert_allclose(bars[0].x, (np.array([9, 11, 14, 15]) - 0.5) / 15)
    assert raw.ece == pytest.approx((0.45 + 0.3 + 0.9 + 0.05) / 4)


def test_the_embedding_plane_shows_the_prototype_heads_geometry(photos):
    sx, sy, qx, qy, s, q = photos
    p = photoshot.classify_embedded(s, sy, q, ("palace", "flower"), head="prototype")
    plane = photo_results.embedding_plane(s, sy, q, p.predicted, ("palace", "flower"), np.concatenate([sx, qx]))
    assert list(plane.roles) == ["support"] * 6 + ["query"] * 4 + ["prototype"] * 2
    assert list(plane.labels) == list(sy) + list(p.predicted) + [0, 1]
    for k in range(2):  # PCA is affine: a projected prototype is the mean of its projected support points
        np.testing.assert_allclose(plane.coords[10 + k], plane.coords[:6][sy == k].mean(0), atol=1e-9)
    # nearest prototype in the full space is the prototype head's answer (its logits are -s * squared distance)
    assert list(plane.nearest[6:10]) == list(p.logits.argmax(1))
    assert plane.image(0).shape == (3, 32, 32) and plane.image(12) is None
    np.testing.assert_allclose(plane.image(7), qx[1][:, ::7, ::7])
