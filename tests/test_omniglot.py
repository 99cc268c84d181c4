"""Omniglot loader, task family and the official one-shot benchmark, on the shared data (never downloads)."""

import dataclasses
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from metaviz.data import omniglot, oneshot
from metaviz.data.omniglot import OMNIGLOT_FILES, checksum, find_or_download, load_characters
from metaviz.tasks.omniglot import Omniglot, OmniglotConfig

ROOT = Path(__file__).resolve().parents[1]
SHARED = omniglot.SHARED_DIR
needs_data = pytest.mark.skipif(not (SHARED / "images_background_small1.zip").is_file(),
                                reason=f"Omniglot test data not found in {SHARED} (shared/ beside the repository)")


@pytest.fixture(scope="module")
def minimal():
    return load_characters("minimal", data_dir=SHARED)


@pytest.fixture(scope="module")
def runs():
    return oneshot.load_runs(SHARED / "all_runs.zip")


def task(**changes) -> Omniglot:
    return Omniglot(OmniglotConfig(data_dir=str(SHARED), **changes))


@needs_data
def test_shared_files_match_the_recorded_checksums():
    for name in ("images_background_small1.zip", "images_background_small2.zip", "all_runs.zip"):
        assert checksum(SHARED / name, OMNIGLOT_FILES[name].algorithm) == OMNIGLOT_FILES[name].digest, name


@needs_data
def test_counts_of_the_small_sets_and_their_union(minimal):
    small1, small2 = load_characters("small1", SHARED), load_characters("small2", SHARED)
    assert (len(small1.counts()), len(small1)) == (5, 136)
    assert (len(small2.counts()), len(small2)) == (5, 156)
    assert set(small1.counts()) & set(small2.counts()) == {"Greek", "Latin"}
    assert minimal.counts() == {**small1.counts(), **small2.counts()}  # shared alphabets counted once
    assert (len(minimal.counts()), len(minimal)) == (8, 242)
    assert minimal.counts()["Greek"] == 24 and minimal.counts()["Latin"] == 26
    assert torch.equal(torch.bincount(minimal.labels), torch.full((242,), 20))
    assert load_characters("minimal", data_dir=SHARED) is minimal  # cached in-process


