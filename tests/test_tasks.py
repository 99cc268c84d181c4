"""Every task family: shapes, dtypes, determinism, label remapping, class splits and errors."""

import pytest
import torch
from helpers import example_config, make_image_folder
from test_registry import check_config_class

from metaviz import tasks
from metaviz.tasks.base import SPLITS, ClassPool
from metaviz.tasks.digits import DigitsConfig
from metaviz.tasks.image_folder import ImageFolder, ImageFolderConfig

FAMILIES = [n for n in tasks.available() if n != "omniglot"]  # Omniglot has its own tests (shared data)


@pytest.mark.parametrize("name", FAMILIES)
def test_task_contract(name, tmp_path):
    cls = tasks.get(name)
    assert cls.title and cls.kind in ("regression", "classification", "reinforcement")
    assert len(cls.__doc__) > 300  # shown in the app: the idea and how tasks are made
    check_config_class(cls.Config)
    task = cls(example_config(name, tmp_path))
    state = torch.random.get_rng_state()
    a = task.sample(4, torch.Generator().manual_seed(5))
    assert torch.equal(torch.random.get_rng_state(), state), "sampling must use only the given generator"
    b = task.sample(4, torch.Generator().manual_seed(5))
    c = task.sample(4, torch.Generator().manual_seed(6))
    for x, y in zip(a.episode, b.episode):
        assert torch.equal(x, y)
    assert not torch.equal(a.episode.query_x, c.episode.query_x)
    ep = a.episode
    if task.kind == "reinforcement":  # an MDP's parameters and the seeds of the rollouts collected on it
        assert torch.equal(ep.support_x, ep.query_x) and ep.support_x.shape[0] == 4 and ep.support_x.ndim == 2
        assert ep.support_y.dtype == ep.query_y.dtype == torch.long and ep.support_y.shape == (4,)
        assert not torch.equal(ep.support_y, ep.query_y)
        obs, state = task.reset(ep.support_x)
        assert obs.shape == (4, *task.in_shape)
        action = torch.zeros(4, dtype=torch.long) if task.discrete else torch.zeros(4, task.out_dim)
        obs, reward, state = task.step(state, action, torch.rand(4, generator=torch.Generator().manual_seed(0)))
        assert reward.shape == state["cost"].shape == (4,) and (state["cost"] >= 0).all()
        return
    assert ep.support_x.shape[2:] == ep.query_x.shape[2:] == task.in_shape
    # features are float32; text families give int64 token ids (0 pads) below their vocabulary size
    assert ep.support_x.dtype == (torch.long if cls.vocab_size else torch.float32) and ep.support_x.shape[0] == 4
    if cls.vocab_size:
        assert 0 <= int(ep.support_x.min()) and int(ep.support_x.max()) < cls.vocab_size
    assert all(v.shape[0] == 4 for v in a.truth.values())
    if task.kind == "classification":
        n, k, q = task.config.n_way, task.config.k_shot, task.config.n_query
        assert ep.support_y.dtype == torch.long and ep.support_y.shape == (4, n * k) and ep.query_y.shape == (4, n * q)
        for t in range(4):  # every task uses labels 0..N-1, K and Q of each
            assert torch.equal(ep.support_y[t].bincount(minlength=n), torch.full((n,), k))
            assert torch.equal(ep.query_y[t].bincount(minlength=n), torch.full((n,), q))
        assert task.out_dim == n
    else:
        assert ep.support_y.shape == (4, task.config.k_shot, 1) and task.out_dim == 1
    for split in SPLITS:
        task.sample(2, torch.Generator().manual_seed(0), split)


def pool(n_classes=6, per_class=5):
    labels = torch.arange(n_classes).repeat_interleave(per_class)
    inputs = labels[:, None].float() * 100 + torch.arange(len(labels))[:, None]  # inputs encode their class
    return ClassPool(inputs, labels, tuple("abcdefgh"[:n_classes]), {"train": (0, 1, 2, 3), "val": (4, 5),
                                                                      "test": (4, 5)})


