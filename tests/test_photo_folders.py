"""Image folders in colour (the ``image-folder`` family with ``rgb=True``) and the ResNet-12 backbone.

The folder made here has classes that differ *only* in colour: every class's colour has the same luma
(ITU-R 601-2, the greyscale conversion of ``metaviz.data.images``), so in greyscale the classes are the same
distribution and in RGB they are easy. A model that scores well in colour and near chance in greyscale has
seen the colour channels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.func import functional_call

from metaviz import tasks
from metaviz.analysis import embedding as emb
from metaviz.figures.embedding import thumbnails
from metaviz.models import build_model
from metaviz.resnet import ResNet12, widths
from metaviz.tasks.image_folder import ImageFolderConfig
from metaviz.train import Run, RunConfig, TrainConfig, train

LUMA = np.array([0.299, 0.587, 0.114])
N_CLASSES, PER_CLASS = 12, 6


def class_colours(n: int, luma: float = 0.45, chroma: float = 0.3) -> np.ndarray:
    """n colours [n, 3] in [0, 1] evenly spaced around a circle in the plane of equal luma: all the same grey."""
    u = np.cross(LUMA, [0.0, 0.0, 1.0])
    u /= np.linalg.norm(u)
    v = np.cross(LUMA, u)
    v /= np.linalg.norm(v)  # u and v: orthonormal, and LUMA . u = LUMA . v = 0
    angles = 2 * np.pi * np.arange(n) / n
    return luma + chroma * (np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v)


def make_colour_folder(root, n_classes: int = N_CLASSES, per_class: int = PER_CLASS, size: int = 24):
    """Class folders of PNG photos-in-miniature: a flat colour per class, grey noise and a lighter square that
    moves (the same for all classes, so only the colour tells the classes apart)."""
    rng = np.random.default_rng(1)
    colours = class_colours(n_classes)
    for c, colour in enumerate(colours):
        folder = root / f"colour_{c}"
        folder.mkdir(parents=True)
        for i in range(per_class):
            img = np.broadcast_to(colour, (size, size, 3)).copy()
            img += rng.normal(0, 0.04, (size, size, 1))          # grey noise: the same in every channel
            y, x = rng.integers(0, size // 2, 2)
            img[y:y + size // 3, x:x + size // 3] += 0.15          # a lighter patch somewhere
            Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8), "RGB").save(folder / f"{i}.png")
    return root, colours


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_colour_folder(tmp_path_factory.mktemp("photos") / "photos")


def folder_config(root, **kw) -> ImageFolderConfig:
    base = dict(path=str(root), n_way=2, k_shot=2, n_query=3, rgb=True, size=84, val_fraction=0.25,
                test_fraction=0.25)
    return ImageFolderConfig(**{**base, **kw})


def test_episodes_are_rgb_at_the_chosen_size_and_keep_each_class_colour(folder):
    root, colours = folder
    task = tasks.get("image-folder")(folder_config(root, n_way=3))
    assert task.in_shape == (3, 84, 84)
    batch = task.sample(4, torch.Generator().manual_seed(0), "train")
    ep = batch.episode
    assert ep.support_x.shape == (4, 3 * 2, 3, 84, 84) and ep.query_x.shape == (4, 3 * 3, 3, 84, 84)
    assert ep.support_x.dtype == torch.float32 and ep.support_y.dtype == torch.int64
    assert 0 <= ep.support_x.min() and ep.support_x.max() <= 1
    classes = batch.truth["classes"]                                   # [T, N] the pool class behind each label
    names = task.pool.names
    for t in range(4):
        for x, y in zip(ep.support_x[t], ep.support_y[t]):
            colour = colours[int(names[int(classes[t, y])].split("_")[1])]
            # the median pixel is the class colour (noise and the patch move the mean a little)
            np.testing.assert_allclose(x.flatten(1).median(1).values.numpy(), colour, atol=0.06)


def test_greyscale_is_the_luma_of_the_same_files(folder):
    root, _ = folder
    rgb = tasks.get("image-folder")(folder_config(root, size=24)).pool.inputs
    grey = tasks.get("image-folder")(folder_config(root, size=24, rgb=False)).pool.inputs
    assert rgb.shape[1:] == (3, 24, 24) and grey.shape[1:] == (1, 24, 24)
    # Pillow's "L" conversion rounds L = (299 R + 587 G + 114 B) / 1000 to 8 bits
    np.testing.assert_allclose(grey[:, 0].numpy(), np.einsum("c,mchw->mhw", LUMA, rgb.numpy()), atol=1 / 255 + 1e-6)


def resnet12_parameters(c: int, hidden: int, out_dim: int) -> int:
    """ResNet-12's parameter count by hand: per block three 3x3 convolutions, a 1x1 shortcut, four BatchNorms."""
    total, c_in = 0, c
    for w in widths(hidden):
        total += 9 * c_in * w + 2 * 9 * w * w + c_in * w + 4 * 2 * w
        c_in = w
    return total + c_in * out_dim + out_dim


