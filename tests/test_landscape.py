"""Loss landscapes: the grid against the engine's own meta-loss, directions, projections, figures and the page."""

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import task_for
from streamlit.testing.v1 import AppTest

from metaviz import learners
from metaviz.analysis.landscape import (
    Evaluator,
    LandscapeConfig,
    compute_landscape,
    default_run,
    filter_normalized_direction,
    flat_params,
    landscape_tasks,
    path_overlays,
    pca_directions,
    project,
)
from metaviz.figures.landscape import landscape_figure, path_loss_figure
from metaviz.functional import unflatten
from metaviz.train import RunConfig, TrainConfig, build_learner

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SMALL = LandscapeConfig(directions="random", resolution=5, span=0.4, n_tasks=3, n_paths=2, path_steps=2)


@pytest.fixture(scope="module")
def run():
    """MAML on sine waves, 30 meta-iterations, a checkpoint every 5 (7 in all)."""
    return default_run(seed=0, n_steps=30, every=5)


def reference_loss(config, lconfig, vector) -> float:
    """The engine's own meta-loss (a Python loop over tasks with torch.autograd) at one parameter vector."""
    learner = build_learner(config)
    learner.load_numpy({k: v.numpy() for k, v in unflatten(torch.as_tensor(vector), learner.params).items()})
    batch = landscape_tasks(config, lconfig.n_tasks, lconfig.seed)
    if lconfig.task >= 0:
        batch = type(batch)(*(t[lconfig.task:lconfig.task + 1] for t in batch))
    if lconfig.loss == "pre":
        params = {k: v.detach() for k, v in learner.params.items()}
        return float(np.mean([learner.task.loss(learner.predict(params, batch.task(i).query_x),
                                                batch.task(i).query_y).item() for i in range(batch.n_tasks)]))
    return float(learner.meta_loss(batch).detach())


def test_the_grid_centre_is_the_loss_at_the_parameters(run):
    config, trajectory = run
    for lconfig in (SMALL, dataclasses.replace(SMALL, loss="pre"), dataclasses.replace(SMALL, task=1)):
        landscape = compute_landscape(config, trajectory, lconfig)
        assert landscape.a[2] == 0.0 and landscape.b[2] == 0.0
        centre = flat_params(build_learner(config), trajectory[-1][1])
        np.testing.assert_array_equal(landscape.plane.centre, centre)
        expected = reference_loss(config, lconfig, centre)
        assert landscape.centre_loss == pytest.approx(expected, rel=1e-5)
        assert landscape.loss[2, 2] == landscape.centre_loss


def test_the_batched_grid_equals_point_by_point_evaluation(run):
    config, trajectory = run
    lconfig = dataclasses.replace(SMALL, resolution=7, chunk=5)  # several batches and a ragged last one
    batched = compute_landscape(config, trajectory, lconfig, step=15)
    looped = compute_landscape(config, trajectory, dataclasses.replace(lconfig, strategy="loop"), step=15)
    np.testing.assert_allclose(batched.loss, looped.loss, rtol=2e-5)
    plane = batched.plane
    for j, i in [(0, 0), (1, 5), (3, 3), (6, 2), (6, 6)]:  # rows over b, columns over a
        vector = plane.point(batched.a[i], batched.b[j])
        assert batched.loss[j, i] == pytest.approx(reference_loss(config, lconfig, vector), rel=2e-5)


@pytest.mark.parametrize("name", [n for n in learners.available()
                                  if learners.get(n).kinds & {"regression", "classification"}])
def test_every_learner_has_a_landscape(name):
    """The batched grid's centre is the engine's own meta-loss for every learner; learners without an inner
    loop refuse the pre-adaptation loss with a message, and have no inner paths."""
    task = task_for(name)
    config = RunConfig(task=task, learner=name, train=TrainConfig(baseline=False), device="cpu")
    start = build_learner(config).state_numpy()
    trajectory = [(0, start), (1, {k: v + 0.01 for k, v in start.items()})]
    lconfig = dataclasses.replace(SMALL, n_tasks=2, path_steps=1)
    landscape = compute_landscape(config, trajectory, lconfig)
    assert np.isfinite(landscape.loss).all()
    expected = reference_loss(config, lconfig, flat_params(build_learner(config), trajectory[-1][1]))
    assert landscape.centre_loss == pytest.approx(expected, rel=1e-4)
    paths = path_overlays(landscape, trajectory)
    assert len(paths) == (3 if learners.get(name).has_inner_loop else 1)
    if not learners.get(name).has_inner_loop:
        with pytest.raises(ValueError, match="choose the post-adaptation loss"):
            compute_landscape(config, trajectory, dataclasses.replace(lconfig, loss="pre"))


