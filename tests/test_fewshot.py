"""Few-shot on a user's examples, against references that share no code with metaviz.fewshot."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fewshot_models import omniglot_available, zoo_path
from torch.func import functional_call

from metaviz import checkpoint, fewshot
from metaviz.data import uploads
from metaviz.learners.maml import MAMLConfig
from metaviz.tasks.digits import DigitsConfig
from metaviz.train import RunConfig, build_learner

CLASSES = ("a", "b", "c")


def digits_model(learner: str = "maml", n_way: int = 3, seed: int = 0, **learner_config):
    """A digits model (an MLP: no BatchNorm, so every prediction is a plain function of one input)."""
    lc = MAMLConfig(inner_lr=0.5, inner_steps=3, **learner_config) if learner == "maml" else None
    config = RunConfig("digits", learner, DigitsConfig(n_way=n_way), lc, seed=seed)
    return config, build_learner(config).state_numpy()


def toy_support(n_classes: int = 3, per_class: int = 3, n_query: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.random((n_classes, 1, 8, 8))
    sx = np.concatenate([centres[c] + 0.1 * rng.standard_normal((per_class, 1, 8, 8)) for c in range(n_classes)])
    sy = np.repeat(np.arange(n_classes), per_class)
    qx = centres[rng.integers(0, n_classes, n_query)] + 0.1 * rng.standard_normal((n_query, 1, 8, 8))
    return sx.astype(np.float32), sy, qx.astype(np.float32)


def sgd_reference(config, params, sx, sy, qx, n: int, steps: int):
    """Query probabilities after 0..steps plain SGD steps on the cross-entropy of the first n outputs,
    written out with torch.autograd: [steps + 1, Q, n]."""
    net = build_learner(config).net
    p = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in params.items()}
    x, y, q = (torch.tensor(sx).reshape(len(sx), -1), torch.tensor(sy), torch.tensor(qx).reshape(len(qx), -1))
    out = []
    for t in range(steps + 1):
        with torch.no_grad():
            out.append(F.softmax(functional_call(net, p, (q,))[:, :n], -1).numpy())
        if t < steps:
            loss = F.cross_entropy(functional_call(net, p, (x,))[:, :n], y)
            grads = torch.autograd.grad(loss, list(p.values()))
            p = {k: (v - config.learner_config.inner_lr * g).detach().requires_grad_()
                 for (k, v), g in zip(p.items(), grads)}
    return np.stack(out)


# ---- classify ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("learner", ["maml", "protonet", "matching", "metasgd", "cnp"])
def test_probabilities_are_distributions_over_the_users_classes(learner):
    config, params = digits_model(learner)
    sx, sy, qx = toy_support()
    p = fewshot.classify(config, params, sx, sy, qx, CLASSES, steps=2)
    assert p.probabilities.shape == (4, 3) and np.all(p.probabilities >= 0)
    np.testing.assert_allclose(p.probabilities.sum(1), 1, atol=1e-5)
    np.testing.assert_array_equal(p.predicted, p.probabilities.argmax(1))
    if fewshot.learners.get(learner).has_inner_loop:
        assert p.steps.shape == (3, 4, 3) and p.support_loss.shape == (3,)
    else:
        assert p.steps is None


def test_the_inner_loop_trajectory_is_plain_sgd_and_ends_at_the_prediction():
    config, params = digits_model("maml")
    sx, sy, qx = toy_support()
    p = fewshot.classify(config, params, sx, sy, qx, CLASSES, steps=4)
    np.testing.assert_allclose(p.steps, sgd_reference(config, params, sx, sy, qx, 3, 4), atol=1e-5)
    np.testing.assert_array_equal(p.steps[-1], p.probabilities)
    assert p.support_loss[-1] < p.support_loss[0]  # the steps fit the support set
    default = fewshot.classify(config, params, sx, sy, qx, CLASSES)
    assert default.steps.shape[0] == config.learner_config.inner_steps + 1


def test_fewer_classes_than_the_head_use_its_first_outputs_and_more_are_refused():
    config, params = digits_model("maml", n_way=3)
    sx, sy, qx = toy_support(n_classes=2)
    p = fewshot.classify(config, params, sx, sy, qx, ("a", "b"), steps=2)
    np.testing.assert_allclose(p.steps, sgd_reference(config, params, sx, sy, qx, 2, 2), atol=1e-5)
    sx, sy, qx = toy_support(n_classes=4)
    with pytest.raises(fewshot.HeadSizeError, match="at most 3 classes apart; you gave 4"):
        fewshot.classify(config, params, sx, sy, qx, "abcd")
    proto, proto_params = digits_model("protonet", n_way=3)   # no head: any number of classes
    assert fewshot.classify(proto, proto_params, sx, sy, qx, "abcd").probabilities.shape == (4, 4)
    with pytest.raises(ValueError, match="at least two classes"):
        fewshot.classify(proto, proto_params, sx[:3], sy[:3] * 0, qx, "a")


def test_parameters_of_another_model_are_refused():
    config, params = digits_model("maml")
    other, other_params = digits_model("protonet")
    sx, sy, qx = toy_support()
    with pytest.raises(ValueError, match="do not fit"):
        fewshot.classify(config, other_params, sx, sy, qx, CLASSES)


# ---- leave-one-out -----------------------------------------------------------------------------------

def test_protonet_leave_one_out_equals_the_closed_form():
    config, params = digits_model("protonet")
    sx, sy, _ = toy_support(per_class=3)
    sy = sy.copy()
    sy[-2:] = [2, 0]   # classes a: 4 examples, b: 3, c: 2 ... plus one more below
    sx, sy = np.concatenate([sx, sx[:1] + 0.05]), np.concatenate([sy, [1]])
    loo = fewshot.leave_one_out(config, params, sx, sy, CLASSES)
    net = build_learner(config).net
    with torch.no_grad():
        z = functional_call(net, {k: torch.tensor(v) for k, v in params.items() if v.size},
                            (torch.tensor(sx).reshape(len(sx), -1),)).double().numpy()
    expected = np.full((len(sy), 3), np.nan)
    for i in range(len(sy)):
        others = np.arange(len(sy)) != i
        protos = np.stack([z[others & (sy == c)].mean(0) for c in range(3)])
        logits = -((z[i] - protos) ** 2).sum(1)
        expected[i] = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(loo.probabilities, expected, atol=1e-4)
    right = expected.argmax(1) == sy
    assert loo.scored.all() and loo.accuracy == pytest.approx(right.mean())
    np.testing.assert_allclose(loo.per_class, [right[sy == c].mean() for c in range(3)])


def test_maml_leave_one_out_equals_a_loop_of_sgd_references_and_skips_one_shot_classes():
    config, params = digits_model("maml")
    sx, sy, _ = toy_support(per_class=2)
    sx, sy = sx[:5], sy[:5]                     # class c keeps one example: it cannot be scored
    loo = fewshot.leave_one_out(config, params, sx, sy, CLASSES, steps=2)
    assert loo.scored.tolist() == [True, True, True, True, False]
    for i in range(4):
        keep = np.arange(5) != i
        ref = sgd_reference(config, params, sx[keep], sy[keep], sx[i:i + 1], 3, 2)[-1, 0]
        np.testing.assert_allclose(loo.probabilities[i], ref, atol=1e-5)
    assert loo.predicted[4] == -1 and np.isnan(loo.per_class[2]) and "not scored (one example only): c" in loo.message
    one_shot = fewshot.leave_one_out(config, params, sx[[0, 2, 4]], sy[[0, 2, 4]], CLASSES)
    assert np.isnan(one_shot.accuracy) and "1-shot" in one_shot.message and not one_shot.scored.any()


# ---- BatchNorm: each query on its own ----------------------------------------------------------------

@pytest.mark.skipif(not omniglot_available(), reason="Omniglot's minimal sets are not available")
def test_a_query_is_classified_the_same_whatever_other_queries_come_with_it():
    loaded = checkpoint.load(zoo_path("protonet-omniglot"))
    rng = np.random.default_rng(0)
    sx = (rng.random((5, 1, 28, 28)) < 0.1).astype(np.float32)
    qx = (rng.random((3, 1, 28, 28)) < 0.1).astype(np.float32)
    names = tuple("abcde")
    together = fewshot.classify(loaded.config, loaded.params, sx, np.arange(5), qx, names)
    alone = fewshot.classify(loaded.config, loaded.params, sx, np.arange(5), qx[1:2], names)
    np.testing.assert_allclose(alone.probabilities[0], together.probabilities[1], atol=1e-5)


# ---- familiarity -------------------------------------------------------------------------------------

def photo_like(seed: int, size: int = 64) -> bytes:
    """A smooth colour gradient with noise: what a photo looks like to pixel statistics."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    channels = [np.clip(0.2 + 0.6 * (a * xx + b * yy) + 0.08 * rng.standard_normal((size, size)), 0, 1)
                for a, b in rng.random((3, 2))]
    buffer = io.BytesIO()
    Image.fromarray((np.stack(channels, -1) * 255).astype(np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def omniglot_eval_files(n: int = 10) -> list[tuple[str, bytes]]:
    from metaviz.data.omniglot import Archive
    from metaviz.data.oneshot import find_runs

    try:
        path = find_runs()
    except FileNotFoundError as error:
        pytest.skip(f"all_runs.zip is not available: {error}")
    with Archive(path) as archive:
        return [(f, archive.read(f)) for f in archive.files if f.endswith(".png")][:n]


@pytest.mark.skipif(not omniglot_available(), reason="Omniglot's minimal sets are not available")
def test_familiarity_flags_photos_and_accepts_omniglot_drawings():
    from metaviz.tasks.omniglot import OmniglotConfig

    config = RunConfig("omniglot", "protonet", OmniglotConfig())
    spec = uploads.preprocessing_for(config)
    drawings = uploads.ingest_queries(omniglot_eval_files(10), spec).arrays()
    photos = uploads.ingest_queries([(f"p{i}.jpg", photo_like(i)) for i in range(6)], spec)
    assert len(photos.examples) == 6
    ok = fewshot.familiarity(config, drawings)
    assert ok.verdict == "familiar" and not ok.outside.any(), ok.message
    bad = fewshot.familiarity(config, photos.arrays(), [e.name for e in photos.examples])
    assert bad.verdict == "unlike" and bad.outside.all()
    assert "p0.jpg" in bad.message and "image folder" in bad.message and "Train page" in bad.message
    mixed = fewshot.familiarity(config, np.concatenate([drawings, photos.arrays()[:2]]))
    assert mixed.verdict == "some" and mixed.outside.sum() == 2


def test_familiarity_range_comes_from_the_training_images():
    config, _ = digits_model("protonet")
    r = fewshot.training_range("digits", config.task_config)
    from metaviz.tasks.digits import Digits

    task = Digits(config.task_config)
    train = np.isin(task.pool.labels.numpy(), task.pool.splits["train"])
    stats = fewshot.image_statistics(task.pool.inputs.numpy()[train].reshape(-1, 1, 8, 8))
    inside = ((stats >= r.low) & (stats <= r.high)).all(1).mean()
    assert inside > 0.99 and r.n == min(2000, train.sum())
    assert fewshot.familiarity(config, np.full((3, 1, 8, 8), 0.5)).verdict == "unlike"  # all mid-grey


# ---- end to end: the official evaluation drawings, never used for meta-training ----------------------

def omniglot_runs_as_uploads(n_way: int = 5):
    """For each of the 20 official one-shot runs: a zip of n_way class folders (one drawing each, from
    the run's training images), and the run's test drawings of those characters, as uploaded files."""
    from metaviz.data.omniglot import Archive
    from metaviz.data.oneshot import find_runs

    try:
        path = find_runs()
    except FileNotFoundError as error:
        pytest.skip(f"all_runs.zip is not available: {error}")
    out = []
    with Archive(path) as archive:
        for labels in sorted(f for f in archive.files if f.endswith("class_labels.txt")):
            pairs = dict(line.split() for line in archive.read(labels).decode().splitlines() if line.strip())
            classes = sorted(set(pairs.values()))[:n_way]
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as z:
                for c in classes:
                    z.writestr(f"{c.split('/')[-1][:-4]}/{c.split('/')[-1]}", archive.read(c))
            queries = [(t, archive.read(t)) for t, c in sorted(pairs.items()) if c in classes]
            answers = [classes.index(pairs[t]) for t, _ in queries]
            out.append((buffer.getvalue(), queries, answers))
    return out


@pytest.mark.skipif(not omniglot_available(), reason="Omniglot's minimal sets are not available")
@pytest.mark.parametrize("name, floor", [("protonet-omniglot", 0.8), ("maml-omniglot", 0.5)])
def test_shipped_models_recognize_new_omniglot_characters_from_one_drawing_each(name, floor):
    """5-way 1-shot on the 20 official evaluation runs (alphabets never meta-trained on), taken in as
    uploads; chance is 20%. Measured: ProtoNet 99%, MAML 77% (one inner step, as meta-trained)."""
    loaded = checkpoint.load(zoo_path(name))
    spec = uploads.preprocessing_for(loaded.config)
    right = total = 0
    for support_zip, query_files, answers in omniglot_runs_as_uploads(5):
        support = uploads.ingest_zip(support_zip, spec, label="run.zip")
        queries = uploads.ingest_queries(query_files, spec)
        assert len(support) == 5 and len(queries.examples) == 5 and not support.rejected and not queries.rejected
        result = fewshot.run(loaded.config, loaded.params, support, queries)
        right += int((result.prediction.predicted == np.array(answers)).sum())
        total += len(answers)
        assert np.isnan(result.loo.accuracy)          # 1-shot: no leave-one-out
        assert result.familiarity.verdict == "familiar", result.familiarity.message
    accuracy = right / total
    assert total == 100
    assert accuracy >= floor, f"{name}: 5-way 1-shot accuracy {accuracy:.0%} is not well above chance (20%)"


def test_figures_show_the_probabilities_and_animate_every_inner_step():
    from metaviz.figures.fewshot import inner_loop_figure, probability_figure

    config, params = digits_model("maml")
    sx, sy, qx = toy_support()
    p = fewshot.classify(config, params, sx, sy, qx, CLASSES, steps=3)
    names = [f"q{i}.png" for i in range(4)]
    bars = probability_figure(p.classes, p.probabilities, names)
    np.testing.assert_allclose(np.array(bars.data[0].z), p.probabilities)
    assert list(bars.data[0].x) == list(CLASSES) and list(bars.data[0].y) == names
    fig = inner_loop_figure(p.classes, p.steps, names, p.support_loss)
    assert [f.name for f in fig.frames] == ["0", "1", "2", "3"]
    for t, frame in enumerate(fig.frames):
        np.testing.assert_allclose(np.array(frame.data[0].z), p.steps[t])
    np.testing.assert_allclose(np.array(fig.data[0].z), p.probabilities)   # shown first: the adapted state
    slider = fig.layout.sliders[0]
    assert len(slider.steps) == 4 and f"loss {p.support_loss[0]:.2f}" in slider.steps[0].label


def test_leave_one_out_holds_out_at_most_the_cap_in_turn_from_each_class():
    config, params = digits_model("protonet")
    sx, sy, _ = toy_support(per_class=3)                       # labels 0 0 0 1 1 1 2 2 2
    full = fewshot.leave_one_out(config, params, sx, sy, CLASSES)
    capped = fewshot.leave_one_out(config, params, sx, sy, CLASSES, max_held_out=4)
    assert np.flatnonzero(capped.scored).tolist() == [0, 1, 3, 6]   # first of each class, then a's second
    np.testing.assert_allclose(capped.probabilities[capped.scored], full.probabilities[capped.scored], atol=1e-6)
    assert "4 of 9 examples held out" in capped.message


@pytest.mark.skipif(not omniglot_available(), reason="Omniglot's minimal sets are not available")
def test_the_embedding_plane_shows_protonets_own_rule():
    loaded = checkpoint.load(zoo_path("protonet-omniglot"))
    spec = uploads.preprocessing_for(loaded.config)
    support_zip, query_files, _ = omniglot_runs_as_uploads(4)[0]
    support = uploads.ingest_zip(support_zip, spec)
    queries = uploads.ingest_queries(query_files, spec)
    result = fewshot.run(loaded.config, loaded.params, support, queries)
    plane = result.embedding
    n, s, q = 4, len(support), len(queries.examples)
    assert plane.coords.shape == (s + q + n, 2) and list(plane.roles).count("prototype") == n
    x, y = support.arrays()
    for k in range(n):   # linear projection: each projected prototype is the mean of its projected support points
        np.testing.assert_allclose(plane.coords[s + q + k], plane.coords[:s][y == k].mean(0), atol=1e-8)
    # the nearest prototype in R^D is exactly ProtoNet's prediction (same batches, same distances)
    np.testing.assert_array_equal(plane.nearest[s:s + q], result.prediction.predicted)
    assert plane.images.shape == (s + q, 1, 28, 28)
    config, params = digits_model("maml")
    sx, sy, qx = toy_support()
    assert fewshot.embedding_plane(config, params, sx, sy, CLASSES, qx) is None   # not a metric learner
