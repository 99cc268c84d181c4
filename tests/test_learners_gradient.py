"""Oracles for Reptile, ANIL and Meta-SGD: hand-written references, finite differences, MAML."""

import math

import pytest
import torch
import torch.nn.functional as F
from helpers import BlobImages
from torch.func import functional_call, grad

from metaviz.events import EvalEvent
from metaviz.functional import flatten, unflatten
from metaviz.learners.anil import ANIL, ANILConfig
from metaviz.learners.maml import MAML, MAMLConfig
from metaviz.learners.metasgd import MetaSGD, MetaSGDConfig
from metaviz.learners.reptile import Reptile, ReptileConfig
from metaviz.models import MLP, Conv4
from metaviz.tasks.sinusoid import Sinusoid, SinusoidConfig
from metaviz.train import Run, RunConfig, TrainConfig, train

STRATEGIES = ["vmap", "loop"]


def sine_task():
    return Sinusoid(SinusoidConfig(k_shot=5, n_query=6))


def tiny_mlp(hidden=6, layers=2, seed=0):
    torch.manual_seed(seed)
    return MLP(1, 1, hidden=hidden, layers=layers).double()


def sine_batch(task, n_tasks=3, seed=1):
    return task.sample(n_tasks, torch.Generator().manual_seed(seed)).episode.to("cpu", torch.float64)


def blob_task_and_batch():
    task = BlobImages()
    return task, task.sample(3, torch.Generator().manual_seed(0)).episode.to("cpu", torch.float64)


def tiny_conv4(seed=0):
    torch.manual_seed(seed)
    return Conv4((1, 16, 16), 3, hidden=4).double()


def snapshot(params):
    return {k: v.detach().clone() for k, v in params.items()}


def assert_meta_grad_matches_finite_differences(learner, batch, eps=1e-6):
    grads, loss = learner.meta_grad(batch)
    theta = flatten(learner.params).detach()

    def meta_loss(vector):
        params = unflatten(vector, learner.params)
        return torch.stack([learner.task_loss(params, batch.task(i)) for i in range(batch.n_tasks)]).mean()

    numeric = torch.zeros_like(theta)
    for j in range(theta.numel()):
        e = torch.zeros_like(theta)
        e[j] = eps
        numeric[j] = (meta_loss(theta + e) - meta_loss(theta - e)) / (2 * eps)
    assert set(grads) == set(learner.params)
    assert torch.allclose(flatten({k: grads[k] for k in learner.params}), numeric, rtol=1e-5, atol=1e-8)
    assert torch.isclose(loss, meta_loss(theta), rtol=1e-12)


# ---- Reptile ---------------------------------------------------------------------------------------

def reptile_reference(net, theta, batch, alpha, steps, eps, use_query):
    """theta + eps * mean_i (phi_i - theta), phi_i from a hand-written loop of SGD steps."""
    phis = []
    for i in range(batch.n_tasks):
        ep = batch.task(i)
        x, y = ep.support_x, ep.support_y
        if use_query:
            x, y = torch.cat([x, ep.query_x]), torch.cat([y, ep.query_y])
        phi = {k: v.clone().requires_grad_() for k, v in theta.items()}
        for _ in range(steps):
            loss = F.mse_loss(functional_call(net, phi, (x,)), y)
            grads = torch.autograd.grad(loss, list(phi.values()))
            phi = {k: (p - alpha * g).detach().requires_grad_() for (k, p), g in zip(phi.items(), grads)}
        phis.append({k: v.detach() for k, v in phi.items()})
    return {k: theta[k] + eps * torch.stack([phi[k] - theta[k] for phi in phis]).mean(0) for k in theta}, phis


@pytest.mark.parametrize("use_query", [True, False])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_reptile_outer_step_with_sgd_is_the_reptile_update(strategy, use_query):
    alpha, steps, eps = 0.05, 3, 0.3
    task, net = sine_task(), tiny_mlp()
    learner = Reptile(ReptileConfig(inner_lr=alpha, inner_steps=steps, use_query=use_query, outer_optimizer="sgd"),
                      task, net, strategy=strategy)
    batch = sine_batch(task)
    theta = snapshot(learner.params)
    expected, phis = reptile_reference(net, theta, batch, alpha, steps, eps, use_query)

    optimizer = learner.make_optimizer(eps)
    assert type(optimizer) is torch.optim.SGD
    metrics = learner.outer_step(batch, optimizer)

    for k in theta:
        assert torch.allclose(learner.params[k], expected[k], rtol=1e-10, atol=1e-12), k
        assert not torch.equal(learner.params[k], theta[k])
    query_losses = [F.mse_loss(functional_call(net, phi, (batch.query_x[i],)), batch.query_y[i])
                    for i, phi in enumerate(phis)]
    assert math.isclose(metrics["loss"], float(torch.stack(query_losses).mean()), rel_tol=1e-10)