def test_filter_normalization_gives_each_filter_the_norm_of_the_weights():
    rng = np.random.default_rng(0)
    params = {"conv.weight": rng.normal(size=(6, 3, 3, 3)), "conv.bias": rng.normal(size=6),
              "fc.weight": rng.normal(size=(4, 10)) * np.arange(1, 5)[:, None], "fc.bias": rng.normal(size=4),
              "empty": np.zeros((0, 8))}
    params["fc.weight"][2] = 0.0  # a dead unit gets no direction
    d = filter_normalized_direction(params, torch.Generator().manual_seed(1))
    for name in ("conv.weight", "fc.weight"):
        w, v = params[name], d[name]
        assert v.shape == w.shape
        np.testing.assert_allclose(np.linalg.norm(v.reshape(len(v), -1), axis=1),
                                   np.linalg.norm(w.reshape(len(w), -1), axis=1), rtol=1e-9, atol=1e-12)
    assert not d["fc.weight"][2].any()
    assert not d["conv.bias"].any() and not d["fc.bias"].any() and d["empty"].shape == (0, 8)
    included = filter_normalized_direction(params, torch.Generator().manual_seed(1), bias="include")
    np.testing.assert_array_equal(included["conv.bias"], params["conv.bias"])  # the paper code's other option
    np.testing.assert_array_equal(included["conv.weight"], d["conv.weight"])  # same generator, same direction
    other = filter_normalized_direction(params, torch.Generator().manual_seed(2))
    assert not np.allclose(other["conv.weight"], d["conv.weight"])
    with pytest.raises(ValueError, match="bias"):
        filter_normalized_direction(params, torch.Generator(), bias="keep")


def test_pca_directions_are_orthonormal_and_match_scikit_learn():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    points = rng.normal(size=(12, 50)) * np.linspace(3, 0.1, 50)
    centre = rng.normal(size=50)
    d1, d2, explained = pca_directions(points, centre)
    np.testing.assert_allclose([d1 @ d1, d2 @ d2, d1 @ d2], [1, 1, 0], atol=1e-12)
    reference = PCA(n_components=2).fit(points - centre)
    for mine, theirs in zip((d1, d2), reference.components_):
        assert abs(mine @ theirs) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(explained, reference.explained_variance_ratio_, rtol=1e-9)
    with pytest.raises(ValueError, match="at least 3 saved checkpoints"):
        pca_directions(points[:2], centre)


def test_projection_of_points_in_the_plane_is_exact():
    rng = np.random.default_rng(1)
    centre, d1 = rng.normal(size=30), rng.normal(size=30)
    d2 = 0.6 * d1 + rng.normal(size=30)  # not orthogonal
    coords = rng.normal(size=(5, 2))
    points = centre + coords @ np.stack([d1, d2])
    found, residual = project(points, centre, d1, d2)
    np.testing.assert_allclose(found, coords, atol=1e-12)
    np.testing.assert_allclose(residual, 0, atol=1e-12)
    normal = rng.normal(size=30)
    basis = np.linalg.qr(np.stack([d1, d2], 1))[0]
    normal -= basis @ (basis.T @ normal)  # orthogonal to the plane
    found, residual = project(points + 2.5 * normal / np.linalg.norm(normal), centre, d1, d2)
    np.testing.assert_allclose(found, coords, atol=1e-12)
    np.testing.assert_allclose(residual, 2.5, rtol=1e-12)
    with pytest.raises(ValueError, match="do not span a plane"):
        project(points, centre, d1, 2 * d1)


def test_a_trajectory_in_a_plane_is_spanned_by_its_pca_directions():
    rng = np.random.default_rng(2)
    centre, basis = rng.normal(size=40), rng.normal(size=(2, 40))
    coords = rng.normal(size=(8, 2))
    d1, d2, explained = pca_directions(centre + coords @ basis, centre)
    _, residual = project(centre + coords @ basis, centre, d1, d2)
    np.testing.assert_allclose(residual, 0, atol=1e-10)
    assert explained.sum() == pytest.approx(1.0)


