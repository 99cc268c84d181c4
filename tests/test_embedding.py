"""The embedding-space analysis, its figures and its page."""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from apptests import run_done
from scipy.linalg import orthogonal_procrustes
from sklearn.decomposition import PCA as SklearnPCA
from streamlit.testing.v1 import AppTest

from metaviz import learners
from metaviz.analysis import embedding as emb
from metaviz.figures.embedding import accuracy_figure, clicked, embedding_figure, thumbnails
from metaviz.models import build_model
from metaviz.tasks.blobs import BlobsConfig
from metaviz.tasks.digits import DigitsConfig
from metaviz.train import RunConfig, TrainConfig, build_learner
from metaviz.worker import Checkpoint, Snapshot

APP = str(Path(__file__).resolve().parents[1] / "app.py")
DIGITS = DigitsConfig(n_way=4, k_shot=2, n_query=3)
VIEW = emb.TaskView("digits", DIGITS, "test", task_seed=1)


def digits_run(learner: str, **learner_config) -> tuple[RunConfig, object]:
    cls = learners.get(learner)
    config = RunConfig(task="digits", learner=learner, task_config=DIGITS, learner_config=cls.Config(**learner_config),
                       train=TrainConfig(hidden=16, layers=2))
    return config, build_learner(config)


def perturbed(params: dict, seed: int, scale: float = 0.3) -> dict:
    """Other parameters of the same network (a stand-in for a later checkpoint)."""
    rng = np.random.default_rng(seed)
    return {k: v + scale * rng.standard_normal(v.shape).astype(v.dtype) * (v.std() + 1e-3) if v.size else v
            for k, v in params.items()}


def rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


# ---- features and prototypes ------------------------------------------------------------------------
def test_prototypes_are_class_means_and_match_protonets_own():
    config, learner = digits_run("protonet", embedding_dim=8)
    params = learner.state_numpy()
    ep, _, _ = emb.view_task(VIEW)
    f = emb.task_features(learner, params, ep)
    z = emb.features(learner, params, ep.support_x.numpy())
    for k in range(DIGITS.n_way):  # loop reference
        np.testing.assert_allclose(f.prototypes[k], z[ep.support_y.numpy() == k].mean(0), rtol=1e-12)
    own = learner.adapt(learner.params, ep.support_x, ep.support_y).params["prototypes"].detach().numpy()
    np.testing.assert_allclose(f.prototypes, own, rtol=1e-5, atol=1e-6)
    # ProtoNet's prediction is the nearest-prototype rule in the full space
    assert f.learner_accuracy == pytest.approx(float((emb.nearest(f.query, f.prototypes) == ep.query_y.numpy()).mean()))


def test_feature_shapes_and_the_penultimate_layer_feeds_the_head():
    ep, _, _ = emb.view_task(VIEW)
    x = ep.query_x.numpy()
    _, proto = digits_run("protonet", embedding_dim=8)
    assert emb.features(proto, proto.state_numpy(), x).shape == (len(x), 8)                     # its embedding
    assert emb.features(proto, proto.state_numpy(), x, "penultimate").shape == (len(x), 16)     # its body
    _, maml = digits_run("maml")
    params = maml.state_numpy()
    z = emb.features(maml, params, x)
    assert z.shape == (len(x), 16)
    logits = maml.predict(maml.params, torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(z @ params["head.weight"].T + params["head.bias"], logits, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="no embedding of its own"):
        emb.features(maml, params, x, "embedding")


def test_conv4_penultimate_features():
    from helpers import BlobImages

    task = BlobImages()
    maml = learners.get("maml")(None, task, build_model(task.in_shape, task.out_dim, hidden=8, layers=1, seed=0))
    x = task.sample(1, torch.Generator().manual_seed(0)).episode.query_x[0]
    z = emb.features(maml, maml.state_numpy(), x.numpy())
    assert z.shape == (len(x), 8)  # 8 filters, 16x16 pooled four times to 1x1
    logits = maml.predict(maml.params, x).detach().numpy()
    np.testing.assert_allclose(z @ maml.state_numpy()["head.weight"].T + maml.state_numpy()["head.bias"], logits,
                               rtol=1e-4, atol=1e-5)


def test_features_after_the_inner_loop_move_for_maml_and_not_for_anil():
    ep, _, _ = emb.view_task(VIEW)
    for name, moves in (("maml", True), ("anil", False)):
        _, learner = digits_run(name, inner_lr=0.5, inner_steps=2)
        params = learner.state_numpy()
        before = emb.task_features(learner, params, ep)
        after = emb.task_features(learner, params, ep, adapted=True)
        assert not np.allclose(before.support, after.support) if moves else np.array_equal(before.support,
                                                                                            after.support)


@pytest.mark.parametrize("name", learners.available("classification", "features"))
def test_every_classification_learner_has_features_and_frames(name):
    config = RunConfig(task="digits", learner=name, task_config=DIGITS, train=TrainConfig(hidden=16))
    params = build_learner(config).state_numpy()
    frames = emb.embedding_frames(config, [(0, params), (3, perturbed(params, 5))], VIEW, grid=8,
                                  adapted=learners.get(name).has_inner_loop)
    n_points = DIGITS.n_way * (DIGITS.k_shot + DIGITS.n_query + 1)
    assert [f.coords.shape for f in frames.frames] == [(n_points, 2)] * 2
    assert all(0 <= f.learner_accuracy <= 1 for f in frames.frames)
    assert frames.layer == ("embedding" if learners.get(name).has_embedding else "penultimate")


def test_mismatched_views_say_what_to_change():
    config, learner = digits_run("maml")
    params = learner.state_numpy()
    five_way = emb.TaskView("digits", dataclasses.replace(DIGITS, n_way=5))
    frames = emb.embedding_frames(config, [(0, params)], five_way)  # the body fits any N-way: features work
    assert frames.frames[0].learner_accuracy is None and len(frames.frames[0].class_names) == 5
    with pytest.raises(ValueError, match="head does not fit"):
        emb.embedding_frames(config, [(0, params)], five_way, adapted=True)
    with pytest.raises(ValueError, match=r"inputs of shape \(64,\)"):
        emb.viewing_learner(config, emb.TaskView("blobs", BlobsConfig()), params)


# ---- projections ------------------------------------------------------------------------------------
def anisotropic(seed: int = 0, m: int = 40, d: int = 10) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, d)) * np.linspace(3, 0.2, d) + rng.standard_normal(d)