def test_reptile_vmap_and_loop_agree_on_conv4_with_batchnorm():
    task, batch = blob_task_and_batch()
    grads = {}
    for strategy in STRATEGIES:
        learner = Reptile(ReptileConfig(inner_lr=0.1, inner_steps=2), task, tiny_conv4(), strategy=strategy)
        grads[strategy], _ = learner.meta_grad(batch)
    assert torch.allclose(flatten(grads["vmap"]), flatten(grads["loop"]), rtol=1e-9, atol=1e-12)


def test_reptile_non_finite_step_leaves_parameters_untouched():
    task = sine_task()
    learner = Reptile(ReptileConfig(), task, tiny_mlp(), strategy="loop")
    batch = sine_batch(task)
    batch.support_y[0, 0] = float("nan")
    before = snapshot(learner.params)
    assert math.isnan(learner.outer_step(batch, learner.make_optimizer(0.1))["loss"])
    assert all(torch.equal(learner.params[k], before[k]) for k in before)


# ---- Meta-SGD --------------------------------------------------------------------------------------

def metasgd_and_maml(alpha=0.05, steps=2, first_order=False, strategy="vmap", hidden=6, layers=2):
    task = sine_task()
    msgd = MetaSGD(MetaSGDConfig(init_lr=alpha, inner_steps=steps, first_order=first_order), task,
                   tiny_mlp(hidden, layers), strategy=strategy)
    maml = MAML(MAMLConfig(inner_lr=alpha, inner_steps=steps, first_order=first_order), task,
                tiny_mlp(hidden, layers), strategy=strategy)
    return msgd, maml, sine_batch(task)


def test_metasgd_step_sizes_are_meta_parameters():
    msgd, maml, batch = metasgd_and_maml()
    weight_names = list(maml.params)
    assert list(msgd.params) == weight_names + ["lr/" + k for k in weight_names]
    for k in weight_names:
        assert msgd.params["lr/" + k].shape == msgd.params[k].shape and msgd.params["lr/" + k].is_leaf
        assert torch.all(msgd.params["lr/" + k] == 0.05)
    assert set(msgd.state_numpy()) == set(msgd.params)                     # in checkpoints
    before = snapshot(msgd.params)
    msgd.outer_step(batch, msgd.make_optimizer(1e-3))
    assert all(not torch.equal(msgd.params[k], before[k]) for k in before)  # and updated by the optimizer


@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_metasgd_with_constant_step_sizes_is_maml(strategy, first_order):
    msgd, maml, batch = metasgd_and_maml(first_order=first_order, strategy=strategy)
    ep = batch.task(0)
    adapted_msgd = msgd.adapt(msgd.params, ep.support_x, ep.support_y)
    adapted_maml = maml.adapt(maml.params, ep.support_x, ep.support_y)
    assert torch.allclose(adapted_msgd.losses, adapted_maml.losses, rtol=1e-12)
    for k in maml.params:
        assert torch.allclose(adapted_msgd.params[k], adapted_maml.params[k], rtol=1e-12, atol=1e-14)

    (g_msgd, l_msgd), (g_maml, l_maml) = msgd.meta_grad(batch), maml.meta_grad(batch)
    assert torch.isclose(l_msgd, l_maml, rtol=1e-12)
    for k in maml.params:
        assert torch.allclose(g_msgd[k], g_maml[k], rtol=1e-10, atol=1e-13), k


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_metasgd_meta_gradient_matches_finite_differences(strategy):
    msgd, _, batch = metasgd_and_maml(steps=2, strategy=strategy, hidden=4, layers=1)
    with torch.no_grad():  # different step sizes per weight, so that a mixed-up index would show
        generator = torch.Generator().manual_seed(2)
        for k, v in msgd.params.items():
            if k.startswith("lr/"):
                v.mul_(torch.rand(v.shape, generator=generator, dtype=v.dtype) + 0.5)
    assert_meta_grad_matches_finite_differences(msgd, batch)


@pytest.mark.parametrize("first_order", [False, True])
def test_metasgd_step_size_gradient_for_one_step_is_minus_support_times_query_gradient(first_order):
    # theta' = theta - alpha * g_S(theta)  =>  dL_Q(theta')/d alpha = -g_S(theta) * g_Q(theta'), in both modes
    msgd, _, batch = metasgd_and_maml(steps=1, first_order=first_order)
    grads, _ = msgd.meta_grad(batch)
    theta = {k: v.detach() for k, v in msgd.params.items() if not k.startswith("lr/")}
    expected = {k: torch.zeros_like(v) for k, v in theta.items()}
    for i in range(batch.n_tasks):
        ep = batch.task(i)
        g_s = grad(lambda p: F.mse_loss(functional_call(msgd.net, p, (ep.support_x,)), ep.support_y))(theta)
        adapted = {k: theta[k] - 0.05 * g_s[k] for k in theta}
        g_q = grad(lambda p: F.mse_loss(functional_call(msgd.net, p, (ep.query_x,)), ep.query_y))(adapted)
        for k in theta:
            expected[k] -= g_s[k] * g_q[k] / batch.n_tasks
    for k in theta:
        assert torch.allclose(grads["lr/" + k], expected[k], rtol=1e-10, atol=1e-13), k


