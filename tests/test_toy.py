"""The two-tasks, two-parameters toy: autograd through the engine's inner loop against closed forms."""

import dataclasses

import numpy as np
import pytest

from metaviz.analysis.toy import PRESETS, ToyConfig, toy_surface, toy_update
from metaviz.figures.landscape import toy_figure

POINTS = [(0.5, -1.0), (-2.0, 1.5), (2.5, 2.5), (0.0, 0.0)]


def closed_form(config: ToyConfig, theta):
    """Per task: phi_k, MAML, FOMAML and Reptile gradients for quadratics (see the module docstring)."""
    theta = np.asarray(theta, float)
    out = []
    for task in config.tasks:
        a, c = task.matrix, np.asarray(task.centre)
        m = np.eye(2) - config.inner_lr * a
        mk = np.linalg.matrix_power(m, config.inner_steps)
        phi = c + mk @ (theta - c)
        out.append(dict(phi=phi, maml=mk @ a @ (phi - c), fomaml=a @ (phi - c), reptile=theta - phi))
    return out


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("theta", POINTS)
def test_autograd_matches_the_closed_forms(preset, steps, theta):
    config = ToyConfig(preset=preset, inner_lr=0.2, inner_steps=steps)
    update = toy_update(config, theta)
    expected = closed_form(config, theta)
    for i, e in enumerate(expected):
        np.testing.assert_allclose(update.inner[i, -1], e["phi"], atol=1e-12)
        for method in ("maml", "fomaml", "reptile"):
            np.testing.assert_allclose(update.per_task[method][i], e[method], atol=1e-12)
    for method in ("maml", "fomaml", "reptile"):
        mean = np.mean([e[method] for e in expected], 0)
        np.testing.assert_allclose(update.gradient[method], mean, atol=1e-12)
        np.testing.assert_allclose(update.direction[method], -mean, atol=1e-12)
    np.testing.assert_allclose(update.second_order, update.gradient["maml"] - update.gradient["fomaml"], atol=1e-15)


def test_one_step_maml_is_the_papers_formula_and_the_second_order_term_is_minus_alpha_h_g():
    config = ToyConfig(inner_lr=0.15, inner_steps=1)
    theta = np.array([0.3, -0.7])
    update = toy_update(config, theta)
    for i, task in enumerate(config.tasks):
        h, c = task.matrix, np.asarray(task.centre)
        grad = lambda p: h @ (p - c)
        phi = theta - config.inner_lr * grad(theta)
        np.testing.assert_allclose(update.per_task["maml"][i], (np.eye(2) - config.inner_lr * h) @ grad(phi),
                                   atol=1e-12)
        np.testing.assert_allclose(update.second_order_per_task[i], -config.inner_lr * h @ grad(phi), atol=1e-12)
        # with one step, Reptile's pseudo-gradient is alpha times the joint-training gradient at theta
        np.testing.assert_allclose(update.per_task["reptile"][i], config.inner_lr * grad(theta), atol=1e-12)


def test_maml_gradient_is_the_gradient_of_the_meta_objective_by_finite_differences():
    config = ToyConfig(inner_lr=0.2, inner_steps=2)
    theta, eps = np.array([0.4, 0.9]), 1e-6
    fd = [(toy_update(config, theta + eps * e).meta_loss - toy_update(config, theta - eps * e).meta_loss) / (2 * eps)
          for e in np.eye(2)]
    np.testing.assert_allclose(toy_update(config, theta).gradient["maml"], fd, rtol=1e-6, atol=1e-8)


def test_isotropic_tasks_make_the_second_order_term_parallel_to_fomaml():
    config = ToyConfig(preset="same curvature (isotropic)", inner_lr=0.3)
    update = toy_update(config, (1.2, -0.4))
    so, fo = update.second_order, update.gradient["fomaml"]
    assert abs(so[0] * fo[1] - so[1] * fo[0]) < 1e-12 * (1 + np.linalg.norm(fo) ** 2)
    np.testing.assert_allclose(update.gradient["maml"], (1 - config.inner_lr) * fo, atol=1e-12)
    different = toy_update(ToyConfig(preset="different curvatures"), (1.2, -0.4))
    s, f = different.second_order, different.gradient["fomaml"]
    assert abs(s[0] * f[1] - s[1] * f[0]) > 1e-3  # with different curvatures it turns the update


