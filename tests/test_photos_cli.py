"""``python -m metaviz predict --model photos``: real photos in, JSON lines out; offline backbones say how to get
their weights (exit 2, no traceback); a local weights file goes through --weights; pickers can tell models apart."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from metaviz import backbones, checkpoint, photo_tasks, photoshot
from metaviz.__main__ import main
from metaviz.backbones.resnet import ResNet18


@pytest.fixture(scope="module")
def photo_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(7)
    for cls in ("china", "flower"):
        crops = photo_tasks.random_crops(photo_tasks.source_photo(cls), 4, rng)
        (root / "support" / cls).mkdir(parents=True)
        for i, a in enumerate(crops[:2]):
            Image.fromarray(a).save(root / "support" / cls / f"{i}.jpg")
        (root / "query").mkdir(exist_ok=True)
        for i, a in enumerate(crops[2:]):
            Image.fromarray(a).save(root / "query" / f"{cls}{i}.jpg")
    (root / "query" / "notes.txt").write_text("not an image")
    (root / "query" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    return root


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(backbones.ENV, raising=False)


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_predict_photos_with_the_default_backbone(photo_folders, capsys):
    code = main(["predict", "--model", "photos", "--support", str(photo_folders / "support"),
                 "--query", str(photo_folders / "query")])
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = lines(out.out)
    answers = {r["file"].split("/")[-1]: r for r in rows if "file" in r}
    assert len(answers) == 4 and all(r["predicted"] == name[:-5] for name, r in answers.items())
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-5 for r in answers.values())
    assert any(r.get("rejected", "").endswith("broken.jpg") for r in rows)
    assert "EfficientNet-Lite0" in out.err and "leave-one-out accuracy on the support set: " in out.err
    assert "Traceback" not in out.err


def test_an_offline_torchvision_backbone_says_how_to_get_it_and_exits_two(photo_folders, capsys):
    code = main(["predict", "--model", "photos", "--backbone", "resnet18", "--support",
                 str(photo_folders / "support"), "--query", str(photo_folders / "query")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ResNet-18's ImageNet weights are not on this machine")
    assert "resnet18-f37072fd.pth" in err and "--weights PATH" in err and err.count("\n") == 1


def test_a_local_weights_file_is_used_with_weights(photo_folders, tmp_path, monkeypatch, capsys):
    small = ResNet18(width=16)
    torch.save(small.state_dict(), tmp_path / "r.pth")
    monkeypatch.setitem(backbones.BACKBONES, "resnet18", dataclasses.replace(
        backbones.BACKBONES["resnet18"], build=lambda: ResNet18(width=16)))
    code = main(["predict", "--model", "photos", "--backbone", "resnet18", "--weights", str(tmp_path / "r.pth"),
                 "--head", "logistic", "--support", str(photo_folders / "support"),
                 "--query", str(photo_folders / "query")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert len([r for r in lines(out.out) if "file" in r]) == 4 and "ResNet-18" in out.err
    code = main(["predict", "--model", "photos", "--weights", str(tmp_path / "r.pth"), "--support",
                 str(photo_folders / "support"), "--query", str(photo_folders / "query")])
    err = capsys.readouterr().err
    assert code == 2 and "does not fit EfficientNet-Lite0" in err  # a ResNet file for the Lite0 backbone


def test_predict_list_and_describe_tell_drawings_from_photos(capsys):
    assert main(["predict", "--list"]) == 0
    assert capsys.readouterr().out.startswith("photos\t")
    described = checkpoint.describe()
    assert described["photos"]["suits"] == "photos" and described["photos"]["kind"] == "pretrained"
    assert described["protonet-omniglot"]["suits"] == "drawings"
    assert described["intents-clinc150"]["suits"] == "sentences"


def test_weights_errors_carry_catalogue_keys_whose_english_is_the_message(tmp_path):
    from test_i18n_data import check_keyed

    for call in (lambda: backbones.load("resnet18"), lambda: backbones.get("vgg"),
                 lambda: backbones.weights_path("resnet18", tmp_path / "none.pth")):
        with pytest.raises(backbones.WeightsUnavailable) as error:
            call()
        check_keyed(error.value, str(error.value), ("err_photo",))
    (tmp_path / "x.pth").write_bytes(b"x")
    torch.save([1, 2], tmp_path / "list.pth")
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "wrong.pth")
    for name in ("x.pth", "list.pth", "wrong.pth"):
        with pytest.raises(backbones.WeightsUnavailable) as error:
            backbones.load("resnet18", tmp_path / name)
        check_keyed(error.value, str(error.value), ("err_photo",))
    packaged = backbones.get("efficientnet_lite0").how_to_get()
    check_keyed(packaged, str(packaged), ("err_photo",))


@pytest.mark.slow
def test_eval_photos_reports_accuracy_and_ece_before_and_after_for_every_head(monkeypatch, capsys):
    pytest.importorskip("skimage")
    monkeypatch.setattr(photo_tasks, "CROPS_PER_PHOTO", 9)  # 3 support + 6 queries: the smallest pool that works
    five = ("china", "flower", "coffee", "rocket", "chelsea")
    monkeypatch.setitem(photo_tasks.SPLITS, "test", (five, 2, False))
    monkeypatch.setitem(photo_tasks.SPLITS, "hard-test", (five, 4, True))
    assert main(["eval", "photos", "--tasks", "3"]) == 0
    out = capsys.readouterr().out
    assert out.index("hard-test (") < out.index("test (large")
    for head in ("prototype", "logistic", "finetune"):
        lines = [x for x in out.splitlines() if x.startswith(f"{head}: accuracy")]
        assert len(lines) == 2  # the hard and the easy meta-test tasks
        t = photoshot.temperature("efficientnet_lite0", head)
        assert all("ECE (15 bins)" in x and "at T = 1" in x and f"stored T = {t:.4g}" in x for x in lines)


def test_eval_meta_test_reports_the_maml_models_ece_at_one_stored_and_fitted_temperature(capsys):
    """The shipped 5-way MAML: ECE of its meta-test answers (predict's path) at T = 1, at its stored T and at
    a T fitted on meta-validation tasks, equal to the same numbers computed here from the same logits."""
    from metaviz import bench, calibration

    path = checkpoint.ZOO_DIR / "maml-omniglot.safetensors"
    assert main(["eval", "meta-test", "--checkpoint", str(path), "--tasks", "2"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("calibration over"))
    loaded = checkpoint.load(path)
    val = bench.validation_logits(loaded.config, loaded.params, 2, 0, 5, 1, "val")
    logits, labels = bench.validation_logits(loaded.config, loaded.params, 2, 0, 5, 1, "test")
    fitted = calibration.fit_temperature(*val)
    assert f"over {len(labels)} meta-test answers (5-way 1-shot" in line
    for t, said in ((1.0, "at T = 1"), (loaded.temperature, f"at the stored T = {loaded.temperature:.4g}"),
                    (fitted, f"at T = {fitted:.4g} fitted on {len(val[1])} meta-validation answers")):
        assert f"{calibration.ece(calibration.softmax(logits, t), labels):.4f} {said}" in line
