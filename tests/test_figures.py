"""Figures: the data in their traces, and the helpers against loop references."""

import numpy as np

from metaviz.analysis.adaptation import adaptation_curves, task_gallery
from metaviz.figures.adaptation import adaptation_figure, tasks_figure
from metaviz.figures.curves import decimate, ema, loss_curves, steps_curve
from metaviz.figures.theme import learner_color
from metaviz.train import Run, RunConfig, TrainConfig


def ema_loop(values, weight=0.9):
    out, s, n = [], 0.0, 0
    for v in values:
        if np.isnan(v):
            out.append(np.nan)
            continue
        n += 1
        s = weight * s + (1 - weight) * v
        out.append(s / (1 - weight**n))
    return np.array(out)


def test_ema_matches_a_loop_reference_and_skips_nan():
    values = np.random.default_rng(0).random(300)
    values[[0, 5, 6, 100]] = np.nan
    np.testing.assert_allclose(ema(values), ema_loop(values), equal_nan=True)
    np.testing.assert_allclose(ema(np.full(5, 3.0)), 3.0)  # bias-corrected: a constant stays constant


def test_decimate_averages_bins_and_keeps_the_last_point():
    x = np.arange(10.0)
    y = np.array([1, 2, np.nan, 4, 5, 6, 7, 8, 9, 10.0])
    xs, ys = decimate(x, y, 3)
    np.testing.assert_array_equal(xs, [2, 5, 9])
    np.testing.assert_allclose(ys, [1.5, 5, 8.5])
    assert decimate(x, y, 20)[0] is x  # short series pass through


def test_loss_curves_carry_the_histories():
    steps = np.arange(1, 1001.0)
    train = {"step": steps, "loss": 1 / steps, "baseline_loss": np.full(1000, np.nan)}
    val = {"step": np.array([0.0, 500, 1000]), "val_loss": np.array([3.0, 1, 0.5]),
           "baseline_val_loss": np.array([3.0, 2.5, 2.4]), "test_loss": np.full(3, np.nan)}
    fig = loss_curves(train, val, "maml")
    names = [t.name for t in fig.data]
    assert names == ["meta-train (smoothed)", "meta-val (after adaptation)", "baseline val (after fine-tune)"]
    assert len(fig.data[0].x) <= 600 and fig.data[0].x[-1] == 1000  # decimated, newest point kept
    np.testing.assert_array_equal(fig.data[1].y, [3.0, 1, 0.5])
    assert fig.data[1].line.color == learner_color("maml")
    assert fig.layout.uirevision == "loss-curves"  # zoom survives live redraws
    assert fig.layout.yaxis.type == "log"


def test_steps_curve_draws_one_point_per_inner_step():
    fig = steps_curve(np.array([3.0, 1.0, 0.8]), np.array([3.0, 2.9, 2.8]), "maml")
    assert [list(t.x) for t in fig.data] == [[0, 1, 2], [0, 1, 2]]


def test_adaptation_view_matches_the_learner_step_by_step():
    config = RunConfig(train=TrainConfig(hidden=16, n_eval_tasks=4))
    run = Run(config)
    states = {"maml": run.learner.state_numpy(), "pretrained": run.baseline.state_numpy()}
    result = adaptation_curves(config, states, task_seed=3, steps=4, grid=50)
    assert result.x.shape == result.truth.shape == (50,)
    assert result.predictions["maml"].shape == (5, 50) and result.support_x.shape == (10,)
    # the true curve is the task's sine; step 0 is the network itself
    a, p = result.task_truth["amplitude"], result.task_truth["phase"]
    np.testing.assert_allclose(result.truth, a * np.sin(result.x - p), rtol=1e-5, atol=1e-5)
    import torch
    x = torch.tensor(result.x, dtype=torch.float32)[:, None]
    direct = run.learner.predict({k: v.detach() for k, v in run.learner.params.items()}, x)[:, 0]
    np.testing.assert_allclose(result.predictions["maml"][0], direct.detach().numpy(), rtol=1e-5, atol=1e-6)
    # one plain SGD step on the support set by hand gives step 1
    params = {k: v.detach().clone().requires_grad_() for k, v in run.learner.params.items()}
    sx = torch.tensor(result.support_x)[:, None]
    sy = torch.tensor(result.support_y)[:, None]
    loss = ((run.learner.predict(params, sx) - sy) ** 2).mean()
    grads = torch.autograd.grad(loss, list(params.values()))
    stepped = {k: v - config.learner_config.inner_lr * g for (k, v), g in zip(params.items(), grads)}
    np.testing.assert_allclose(result.predictions["maml"][1], run.learner.predict(stepped, x)[:, 0].detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    expected_mse = ((result.predictions["maml"] - result.truth) ** 2).mean(1)
    np.testing.assert_allclose(result.grid_mse["maml"], expected_mse, rtol=1e-5)

    fig = adaptation_figure(result)
    support = [t for t in fig.data if t.name.startswith("support set")]
    assert len(support) == 2 and list(support[0].x) == list(result.support_x)
    assert any(t.name == "MAML: after 4 steps" for t in fig.data)


def test_task_gallery_draws_each_task_with_its_support_points():
    x, curves, sx, sy = task_gallery(RunConfig(), n_tasks=4, seed=1, grid=30)
    assert curves.shape == (4, 30) and sx.shape == sy.shape == (4, 10)
    fig = tasks_figure(x, curves, sx, sy)
    assert len(fig.data) == 8


def test_loss_chart_falls_back_to_a_linear_axis_when_a_loss_is_not_positive():
    train = {"step": np.arange(1, 4.0), "loss": np.array([0.5, -0.2, -0.4]), "baseline_loss": np.full(3, np.nan)}
    evals = {"step": np.array([0.0]), "val_loss": np.array([1.0])}
    assert loss_curves(train, evals, "cnp").layout.yaxis.type == "linear"
    train["loss"] = np.array([0.5, 0.2, 0.1])
    assert loss_curves(train, evals, "cnp").layout.yaxis.type == "log"


def test_steps_curve_turns_logarithmic_when_losses_explode():
    assert steps_curve(np.array([3.0, 1.0, 0.8]), None, "maml").layout.yaxis.type != "log"
    exploding = steps_curve(np.array([3.0, 0.5, 1e9, np.inf]), None, "metasgd")
    assert exploding.layout.yaxis.type == "log"