def test_inner_path_follows_sgd_step_by_step():
    config = ToyConfig(inner_lr=0.1, inner_steps=4)
    theta = np.array([-1.0, 2.0])
    update = toy_update(config, theta)
    assert update.inner.shape == (2, 5, 2)
    for i, task in enumerate(config.tasks):
        p = theta.copy()
        for j in range(5):
            np.testing.assert_allclose(update.inner[i, j], p, atol=1e-12)
            p = p - config.inner_lr * task.matrix @ (p - np.asarray(task.centre))


def test_surface_matches_the_pointwise_values():
    config = ToyConfig(inner_steps=2)
    surface = toy_surface(config, extent=2.0, resolution=9)
    assert surface.meta_loss.shape == surface.joint_loss.shape == (9, 9) and surface.task_loss.shape == (2, 9, 9)
    for row, col in [(0, 0), (3, 7), (8, 2), (4, 4)]:
        theta = (surface.x[col], surface.y[row])
        update = toy_update(config, theta)
        assert surface.meta_loss[row, col] == pytest.approx(update.meta_loss, rel=1e-12)
        assert surface.joint_loss[row, col] == pytest.approx(update.joint_loss, rel=1e-12)
        for i, task in enumerate(config.tasks):
            d = np.asarray(theta) - np.asarray(task.centre)
            assert surface.task_loss[i, row, col] == pytest.approx(0.5 * d @ task.matrix @ d, rel=1e-12)
    np.testing.assert_allclose(surface.centres, [t.centre for t in config.tasks])


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="finite"):
        toy_update(ToyConfig(), (float("nan"), 0.0))
    with pytest.raises(ValueError, match="choose one of"):
        ToyConfig(preset="nope")
    with pytest.raises(ValueError, match="resolution"):
        toy_surface(ToyConfig(), resolution=1)


def test_toy_figure_draws_the_vectors_from_theta():
    config = ToyConfig()
    theta = np.array([0.5, -1.0])
    update = toy_update(config, theta)
    fig = toy_figure(toy_surface(config, resolution=21), update, arrow=1.0)
    by_name = {t.name: t for t in fig.data}
    ends = {}
    for name in ("MAML update", "FOMAML update", "Reptile update (direction)"):
        trace = by_name[name]
        np.testing.assert_allclose([trace.x[0], trace.y[0]], theta)
        ends[name] = np.array([trace.x[1], trace.y[1]])
        assert trace.marker.symbol[1] == "arrow"
    assert np.linalg.norm(ends["MAML update"] - theta) == pytest.approx(1.0)
    assert np.linalg.norm(ends["Reptile update (direction)"] - theta) == pytest.approx(1.0)
    scale = 1.0 / np.linalg.norm(update.gradient["maml"])
    np.testing.assert_allclose(ends["FOMAML update"], theta - scale * update.gradient["fomaml"])
    second = by_name["second-order term (MAML - FOMAML)"]
    np.testing.assert_allclose([second.x[0], second.y[0]], ends["FOMAML update"])
    np.testing.assert_allclose([second.x[1], second.y[1]], ends["MAML update"])
    for i in range(2):
        inner = by_name[f"task {i + 1}: inner step"]
        np.testing.assert_allclose(np.stack([inner.x, inner.y], 1), update.inner[i])
    grid = by_name["click grid"]
    assert grid.hoverinfo == "none" and len(grid.x) == 11 * 11  # clickable points, nothing shown on hover
    assert fig.layout.yaxis.scaleanchor == "x"  # equal axes: angles between vectors are true
    assert fig.layout.clickmode == "event+select"
    background = [t for t in fig.data if t.type == "contour"][0]
    np.testing.assert_allclose(np.asarray(background.z), np.log10(toy_surface(config, resolution=21).meta_loss + 1e-3))


def test_toy_figure_without_a_point_and_with_the_joint_background():
    config = dataclasses.replace(ToyConfig(), inner_steps=2)
    surface = toy_surface(config, resolution=11)
    fig = toy_figure(surface, None, background="joint")
    assert not [t for t in fig.data if t.name and "update" in t.name]
    np.testing.assert_allclose(np.asarray(fig.data[0].z), np.log10(surface.joint_loss + 1e-3))
    with pytest.raises(ValueError, match="background"):
        toy_figure(surface, None, background="other")
