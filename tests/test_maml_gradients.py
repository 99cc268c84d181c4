"""Oracles for the meta-gradient: finite differences, the second-order term, vmap against a loop."""

import pytest
import torch
from helpers import BlobImages
from torch.func import grad

from metaviz.functional import flatten, unflatten
from metaviz.learners.maml import MAML, MAMLConfig
from metaviz.models import MLP, Conv4
from metaviz.speed import loop_meta_grad
from metaviz.tasks.sinusoid import Sinusoid, SinusoidConfig


def tiny_sine_maml(first_order=False, steps=2, strategy="vmap", lr=0.05):
    task = Sinusoid(SinusoidConfig(k_shot=5, n_query=6))
    torch.manual_seed(0)
    net = MLP(1, 1, hidden=6, layers=2).double()
    learner = MAML(MAMLConfig(inner_lr=lr, inner_steps=steps, first_order=first_order), task, net,
                   strategy=strategy)
    batch = task.sample(3, torch.Generator().manual_seed(1)).episode.to("cpu", torch.float64)
    return learner, batch


@pytest.mark.parametrize("strategy", ["vmap", "loop"])
def test_maml_meta_gradient_matches_finite_differences(strategy):
    learner, batch = tiny_sine_maml(strategy=strategy)
    grads, loss = learner.meta_grad(batch)
    theta = flatten(learner.params).detach()

    def meta_loss(vector):
        params = unflatten(vector, learner.params)
        return torch.stack([learner.task_loss(params, batch.task(i)) for i in range(batch.n_tasks)]).mean()

    eps = 1e-6
    numeric = torch.zeros_like(theta)
    for j in range(theta.numel()):
        e = torch.zeros_like(theta)
        e[j] = eps
        numeric[j] = (meta_loss(theta + e) - meta_loss(theta - e)) / (2 * eps)
    assert torch.allclose(flatten(grads), numeric, rtol=1e-5, atol=1e-8)
    assert torch.isclose(loss, meta_loss(theta), rtol=1e-12)


def test_fomaml_differs_from_maml_by_exactly_the_second_order_term():
    # One inner step: MAML's task gradient is (I - a H_S(theta)) g_Q(theta'), FOMAML's is g_Q(theta').
    alpha = 0.05
    maml, batch = tiny_sine_maml(first_order=False, steps=1, lr=alpha)
    fomaml, _ = tiny_sine_maml(first_order=True, steps=1, lr=alpha)
    g_maml, _ = maml.meta_grad(batch)
    g_fo, _ = fomaml.meta_grad(batch)
    theta = {k: v.detach() for k, v in maml.params.items()}

    expected_fo, second_order = [], []
    for i in range(batch.n_tasks):
        ep = batch.task(i)
        support_grad = grad(lambda p: maml.support_loss(p, ep.support_x, ep.support_y))
        adapted = {k: theta[k] - alpha * g for k, g in support_grad(theta).items()}
        g_query = grad(lambda p: maml.task.loss(maml.predict(p, ep.query_x), ep.query_y))(adapted)
        # H_S(theta) g_Q as the gradient of <grad L_S(theta), g_Q> (g_Q held constant)
        hvp = grad(lambda p: sum((g * g_query[k]).sum() for k, g in support_grad(p).items()))(theta)
        expected_fo.append(flatten(g_query))
        second_order.append(-alpha * flatten(hvp))
    expected_fo = torch.stack(expected_fo).mean(0)
    second_order = torch.stack(second_order).mean(0)

    assert torch.allclose(flatten(g_fo), expected_fo, rtol=1e-10, atol=1e-12)
    assert torch.allclose(flatten(g_maml) - flatten(g_fo), second_order, rtol=1e-8, atol=1e-12)
    assert second_order.abs().max() > 1e-4  # the term is not trivially zero on this case


def test_fomaml_with_zero_inner_steps_equals_maml():
    maml, batch = tiny_sine_maml(first_order=False, steps=0)
    fomaml, _ = tiny_sine_maml(first_order=True, steps=0)
    assert torch.allclose(flatten(maml.meta_grad(batch)[0]), flatten(fomaml.meta_grad(batch)[0]), rtol=1e-12)


@pytest.mark.parametrize("first_order", [False, True])
def test_vmap_and_loop_give_the_same_meta_gradient_for_mlp(first_order):
    vm, batch = tiny_sine_maml(first_order, strategy="vmap")
    lp, _ = tiny_sine_maml(first_order, strategy="loop")
    (gv, lv), (gl, ll) = vm.meta_grad(batch), lp.meta_grad(batch)
    assert torch.allclose(flatten(gv), flatten(gl), rtol=1e-10, atol=1e-13)
    assert torch.isclose(lv, ll, rtol=1e-12)


@pytest.mark.parametrize("first_order", [False, True])
def test_vmap_and_loop_give_the_same_meta_gradient_for_conv4_with_batchnorm(first_order):
    task = BlobImages()
    batch = task.sample(3, torch.Generator().manual_seed(0)).episode.to("cpu", torch.float64)
    grads = {}
    # each task's meta-gradient is taken inside the vmap (one gradient around a vmap of second-order inner
    # loops was measured wrong for the convs before BatchNorm, torch 2.13): whole, and in chunks of 2 tasks
    for strategy, chunk in (("vmap", 0), ("vmap", 2), ("loop", 0)):
        torch.manual_seed(0)
        net = Conv4((1, 16, 16), 3, hidden=4).double()
        learner = MAML(MAMLConfig(inner_lr=0.1, inner_steps=2, first_order=first_order), task, net,
                       strategy=strategy)
        learner.max_chunk = chunk
        grads[strategy, chunk], _ = learner.meta_grad(batch)
    # and the plain per-task autograd loop of the speed benchmark, which shares no code with the learner
    reference, _ = loop_meta_grad(learner.net, learner.params, batch, task.loss, 2, 0.1, first_order)
    for key in (("vmap", 0), ("vmap", 2), ("loop", 0)):
        assert torch.allclose(flatten(grads[key]), flatten(reference), rtol=1e-9, atol=1e-12), key


def test_adapt_is_pure():
    learner, batch = tiny_sine_maml(steps=3)
    before = {k: v.detach().clone() for k, v in learner.params.items()}
    module_before = {k: v.detach().clone() for k, v in learner.net.named_parameters()}
    ep = batch.task(0)
    adapted = learner.adapt(learner.params, ep.support_x, ep.support_y)
    assert adapted.losses.shape == (3,)
    assert adapted.losses[-1] < adapted.losses[0]  # the inner loop lowers the support loss
    for k in before:
        assert torch.equal(learner.params[k], before[k])
        assert not torch.equal(adapted.params[k], before[k])
    for k, v in learner.net.named_parameters():
        assert torch.equal(v, module_before[k])
