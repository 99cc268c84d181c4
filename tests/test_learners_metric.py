"""Metric learners (ProtoNet, Matching Networks, Siamese) against references computed independently:
plain loops, torch.cdist, F.cosine_similarity, F.binary_cross_entropy, and hand-worked examples."""

import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from metaviz import learners, tasks
from metaviz.events import EvalEvent
from metaviz.learners.matching import MatchingNet
from metaviz.learners.protonet import ProtoNet
from metaviz.learners.siamese import Siamese, pair_targets
from metaviz.models import MLP, Conv4
from metaviz.train import Run, RunConfig, TrainConfig, train
from tests.helpers import BlobImages

METRIC = ("protonet", "matching", "siamese")
SUPPORT_KEYS = {"protonet": {"prototypes"}, "matching": {"support_embeddings", "support_onehot"},
                "siamese": {"support_embeddings", "support_onehot"}}


def blobs(n_way=3, k_shot=4, n_query=3):
    return tasks.get("blobs")(tasks.get("blobs").Config(n_way=n_way, k_shot=k_shot, n_query=n_query))


def make(name, task=None, strategy="loop", seed=0, embedding_dim=4, **config):
    """A float64 learner on 2-D blobs with a tiny MLP backbone."""
    task = task or blobs()
    cls = learners.get(name)
    cfg = cls.Config(embedding_dim=embedding_dim, **config)
    torch.manual_seed(seed)
    net = MLP(2, cls.net_out_dim(task, cfg), hidden=8).double()
    return cls(cfg, task, net, strategy=strategy)


def episodes(task, n_tasks=4, seed=0):
    """Float64 episodes with the support examples shuffled (labels not grouped by class)."""
    ep = task.sample(n_tasks, torch.Generator().manual_seed(seed)).episode.to("cpu", torch.float64)
    perm = torch.randperm(ep.support_x.shape[1], generator=torch.Generator().manual_seed(seed + 1))
    return ep._replace(support_x=ep.support_x[:, perm], support_y=ep.support_y[:, perm])


def bare(learner):
    return {k: v.detach() for k, v in learner.params.items()}


def reference_embed(learner, params, x):
    """The backbone called with its own parameters loaded, not through the learner."""
    net = copy.deepcopy(learner.net)
    net.load_state_dict({k: params[k] for k in net.state_dict()})
    with torch.no_grad():
        return net(x)


# ---- ProtoNet ------------------------------------------------------------------------------------------