def test_resnet12_has_the_published_widths_and_is_a_pure_function_of_its_parameters():
    assert widths(64) == (64, 160, 320, 640)
    net = build_model((3, 84, 84), 5, 64, 2, seed=0, backbone="resnet12")
    assert isinstance(net, ResNet12)
    assert sum(p.numel() for p in net.parameters()) == resnet12_parameters(3, 64, 5) == 12_427_525
    assert not list(net.buffers())  # no running statistics: nothing but parameters changes an output
    small = build_model((3, 84, 84), 5, 8, 2, seed=0, backbone="resnet12")
    x = torch.rand(6, 3, 84, 84, generator=torch.Generator().manual_seed(0))
    assert small.body(x).shape == (6, 80) and small(x).shape == (6, 5)
    grey = build_model((1, 28, 28), 5, 8, 2, seed=0, backbone="resnet12")  # channels come from the task
    assert grey.body(torch.rand(6, 1, 28, 28)).shape == (6, 80)
    params = {k: v.detach() + 0.01 for k, v in small.named_parameters()}
    moved = functional_call(small, params, (x,))
    torch.testing.assert_close(small(x), build_model((3, 84, 84), 5, 8, 2, seed=0, backbone="resnet12")(x))
    assert not torch.allclose(moved, small(x))
    with pytest.raises(ValueError, match="no image backbone 'vgg'"):
        build_model((3, 84, 84), 5, 8, 2, seed=0, backbone="vgg")


def short_run(root, backbone: str, rgb: bool, steps: int = 3) -> tuple[list, Run]:
    """ProtoNet meta-trained on the folder for ``steps`` meta-iterations: its events and the run."""
    config = RunConfig(task="image-folder", learner="protonet", seed=0,
                       task_config=folder_config(root, size=16, rgb=rgb),
                       train=TrainConfig(n_steps=steps, eval_every=steps, n_eval_tasks=20, meta_batch=4, hidden=8,
                                         meta_lr=3e-3, baseline=False, backbone=backbone, strategy="loop"))
    run = Run(config)
    return list(train(run, steps)), run


@pytest.mark.parametrize("backbone", ["conv4", pytest.param("resnet12", marks=pytest.mark.slow)])
def test_protonet_meta_trains_on_colour_photos_and_colour_is_what_it_uses(folder, backbone):
    root, _ = folder
    events, run = short_run(root, backbone, rgb=True)
    initial = {k: v.detach().clone() for k, v in Run(run.config).learner.params.items()}
    losses = [e.loss for e in events if hasattr(e, "tasks_per_second")]
    assert len(losses) == 3 and all(np.isfinite(losses)) and run.status == "done"
    assert any(not torch.equal(initial[k], v) for k, v in run.learner.params.items())  # it did learn something
    assert run.learner.params["body.0.conv1.weight" if backbone == "resnet12" else "body.0.0.weight"].shape[1] == 3
    colour = [e for e in events if hasattr(e, "val")][-1].val.at(0)[1]
    grey_events, _ = short_run(root, backbone, rgb=False)
    grey = [e for e in grey_events if hasattr(e, "val")][-1].val.at(0)[1]
    # measured: 99% to 100% in colour, 47% to 52% in greyscale (chance: 50%) for both backbones
    assert colour >= 0.9 and grey <= 0.7, (colour, grey)


