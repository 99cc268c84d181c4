"""Oracles for the learned optimizer, the sequence model, the CNP and the from-scratch baseline."""

import copy
import dataclasses
import math

import pytest
import torch
from torch import nn

from metaviz.events import EvalEvent
from metaviz.learners.cnp import CNP, CNPConfig
from metaviz.learners.learned_optimizer import LearnedOptimizer, LearnedOptimizerConfig, preprocess
from metaviz.learners.maml import MAML, MAMLConfig
from metaviz.learners.scratch import Scratch
from metaviz.learners.sequence import Sequence, SequenceConfig
from metaviz.models import MLP
from metaviz.tasks.blobs import Blobs
from metaviz.tasks.sinusoid import Sinusoid, SinusoidConfig
from metaviz.train import Run, RunConfig, TrainConfig, train

SINE = Sinusoid(SinusoidConfig(k_shot=5, n_query=6))


def sine_batch(n_tasks=3, seed=1):
    return SINE.sample(n_tasks, torch.Generator().manual_seed(seed)).episode.to("cpu", torch.float64)


def tiny_net(out_dim=1, in_dim=1, hidden=6):
    torch.manual_seed(0)
    return MLP(in_dim, out_dim, hidden=hidden, layers=2).double()


def randomize(learner, prefix, scale=0.3, seed=3):
    """Give the parameters under ``prefix`` random values (zero-initialised layers would hide bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, v in learner.params.items():
            if k.startswith(prefix):
                v.copy_(scale * torch.randn(v.shape, generator=g, dtype=v.dtype))


# ---- learned optimizer ----------------------------------------------------------------------

def randomize_update_net(lo, prefix="opt.", scale=0.3):
    """Random update-network weights phi of size ``scale`` (the parameters hold phi / update_meta_lr)."""
    randomize(lo, prefix, scale / lo.config.update_meta_lr)


def lo_and_maml(steps=2, lr=0.05, strategy="vmap", update="sgd", **kw):
    net = tiny_net()
    lo = LearnedOptimizer(LearnedOptimizerConfig(inner_lr=lr, inner_steps=steps, update=update, **kw), SINE,
                          copy.deepcopy(net), strategy=strategy)
    maml = MAML(MAMLConfig(inner_lr=lr, inner_steps=steps), SINE, net, strategy=strategy)
    return lo, maml


def test_learned_optimizer_fixed_to_sgd_adapts_exactly_as_sgd():
    lo, maml = lo_and_maml(steps=3)
    ep = sine_batch().task(0)
    ours = lo.adapt(lo.params, ep.support_x, ep.support_y)
    ref = maml.adapt(maml.params, ep.support_x, ep.support_y)
    assert set(maml.params) < set(ours.params)
    for k in maml.params:
        assert torch.equal(ours.params[k], ref.params[k]), k
    assert torch.equal(ours.losses, ref.losses)


@pytest.mark.parametrize("strategy", ["vmap", "loop"])
def test_learned_optimizer_fixed_to_sgd_has_maml_meta_gradient(strategy):
    lo, maml = lo_and_maml(steps=2, strategy=strategy)
    batch = sine_batch()
    g_lo, loss_lo = lo.meta_grad(batch)
    g_maml, loss_maml = maml.meta_grad(batch)
    assert torch.allclose(loss_lo, loss_maml, rtol=1e-13, atol=0)
    for k in g_maml:
        assert torch.allclose(g_lo[k], g_maml[k], rtol=1e-10, atol=1e-13), k
    for k in g_lo:  # the unused update network and the momentum state get no meta-gradient
        if k not in g_maml:
            assert not g_lo[k].any(), k


def test_learned_optimizer_starts_as_sgd_then_learns_a_correction():
    lo, maml = lo_and_maml(steps=2)
    lo.config = dataclasses.replace(lo.config, update="learned")
    ep = sine_batch().task(0)
    start = lo.adapt(lo.params, ep.support_x, ep.support_y).params
    ref = maml.adapt(maml.params, ep.support_x, ep.support_y).params
    assert all(torch.allclose(start[k], ref[k], rtol=0, atol=1e-15) for k in ref)  # last layer starts at zero
    randomize_update_net(lo)
    moved = lo.adapt(lo.params, ep.support_x, ep.support_y).params
    assert any(not torch.allclose(moved[k], ref[k]) for k in ref)


def test_learned_optimizer_step_is_the_hand_computed_rule():
    lo, _ = lo_and_maml(steps=1, lr=0.05, scale=0.1, momentum=0.5)
    lo.config = dataclasses.replace(lo.config, update="learned")
    randomize_update_net(lo)
    ep = sine_batch().task(0)
    out = {k: v.detach() for k, v in lo.adapt(lo.params, ep.support_x, ep.support_y).params.items()}
    theta = {k: lo.params[k].detach() for k in lo.net_keys}
    theta_req = {k: v.clone().requires_grad_() for k, v in theta.items()}
    loss = nn.functional.mse_loss(torch.func.functional_call(lo.net, theta_req, (ep.support_x,)), ep.support_y)
    grads = dict(zip(theta, torch.autograd.grad(loss, list(theta_req.values()))))
    p = {k[4:]: lo.config.update_meta_lr * v.detach() for k, v in lo.params.items() if k.startswith("opt.")}

    def pre(g):  # the paper's appendix A, p = 10, one coordinate
        if abs(g) >= math.exp(-10):
            return [math.log(abs(g)) / 10, math.copysign(1.0, g)]
        return [-1.0, math.exp(10) * g]

    for k in ["head.bias", "body.0.weight"]:
        for j in range(theta[k].numel()):
            g = float(grads[k].reshape(-1)[j])
            v = 0.5 * g  # momentum after one step from zero: beta * 0 + (1 - beta) * g
            h = torch.tensor(pre(g) + pre(v), dtype=torch.float64)
            h = torch.relu(p["0.weight"] @ h + p["0.bias"])
            h = torch.relu(p["2.weight"] @ h + p["2.bias"])
            m = float(p["4.weight"] @ h + p["4.bias"])
            expected = float(theta[k].reshape(-1)[j]) - 0.05 * g + 0.1 * m
            assert math.isclose(float(out[k].reshape(-1)[j]), expected, rel_tol=1e-12, abs_tol=1e-14)
            assert math.isclose(float(out["state.momentum." + k].reshape(-1)[j]), v, rel_tol=1e-12)


def test_learned_optimizer_with_a_fixed_start_learns_only_the_update_network():
    lo, _ = lo_and_maml(update="learned", learn_init=False)
    randomize_update_net(lo, "opt.4.")
    grads, _ = lo.meta_grad(sine_batch())
    assert not any(grads[k].any() for k in lo.net_keys)
    assert all(grads[k].abs().max() > 0 for k in ("opt.0.weight", "opt.4.weight"))


def test_preprocessing_matches_the_paper():
    g = torch.tensor([1e-6, -1e-6, 0.0, 0.5, -3.0], dtype=torch.float64)
    e = math.exp(10)
    expected = torch.tensor([[-1, e * 1e-6], [-1, -e * 1e-6], [-1, 0], [math.log(0.5) / 10, 1],
                             [math.log(3.0) / 10, -1]], dtype=torch.float64)
    assert torch.allclose(preprocess(g), expected, rtol=1e-12, atol=0)


def test_learned_optimizer_momentum_carries_across_calls():
    # query_curve adapts one step at a time: K calls of one step must equal one call of K steps
    lo, _ = lo_and_maml(steps=3)
    lo.config = dataclasses.replace(lo.config, update="learned")
    randomize_update_net(lo, scale=0.5)
    ep = sine_batch().task(1)
    once = lo.adapt(lo.params, ep.support_x, ep.support_y).params
    params = lo.params
    for _ in range(3):
        params = lo.adapt(params, ep.support_x, ep.support_y, steps=1).params
    assert all(torch.allclose(once[k], params[k], rtol=1e-12, atol=1e-15) for k in once)


# ---- sequence model -----------------------------------------------------------------------

def sequence_learner(task, in_dim, hidden=8):
    config = SequenceConfig(features=8, width=8, heads=2, blocks=2)
    torch.manual_seed(0)
    net = MLP(in_dim, config.features, hidden=hidden, layers=2).double()
    return Sequence(config, task, net)


def blobs_episode():
    task = Blobs()
    return task, task.sample(1, torch.Generator().manual_seed(2)).episode.to("cpu", torch.float64).task(0)


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_sequence_reads_a_set_and_uses_the_labels(kind):
    if kind == "regression":
        task, ep = SINE, sine_batch().task(0)
    else:
        task, ep = blobs_episode()
    learner = sequence_learner(task, task.in_shape[0])
    params = {k: v.detach() for k, v in learner.params.items()}
    out = learner.predict(learner.adapt(params, ep.support_x, ep.support_y).params, ep.query_x)
    perm = torch.randperm(len(ep.support_x), generator=torch.Generator().manual_seed(5))
    permuted = learner.predict(learner.adapt(params, ep.support_x[perm], ep.support_y[perm]).params, ep.query_x)
    assert torch.allclose(out, permuted, rtol=1e-12, atol=1e-13)
    one = learner.predict(learner.adapt(params, ep.support_x, ep.support_y).params, ep.query_x[:1])
    assert torch.allclose(one, out[:1], rtol=1e-12, atol=1e-13)  # queries do not see each other
    y = ep.support_y.clone()
    y[0] = y[0] + 1.0 if kind == "regression" else (y[0] + 1) % task.out_dim
    changed = learner.predict(learner.adapt(params, ep.support_x, y).params, ep.query_x)
    assert (changed - out).abs().max() > 1e-6


# ---- CNP ----------------------------------------------------------------------------------

def cnp_learner(task, in_dim):
    config = CNPConfig(features=5, r_dim=4, width=7)
    torch.manual_seed(0)
    return CNP(config, task, MLP(in_dim, config.features, hidden=6, layers=2).double())


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_cnp_task_vector_is_the_mean_of_the_pair_encodings(kind):
    if kind == "regression":
        task, ep = SINE, sine_batch().task(0)
    else:
        task, ep = blobs_episode()
    learner = cnp_learner(task, task.in_shape[0])
    p = {k: v.detach() for k, v in learner.params.items()}
    encodings = []
    for x, y in zip(ep.support_x, ep.support_y):
        label = y if kind == "regression" else torch.eye(task.out_dim, dtype=torch.float64)[y]
        h = torch.cat([learner.net(x[None])[0], label])     # the backbone with its own (initial) weights
        h = torch.relu(p["encoder.0.weight"] @ h + p["encoder.0.bias"])
        h = torch.relu(p["encoder.2.weight"] @ h + p["encoder.2.bias"])
        encodings.append(p["encoder.4.weight"] @ h + p["encoder.4.bias"])
    expected = torch.stack(encodings).mean(0)
    r = learner.task_vector(p, ep.support_x, ep.support_y)
    assert r.shape == (4,) and torch.allclose(r, expected, rtol=1e-12, atol=1e-14)
    perm = torch.randperm(len(ep.support_x), generator=torch.Generator().manual_seed(5))
    assert torch.allclose(learner.task_vector(p, ep.support_x[perm], ep.support_y[perm]), r, rtol=1e-12, atol=1e-14)
    assert torch.equal(learner.adapt(p, ep.support_x, ep.support_y).params["context.r"], r)


def test_cnp_regression_loss_is_the_gaussian_nll_and_metrics_report_mse():
    learner = cnp_learner(SINE, 1)
    p = {k: v.detach() for k, v in learner.params.items()}
    ep = sine_batch().task(2)
    r = learner.task_vector(p, ep.support_x, ep.support_y)
    rows = []
    for x in ep.query_x:
        h = torch.cat([learner.net(x[None])[0], r])
        h = torch.relu(p["decoder.0.weight"] @ h + p["decoder.0.bias"])
        h = torch.relu(p["decoder.2.weight"] @ h + p["decoder.2.bias"])
        rows.append(p["decoder.4.weight"] @ h + p["decoder.4.bias"])
    mean, raw = torch.stack(rows).unbind(-1)
    std = 0.05 + 0.95 * torch.log1p(torch.exp(raw))
    y = ep.query_y[:, 0]
    nll = (0.5 * math.log(2 * math.pi) + torch.log(std) + (y - mean) ** 2 / (2 * std**2)).mean()
    assert torch.allclose(learner.task_loss(p, ep), nll, rtol=1e-12)
    assert torch.allclose(nll, -torch.distributions.Normal(mean, std).log_prob(y).mean(), rtol=1e-12)
    metrics = learner.query_metrics(learner.adapt(p, ep.support_x, ep.support_y).params, ep)
    assert torch.allclose(metrics[0], ((mean - y) ** 2).mean(), rtol=1e-12) and torch.isnan(metrics[1])


# ---- all three: the batched meta-gradient against the per-task loop -------------------------

@pytest.mark.parametrize("make", [lambda: lo_and_maml(update="learned")[0], lambda: sequence_learner(SINE, 1),
                                  lambda: cnp_learner(SINE, 1)], ids=["learned_optimizer", "sequence", "cnp"])
def test_vmap_meta_gradient_matches_the_loop(make):
    learner = make()
    if isinstance(learner, LearnedOptimizer):
        randomize_update_net(learner, "opt.4.")  # a live last layer, so the update network gets a real gradient
    batch = sine_batch()
    learner.strategy = "vmap"
    g_vmap, loss_vmap = learner.meta_grad(batch)
    learner.strategy = "loop"
    g_loop, loss_loop = learner.meta_grad(batch)
    assert torch.allclose(loss_vmap, loss_loop, rtol=1e-12)
    for k in g_loop:
        assert torch.allclose(g_vmap[k], g_loop[k], rtol=1e-9, atol=1e-12), k
    assert any(g.abs().max() > 0 for k, g in g_loop.items() if not k.startswith(("body", "head")))


# ---- scratch --------------------------------------------------------------------------------

def test_scratch_outer_step_changes_nothing():
    learner = Scratch(None, SINE, tiny_net(), strategy="loop")
    maml = MAML(None, SINE, tiny_net())
    before = {k: v.detach().clone() for k, v in learner.params.items()}
    optimizer = learner.make_optimizer(0.1)
    batch = sine_batch()
    for _ in range(3):
        metrics = learner.outer_step(batch, optimizer)
    assert all(torch.equal(learner.params[k], before[k]) for k in before)
    assert all(p.grad is None for p in learner.params.values()) and not optimizer.state
    _, maml_loss = maml.meta_grad(batch)  # same start, same inner steps: MAML's meta-loss before it learns
    assert math.isclose(metrics["loss"], float(maml_loss), rel_tol=1e-12)


# ---- short meta-training on sine waves ----------------------------------------------------

@pytest.mark.parametrize("name,config,lr,tasks", [
    ("sequence", SequenceConfig(features=16, width=16, heads=2, blocks=2), 2e-3, 8),
    ("cnp", CNPConfig(features=16, r_dim=16, width=32), 1e-2, 16)])
def test_meta_training_lowers_held_out_query_loss(name, config, lr, tasks):
    # 150 steps learn the shape shared by all waves (about 4.4 -> 2.5-3.3); reading amplitude and phase from
    # the support set takes longer (measured: sequence 0.05, CNP 0.14 after 2000 steps at default sizes)
    run = Run(RunConfig(task="sinusoid", learner=name, learner_config=config,
                        train=TrainConfig(meta_batch=tasks, meta_lr=lr, n_steps=150, eval_every=150, n_eval_tasks=50,
                                          eval_steps=0, hidden=16, baseline=False)))
    evals = [e for e in train(run, 150) if isinstance(e, EvalEvent)]
    first, last = evals[0].val_loss, evals[-1].val_loss
    assert len(evals) == 2 and last < 0.85 * first, (first, last)
