"""Stroke warps (metaviz.data.augment), ensembles in one checkpoint and test-time copies in fewshot.classify:
seeded, shape- and range-keeping warps; an ensemble's probability is its members' mean, computed here with
separate single-model calls; a query's answer depends on the support set and that query alone."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from fewshot_models import omniglot_available

from metaviz import checkpoint, fewshot
from metaviz.data import augment
from metaviz.tasks.omniglot import Omniglot, OmniglotConfig
from metaviz.train import RunConfig, TrainConfig, build_learner

NAMES = tuple("abcde")


def drawings(n: int, seed: int = 0) -> np.ndarray:
    """Strokes on paper: a few thick random lines per 28 px image, ink 1 on paper 0. -> [n, 1, 28, 28]"""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 1, 28, 28), np.float32)
    for image in out:
        for _ in range(3):
            r, c = rng.integers(6, 22, 2)
            if rng.random() < 0.5:
                image[0, r:r + 2, max(c - 6, 0):c + 6] = 1
            else:
                image[0, max(r - 6, 0):r + 6, c:c + 2] = 1
    return out


def protonet(seed: int = 0):
    """A small ProtoNet for 28 px drawings (Conv4 with BatchNorm in batch mode), randomly initialised."""
    config = RunConfig("omniglot", "protonet", OmniglotConfig(n_way=5), seed=seed, train=TrainConfig(hidden=8))
    return config, build_learner(config).state_numpy()


# ---- the warps -----------------------------------------------------------------------------------------

def test_warps_keep_shape_dtype_and_range_and_follow_the_seed():
    x = torch.tensor(drawings(6))
    a = augment.warp(x, torch.Generator().manual_seed(1))
    b = augment.warp(x, torch.Generator().manual_seed(1))
    c = augment.warp(x, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.allclose(a, x, atol=0.05)                          # it does warp
    batched = augment.warp(x[None].expand(3, *x.shape), torch.Generator().manual_seed(1))   # [..., C, H, W]
    assert batched.shape == (3, *x.shape)


def test_a_warp_of_zero_ranges_is_the_identity_and_the_stroke_blend_thickens_or_thins():
    x = torch.tensor(drawings(4))
    still = augment.Warp(0, 0, 0, 0, 0)
    np.testing.assert_allclose(augment.warp(x, torch.Generator().manual_seed(0), still), x, atol=1e-5)
    identity = torch.tensor([[1.0, 0, 0], [0, 1, 0]]).expand(4, 2, 3)
    thicker = augment.apply(x, identity, torch.full((4,), 0.5))
    thinner = augment.apply(x, identity, torch.full((4,), -0.5))
    assert (thicker.sum((1, 2, 3)) > x.sum((1, 2, 3))).all() and (thinner.sum((1, 2, 3)) < x.sum((1, 2, 3))).all()
    assert (thicker >= x - 1e-6).all() and (thinner <= x + 1e-6).all()  # ink only added / only taken away


def test_an_images_copies_depend_on_that_image_alone():
    x = torch.tensor(drawings(5))
    copies = augment.copies(x, 4, seed=3)
    assert copies.shape == (5, 5, 1, 28, 28)
    assert torch.equal(copies[:, 0], x)                                  # copy 0 is the image itself
    reordered = augment.copies(x[[4, 2]], 4, seed=3)
    assert torch.equal(reordered[0], copies[4]) and torch.equal(reordered[1], copies[2])
    assert not torch.equal(augment.copies(x, 4, seed=4), copies)


@pytest.mark.skipif(not omniglot_available(), reason="Omniglot's minimal sets are not available")
def test_omniglot_warps_the_training_split_only():
    plain, warped = Omniglot(OmniglotConfig(n_way=5)), Omniglot(OmniglotConfig(n_way=5, augment=True))
    for split in ("val", "test"):
        a = plain.sample(2, torch.Generator().manual_seed(0), split).episode
        b = warped.sample(2, torch.Generator().manual_seed(0), split).episode
        assert all(torch.equal(u, v) for u, v in zip(a, b)), split
    a = plain.sample(2, torch.Generator().manual_seed(0), "train").episode
    b = warped.sample(2, torch.Generator().manual_seed(0), "train").episode
    assert torch.equal(a.support_y, b.support_y) and a.support_x.shape == b.support_x.shape
    assert not torch.allclose(a.support_x, b.support_x, atol=0.05)
    assert float(b.query_x.min()) >= 0 and float(b.query_x.max()) <= 1


# ---- ensembles in one checkpoint -----------------------------------------------------------------------

def test_an_ensemble_is_saved_loaded_and_checked_member_by_member(tmp_path):
    config, p0 = protonet(0)
    _, p1 = protonet(1)
    path = checkpoint.save(tmp_path / "e.safetensors", config, checkpoint.ensemble([p0, p1]), 7)
    loaded = checkpoint.load(path)
    parts = checkpoint.members(loaded.params)
    assert len(parts) == 2 and parts[0].keys() == p0.keys()
    assert all(np.array_equal(parts[1][k], p1[k]) for k in p1)
    assert checkpoint.members(p0) == [p0]
    learner = checkpoint.build(loaded)                                    # the first member, after all are checked
    assert all(np.array_equal(v, p0[k]) for k, v in learner.state_numpy().items())
    broken = checkpoint.ensemble([p0, {k: v for k, v in p1.items() if k != next(iter(p1))}])
    with pytest.raises(checkpoint.CheckpointError, match="missing"):
        checkpoint.build(dataclasses.replace(loaded, params=broken))
    with pytest.raises(checkpoint.CheckpointError, match="neither one model nor an ensemble"):
        checkpoint.build(dataclasses.replace(loaded, params={**p0, **checkpoint.ensemble([p1])}))
    with pytest.raises(ValueError, match="numbered"):
        checkpoint.members({f"member.1.{k}": v for k, v in p0.items()})


def test_an_ensemble_of_one_model_twice_is_that_model():
    config, params = protonet(0)
    sx, qx = drawings(5, 1), drawings(4, 2)
    single = fewshot.classify(config, params, sx, np.arange(5), qx, NAMES, temperature=1.5)
    twice = fewshot.classify(config, checkpoint.ensemble([params, params]), sx, np.arange(5), qx, NAMES,
                             temperature=1.5)
    np.testing.assert_allclose(twice.probabilities, single.probabilities, atol=1e-6)
    assert np.array_equal(twice.predicted, single.predicted)


def test_an_ensembles_probability_is_the_mean_of_its_members_then_tempered():
    config, p0 = protonet(0)
    _, p1 = protonet(1)
    _, p2 = protonet(2)
    sx, qx = drawings(5, 1), drawings(4, 2)
    mean = np.mean([fewshot.classify(config, p, sx, np.arange(5), qx, NAMES).probabilities for p in (p0, p1, p2)], 0)
    got = fewshot.classify(config, checkpoint.ensemble([p0, p1, p2]), sx, np.arange(5), qx, NAMES)
    np.testing.assert_allclose(got.probabilities, mean, atol=1e-6)
    tempered = fewshot.classify(config, checkpoint.ensemble([p0, p1, p2]), sx, np.arange(5), qx, NAMES, temperature=2)
    reference = np.exp(np.log(mean) / 2)
    np.testing.assert_allclose(tempered.probabilities, reference / reference.sum(1, keepdims=True), atol=1e-6)


def test_a_gradient_learners_ensemble_averages_every_inner_step():
    from test_fewshot import digits_model, toy_support

    config, p0 = digits_model(seed=0)
    _, p1 = digits_model(seed=1)
    sx, sy, qx = toy_support()
    sx, qx = sx.reshape(len(sx), -1), qx.reshape(len(qx), -1)
    sx, qx = np.resize(sx, (len(sx), 64)), np.resize(qx, (len(qx), 64))
    names = ("a", "b", "c")
    members = [fewshot.classify(config, p, sx, sy, qx, names, steps=3) for p in (p0, p1)]
    got = fewshot.classify(config, checkpoint.ensemble([p0, p1]), sx, sy, qx, names, steps=3)
    np.testing.assert_allclose(got.steps, np.mean([m.steps for m in members], 0), atol=1e-6)
    np.testing.assert_allclose(got.support_loss, np.mean([m.support_loss for m in members], 0), atol=1e-5)


# ---- test-time copies ----------------------------------------------------------------------------------

def test_test_time_copies_average_each_querys_own_copies_against_the_warped_support():
    config, params = protonet(0)
    sx, qx = drawings(5, 1), drawings(3, 2)
    got = fewshot.classify(config, params, sx, np.arange(5), qx, NAMES, copies=3, seed=5)
    support = augment.copies(torch.tensor(sx), 3, seed=6).flatten(0, 1).numpy()     # seed + 1: the support's warps
    labels = np.repeat(np.arange(5), 4)
    for i, q in enumerate(augment.copies(torch.tensor(qx), 3, seed=5).numpy()):
        each = [fewshot.classify(config, params, support, labels, c[None], NAMES).probabilities[0] for c in q]
        np.testing.assert_allclose(got.probabilities[i], np.mean(each, 0), atol=1e-6)
    plain = fewshot.classify(config, params, sx, np.arange(5), qx, NAMES)
    assert not np.allclose(got.probabilities, plain.probabilities, atol=1e-4)


def test_with_copies_and_members_a_querys_answer_ignores_the_other_queries():
    config, p0 = protonet(0)
    _, p1 = protonet(1)
    params = checkpoint.ensemble([p0, p1])
    sx, qx = drawings(5, 1), drawings(4, 2)
    together = fewshot.classify(config, params, sx, np.arange(5), qx, NAMES, copies=2).probabilities
    alone = np.concatenate([fewshot.classify(config, params, sx, np.arange(5), qx[i:i + 1], NAMES, copies=2)
                            .probabilities for i in range(4)])
    reversed_ = fewshot.classify(config, params, sx, np.arange(5), qx[::-1], NAMES, copies=2).probabilities[::-1]
    np.testing.assert_allclose(together, alone, atol=1e-6)
    np.testing.assert_allclose(reversed_, alone, atol=1e-6)
    with pytest.raises(ValueError, match="copies"):
        fewshot.classify(config, params, sx, np.arange(5), qx, NAMES, copies=-1)
