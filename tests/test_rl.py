"""Reinforcement learning: the policy-gradient oracle, batched versus loop references, seeding, and RL runs
through training, the store and the command line."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from metaviz import rl
from metaviz.learners.maml_rl import MAMLRLConfig
from metaviz.tasks.bandit import BanditConfig, BernoulliBandit, _beta_sample, classical_regret
from metaviz.tasks.navigation import Navigation2D, NavigationConfig, NavigationEnv
from metaviz.train import Run, RunConfig, TrainConfig, build_learner, train

SMALL = TrainConfig(meta_batch=4, n_eval_tasks=4, eval_steps=2, hidden=16, eval_every=2, n_steps=4)


def one_step_bandit(logits: torch.Tensor, means: torch.Tensor, n_tasks: int, n_rollouts: int):
    """A policy whose logits are a bias (the observation is 1 and the weight 0) on copies of one bandit."""
    task = BernoulliBandit(BanditConfig(n_arms=len(means), horizon=1, n_rollouts=n_rollouts))
    net = nn.Linear(1, len(means))
    params = {"weight": torch.zeros(len(means), 1, dtype=torch.float64),
              "bias": logits.clone().double().requires_grad_()}
    net = net.double()
    shared = rl.batched(params, n_tasks)
    rollouts = rl.collect(task, net, shared, means.double().expand(n_tasks, -1).contiguous(),
                          torch.arange(n_tasks), n_rollouts, 1)
    return task, net, params, shared, rollouts


def test_policy_gradient_matches_the_softmax_closed_form_on_a_one_step_bandit():
    logits, means = torch.tensor([0.5, -0.3, 0.1, 0.0]), torch.tensor([0.9, 0.2, 0.5, 0.4])
    task, net, params, shared, rollouts = one_step_bandit(logits, means, 200, 200)
    adv = rl.advantages(rollouts, gamma=1.0, lam=1.0, normalise=False)
    loss = rl.surrogate(rl.log_prob(task, net, shared, rollouts), adv).mean()
    (estimate,) = torch.autograd.grad(-loss, params["bias"])
    pi = logits.double().softmax(0)
    exact = pi * (means.double() - (pi * means.double()).sum())    # d/d logits of E[r] = sum_a pi_a mu_a
    assert torch.allclose(estimate, exact, atol=6e-3), (estimate, exact)
    assert (estimate - exact).abs().max() < 0.1 * exact.abs().max()


def test_dice_has_the_surrogates_value_of_zero_and_its_first_gradient():
    logits, means = torch.tensor([0.2, -0.1, 0.4]), torch.tensor([0.3, 0.6, 0.1])
    task, net, params, shared, rollouts = one_step_bandit(logits, means, 3, 50)
    adv = rl.advantages(rollouts, 0.99, 1.0)
    logp = rl.log_prob(task, net, shared, rollouts)
    plain, dice = rl.surrogate(logp, adv).sum(), rl.surrogate(logp, adv, dice=True).sum()
    assert torch.allclose(dice, -adv.mean((1, 2)).sum())
    g_plain, g_dice = (torch.autograd.grad(x, params["bias"], retain_graph=True)[0] for x in (plain, dice))
    assert torch.allclose(g_plain, g_dice)


def test_discounted_sums_and_gae_against_a_loop():
    x = torch.randn(2, 3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = rl.discounted(x, 0.9)
    for t in range(6):
        assert torch.allclose(out[..., t], sum(0.9 ** (k - t) * x[..., k] for k in range(t, 6)))


def test_batched_navigation_matches_the_gymnasium_environment_step_by_step():
    task = Navigation2D(NavigationConfig(horizon=5))
    goals = torch.tensor([[0.3, -0.2], [-0.45, 0.1]])
    actions = torch.randn(5, 2, 2, generator=torch.Generator().manual_seed(1)) * 0.2
    obs, state = task.reset(goals)
    envs = [NavigationEnv(g.numpy(), horizon=5) for g in goals]
    for env in envs:
        env.reset(seed=0)
    for t in range(5):
        obs, reward, state = task.step(state, actions[t], torch.zeros(2))
        for i, env in enumerate(envs):
            o, r, terminated, truncated, info = env.step(actions[t, i].numpy())
            assert np.allclose(obs[i].numpy(), o, atol=1e-6) and abs(float(reward[i]) - r) < 1e-5
            assert truncated == (t == 4) and not terminated


def test_navigation_meta_test_goals_lie_outside_the_training_square():
    shifted = Navigation2D(NavigationConfig(goal_range=1.0, goal_exclude=0.5))
    goals = shifted.sample(200, torch.Generator().manual_seed(0)).episode.support_x
    assert (goals.abs().amax(1) >= 0.5).all() and (goals.abs() <= 1.0).all()
    train_goals = Navigation2D().sample(200, torch.Generator().manual_seed(0)).episode.support_x
    assert (train_goals.abs() <= 0.5).all()


@pytest.mark.parametrize("task_name", ["navigation", "bandit"])
def test_batched_inner_step_equals_one_task_at_a_time(task_name):
    learner = build_learner(RunConfig(task=task_name, learner="maml_rl", train=SMALL,
                                      task_config=None, learner_config=MAMLRLConfig(inner_steps=2)))
    batch = learner.task.sample(3, torch.Generator().manual_seed(5)).episode
    together = learner.adapt_batch(learner.params, batch.support_x, batch.support_y)
    for i in range(3):
        alone = learner.adapt(learner.params, batch.support_x[i], batch.support_y[i])
        for k in learner.params:
            assert torch.allclose(together.params[k][i], alone.params[k], atol=1e-6), k
        assert torch.allclose(together.losses[i], alone.losses)
    moved = [not torch.allclose(together.params[k][0], learner.params[k]) for k in learner.params]
    assert any(moved)


def test_rollouts_are_a_function_of_the_task_seed():
    learner = build_learner(RunConfig(task="navigation", learner="maml_rl", train=SMALL))
    batch = learner.task.sample(2, torch.Generator().manual_seed(0)).episode
    params = rl.batched(learner.params, 2)
    a, b = (learner.rollouts(params, batch.support_x, batch.support_y) for _ in range(2))
    assert torch.equal(a.actions, b.actions)
    other = learner.rollouts(params, batch.support_x, batch.support_y + 1)
    assert not torch.equal(a.actions, other.actions)


def test_maml_rl_meta_gradient_is_finite_and_second_order_differs_from_first():
    grads = {}
    for first_order in (False, True):
        learner = build_learner(RunConfig(task="navigation", learner="maml_rl", train=SMALL,
                                          learner_config=MAMLRLConfig(first_order=first_order)))
        batch = learner.task.sample(3, torch.Generator().manual_seed(2)).episode
        g, cost = learner.meta_grad(batch)
        assert all(torch.isfinite(v).all() for v in g.values()) and cost > 0
        grads[first_order] = torch.cat([v.flatten() for v in g.values()])
    assert not torch.allclose(grads[False], grads[True])


def test_a_bandit_run_trains_and_evaluates_with_its_pretrained_baseline():
    run = Run(RunConfig(task="bandit", learner="maml_rl", train=SMALL))
    assert run.baseline is not None and run.baseline.name == "pretrained_rl"
    events = list(train(run, 4))
    evals = [e for e in events if hasattr(e, "val")]
    assert [e.step for e in evals] == [0, 2, 4]
    assert evals[-1].val.accuracy is None and evals[-1].val.loss.shape == (3,)
    assert (evals[-1].val.loss >= 0).all() and np.isfinite(evals[-1].baseline_val.loss).all()


def test_beta_sampler_has_the_beta_mean_and_classical_strategies_beat_chance():
    g = torch.Generator().manual_seed(0)
    a, b = torch.full((20000,), 3.0, dtype=torch.float64), torch.full((20000,), 5.0, dtype=torch.float64)
    x = _beta_sample(a, b, g)
    assert abs(float(x.mean()) - 3 / 8) < 0.01 and abs(float(x.var()) - 15 / (64 * 9)) < 0.003
    means = torch.rand(200, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    chance = 100 * (means.amax(1) - means.mean(1)).mean()
    for strategy, below in (("ucb1", 0.6), ("thompson", 0.35)):  # measured 0.52 and 0.25 of chance
        regret = classical_regret(means, 100, strategy)
        assert regret.shape == (200, 100) and (regret.diff(dim=1) >= -1e-12).all()
        assert regret[:, -1].mean() < below * chance, strategy
    with pytest.raises(ValueError, match="ucb1"):
        classical_regret(means, 10, "greedy")


def test_rl2_trial_of_a_batch_equals_each_task_alone_and_is_differentiable():
    learner = build_learner(RunConfig(task="bandit", learner="rl2", train=SMALL,
                                      task_config=BanditConfig(horizon=12, n_rollouts=3)))
    batch = learner.task.sample(3, torch.Generator().manual_seed(4)).episode
    logp, rollouts = learner.trial(learner.params, batch.query_x, batch.query_y)
    for i in range(3):
        alone, single = learner.trial(learner.params, batch.query_x[i:i + 1], batch.query_y[i:i + 1])
        assert torch.equal(single.actions[0], rollouts.actions[i])
        assert torch.allclose(alone[0], logp[i], atol=1e-6)
    grads = torch.autograd.grad(logp.sum(), list(learner.params.values()))
    assert all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
    adapted = learner.adapt(learner.params, batch.support_x[0], batch.support_y[0])
    assert adapted.params.keys() == learner.params.keys() and adapted.losses.numel() == 0


def test_rl_runs_go_through_the_cli_store_export_and_import(tmp_path, capsys):
    import json

    from metaviz.__main__ import main
    from metaviz.export import import_run
    from metaviz.store import Store

    home, config = tmp_path / "home", tmp_path / "rl.json"
    config.write_text(json.dumps({"task": "navigation", "learner": "maml_rl", "seed": 1,
                                  "task_config": {"horizon": 5, "n_rollouts": 4},
                                  "train": {"meta_batch": 3, "n_steps": 4, "eval_every": 2, "n_eval_tasks": 3,
                                            "eval_steps": 1, "hidden": 8}}))
    assert main(["train", "--config", str(config), "--home", str(home), "--quiet", "--threads", "1"]) == 0
    assert "(minus return)" in capsys.readouterr().out  # the family's loss named as it is: minus the return
    store = Store(home)
    (record,) = store.runs()
    assert record.status == "done" and record.step == 4 and record.run_config().task == "navigation"
    history = store.history(record.id)
    assert list(history.evals["step"]) == [0, 2, 4] and np.isfinite(history.evals["val_loss"]).all()
    assert "val_accuracy" not in history.evals
    assert main(["runs", "--home", str(home)]) == 0 and "(minus return)" in capsys.readouterr().out
    assert main(["runs", "--home", str(home), "export", record.id, str(tmp_path / "out.zip")]) == 0
    other = Store(tmp_path / "other")
    new_id = import_run(other, tmp_path / "out.zip")
    assert other.get(new_id).run_config() == record.run_config()
    assert np.allclose(other.history(new_id).evals["val_loss"], history.evals["val_loss"])


def test_a_gymnasium_environment_plugs_in_through_the_loop_adapter():
    from metaviz.gym_tasks import rollout_seconds
    from metaviz.tasks.navigation import looped_navigation

    learner = build_learner(RunConfig(task="navigation", learner="maml_rl", train=SMALL,
                                      task_config=NavigationConfig(horizon=6, n_rollouts=3)))
    batch = learner.task.sample(2, torch.Generator().manual_seed(3)).episode
    batched = learner.adapt_batch(learner.params, batch.support_x, batch.support_y, steps=1)
    learner.task = looped_navigation(learner.task.config)   # the same family, through gymnasium envs
    looped = learner.adapt_batch(learner.params, batch.support_x, batch.support_y, steps=1)
    for k in learner.params:
        assert torch.allclose(batched.params[k], looped.params[k], atol=1e-5), k
    *_, error = rollout_seconds(Navigation2D(), looped_navigation(), n_tasks=2, n_rollouts=2, horizon=3, repeats=1)
    assert error < 1e-5


@pytest.mark.parametrize("name", ["maml_rl-navigation", "pretrained_rl-navigation"])
def test_the_shipped_rl_checkpoints_load_and_are_kept_apart_from_the_few_shot_zoo(name):
    from metaviz import checkpoint

    loaded = checkpoint.load(checkpoint.ZOO_DIR / "rl" / f"{name}{checkpoint.SUFFIX}")
    learner = checkpoint.build(loaded)
    assert loaded.config.task == "navigation" and loaded.config.learner == name.split("-")[0] and loaded.step > 0
    assert all(torch.isfinite(p).all() for p in learner.params.values()) and name not in checkpoint.zoo()


def test_reptile_rl_moves_theta_to_the_mean_of_the_policies_each_task_reaches_alone():
    """With outer SGD at rate 1, Reptile's update is theta <- mean_i phi_i; each phi_i is recomputed one task at
    a time (the batched inner loop against a loop reference)."""
    from metaviz.learners.reptile_rl import ReptileRLConfig

    learner = build_learner(RunConfig(task="navigation", learner="reptile_rl", train=SMALL,
                                      task_config=NavigationConfig(horizon=5, n_rollouts=4),
                                      learner_config=ReptileRLConfig(inner_steps=2, outer_optimizer="sgd")))
    batch = learner.task.sample(3, torch.Generator().manual_seed(5)).episode
    alone = [learner.adapt(learner.params, batch.support_x[i], batch.support_y[i], first_order=True).params
             for i in range(3)]
    expected = {k: torch.stack([phi[k] for phi in alone]).mean(0).detach() for k in learner.params}
    assert any(not torch.allclose(expected[k], learner.params[k]) for k in expected)
    out = learner.outer_step(batch, learner.make_optimizer(1.0))
    assert np.isfinite(out["loss"]) and out["loss"] > 0
    for k in expected:
        assert torch.allclose(learner.params[k], expected[k], atol=1e-6), k


@pytest.mark.parametrize("name", ["maml_rl", "rl2"])
def test_drawn_trajectories_take_evaluations_steps_and_returns(name):
    """The Meta-RL page's trajectories adapt with the learner's own evaluation steps: their returns are minus the
    query cost that ``cost_curves`` reports on the same held-out goal (the recurrent policy draws too)."""
    from metaviz.analysis.adaptation import heldout_task
    from metaviz.analysis.rl import trajectories

    config = RunConfig(task="navigation", learner=name, train=SMALL, task_config=NavigationConfig(horizon=6,
                                                                                                 n_rollouts=3))
    learner = build_learner(config)
    drawn = trajectories(config, {name: learner.state_numpy()}, task_seed=2, steps=2, n_draw=2)
    steps = 2 if learner.has_inner_loop else 0  # nothing to draw after steps a memory learner does not take
    assert drawn.paths[name].shape == (steps + 1, 2, 7, 2)
    costs = learner.cost_curves(heldout_task(config, 2)[1].episode, steps)[0]
    np.testing.assert_allclose(drawn.returns[name], -costs.numpy(), rtol=1e-5)
    assert steps == 0 or np.ptp(drawn.returns[name]) > 0


def test_the_gittins_index_matches_gittins_tables_and_the_definition_by_brute_force():
    """Published values (Gittins, Glazebrook and Weber 2011, discount 0.9: Beta(1, 1) 0.7029, Beta(2, 2) 0.6346,
    Beta(3, 3) 0.6010, Beta(10, 2) 0.8695) and, on trees small enough to list every stopping rule, the definition
    sup_tau E[discounted reward] / E[discounted pulls]."""
    from metaviz.gittins import brute_force_index, gittins_table

    table = gittins_table(0.9, 12)
    for (a, b), published in {(1, 1): 0.7029, (2, 2): 0.6346, (3, 3): 0.6010, (10, 2): 0.8695}.items():
        assert table[a, b] == pytest.approx(published, abs=1.5e-4), (a, b)
    for pulls in (2, 3, 4):
        for a, b in ((1, 1), (2, 1), (1, 3)):
            truncated = gittins_table(0.7, a + b, depth=a + b + pulls, settle=False)[a, b]
            assert truncated == pytest.approx(brute_force_index(a, b, 0.7, pulls), abs=1e-9), (a, b, pulls)
    a, b = np.meshgrid(np.arange(12), np.arange(12), indexing="ij")
    known = ~np.isnan(table)
    mean = np.where(known, a / np.maximum(a + b, 1), 0.0)
    assert (table[known] > mean[known]).all()             # the bonus for what is still unknown
    assert (np.diff(table[1:6, 1:6], axis=0) > 0).all()   # win-stay: one more success raises the index
    with pytest.raises(ValueError, match="discount"):
        gittins_table(1.0, 12)


def test_the_gittins_strategy_plays_bandits_better_than_chance():
    means = torch.rand(200, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    chance = 100 * (means.amax(1) - means.mean(1)).mean()
    regret = classical_regret(means, 100, "gittins", discount=0.9)
    assert regret.shape == (200, 100) and (regret.diff(dim=1) >= -1e-12).all()
    assert regret[:, -1].mean() < 0.3 * chance  # measured 0.16 of chance on other bandits


def test_runs_and_compare_name_an_rl_runs_loss_by_what_it_measures(tmp_path, monkeypatch):
    """A bandit run's loss is its regret (TaskDistribution.metric): the Runs page names its metric and chart so in
    English, Compare names its curves so in Chinese."""
    from apptests import open_page

    from metaviz.recorder import Recorder
    from metaviz.store import Store
    from ui import i18n

    monkeypatch.setenv("METAVIZ_HOME", str(tmp_path))
    run = Run(RunConfig(task="bandit", learner="maml_rl", train=SMALL, task_config=BanditConfig(horizon=5,
                                                                                                n_rollouts=3)))
    with Recorder.start(Store(tmp_path), run, source="test") as recorder:
        for event in train(run, 2):
            recorder.record(event)
    at = open_page("pages/runs.py")
    assert "Meta-val regret" in [m.label for m in at.metric]
    titles = [json.loads(c.proto.spec)["layout"]["yaxis"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "regret" in titles and "loss" not in titles
    at = open_page("pages/compare.py", lang="zh")
    zh = i18n.catalogue("zh")
    expected = zh["pg_metric.curve.val_loss"].format(metric=zh["pg_metric.regret.axis"])  # "元验证遗憾"
    assert expected in [json.loads(c.proto.spec)["layout"]["yaxis"]["title"]["text"] for c in at.get("plotly_chart")]


def test_bench_rl_can_be_limited_to_some_learners_and_names_the_wrong_ones():
    from metaviz.bench_rl import bench_rl

    with pytest.raises(ValueError, match="not reinforcement-learning learners.*maml"):
        bench_rl(1.0, only=["maml"])


def test_every_task_familys_metric_has_words_in_both_languages():
    """TaskDistribution.metric names a run's loss on the pages: each family's metric needs its words (a new
    family measuring a new cost adds them to ui.words.METRIC_KEYS and the catalogues)."""
    from metaviz import tasks
    from ui import i18n, words

    for name in tasks.available():
        metric = tasks.get(name).metric
        assert metric in words.METRIC_KEYS, (name, metric)
        for code in ("en", "zh"):
            assert all(key in i18n.catalogue(code) for key in words.METRIC_KEYS[metric].values()), (name, code)
    assert tasks.get("bandit").metric == "regret" and tasks.get("navigation").metric == "minus_return"
    assert tasks.get("sinusoid").metric == "loss"