def test_pca_matches_sklearn_and_the_covariance_eigenvectors():
    z = anisotropic()
    pca = emb.fit_pca(z)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(2), atol=1e-12)
    reference = SklearnPCA(2, svd_solver="full").fit(z)
    ours, theirs = pca.transform(z), reference.transform(z)
    signs = np.sign((ours * theirs).sum(0))  # a principal direction is defined up to its sign
    np.testing.assert_allclose(ours, theirs * signs, atol=1e-10)
    np.testing.assert_allclose(pca.explained, reference.explained_variance_ratio_, rtol=1e-10)
    values, vectors = np.linalg.eigh(np.cov(z.T))  # an independent reference: no SVD
    top = vectors[:, ::-1][:, :2].T
    np.testing.assert_allclose(np.abs((pca.components * top).sum(1)), 1.0, atol=1e-8)
    np.testing.assert_allclose(pca.explained, values[::-1][:2] / values.sum(), rtol=1e-8)


def test_pca_of_degenerate_data_still_gives_a_plane():
    flat = emb.fit_pca(np.array([[1.0], [2.0], [4.0]]))     # D = 1
    assert flat.components.shape == (2, 1) and flat.explained[1] == 0
    same = emb.fit_pca(np.ones((5, 3)))                      # identical rows
    np.testing.assert_array_equal(same.transform(np.ones((5, 3))), np.zeros((5, 2)))


def test_projected_prototypes_are_the_means_of_projected_support_points():
    _, learner = digits_run("protonet", embedding_dim=8)
    ep, _, _ = emb.view_task(VIEW)
    f = emb.task_features(learner, learner.state_numpy(), ep)
    (xy,), _ = emb.project([f])
    s, q = len(f.support), len(f.query)
    for k in range(DIGITS.n_way):
        np.testing.assert_allclose(xy[s + q + k], xy[:s][ep.support_y.numpy() == k].mean(0), atol=1e-10)


def test_procrustes_recovers_a_rotation_and_agrees_with_scipy():
    y = np.random.default_rng(1).standard_normal((30, 2))
    for q in (rotation(0.7), rotation(2.0) @ np.diag([1.0, -1.0])):  # a rotation, and one with a reflection
        r = emb.procrustes(y @ q, y)
        np.testing.assert_allclose(r, q.T, atol=1e-12)
        np.testing.assert_allclose(r, orthogonal_procrustes(y @ q, y)[0], atol=1e-12)
        np.testing.assert_allclose(emb.align_to(y @ q + [5.0, -3.0], y), y, atol=1e-12)
        np.testing.assert_allclose(emb.align_to(2.5 * y @ q, y, scale=True), y, atol=1e-12)