@needs_data
def test_preprocessing_gives_ink_one_on_background_zero(minimal):
    x = minimal.images
    assert x.shape == (4840, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1
    per_image = x.flatten(1)
    darkest = per_image.max(1).values
    assert (darkest > 0.5).all() and (darkest > 0.9).float().mean() > 0.99  # strokes (a few thin ones grey)
    assert ((per_image < 0.05).float().mean(1) > 0.6).all()  # and mostly empty paper
    with zipfile.ZipFile(SHARED / "images_background_small1.zip") as z:
        png = z.read(next(n for n in z.namelist() if n.endswith(".png")))
    full = omniglot.preprocess(png, size=105)  # no resize: exactly the binary drawing
    assert full.shape == (105, 105) and np.unique(full).tolist() == [0.0, 1.0] and full.mean() < 0.2


@needs_data
@pytest.mark.parametrize("split_by", ["character", "alphabet"])
def test_splits_are_disjoint_and_cover_every_class(split_by):
    data = task(split_by=split_by).data
    splits = {s: set(c) for s, c in data.pool.splits.items()}
    assert set().union(*splits.values()) == set(range(242)) and sum(map(len, splits.values())) == 242
    assert all(splits.values())
    if split_by == "alphabet":
        owners = {a: {s for s, cs in splits.items() for c in cs if data.alphabet[c] == a} for a in range(8)}
        assert all(len(o) == 1 for o in owners.values())  # an alphabet lives in one split
    other_seed = task(split_by=split_by, split_seed=1).data.pool.splits
    assert other_seed != data.pool.splits


@needs_data
def test_rotations_make_four_classes_per_character_in_one_split():
    data = task(rotations=True).data
    pool = data.pool
    assert len(pool.names) == 4 * 242 and len(pool.inputs) == 4 * 4840
    for split, classes in pool.splits.items():
        assert {c // 4 for c in classes} == {c // 4 for c in classes if c % 4 == 0}
        assert all(4 * (c // 4) + r in classes for c in classes for r in range(4)), split
    first = pool.inputs[pool.by_class[0]]
    assert torch.equal(pool.inputs[pool.by_class[2]], torch.rot90(first, 2, dims=(-2, -1)))


@needs_data
def test_sample_shapes_labels_and_determinism():
    family = task(n_way=5, k_shot=2, n_query=3)
    batch = family.sample(4, torch.Generator().manual_seed(0), split="val")
    ep = batch.episode
    assert ep.support_x.shape == (4, 10, 1, 28, 28) and ep.query_x.shape == (4, 15, 1, 28, 28)
    assert ep.support_x.dtype == torch.float32 and ep.support_y.dtype == torch.int64
    assert family.in_shape == (1, 28, 28) and family.out_dim == 5
    for y, per_class in ((ep.support_y, 2), (ep.query_y, 3)):
        assert all(torch.equal(torch.bincount(t, minlength=5), torch.full((5,), per_class)) for t in y)
    assert set(batch.truth["classes"].flatten().tolist()) <= set(family.data.pool.splits["val"])
    again = family.sample(4, torch.Generator().manual_seed(0), split="val")
    assert all(torch.equal(a, b) for a, b in zip(ep, again.episode))
    other = family.sample(4, torch.Generator().manual_seed(1), split="val")
    assert not torch.equal(ep.query_x, other.episode.query_x)


@needs_data
def test_within_alphabet_tasks_draw_from_one_alphabet():
    family = task(within_alphabet=True, n_way=5)
    batch = family.sample(16, torch.Generator().manual_seed(0))
    alphabets = batch.truth["alphabet"]
    assert (alphabets == alphabets[:, :1]).all()
    assert len(alphabets[:, 0].unique()) > 1  # different tasks, different alphabets
    assert (family.data.alphabet[batch.truth["classes"]] == alphabets).all()
    assert batch.episode.support_x.shape == (16, 5, 1, 28, 28)


@needs_data
def test_bad_configs_give_actionable_errors():
    with pytest.raises(ValueError, match="lower N-way"):
        task(n_way=40).sample(1, torch.Generator(), split="val")
    with pytest.raises(ValueError, match="lower K-shot"):
        task(k_shot=15, n_query=10).sample(1, torch.Generator())
    with pytest.raises(ValueError, match="at least N-way = 50"):  # the largest alphabet has 47 characters
        task(within_alphabet=True, n_way=50).sample(1, torch.Generator())
    with pytest.raises(ValueError, match="split must be one of"):
        task().sample(1, torch.Generator(), split="eval")
    with pytest.raises(ValueError, match="below 1"):
        OmniglotConfig(val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match="choose one of"):
        dataclasses.replace(OmniglotConfig(), split_by="drawer")


def test_missing_data_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setattr(omniglot, "SHARED_DIR", tmp_path / "no-shared")
    monkeypatch.setenv("METAVIZ_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError) as error:
        find_or_download("images_background")
    message = str(error.value)
    assert f"into {tmp_path / 'cache'}" in message and OMNIGLOT_FILES["images_background.zip"].url in message
    assert "download=True" in message
    with pytest.raises(FileNotFoundError, match="omniglot-oneshot --download"):
        oneshot.find_runs()
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "mine")):
        Omniglot(OmniglotConfig(source="background", data_dir=str(tmp_path / "mine"))).sample(1, torch.Generator())
    with pytest.raises(ValueError, match="unknown Omniglot file"):
        find_or_download("images_everything")


@needs_data
def test_download_verifies_the_checksum_before_the_file_appears(tmp_path, monkeypatch):
    name = "all_runs.zip"  # a file:// URL stands in for GitHub: no network in tests
    local = omniglot.RemoteFile((SHARED / name).as_uri(), "sha256", OMNIGLOT_FILES[name].digest)
    monkeypatch.setattr(omniglot, "SHARED_DIR", tmp_path / "no-shared")
    monkeypatch.setenv("METAVIZ_DATA", str(tmp_path / "cache"))
    monkeypatch.setitem(OMNIGLOT_FILES, name, local._replace(digest="0" * 64))
    with pytest.raises(OSError, match="corrupt"):
        find_or_download(name, download=True)
    assert not any((tmp_path / "cache").iterdir())  # no half or wrong file left behind
    monkeypatch.setitem(OMNIGLOT_FILES, name, local)
    path = find_or_download(name, download=True)
    assert path == tmp_path / "cache" / name and checksum(path) == local.digest
    assert find_or_download(name) == path


def test_zip_entries_with_dot_dot_or_absolute_paths_are_refused(tmp_path):
    for i, evil in enumerate(["images_background_small1/../../evil.png", "/etc/evil.png"]):
        folder = tmp_path / str(i)
        folder.mkdir()
        with zipfile.ZipFile(folder / "images_background_small1.zip", "w") as z:
            z.writestr("images_background_small1/Alpha/character01/a_01.png", b"")
            z.writestr(zipfile.ZipInfo(evil), b"")
        with pytest.raises(ValueError, match="unsafe entry"):
            load_characters("small1", data_dir=folder)


@needs_data
def test_an_extracted_folder_reads_like_the_zip(tmp_path, minimal):
    with zipfile.ZipFile(SHARED / "images_background_small1.zip") as z:  # two characters of one alphabet
        members = [n for n in z.namelist() if n.split("/")[1:3] in (["Korean", "character01"],
                                                                     ["Korean", "character02"])]
        z.extractall(tmp_path, members)
    chars = load_characters("small1", data_dir=tmp_path)
    assert (chars.alphabets, chars.names) == (("Korean",) * 2, ("character01", "character02"))
    korean = [c for c in range(len(minimal)) if minimal.alphabets[c] == "Korean"][:2]
    assert torch.equal(chars.images, minimal.images[torch.isin(minimal.labels, torch.tensor(korean))])


@needs_data
def test_runs_parse_the_official_layout(runs, tmp_path):
    assert len(runs) == 20 and runs[0].name == "run01"
    for run in runs:
        assert run.train.shape == run.test.shape == (20, 105, 105) and run.train.dtype == bool
        assert sorted(run.answers.tolist()) == list(range(20))  # each character tested once
    assert runs[0].answers[0] == 7  # run01/test/item01.png -> run01/training/class08.png
    with zipfile.ZipFile(SHARED / "all_runs.zip") as z:
        z.extractall(tmp_path, [n for n in z.namelist() if n.startswith("run02/")])
    extracted = oneshot.load_runs(tmp_path)
    assert len(extracted) == 1 and np.array_equal(extracted[0].test, runs[1].test)
    assert np.array_equal(extracted[0].answers, runs[1].answers)


@needs_data
def test_fast_mhd_equals_the_pairwise_definition(runs):
    run = runs[6]
    pairwise = np.array([[oneshot.modified_hausdorff(oneshot.points(a), oneshot.points(b)) for b in run.train[:6]]
                         for a in run.test[:6]])
    assert np.allclose(oneshot.mhd_cost(run.train[:6], run.test[:6]), pairwise, rtol=0, atol=1e-9)
    square = np.zeros((3, 3), bool)
    square[0, 0] = square[2, 2] = True  # points (-1,-1), (1,1) against one point (0,0): MHD = sqrt(2)
    dot = np.zeros((3, 3), bool)
    dot[1, 1] = True
    assert oneshot.modified_hausdorff(oneshot.points(square), oneshot.points(dot)) == pytest.approx(2 ** 0.5)


@needs_data
def test_score_uses_lowest_cost(runs):
    oracle = oneshot.score(runs[:1], lambda train, test: -np.eye(20)[runs[0].answers])  # -1 at the right image
    assert oracle.errors.tolist() == [0.0] and oracle.mean == 0.0
    constant = oneshot.score(runs[:1], lambda train, test: np.zeros((20, 20)))  # ties: the first image wins
    assert constant.mean == 95.0
    with pytest.raises(ValueError, match="n_test, n_train"):
        oneshot.score(runs[:1], lambda train, test: np.zeros((20, 19)))
    assert oneshot.to_tensor(runs[0].test).shape == (20, 1, 28, 28)


@needs_data
def test_mhd_baseline_reproduces_the_official_error(runs):
    result = oneshot.score(runs, oneshot.mhd_cost)
    assert result.errors.shape == (20,)
    assert abs(result.mean - 38.75) <= 0.1


@needs_data
def test_cli_prints_the_mean_error_last():
    out = subprocess.run([sys.executable, "-m", "metaviz", "eval", "omniglot-oneshot", "--method", "mhd",
                          "--data", str(SHARED)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 21 and lines[0].startswith("run01: error ")
    assert lines[-1] == "mean error: 38.75%"


def test_cli_names_a_missing_checkpoint(capsys, tmp_path):
    from metaviz.__main__ import main

    assert main(["eval", "omniglot-oneshot", "--checkpoint", str(tmp_path / "model.pt")]) != 0
    assert "cannot read checkpoint" in capsys.readouterr().err
