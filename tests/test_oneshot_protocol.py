"""The official one-shot score is the same through ``eval`` and through ``predict``, and it is not
transductive: no test drawing influences another's answer (Lake et al. 2015's protocol)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fewshot_models import zoo_path

from metaviz import bench, checkpoint, fewshot
from metaviz.__main__ import main


@pytest.fixture(scope="module")
def official():
    from metaviz.data import oneshot

    try:
        path = oneshot.find_runs()
    except FileNotFoundError as error:
        pytest.skip(f"all_runs.zip is not available: {error}")
    return path, oneshot.load_runs(path)


@pytest.fixture(scope="module")
def protonet():
    return checkpoint.load(zoo_path("protonet-omniglot"))


def eval_predictions(loaded, runs) -> list[np.ndarray]:
    cost = bench.oneshot_cost(loaded.config, loaded.params, loaded.temperature, copies=loaded.copies)
    return [cost(r.train, r.test).argmin(1) for r in runs]


def predict_matches_eval(path, runs, loaded, model: str, tmp_path, capsys) -> None:
    """predict: one folder per class with its one training drawing (the class named by its index) and
    the 20 test drawings as queries, as a user would give them; eval: ``bench.oneshot_cost``."""
    from metaviz.data.omniglot import Archive

    expected = eval_predictions(loaded, runs)
    with Archive(path) as archive:
        for run, want in zip(runs, expected):
            pairs = dict(line.split() for line in archive.read(f"{run.name}/class_labels.txt").decode().splitlines()
                         if line.strip())
            train_files = sorted(set(pairs.values()))
            folder = tmp_path / run.name
            for k, c in enumerate(train_files):
                (folder / "support" / f"{k:02d}").mkdir(parents=True)
                (folder / "support" / f"{k:02d}" / "1.png").write_bytes(archive.read(c))
            (folder / "query").mkdir()
            for t in sorted(pairs):
                (folder / "query" / Path(t).name).write_bytes(archive.read(t))
            assert main(["predict", "--model", model, "--support", str(folder / "support"),
                         "--query", str(folder / "query")]) == 0
            rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
            got = {Path(r["file"]).name: int(r["predicted"]) for r in rows if "file" in r}
            # the run's answers index its training drawings in sorted file order, as the folders do
            predicted = np.array([got[Path(t).name] for t in sorted(pairs)])
            assert np.array_equal(predicted, want), run.name
            assert np.array_equal(np.array([train_files.index(pairs[t]) for t in sorted(pairs)]), run.answers)


@pytest.mark.slow
def test_the_20_official_runs_get_the_same_predictions_through_eval_and_predict(official, protonet, tmp_path,
                                                                               capsys):
    path, runs = official
    predict_matches_eval(path, runs, protonet, "protonet-omniglot", tmp_path, capsys)


@pytest.mark.slow
def test_an_ensemble_with_test_time_copies_answers_the_same_through_eval_and_predict(official, protonet, tmp_path,
                                                                                    capsys):
    """An ensemble checkpoint (two members) with its test-time copies, stored in the file, on one run."""
    path, runs = official
    parts = checkpoint.members(protonet.params)
    second = {k: v * np.float32(0.9) if v.ndim == 4 else v for k, v in parts[-1].items()}  # another network
    saved = checkpoint.save(tmp_path / "ensemble.safetensors", protonet.config,
                            checkpoint.ensemble([parts[0], second]), 1, temperature=1.3, copies=2)
    loaded = checkpoint.load(saved)
    assert loaded.copies == 2 and len(checkpoint.members(loaded.params)) == 2
    predict_matches_eval(path, runs[:1], loaded, str(saved), tmp_path, capsys)


def test_a_test_drawings_answer_does_not_depend_on_the_other_test_drawings(official, protonet):
    _, runs = official
    run, other = runs[0], runs[1]
    cost = bench.oneshot_cost(protonet.config, protonet.params, copies=protonet.copies)
    alone = np.concatenate([cost(run.train, run.test[i:i + 1]) for i in range(3)])
    together = cost(run.train, run.test)[:3]
    mixed = cost(run.train, np.concatenate([run.test[:3], other.test]))[:3]  # other runs' drawings beside them
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)
    np.testing.assert_allclose(mixed, alone, rtol=0, atol=1e-6)
    # the transductive extra does depend on them (what the protocol forbids), so the check above can fail
    learner = checkpoint.build(protonet)
    extra = bench.transductive_cost(learner, protonet.config.task_config.size)
    assert np.abs(extra(run.train, run.test)[:3] - extra(run.train, run.test[:3])).max() > 1e-3


def test_fewshot_classify_answers_each_query_on_its_own(official, protonet):
    from metaviz.data.oneshot import to_tensor

    _, runs = official
    run = runs[2]
    size = protonet.config.task_config.size
    sx, qx = to_tensor(run.train, size).numpy(), to_tensor(run.test, size).numpy()
    classes = [str(k) for k in range(20)]
    p_all = fewshot.classify(protonet.config, protonet.params, sx, np.arange(20), qx, classes).probabilities
    p_rev = fewshot.classify(protonet.config, protonet.params, sx, np.arange(20), qx[::-1], classes).probabilities
    np.testing.assert_allclose(p_rev[::-1], p_all, rtol=0, atol=1e-6)