def frames_of(*features: np.ndarray, s: int = 10, q: int = 20) -> list[emb.TaskFeatures]:
    labels = np.arange(s) % 2
    return [emb.TaskFeatures(i, z[:s], z[s:s + q], emb.class_means(z[:s], labels, 2)) for i, z in enumerate(features)]


def test_an_aligned_projection_of_the_same_points_is_stable_between_frames():
    z = anisotropic(2, m=30, d=6)
    q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((6, 6)))  # same distances, other axes
    frames = frames_of(z, z @ q + 4.0, z)
    aligned, _ = emb.project(frames, "aligned")
    for xy in aligned[:-1]:
        np.testing.assert_allclose(xy, aligned[-1], atol=1e-9)
    fixed, _ = emb.project(frames_of(z, z), "fixed")  # one plane for all frames: equal features, equal points
    np.testing.assert_array_equal(fixed[0], fixed[1])
    moved = z.copy()
    moved[0] += 10.0  # fixed: one linear map, so only the moved point (and its class mean) moves
    fixed, _ = emb.project(frames_of(moved, z), "fixed")
    unchanged = np.ones(32, bool)
    unchanged[[0, 30]] = False  # point 0 and the prototype of its class (label 0)
    np.testing.assert_allclose(fixed[0][unchanged], fixed[1][unchanged], atol=1e-12)


def test_decision_regions_give_each_prototype_its_own_class_and_match_a_loop():
    protos = 3.0 * np.stack([np.cos(np.arange(5) * 1.3), np.sin(np.arange(5) * 1.3)], 1)
    r = emb.decision_regions(protos, (-4, 4), (-4, 4), size=81)
    for k, (px, py) in enumerate(protos):
        assert r.labels[np.abs(r.y - py).argmin(), np.abs(r.x - px).argmin()] == k
    small = emb.decision_regions(protos, (-4, 4), (-3, 5), size=9)
    for i, y in enumerate(small.y):
        for j, x in enumerate(small.x):
            assert small.labels[i, j] == min(range(5), key=lambda k: (x - protos[k, 0]) ** 2 + (y - protos[k, 1]) ** 2)


def test_frames_report_scores_that_follow_from_their_points():
    config, learner = digits_run("protonet", embedding_dim=8)
    checkpoints = [(0, learner.state_numpy()), (10, perturbed(learner.state_numpy(), 0))]
    frames = emb.embedding_frames(config, checkpoints, VIEW, grid=40)
    assert frames.steps == [0, 10] and frames.layer == "embedding"
    n, s, q = DIGITS.n_way, DIGITS.n_way * DIGITS.k_shot, DIGITS.n_way * DIGITS.n_query
    for frame, f in zip(frames.frames, frames.features):
        assert [int((frame.roles == r).sum()) for r in emb.ROLES] == [s, q, n]
        np.testing.assert_array_equal(frame.labels[s + q:], np.arange(n))
        full = emb.nearest(f.points, f.prototypes)
        plane = emb.nearest(frame.coords, frame.coords[s + q:])
        y = frame.labels
        assert frame.accuracy == pytest.approx((full[s:s + q] == y[s:s + q]).mean())
        assert frame.plane_accuracy == pytest.approx((plane[s:s + q] == y[s:s + q]).mean())
        assert frame.agreement == pytest.approx((plane[:s + q] == full[:s + q]).mean())
        assert frame.learner_accuracy == pytest.approx(frame.accuracy)  # ProtoNet is this rule
        assert [v for _, v, _ in frame.scores()] == [frame.accuracy, frame.plane_accuracy, frame.agreement,
                                                     frame.learner_accuracy]
        assert frames.x_range[0] < frame.coords[:, 0].min() and frame.coords[:, 0].max() < frames.x_range[1]
        assert frame.regions.labels.shape == (40, 40) and frame.images.shape == (s + q, 1, 8, 8)
        assert frame.support_images(0).shape == (DIGITS.k_shot, 1, 8, 8)
    last = emb.fit_pca(np.concatenate([frames.features[-1].support, frames.features[-1].query]))
    np.testing.assert_allclose(frames.frames[-1].coords, last.transform(frames.features[-1].points))