def test_episodes_remap_labels_per_task_and_stay_in_their_split():
    batch = pool().episodes(50, torch.Generator().manual_seed(0), "train", n_way=3, k_shot=2, n_query=3)
    ep, classes = batch.episode, batch.truth["classes"]
    source = (ep.support_x[..., 0] // 100).long()                        # [T, N*K] true class of each example
    for t in range(50):
        for label in range(3):  # each task label maps to one true class, the one recorded in truth
            assert set(source[t][ep.support_y[t] == label].tolist()) == {int(classes[t, label])}
    assert set(classes.flatten().tolist()) <= {0, 1, 2, 3}
    assert len({tuple(row) for row in classes.tolist()}) > 10  # fresh classes and order per task
    first_label_class = classes[:, 0]
    assert len(set(first_label_class.tolist())) == 4  # label 0 means different classes in different tasks
    # support and query of a task never share an example
    assert not set(ep.support_x[0, :, 0].tolist()) & set(ep.query_x[0, :, 0].tolist())


def test_bad_class_configs_fail_with_actionable_messages(tmp_path):
    with pytest.raises(ValueError, match="N-way = 3"):
        pool().episodes(1, torch.Generator(), "val", 3, 1, 1)
    with pytest.raises(ValueError, match="has only 5 examples but shots \\+ queries = 6"):
        pool().episodes(1, torch.Generator(), "train", 2, 2, 4)
    with pytest.raises(ValueError, match="shares classes with the train split"):
        ClassPool(torch.zeros(4, 1), torch.tensor([0, 0, 1, 1]), ("a", "b"), {"train": (0, 1), "test": (1,)})
    with pytest.raises(ValueError, match="overlap on \\[4\\]"):
        DigitsConfig(train_classes="0-4", test_classes="4-8")
    with pytest.raises(ValueError, match="cannot read"):
        DigitsConfig(train_classes="zero")
    with pytest.raises(ValueError, match="fewer than N-way"):
        DigitsConfig(n_way=6)
    with pytest.raises(ValueError, match="choose an image folder"):
        ImageFolder(ImageFolderConfig())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ImageFolder(ImageFolderConfig(path=str(tmp_path / "missing")))


def test_digits_meta_test_classes_are_never_trained_on():
    task = tasks.get("digits")(DigitsConfig(train_classes="0-4", test_classes="5-9", n_way=5))
    train = task.sample(20, torch.Generator().manual_seed(0), "train").truth["classes"]
    test = task.sample(20, torch.Generator().manual_seed(0), "test").truth["classes"]
    assert set(train.flatten().tolist()) == {0, 1, 2, 3, 4}
    assert set(test.flatten().tolist()) == {5, 6, 7, 8, 9}


def test_image_folder_splits_classes_and_skips_unreadable_files(tmp_path):
    root = make_image_folder(tmp_path / "imgs", n_classes=10)
    (root / "class_0" / "broken.png").write_bytes(b"not a png at all")
    (root / "class_0" / "notes.txt").write_text("ignored")
    task = ImageFolder(ImageFolderConfig(path=str(root), n_way=2, val_fraction=0.2, test_fraction=0.2))
    splits = task.pool.splits
    assert sorted(splits["train"] + splits["val"] + splits["test"]) == list(range(10))
    assert not set(splits["train"]) & (set(splits["val"]) | set(splits["test"]))
    from metaviz.data.images import load_folder
    data = load_folder(root)
    assert len(data.skipped) == 1 and "broken.png" in data.skipped[0]
    assert data.images.shape == (80, 1, 28, 28) and 0 <= data.images.min() and data.images.max() <= 1


def test_decompression_bombs_are_refused(tmp_path, monkeypatch):
    from PIL import Image

    from metaviz.data import images

    path = tmp_path / "big.png"
    Image.new("L", (300, 300)).save(path)
    monkeypatch.setattr(images, "MAX_PIXELS", 10_000)
    with pytest.raises(ValueError, match="over the limit"):
        images.decode(path, 28, rgb=False)