# ---- ANIL ------------------------------------------------------------------------------------------

def tiny_anil(first_order=False, steps=2, strategy="vmap", lr=0.1, hidden=6, layers=2):
    task = sine_task()
    learner = ANIL(ANILConfig(inner_lr=lr, inner_steps=steps, first_order=first_order), task,
                   tiny_mlp(hidden, layers), strategy=strategy)
    return learner, sine_batch(task)


@pytest.mark.parametrize("backbone", ["mlp", "conv4"])
def test_anil_inner_loop_changes_the_head_and_never_the_body(backbone):
    if backbone == "mlp":
        learner, batch = tiny_anil(steps=3)
    else:
        task, batch = blob_task_and_batch()
        learner = ANIL(ANILConfig(inner_lr=0.1, inner_steps=3), task, tiny_conv4())
    before = snapshot(learner.params)
    ep = batch.task(0)
    adapted = learner.adapt(learner.params, ep.support_x, ep.support_y)
    assert adapted.losses.shape == (3,) and adapted.losses[-1] < adapted.losses[0]
    assert set(adapted.params) == set(learner.params)
    head = [k for k in learner.params if k.startswith("head.")]
    body = [k for k in learner.params if not k.startswith("head.")]
    assert head == ["head.weight", "head.bias"] and len(body) >= 4
    for k in body:
        assert torch.equal(adapted.params[k], before[k])  # bit-identical
    for k in head:
        assert not torch.equal(adapted.params[k], before[k])
    assert all(torch.equal(learner.params[k], before[k]) for k in before)  # and adapt is pure


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_anil_meta_gradient_matches_finite_differences(strategy):
    learner, batch = tiny_anil(strategy=strategy, hidden=4, layers=2)
    grads, _ = learner.meta_grad(batch)
    assert any(flatten({k: g for k, g in grads.items() if not k.startswith("head.")}).abs() > 1e-4)
    assert_meta_grad_matches_finite_differences(learner, batch)


def test_first_order_anil_is_the_query_gradient_at_the_adapted_head():
    learner, batch = tiny_anil(first_order=True)
    grads, _ = learner.meta_grad(batch)
    theta = {k: v.detach() for k, v in learner.params.items()}
    expected = {k: torch.zeros_like(v) for k, v in theta.items()}
    for i in range(batch.n_tasks):
        ep = batch.task(i)
        head = {k: v for k, v in theta.items() if k.startswith("head.")}
        for _ in range(2):  # head-only SGD by hand
            g = grad(lambda h: F.mse_loss(functional_call(learner.net, {**theta, **h}, (ep.support_x,)),
                                          ep.support_y))(head)
            head = {k: head[k] - 0.1 * g[k] for k in head}
        g_q = grad(lambda p: F.mse_loss(functional_call(learner.net, p, (ep.query_x,)), ep.query_y))(
            {**theta, **head})
        for k in theta:
            expected[k] += g_q[k] / batch.n_tasks
    for k in theta:
        assert torch.allclose(grads[k], expected[k], rtol=1e-10, atol=1e-13), k


@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("backbone", ["mlp", "conv4"])
def test_anil_vmap_loop_and_whole_network_paths_agree(backbone, first_order):
    grads, losses = {}, {}
    for strategy in STRATEGIES:
        for reuse in (True, False):
            if backbone == "mlp":
                learner, batch = tiny_anil(first_order, strategy=strategy)
            else:
                task, batch = blob_task_and_batch()
                learner = ANIL(ANILConfig(inner_lr=0.1, inner_steps=2, first_order=first_order), task,
                               tiny_conv4(), strategy=strategy)
            assert learner.reuse_features
            learner.reuse_features = reuse  # False: the inner loop runs the whole network each step
            grads[strategy, reuse], losses[strategy, reuse] = learner.meta_grad(batch)
    reference = flatten(grads["loop", False])
    for key, g in grads.items():
        assert torch.allclose(flatten(g), reference, rtol=1e-9, atol=1e-12), key
        assert torch.isclose(losses[key], losses["loop", False], rtol=1e-12), key


# ---- each learner learns ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["reptile", "anil", "metasgd"])
def test_meta_training_lowers_the_held_out_query_loss(name):
    config = RunConfig(task="sinusoid", learner=name, seed=0,
                       train=TrainConfig(meta_batch=8, n_steps=60, eval_every=60, n_eval_tasks=20, eval_steps=5,
                                         hidden=20, baseline=False))
    evals = [e for e in train(Run(config), 60) if isinstance(e, EvalEvent)]
    assert [e.step for e in evals] == [0, 60]
    first, last = evals[0].val_loss, evals[-1].val_loss  # query loss after the learner's own inner steps
    assert last < 0.85 * first, (first, last)
    assert last < evals[-1].val.loss[0]  # the inner loop helps on held-out tasks