def test_paths_on_a_pca_plane(run):
    config, trajectory = run
    lconfig = dataclasses.replace(SMALL, directions="pca", bias="include", span=0.0)
    landscape = compute_landscape(config, trajectory, lconfig)
    plane = landscape.plane
    assert plane.explained is not None and 0 < plane.explained[1] <= plane.explained[0] <= 1
    assert landscape.a[-1] >= 1.2 * 0.99 * np.abs(plane.project(np.stack(
        [flat_params(build_learner(config), p) for _, p in trajectory]))[0]).max()  # auto span covers the path
    outer, *inner = path_overlays(landscape, trajectory)
    assert outer.kind == "outer" and list(outer.x) == [s for s, _ in trajectory]
    np.testing.assert_allclose(outer.coords[-1], 0, atol=1e-9)  # the centre
    assert outer.true_loss[-1] == pytest.approx(landscape.centre_loss, rel=1e-5)
    assert outer.plane_loss[-1] == pytest.approx(landscape.centre_loss, rel=1e-5)
    assert np.all(outer.residual >= 0) and np.isnan(outer.relative[-1])
    points = np.stack([flat_params(build_learner(config), p) for _, p in trajectory])
    distance = np.linalg.norm(points - plane.centre, axis=1)
    assert outer.off_plane == pytest.approx(np.sqrt((outer.residual**2).sum() / (distance**2).sum()))
    random_plane = compute_landscape(config, trajectory, SMALL)  # random directions miss the path (Li et al.)
    assert outer.off_plane < 0.5 < 0.9 < path_overlays(random_plane, trajectory)[0].off_plane
    for i, k in [(0, 0), (3, 5)]:  # the real loss at checkpoints, and at their projections
        learner = build_learner(config)
        vector = flat_params(learner, trajectory[i][1])
        assert outer.true_loss[i] == pytest.approx(reference_loss(config, lconfig, vector), rel=1e-5)
        on_plane = plane.point(*outer.coords[k])
        assert outer.plane_loss[k] == pytest.approx(reference_loss(config, lconfig, on_plane), rel=1e-5)
    assert len(inner) == 2 and all(p.kind == "inner" and list(p.x) == [0, 1, 2] for p in inner)


def test_inner_paths_are_the_sgd_steps_of_each_task(run):
    config, trajectory = run
    landscape = compute_landscape(config, trajectory, SMALL)
    paths = path_overlays(landscape, trajectory, current=10)
    learner = build_learner(config)
    alpha = config.learner_config.inner_lr
    theta = torch.tensor(flat_params(learner, dict(trajectory)[10]), dtype=torch.float64)
    net = learner.net.double()
    tasks = landscape_tasks(config, SMALL.n_tasks, SMALL.seed)
    for i, path in enumerate(paths[1:]):
        ep = tasks.task(i)
        p, points = theta.clone(), []
        for _ in range(3):  # start and two steps, by hand
            points.append(p.clone())
            p = p.requires_grad_()
            params = unflatten(p, learner.params)
            loss = torch.nn.functional.mse_loss(torch.func.functional_call(net, params, (ep.support_x.double(),)),
                                                ep.support_y.double())
            (g,) = torch.autograd.grad(loss, p)
            p = (p - alpha * g).detach()
        coords, _ = landscape.plane.project(torch.stack(points).numpy())
        np.testing.assert_allclose(path.coords, coords, atol=1e-4)


def test_actionable_errors(run):
    config, trajectory = run
    with pytest.raises(ValueError, match="odd"):
        LandscapeConfig(resolution=40)
    with pytest.raises(ValueError, match="only 3 tasks"):
        LandscapeConfig(task=3, n_tasks=3)
    with pytest.raises(ValueError, match="at least 3 saved checkpoints"):
        compute_landscape(config, trajectory[:2], dataclasses.replace(SMALL, directions="pca"))
    with pytest.raises(ValueError, match="no checkpoint at meta-iteration 7"):
        compute_landscape(config, trajectory, SMALL, step=7)
    wrong = {k: v[..., :1] for k, v in trajectory[-1][1].items()}
    with pytest.raises(ValueError, match="same run"):
        compute_landscape(config, [(0, wrong)], SMALL)
    proto = dataclasses.replace(config, task="blobs", learner="protonet", task_config=None, learner_config=None)
    with pytest.raises(ValueError, match="post-adaptation"):
        Evaluator(proto, dataclasses.replace(SMALL, loss="pre"))