def test_the_embedding_view_shows_the_photos_in_colour(folder):
    root, colours = folder
    config = RunConfig(task="image-folder", learner="protonet", task_config=folder_config(root, size=20),
                       train=TrainConfig(hidden=8, baseline=False))
    run = Run(config)
    view = emb.TaskView("image-folder", config.task_config, "test", 0)
    frames = emb.embedding_frames(config, [(0, run.learner.state_numpy())], view, grid=8)
    result = frames.frames[0]
    image = result.image(0)
    assert image.shape == (3, 20, 20)
    shown = thumbnails(image[None], "#000000", zoom=1, pad=1)
    assert shown.shape == (22, 22, 3)
    centre = np.median(shown[1:-1, 1:-1].reshape(-1, 3), 0) / 255
    name = result.class_names[int(result.labels[0])]
    np.testing.assert_allclose(centre, colours[int(name.split("_")[1])], atol=0.06)  # its colour, not grey
    assert np.ptp(centre) > 0.1
    support = result.support_images(int(result.labels[0]))
    assert support.shape[1:] == (3, 20, 20)


@pytest.mark.parametrize("size", [8, 10, 12])
def test_image_folder_tasks_under_16_pixels_run_with_both_backbones(folder, size):
    """Conv4's four 2x2 poolings used to take an 8 to 12 pixel input to an empty map and crash; a side of one
    pixel is no longer pooled, so the feature is the last map (1 x 1 here) and a short meta-training runs."""
    root, _ = folder
    x = torch.rand(4, 3, size, size, generator=torch.Generator().manual_seed(0))
    for backbone in ("conv4", "resnet12"):
        net = build_model((3, size, size), 5, 8, 2, seed=0, backbone=backbone)
        out = net(x)
        assert out.shape == (4, 5) and torch.isfinite(out).all(), backbone
    conv4 = build_model((3, size, size), 5, 8, 2, seed=0)
    assert conv4.body(x).shape == (4, 8)  # 8 channels x a 1 x 1 map
    pools = [block[3].kernel_size for block in conv4.body[:4]]
    assert pools[:3] == [(2, 2)] * 3 and pools[3] == ((2, 2) if size >= 16 else (1, 1)), pools
    config = RunConfig(task="image-folder", learner="protonet", seed=0, task_config=folder_config(root, size=size),
                       train=TrainConfig(n_steps=2, eval_every=2, n_eval_tasks=4, meta_batch=2, hidden=8,
                                         baseline=False, strategy="loop"))
    run = Run(config)
    losses = [e.loss for e in train(run, 2) if hasattr(e, "tasks_per_second")]
    assert len(losses) == 2 and np.isfinite(losses).all() and run.status == "done"


def test_conv4_from_16_pixels_pools_every_block_as_before():
    """Above the small sizes nothing changed: a 28-pixel Conv4 equals the plain stack of 2x2 max-poolings."""
    net = build_model((1, 28, 28), 5, 8, 2, seed=0)
    assert [block[3].kernel_size for block in net.body[:4]] == [(2, 2)] * 4
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    h = x
    for block in net.body[:4]:
        h = torch.nn.functional.max_pool2d(block[2](block[1](block[0](h))), 2)
    torch.testing.assert_close(net(x), net.head(h.flatten(1)))
    assert net.head.in_features == 8
