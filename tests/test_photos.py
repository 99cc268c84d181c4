"""Few-shot heads on frozen photo features (checked against loop / optimality / manual-step references) and the
photo engine on real photos (scikit-learn's sample images) through the shipped EfficientNet-Lite0."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from sklearn.datasets import load_sample_image

from metaviz import photo_heads, photoshot
from metaviz.backbones.efficientnet_lite import EfficientNetLite0
from metaviz.backbones.resnet import ResNet18


def features(seed=0, n=3, shots=4, queries=5, dim=16):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n, dim)) * 2
    sy = np.repeat(np.arange(n), shots)
    qy = np.repeat(np.arange(n), queries)
    return centres[sy] + rng.normal(size=(len(sy), dim)), sy, centres[qy] + rng.normal(size=(len(qy), dim)), qy


def test_prototype_head_equals_a_loop_over_queries_and_classes():
    s, sy, q, _ = features()
    logits = photo_heads.prototype(s, sy, q, 3)
    for i, x in enumerate(q):
        z = x / np.linalg.norm(x)
        for k in range(3):
            members = [v / np.linalg.norm(v) for v, y in zip(s, sy) if y == k]
            c = sum(members) / len(members)
            assert logits[i, k] == pytest.approx(-photo_heads.SCALE * float(((z - c) ** 2).sum()), rel=1e-10)


def test_logistic_head_is_at_the_optimum_of_its_objective():
    """grad of C * sum CE(W z + b) + ||W||^2 / 2 vanishes at the fitted W, b (float64 autograd check)."""
    s, sy, q, qy = features(1)
    log_p = photo_heads.logistic(s, sy, q, 3)
    assert np.allclose(np.exp(log_p).sum(1), 1) and (log_p.argmax(1) == qy).mean() > 0.8
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=photo_heads.LOGISTIC_C, max_iter=2000, tol=1e-8).fit(photo_heads.normalise(s), sy)
    w = torch.tensor(model.coef_, requires_grad=True)
    b = torch.tensor(model.intercept_, requires_grad=True)
    z = torch.tensor(photo_heads.normalise(s))
    objective = photo_heads.LOGISTIC_C * F.cross_entropy(z @ w.T + b, torch.tensor(sy), reduction="sum") \
        + (w ** 2).sum() / 2
    gw, gb = torch.autograd.grad(objective, (w, b))
    assert float(gw.abs().max()) < 1e-4 and float(gb.abs().max()) < 1e-4
    expected = torch.log_softmax(torch.tensor(photo_heads.normalise(q)) @ w.T + b, -1).detach().numpy()
    assert np.allclose(log_p, expected, atol=1e-8)


def small_net(cls=EfficientNetLite0):
    """A narrow random network whose BatchNorm running statistics fit its activations (as trained ones do),
    so that different images get different features."""
    torch.manual_seed(0)
    net = cls(width=8).eval()

    def fit(module, inputs):
        x = inputs[0]
        module.running_mean.copy_(x.mean((0, 2, 3)))
        module.running_var.copy_(x.var((0, 2, 3)) * torch.empty(x.shape[1]).uniform_(0.5, 2.0))
        module.bias.data.normal_(0, 0.5)

    hooks = [m.register_forward_pre_hook(fit) for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        net(images(16, 99))
    for h in hooks:
        h.remove()
    return net


def images(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 64, 64, generator=g) * torch.rand(n, 3, 1, 1, generator=g) * 2


@pytest.mark.parametrize("cls", [EfficientNetLite0, ResNet18])
def test_finetune_with_no_steps_is_the_prototype_head_and_one_step_is_a_manual_gradient_step(cls):
    net = small_net(cls)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    torch.manual_seed(1)
    with torch.no_grad():
        trunk = net(images(8, 1), part="trunk")
        feats = net(trunk, part="tail").numpy()
    sy = np.array([0, 0, 1, 1, 2, 2])
    sx, qx = trunk[:6].numpy(), trunk[6:].numpy()
    zero = photo_heads.finetune(net, sx, sy, qx, 3, steps=0, dtype=torch.float64)
    assert np.allclose(zero, photo_heads.prototype(feats[:6], sy, feats[6:], 3), atol=1e-5)

    lr = 0.3
    logits, losses = photo_heads.finetune(net, sx, sy, qx, 3, steps=1, lr=lr, return_losses=True,
                                          dtype=torch.float64)
    manual = copy.deepcopy(net).double()  # the reference: a mutated module, plain autograd, a hand-made step
    tail = [(k, p) for k, p in manual.named_parameters() if k.startswith(net.tail_prefixes)]

    def embed(x):
        return F.normalize(manual(torch.tensor(x, dtype=torch.float64), part="tail"), dim=-1)

    z = embed(sx)
    terms = []
    for i in range(len(sy)):  # each support example against prototypes without it (a loop, no closed form)
        protos = torch.stack([z[[j for j in range(len(sy)) if sy[j] == k and j != i]].mean(0) for k in range(3)])
        d2 = ((z[i][None] - protos) ** 2).sum(-1)
        terms.append(F.cross_entropy((-photo_heads.SCALE * d2)[None], torch.tensor([sy[i]])))
    loss = torch.stack(terms).mean()
    grads = torch.autograd.grad(loss, [p for _, p in tail])
    with torch.no_grad():
        for (_, p), g in zip(tail, grads):
            p -= lr * g
        zs, zq = embed(sx), embed(qx)
        protos = torch.stack([zs[torch.tensor(sy) == k].mean(0) for k in range(3)])
        expected = (-photo_heads.SCALE * ((zq[:, None, :] - protos[None]) ** 2).sum(-1)).numpy()
    assert losses[0] == pytest.approx(loss.item(), rel=1e-9) and abs(losses[0] - np.log(3)) > 0.01  # not degenerate
    assert np.allclose(logits, expected, atol=1e-9)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # the module was never changed
    _, curve = photo_heads.finetune(net, sx, sy, qx, 3, steps=5, lr=0.01, return_losses=True)
    assert curve[-1] < curve[0]


def test_each_query_is_scored_from_the_support_set_alone():
    net = small_net()
    torch.manual_seed(2)
    with torch.no_grad():
        trunk = net(images(7, 2), part="trunk").numpy()
    f = np.random.default_rng(0).normal(size=(7, 12))
    sy = np.array([0, 0, 1, 1])
    for head, s, q in (("prototype", f[:4], f[4:]), ("logistic", f[:4], f[4:]), ("finetune", trunk[:4], trunk[4:])):
        fn = photo_heads.HEADS[head]
        args = (net,) if head == "finetune" else ()
        together = fn(*args, s, sy, q, 2)
        alone = np.concatenate([fn(*args, s, sy, q[i:i + 1], 2) for i in range(len(q))])
        assert np.allclose(together, alone, atol=1e-6), head


def crops(name: str, n: int, seed: int, size: int = 200):
    a = load_sample_image(name)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y, x = rng.integers(0, a.shape[0] - size), rng.integers(0, a.shape[1] - size)
        out.append(a[y:y + size, x:x + size])
    return out


def test_real_photos_get_sensible_calibrated_predictions_from_every_head():
    support = photoshot.embed(crops("china.jpg", 2, 0) + crops("flower.jpg", 2, 0))
    queries = photoshot.embed(crops("china.jpg", 2, 1) + crops("flower.jpg", 2, 1))
    assert support.features.shape == (4, 1280) and support.imagenet.shape == (4, 1000)
    for head in photo_heads.HEADS:
        p = photoshot.classify_embedded(support, [0, 0, 1, 1], queries, ("temple", "flower"), head=head)
        assert list(p.predicted) == [0, 0, 1, 1], head
        assert np.allclose(p.probabilities.sum(1), 1) and p.temperature == photoshot.temperature(p.backbone, head)
        assert np.allclose(p.probabilities, np.exp(p.logits / p.temperature) /
                           np.exp(p.logits / p.temperature).sum(1, keepdims=True))
    accuracy, count = photoshot.leave_one_out(support, np.array([0, 0, 1, 1]))
    assert (accuracy, count) == (1.0, 4)
    assert photoshot.familiarity(queries).verdict == "familiar"


def test_flat_colours_and_patterns_are_flagged_as_unlike_imagenet_and_drawings_score_higher_than_photos():
    red = np.zeros((224, 224, 3), np.uint8)
    red[..., 0] = 255
    checker = (np.indices((224, 224)).sum(0) // 8 % 2 * 255).astype(np.uint8)[..., None].repeat(3, 2)
    embedded = photoshot.embed([red, checker])
    verdict = photoshot.familiarity(embedded, ["red.png", "checker.png"])
    assert verdict.verdict == "unlike" and verdict.outside.all() and "red.png" in verdict.message
    drawings = []
    for i in range(2):
        img = Image.new("RGB", (224, 224), "white")
        ImageDraw.Draw(img).line([(30, 40 + 20 * i), (190, 180), (60, 200)], fill="black", width=6)
        drawings.append(img)
    d = photoshot.embed(drawings + crops("china.jpg", 2, 5)).shift
    assert d[:2].min() > d[2:].max()  # a ranking; the limit itself does not flag drawings (see photoshot)
    one = photoshot.embed(drawings[:1])
    assert np.allclose(one.features, photoshot.embed(drawings).features[:1], atol=1e-5)  # batch-independent


def test_describe_says_what_the_photo_model_suits():
    info = photoshot.describe()
    assert info["suits"] == "photos" and info["backbones"]["efficientnet_lite0"] is None
    assert set(info["heads"]) == {"prototype", "logistic", "finetune"}


def test_offline_photo_tasks_keep_support_and_query_apart_and_the_splits_disjoint():
    from metaviz import photo_tasks

    assert not set(photo_tasks.VALIDATION) & set(photo_tasks.TEST)
    labels = np.repeat(np.arange(6), 10)
    tasks = photo_tasks.sample_tasks(labels, 20, n_way=5, k_shot=3, n_query=6, seed=0)
    for task in tasks:
        assert not set(task.support) & set(task.query) and len(task.query) == 30
        for k in range(5):  # each task label is one source photo, in support and query alike
            assert len(set(labels[task.support[task.support_y == k]]) | set(labels[task.query[task.query_y == k]])) == 1
    again = photo_tasks.sample_tasks(labels, 20, seed=0)
    assert all(np.array_equal(a.query, b.query) for a, b in zip(tasks, again))
    crops = photo_tasks.random_crops(photo_tasks.source_photo("china"), 3, np.random.default_rng(0))
    assert all(c.shape[0] == c.shape[1] and c.dtype == np.uint8 for c in crops)