def test_landscape_figure_draws_the_grid_and_the_paths(run):
    config, trajectory = run
    landscape = compute_landscape(config, trajectory, SMALL)
    paths = path_overlays(landscape, trajectory)
    fig = landscape_figure(landscape, paths, "contour")
    contour = fig.data[0]
    assert contour.type == "contour"
    np.testing.assert_allclose(contour.x, landscape.a)
    np.testing.assert_allclose(contour.y, landscape.b)
    np.testing.assert_allclose(np.asarray(contour.z), np.log10(landscape.loss))
    assert contour.zmin == pytest.approx(np.log10(landscape.loss.min()))
    outer = next(t for t in fig.data if t.name == "outer loop (meta-training)")
    np.testing.assert_allclose(np.stack([outer.x, outer.y], 1), paths[0].coords)
    assert len([t for t in fig.data if t.name and t.name.startswith("inner loop")]) == 2
    assert "direction 1" in fig.layout.xaxis.title.text
    linear = landscape_figure(landscape, paths, "heatmap", log=False)
    assert linear.data[0].type == "heatmap"
    np.testing.assert_allclose(np.asarray(linear.data[0].z), landscape.loss)
    surface = landscape_figure(landscape, paths, "surface")
    assert surface.data[0].type == "surface" and {t.type for t in surface.data[1:]} == {"scatter3d"}
    assert np.nanmax(np.asarray(surface.data[0].z)) <= surface.data[0].cmax + 1e-12  # clipped to the colours
    with pytest.raises(ValueError, match="view"):
        landscape_figure(landscape, paths, "wireframe")


def test_path_loss_figure_shows_real_and_projected_losses(run):
    config, trajectory = run
    landscape = compute_landscape(config, trajectory, SMALL)
    paths = path_overlays(landscape, trajectory)
    fig = path_loss_figure(paths)
    assert len(fig.data) == 2 * len(paths)
    for path, (real, projected) in zip(paths, zip(fig.data[::2], fig.data[1::2])):
        np.testing.assert_allclose(real.y, path.true_loss)
        np.testing.assert_allclose(projected.y, path.plane_loss)
        assert projected.line.dash == "dot"
        assert (real.xaxis, real.yaxis) == (("x", "y") if path.kind == "outer" else ("x2", "y2"))
    assert fig.layout.yaxis.type == "log" and fig.layout.xaxis.title.text == "meta-iteration"


# ---- the page -------------------------------------------------------------------------------------------
def open_landscape() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/landscape.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_without_a_run_draws_a_default_run_and_the_toy():
    at = open_landscape()
    assert at.title[0].value == "Loss Landscape"
    charts = at.get("plotly_chart")
    assert len(charts) == 3  # landscape, losses along the paths, the toy
    assert any("No run in this session yet" in c.value for c in at.caption)
    before = next(m.value for m in at.markdown if "Meta-gradients" in m.value)
    at.number_input(key="toy.theta1").set_value(-2.0)
    at.run()
    assert not at.exception
    assert next(m.value for m in at.markdown if "Meta-gradients" in m.value) != before
    assert at.selectbox(key="landscape.directions").value == "pca"
    at.selectbox(key="landscape.directions").set_value("random")
    at.run()
    assert any("Recompute" in i.value for i in at.info)  # the plane stays until asked
    at.button(key="landscape.recompute").click()
    at.run()
    assert not at.exception and not at.info
    assert len(at.get("plotly_chart")) == 3
    at.selectbox(key="landscape.directions").set_value("pca")
    next(s for s in at.select_slider if s.label == "Centre (checkpoint)").set_value(10)  # one checkpoint before
    at.button(key="landscape.recompute").click()
    at.run()
    assert not at.exception
    assert any("at least 3 saved checkpoints" in w.value and "random directions" in w.value for w in at.warning)
    assert any("Centre: meta-iteration 10" in c.value for c in at.caption)


def test_page_with_a_short_trained_run():
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/train.py")
    at.run()
    at.button(key="start").click()
    at.run()
    assert at.session_state["mv.run_config"].learner == "maml"  # trains in the session's worker
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        at.run()
        label = next(m.value for m in at.metric if m.label == "Meta-iterations")
        if int(label.split("/")[0].replace(",", "")) >= 55:  # step 0, 25 and 50 evaluated: three checkpoints
            break
        time.sleep(0.2)
    at.button(key="pause").click()
    at.run()
    at.switch_page("pages/landscape.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith("Your run: maml on sinusoid") for c in at.caption)
    assert len(at.get("plotly_chart")) == 3
    assert not at.warning, [w.value for w in at.warning]  # three checkpoints are enough for PCA directions
    at.selectbox(key="landscape.directions").set_value("random")
    at.button(key="landscape.recompute").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.info, [i.value for i in at.info]
    at.switch_page("pages/train.py")
    at.run()
    at.button(key="reset").click()
    at.run()