def test_tsne_is_seeded_and_faces_the_pca_picture():
    config, learner = digits_run("protonet", embedding_dim=8)
    frames = emb.embedding_frames(config, [(0, learner.state_numpy())], VIEW, grid=20)
    a, b = emb.tsne_frame(frames, 0, VIEW, seed=3), emb.tsne_frame(frames, 0, VIEW, seed=3)
    np.testing.assert_array_equal(a.coords, b.coords)
    assert a.coords.shape == frames.frames[0].coords.shape and np.isfinite(a.coords).all()
    assert a.method == "tsne" and a.axis_titles == ("t-SNE 1", "t-SNE 2")
    pca = frames.frames[0].coords
    fitted = emb.align_to(a.coords, pca, scale=True)  # already aligned: aligning again changes nothing
    np.testing.assert_allclose(fitted, a.coords, atol=1e-6 * np.abs(pca).max())


def test_checkpoints_from_a_snapshot_start_at_step_zero():
    config, learner = digits_run("protonet", embedding_dim=8)
    late = perturbed(learner.state_numpy(), 1)
    snap = Snapshot(config=config, checkpoints=(Checkpoint(5, config, late, None),),
                    checkpoint=Checkpoint(9, config, late, None))
    _, checkpoints = emb.snapshot_checkpoints(snap)
    assert [s for s, _ in checkpoints] == [0, 5, 9]
    for k, v in build_learner(config).state_numpy().items():  # step 0 rebuilt from the run's seed
        np.testing.assert_array_equal(checkpoints[0][1][k], v)
    assert emb.snapshot_checkpoints(Snapshot()) is None
    sine = RunConfig()
    assert emb.snapshot_checkpoints(Snapshot(config=sine, checkpoint=Checkpoint(1, sine, {}, None))) is None


def test_the_feature_cache_computes_new_checkpoints_only():
    config, learner = digits_run("protonet", embedding_dim=8)
    early, late = learner.state_numpy(), perturbed(learner.state_numpy(), 4)
    cache = {}
    first = emb.embedding_frames(config, [(0, early), (5, late)], VIEW, grid=10, cache=cache)
    assert len(cache) == 2
    again = emb.embedding_frames(config, [(0, early), (5, late), (9, late)], VIEW, grid=10, cache=cache)
    assert len(cache) == 3 and again.features[1] is first.features[1]
    other = emb.embedding_frames(config, [(0, early), (5, perturbed(early, 7))], VIEW, grid=10, cache=cache)
    assert len(cache) == 4 and not np.array_equal(other.features[1].support, first.features[1].support)


def test_thin_keeps_the_first_and_last_evenly():
    assert emb.thin(list(range(32)), 5) == [0, 8, 16, 23, 31] and emb.thin([1, 2], 5) == [1, 2]


def test_quick_run_keeps_evenly_spaced_checkpoints():
    config = emb.quick_config("digits", n_steps=6)
    run = emb.quick_run(config, n_checkpoints=4)
    assert [s for s, _ in run.checkpoints] == [0, 2, 4, 6]
    assert not np.array_equal(run.checkpoints[0][1]["head.weight"], run.checkpoints[-1][1]["head.weight"])


# ---- figures ----------------------------------------------------------------------------------------
def small_result(regions: bool = True) -> emb.EmbeddingResult:
    coords = np.array([[0.0, 0.0], [1.0, 0.0], [0.1, 0.2], [0.9, 0.1], [0.2, 0.1], [0.05, 0.1], [0.95, 0.05]])
    labels = np.array([0, 1, 0, 1, 1, 0, 1])
    roles = np.array(["support", "support", "query", "query", "query", "prototype", "prototype"])
    nearest = np.array([0, 1, 0, 1, 0, 0, 1])  # the query at index 4 is nearer class 0's prototype
    r = emb.decision_regions(coords[5:], (-0.5, 1.5), (-0.5, 0.5), 30) if regions else None
    return emb.EmbeddingResult(coords, labels, roles, ("a", "b"), nearest if regions else None, r)


def test_embedding_figure_draws_every_point_once_with_its_index_class_and_nearest_prototype():
    result = small_result()
    fig = embedding_figure(result, (-0.5, 1.5), (-0.5, 0.5), selected=3)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 1
    np.testing.assert_array_equal(np.asarray(heat[0].z), result.regions.labels)
    points = [t for t in fig.data if t.type == "scatter" and t.customdata is not None]
    seen = sorted(int(c[0]) for t in points for c in t.customdata)
    assert seen == list(range(len(result.coords)))
    for t in points:
        for c, x, y in zip(t.customdata, t.x, t.y):
            i = int(c[0])
            assert (x, y) == tuple(result.coords[i]) and c[2] == result.roles[i]
            assert c[1] == result.class_names[result.labels[i]] and c[3] == result.class_names[result.nearest[i]]
    crossed = next(t for t in fig.data if t.name.startswith("query nearer"))
    assert list(zip(crossed.x, crossed.y)) == [tuple(result.coords[4])]
    ring = next(t for t in fig.data if t.name == "selected")
    assert (ring.x[0], ring.y[0]) == tuple(result.coords[3])
    assert tuple(fig.layout.xaxis.range) == (-0.5, 1.5) and fig.layout.yaxis.scaleanchor == "x"