def test_protonet_prototypes_logits_and_loss_match_references():
    learner = make("protonet")
    ep = episodes(learner.task).task(0)
    params = bare(learner)
    adapted = learner.adapt(params, ep.support_x, ep.support_y).params

    zs = reference_embed(learner, params, ep.support_x)
    expected = torch.stack([torch.stack([zs[i] for i in range(len(zs)) if ep.support_y[i] == k]).mean(0)
                            for k in range(learner.task.out_dim)])
    torch.testing.assert_close(adapted["prototypes"], expected, rtol=0, atol=1e-12)

    logits = learner.predict(adapted, ep.query_x)
    reference = -torch.cdist(reference_embed(learner, params, ep.query_x), expected) ** 2
    torch.testing.assert_close(logits, reference, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(learner.task_loss(params, ep), F.cross_entropy(reference, ep.query_y),
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", METRIC)
def test_vmap_and_loop_meta_gradients_agree(name):
    vm, lp = make(name, strategy="vmap"), make(name, strategy="loop")
    assert vm.resolved_strategy() == "vmap" and lp.resolved_strategy() == "loop"
    batch = episodes(vm.task, n_tasks=5)
    (g_vmap, loss_vmap), (g_loop, loss_loop) = vm.meta_grad(batch), lp.meta_grad(batch)
    torch.testing.assert_close(loss_vmap, loss_loop, rtol=1e-10, atol=1e-12)
    assert set(g_vmap) == set(g_loop) == set(vm.params)
    for k in g_vmap:
        torch.testing.assert_close(g_vmap[k], g_loop[k], rtol=1e-8, atol=1e-10)
    assert any(g.abs().max() > 1e-6 for g in g_loop.values())


# ---- Matching Networks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("learn_scale", [True, False])
def test_matching_probabilities_are_softmax_attention_over_cosines(learn_scale):
    learner = make("matching", scale=3.0, learn_scale=learn_scale)
    assert ("log_scale" in learner.params) == learn_scale
    ep = episodes(learner.task).task(1)
    params = bare(learner)
    adapted = learner.adapt(params, ep.support_x, ep.support_y).params
    probs = learner.probabilities(adapted, ep.query_x)

    zs, zq = reference_embed(learner, params, ep.support_x), reference_embed(learner, params, ep.query_x)
    labels = F.one_hot(ep.support_y, learner.task.out_dim).double()
    expected = []
    for q in zq:
        cos = torch.stack([F.cosine_similarity(q, s, dim=0) for s in zs])
        expected.append(torch.softmax(3.0 * cos, 0) @ labels)
    expected = torch.stack(expected)
    torch.testing.assert_close(probs, expected, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(probs.sum(1), torch.ones(len(probs), dtype=torch.float64))
    torch.testing.assert_close(learner.task_loss(params, ep), F.nll_loss(expected.log(), ep.query_y))


# ---- Siamese ------------------------------------------------------------------------------------------

def test_siamese_pair_score_is_symmetric_weighted_l1():
    learner = make("siamese", embedding_dim=3)
    params = bare(learner)
    params["pair.weight"] = torch.tensor([0.5, -2.0, 1.5], dtype=torch.float64)
    params["pair.bias"] = torch.tensor(0.25, dtype=torch.float64)
    a, b = torch.randn(4, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    s = learner.pair_scores(params, a, b)
    torch.testing.assert_close(s, learner.pair_scores(params, b, a).T, rtol=0, atol=0)
    for i in range(4):
        for j in range(5):
            expected = sum(params["pair.weight"][d] * abs(a[i, d] - b[j, d]) for d in range(3)) + 0.25
            torch.testing.assert_close(s[i, j], expected)


def test_siamese_pair_builder_labels_same_class_pairs_one():
    y = torch.tensor([2, 0, 2, 1, 0, 2])
    targets, mask = pair_targets(y)
    for m in range(len(y)):
        for n in range(len(y)):
            assert targets[m, n] == (1.0 if int(y[m]) == int(y[n]) else 0.0)
            assert mask[m, n] == (1.0 if m < n else 0.0)  # each unordered pair once, never with itself
    assert int(mask.sum()) == len(y) * (len(y) - 1) // 2


@pytest.mark.parametrize("balance", [True, False])
def test_siamese_task_loss_is_pair_bce(balance):
    learner = make("siamese", balance_pairs=balance)
    ep = episodes(learner.task).task(2)
    params = bare(learner)
    x = torch.cat([ep.support_x, ep.query_x])
    y = torch.cat([ep.support_y, ep.query_y])
    z = torch.cat([reference_embed(learner, params, ep.support_x), reference_embed(learner, params, ep.query_x)])
    same, different = [], []
    for m in range(len(x)):
        for n in range(m + 1, len(x)):
            score = (params["pair.weight"] * (z[m] - z[n]).abs()).sum() + params["pair.bias"]
            target = torch.tensor(float(y[m] == y[n]), dtype=torch.float64)
            (same if y[m] == y[n] else different).append(F.binary_cross_entropy(torch.sigmoid(score), target))
    if balance:
        expected = 0.5 * (torch.stack(same).mean() + torch.stack(different).mean())
    else:
        expected = torch.stack(same + different).mean()
    torch.testing.assert_close(learner.task_loss(params, ep), expected, rtol=1e-9, atol=1e-12)


def identity_siamese():
    """A Siamese learner whose embedding is the input itself (relu(x) - relu(-x) = x) and whose pair
    score is minus the L1 distance."""
    learner = make("siamese", embedding_dim=2)
    learner.net = MLP(2, 2, hidden=4, layers=1).double()
    eye = torch.eye(2, dtype=torch.float64)
    params = {"body.0.weight": torch.cat([eye, -eye]), "body.0.bias": torch.zeros(4, dtype=torch.float64),
              "head.weight": torch.cat([eye, -eye], 1), "head.bias": torch.zeros(2, dtype=torch.float64),
              "pair.weight": -torch.ones(2, dtype=torch.float64), "pair.bias": torch.zeros((), dtype=torch.float64)}
    learner.params, learner.net_keys = params, ("body.0.weight", "body.0.bias", "head.weight", "head.bias")
    return learner, params


def test_siamese_one_shot_prediction_picks_the_best_scoring_support_example():
    learner, params = identity_siamese()
    support_x = torch.tensor([[0., 0.], [4., 0.], [0., 4.], [4., 4.], [9., 9.]], dtype=torch.float64)
    support_y = torch.tensor([0, 0, 1, 2, 2])
    query_x = torch.tensor([[3., 0.], [1., 3.], [8., 8.]], dtype=torch.float64)
    adapted = learner.adapt(params, support_x, support_y).params
    torch.testing.assert_close(learner.embed(params, query_x), query_x)
    logits = learner.predict(adapted, query_x)
    # L1 distances to the five support points: (3,0): 3 1 7 5 15;  (1,3): 4 6 2 4 14;  (8,8): 16 12 12 8 2
    expected = torch.tensor([[-1., -7., -5.], [-4., -2., -4.], [-12., -12., -2.]], dtype=torch.float64)
    torch.testing.assert_close(logits, expected)
    assert logits.argmax(1).tolist() == [0, 1, 2]


def test_siamese_query_metrics_report_n_way_classification_not_the_pair_loss():
    learner = make("siamese")
    ep = episodes(learner.task).task(0)
    params = bare(learner)
    logits = learner.predict(learner.adapt(params, ep.support_x, ep.support_y).params, ep.query_x)
    loss, accuracy = learner.query_metrics(params, ep)
    torch.testing.assert_close(loss, F.cross_entropy(logits, ep.query_y))
    torch.testing.assert_close(accuracy, (logits.argmax(1) == ep.query_y).double().mean())
    assert not torch.isclose(loss, learner.task_loss(params, ep))


# ---- what the three share -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", METRIC)
def test_adapt_fills_in_the_support_summary_and_is_pure_and_repeatable(name):
    learner = make(name)
    assert learner.has_embedding and not learner.has_inner_loop and learner.kinds == {"classification"}
    assert all(learner.params[k].shape[0] == 0 for k in SUPPORT_KEYS[name])  # empty placeholders
    ep = episodes(learner.task).task(0)
    before = {k: v.detach().clone() for k, v in learner.params.items()}
    out = learner.adapt(learner.params, ep.support_x, ep.support_y)
    assert out.losses.numel() == 0
    assert set(out.params) == set(learner.params)
    assert all(out.params[k].shape[0] > 0 for k in SUPPORT_KEYS[name])
    assert all(torch.equal(learner.params[k], before[k]) for k in before)
    again = learner.adapt(out.params, ep.support_x, ep.support_y, steps=1, first_order=True).params  # query_curve
    assert set(again) == set(out.params) and all(torch.equal(again[k], out.params[k]) for k in again)
    assert learner.embed(out.params, ep.query_x).shape == (len(ep.query_x), 4)
    copied = {k: v.detach() for k, v in out.params.items()}  # the summary survives plain-dict copies
    torch.testing.assert_close(learner.predict(copied, ep.query_x), learner.predict(out.params, ep.query_x))
    with pytest.raises(ValueError, match="adapt"):
        learner.predict(before, ep.query_x)
    curve = learner.query_curve(before, ep, 3)
    assert curve.shape == (2, 4) and torch.equal(curve, curve[:, :1].expand(2, 4))  # flat: no inner loop
    state = learner.state_numpy()
    assert set(state) == set(learner.params) and all(state[k].size == 0 for k in SUPPORT_KEYS[name])


@pytest.mark.parametrize("name", METRIC)
def test_training_moves_every_meta_parameter_and_reports_accuracy(name):
    config = RunConfig(task="blobs", learner=name, train=TrainConfig(meta_batch=3, n_eval_tasks=4, eval_steps=2,
                                                                     hidden=8, eval_every=2, n_steps=4))
    run = Run(config)
    before = {k: v.detach().clone() for k, v in run.learner.params.items()}
    events = list(train(run, 4))
    assert run.step == 4 and events[-1].finished
    moved = {k for k in before if not torch.equal(run.learner.params[k], before[k])}
    assert moved == {k for k in before if k not in SUPPORT_KEYS[name]}  # pair.* and log_scale learn too
    curves = run.learner.evaluate(run.eval_batch, 2)
    assert curves.loss.shape == (3,) and (curves.loss >= 0).all() and curves.accuracy.shape == (3,)


@pytest.mark.parametrize("name", METRIC)
def test_image_tasks_with_conv4_and_batchnorm(name):
    task = BlobImages(BlobImages.Config(n_way=3, k_shot=2, n_query=2, size=16))
    cls = learners.get(name)
    cfg = cls.Config(embedding_dim=8)
    torch.manual_seed(0)
    learner = cls(cfg, task, Conv4(task.in_shape, cls.net_out_dim(task, cfg), hidden=4))
    assert learner.resolved_strategy() == "loop"
    batch = task.sample(2, torch.Generator().manual_seed(0)).episode
    assert all(v == v for v in learner.outer_step(batch, learner.make_optimizer(1e-3)).values())
    curves = learner.evaluate(batch, 1)
    assert curves.loss.shape == (2,) and (curves.accuracy >= 0).all()


@pytest.mark.parametrize("name", METRIC)
def test_meta_training_beats_chance_on_held_out_blob_tasks(name):
    n_way = 5
    config = RunConfig(task="blobs", learner=name, task_config=tasks.get("blobs").Config(n_way=n_way, k_shot=1,
                                                                                       n_query=5),
                       learner_config=learners.get(name).Config(embedding_dim=16),
                       train=TrainConfig(n_steps=100, meta_batch=4, hidden=16, eval_every=100, n_eval_tasks=50,
                                         eval_steps=1, baseline=False))
    evals = [e for e in train(Run(config), 100) if isinstance(e, EvalEvent)]
    first, last = evals[0], evals[-1]
    assert last.step == 100
    loss, accuracy = last.val.at(0)
    assert accuracy > 1 / n_way + 0.3, (name, accuracy)
    assert loss < first.val.at(0)[0] - 0.2, (name, loss, first.val.at(0))


def test_configs_declare_their_knobs():
    assert ProtoNet.Config().embedding_dim == 64
    assert dataclasses.asdict(MatchingNet.Config()) == {"embedding_dim": 64, "scale": 10.0, "learn_scale": True}
    assert Siamese.Config().balance_pairs
