"""``python -m metaviz predict``: the same ingestion and model as the page, as JSON lines."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metaviz import checkpoint, fewshot
from metaviz.__main__ import main
from metaviz.data import uploads
from metaviz.tasks.digits import DigitsConfig
from metaviz.train import RunConfig, build_learner

ROOT = Path(__file__).resolve().parents[1]


def digit_image(d: int, rng) -> np.ndarray:
    """A scikit-learn digit, upscaled to 32x32, black ink on white paper (as a user would scan it)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    picks = np.flatnonzero(data.target == d)
    image = data.images[rng.choice(picks)] / 16.0
    return (255 - np.kron(image, np.ones((4, 4))) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def digits_setup(tmp_path_factory):
    """A digits ProtoNet checkpoint, a support folder (3 digits, 2 images each, one broken file, one
    text file) and a query folder (3 images and one that is not an image)."""
    root = tmp_path_factory.mktemp("predict")
    config = RunConfig("digits", "protonet", DigitsConfig(n_way=3))
    model = checkpoint.save(root / "model.safetensors", config, build_learner(config).state_numpy(), 0)
    rng = np.random.default_rng(0)
    for d in (5, 6, 7):
        folder = root / "support" / f"digit{d}"
        folder.mkdir(parents=True)
        for i in range(2):
            Image.fromarray(digit_image(d, rng)).save(folder / f"{i}.png")
    (root / "support" / "digit5" / "broken.png").write_bytes(b"\x89PNG but broken")
    (root / "support" / "digit6" / "readme.txt").write_text("not an image")
    (root / "query").mkdir()
    for d in (7, 5, 6):
        Image.fromarray(digit_image(d, rng)).save(root / "query" / f"q{d}.png")
    (root / "query" / "fake.jpg").write_text("a text file named .jpg")
    return root, model, config


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_predict_prints_one_json_line_per_query_and_every_rejected_file(digits_setup, capsys):
    root, model, config = digits_setup
    status = main(["predict", "--model", str(model), "--support", str(root / "support"),
                   "--query", str(root / "query")])
    out, err = capsys.readouterr()
    assert status == 0, err
    rows = lines(out)
    predictions = [r for r in rows if "file" in r]
    rejected = {r["rejected"]: r for r in rows if "rejected" in r}
    assert [r["file"] for r in predictions] == ["q5.png", "q6.png", "q7.png"]
    assert rejected["digit5/broken.png"]["set"] == "support" and "not a readable image" in \
        rejected["digit5/broken.png"]["reason"]
    assert rejected["fake.jpg"]["set"] == "query"
    assert "readme.txt" in err and "Leave-one-out accuracy" in err

    # the same numbers as the library, through the same ingestion
    spec = uploads.preprocessing_for(config)
    support = uploads.ingest_support(root / "support", spec)
    queries = uploads.ingest_queries(root / "query", spec)
    p = fewshot.classify(config, checkpoint.load(model).params, *support.arrays(), queries.arrays(), support.names)
    for row, probs in zip(predictions, p.probabilities):
        assert list(row["probabilities"]) == ["digit5", "digit6", "digit7"]
        np.testing.assert_allclose(list(row["probabilities"].values()), probs, atol=1e-6)
        assert row["predicted"] == support.names[int(np.argmax(probs))]


def test_predict_reads_zips_and_single_images(digits_setup, tmp_path, capsys):
    root, model, _ = digits_setup
    archive = tmp_path / "support.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted((root / "support").rglob("*.png")):
            z.write(f, f"classes/{f.relative_to(root / 'support').as_posix()}")
        z.writestr("../escape.png", b"x")
    status = main(["predict", "--model", str(model), "--support", str(archive), "--query",
                   str(root / "query" / "q7.png")])
    out, err = capsys.readouterr()
    assert status == 0, err
    rows = lines(out)
    assert [r["file"] for r in rows if "file" in r] == ["q7.png"]
    assert any(r.get("rejected") == "support.zip:../escape.png" and "unsafe path" in r["reason"] for r in rows)


def test_predict_errors_are_clear_and_exit_with_two(digits_setup, tmp_path, capsys):
    root, model, _ = digits_setup
    assert main(["predict", "--model", "no-such-model", "--support", str(root / "support"),
                 "--query", str(root / "query")]) == 2
    assert "neither a shipped checkpoint" in capsys.readouterr().err
    (tmp_path / "one" / "only").mkdir(parents=True)
    Image.fromarray(digit_image(3, np.random.default_rng(1))).save(tmp_path / "one" / "only" / "a.png")
    assert main(["predict", "--model", str(model), "--support", str(tmp_path / "one"),
                 "--query", str(root / "query")]) == 2
    assert "at least two classes" in capsys.readouterr().err
    assert main(["predict", "--model", str(model), "--support", str(root / "support"),
                 "--query", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["predict", "--support", "x"]) == 2
    assert "--model, --query required" in capsys.readouterr().err


def test_predict_runs_as_a_module_and_lists_the_zoo():
    done = subprocess.run([sys.executable, "-m", "metaviz", "predict", "--list"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in checkpoint.zoo():
        assert name in done.stdout


def test_predict_with_the_shipped_protonet_on_new_omniglot_characters(tmp_path, capsys):
    from fewshot_models import zoo_path

    from metaviz.data.omniglot import Archive
    from metaviz.data.oneshot import find_runs

    zoo_path("protonet-omniglot")
    try:
        runs = find_runs()
    except FileNotFoundError as error:
        pytest.skip(f"all_runs.zip is not available: {error}")
    with Archive(runs) as archive:   # run01: one drawing of each of 5 characters, another person's as queries
        pairs = dict(line.split() for line in archive.read("run01/class_labels.txt").decode().splitlines() if line)
        classes = sorted(set(pairs.values()))[:5]
        for c in classes:
            (tmp_path / "support" / Path(c).stem).mkdir(parents=True)
            (tmp_path / "support" / Path(c).stem / "1.png").write_bytes(archive.read(c))
        (tmp_path / "query").mkdir()
        truth = {}
        for t, c in pairs.items():
            if c in classes:
                (tmp_path / "query" / Path(t).name).write_bytes(archive.read(t))
                truth[Path(t).name] = Path(c).stem
    assert main(["predict", "--model", "protonet-omniglot", "--support", str(tmp_path / "support"),
                 "--query", str(tmp_path / "query")]) == 0
    out, err = capsys.readouterr()
    rows = [r for r in lines(out) if "file" in r]
    assert len(rows) == 5 and "1-shot" in err and "look like the images this model was meta-trained on" in err
    assert sum(r["predicted"] == truth[r["file"]] for r in rows) >= 4   # chance: 1 of 5