def test_embedding_figure_works_on_a_bare_result():
    bare = small_result(regions=False)  # only coords, labels, roles and names (the Your Data page)
    fig = embedding_figure(bare)
    assert bare.scores() == []
    assert [t.type for t in fig.data] == ["scatter"] * 3


def test_clicked_reads_the_point_index_from_a_selection():
    assert clicked(None, 5) is None and clicked({"selection": {"points": []}}, 5) is None
    assert clicked({"selection": {"points": [{"customdata": [3, "a", "query", "b"]}]}}, 5) == 3
    assert clicked({"selection": {"points": [{"customdata": [7, "a", "query", "b"]}]}}, 5) is None  # stale


def test_accuracy_figure_and_thumbnails():
    config, learner = digits_run("protonet", embedding_dim=8)
    frames = emb.embedding_frames(config, [(0, learner.state_numpy()), (4, perturbed(learner.state_numpy(), 2))],
                                  VIEW, grid=10)
    fig = accuracy_figure(frames, current=4)
    full = next(t for t in fig.data if t.name.startswith("nearest prototype, full"))
    assert list(full.x) == [0, 4] and list(full.y) == [f.accuracy for f in frames.frames]
    assert "= protonet's own prediction" in full.name and len(fig.data) == 3  # one line for ProtoNet's two scores
    maml_config, maml = digits_run("maml", inner_lr=0.5)
    maml_frames = emb.embedding_frames(maml_config, [(0, maml.state_numpy()), (4, perturbed(maml.state_numpy(), 2))],
                                       VIEW, grid=10)
    own = next(t for t in accuracy_figure(maml_frames).data if t.name == "maml's own prediction")
    assert list(own.y) == [f.learner_accuracy for f in maml_frames.frames]
    image = np.zeros((2, 1, 3, 3))
    image[0, 0, 1, 1] = 1.0  # ink
    rgb = thumbnails(image, "#ff0000", zoom=2, pad=1)
    assert rgb.shape == (8, 16, 3) and tuple(rgb[0, 0]) == (255, 0, 0)
    assert tuple(rgb[1 + 2, 1 + 2]) == (0, 0, 0) and tuple(rgb[1, 1]) == (255, 255, 255)  # ink dark, paper white


# ---- the page ---------------------------------------------------------------------------------------
def open_embedding(at: AppTest) -> AppTest:
    at.switch_page("pages/embedding.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Embedding Space"
    return at


def test_page_opens_with_a_figure_and_no_run():
    at = open_embedding(AppTest.from_file(APP, default_timeout=240))
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 2 and [d["type"] for d in charts[0]["data"]][0] == "heatmap"
    assert at.radio(key="embedding.source").value in ("zoo", "quick")
    assert any(m.label == "Nearest prototype, full space" for m in at.metric)


def test_page_draws_the_session_run():
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["mv.run_config"] = RunConfig(
        task="digits", learner="protonet", task_config=DigitsConfig(n_way=3, k_shot=1, n_query=4),
        train=TrainConfig(n_steps=12, eval_every=4, n_eval_tasks=5, meta_batch=4, hidden=16))
    at.switch_page("pages/train.py")
    at.run()
    at.button(key="start").click()
    at.run()
    deadline = time.monotonic() + 60
    while not run_done(at, 12):
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.3)
        at.run()
    open_embedding(at)
    assert at.radio(key="embedding.source").value == "run"
    assert any("protonet on digits" in c.value and "meta-iterations 0 to 12" in c.value for c in at.caption)
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    spec = json.loads(charts[0].proto.spec)
    points = sum(len(d["customdata"]) for d in spec["data"] if d["type"] == "scatter" and d.get("customdata"))
    assert points == 3 * 1 + 3 * 4 + 3  # support, query, prototypes of the run's 3-way 1-shot task
    at.session_state["embedding.chart"] = {"selection": {"points": [{"customdata": [4, "", "query", ""]}]}}  # a click
    at.run()
    assert not at.exception and any(m.value.startswith("A **query** of class") for m in at.markdown)
    assert len(at.get("image")) >= 2  # the query's image and the support images of its class
    at.segmented_control(key="embedding.method").set_value("tsne")
    at.run()
    assert not at.exception and any("t-SNE keeps who is near whom" in c.value for c in at.caption)
