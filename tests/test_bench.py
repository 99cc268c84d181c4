"""The accuracy benchmark runs end to end on a tiny budget and reports what it measured."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from metaviz import bench

ONE = bench.ONESHOT

ROOT = Path(__file__).resolve().parents[1]


def test_bench_rows_cover_each_supported_pair_with_metrics():
    rows = bench.bench_accuracy(1.0, "cpu", only_learners=["maml", "protonet"],
                                only_setups=["sine K=5", "digits 5-way 1-shot"])
    pairs = {(r.learner, r.setup, r.metric) for r in rows}
    # protonet does not do regression: it is skipped there, not faked
    assert pairs == {("maml", "sine K=5", "mse@1"), ("maml", "sine K=5", "mse@10"),
                     ("maml", "digits 5-way 1-shot", "accuracy"), ("protonet", "digits 5-way 1-shot", "accuracy")}
    for r in rows:
        assert r.meta_iterations >= 1 and r.train_seconds >= 0
        assert 0 <= r.value <= 1 if r.metric == "accuracy" else r.value > 0
    assert "| maml | sine K=5 | mse@1 |" in bench.table(rows)


def test_recipes_follow_each_learners_paper():
    proto5, proto20 = bench.run_config("protonet", "omniglot 5-way 1-shot"), bench.run_config("protonet", ONE)
    assert proto5 == proto20, "one ProtoNet model answers every N (it has no N-way head)"
    assert proto5.task_config.n_way == 60 and proto5.task_config.rotations and proto5.train.meta_batch == 1
    maml5, maml20 = bench.run_config("maml", "omniglot 5-way 1-shot"), bench.run_config("maml", ONE)
    assert maml5.task_config.n_way == 5 and maml20.task_config.n_way == 20  # an N-way head: one model per N
    assert maml5.learner_config.inner_lr == 0.4 and not maml5.learner_config.first_order
    fomaml = bench.run_config("fomaml", ONE)
    assert fomaml.learner == "maml" and fomaml.learner_config.first_order
    assert bench.any_way("matching", "omniglot") and not bench.any_way("sequence", "omniglot")


def test_cli_writes_json(tmp_path):
    out = tmp_path / "rows.json"
    result = subprocess.run([sys.executable, "-m", "metaviz", "bench", "accuracy", "--budget-s", "0.5",
                             "--device", "cpu", "--learners", "pretrained", "--setups", "sine K=10",
                             "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    assert [r["metric"] for r in rows] == ["mse@1", "mse@10"] and rows[0]["learner"] == "pretrained"


@pytest.mark.slow  # 600 tasks are cut to 40, but the intents pool and two learners take ~20 s on 2 cores
def test_text_rows_give_intervals_out_of_scope_scores_and_skip_what_does_not_apply(monkeypatch):
    monkeypatch.setattr(bench, "TEXT_EVAL_TASKS", 40)
    rows = bench.bench_accuracy(1.0, "cpu", only_learners=["tfidf", "protonet"],
                                only_setups=["intents 5-way 5-shot", "digits 5-way 1-shot"])
    by = {(r.learner, r.setup, r.metric.split(" (")[0]): r for r in rows}
    # TF-IDF takes token ids only: no digits row; ProtoNet answers both
    assert {k[:2] for k in by} == {("tfidf", "intents 5-way 5-shot"), ("protonet", "intents 5-way 5-shot"),
                                   ("protonet", "digits 5-way 1-shot")}
    tfidf = by[("tfidf", "intents 5-way 5-shot", "accuracy")]
    assert tfidf.value > 0.85 and 0 < tfidf.ci95 < 0.05 and tfidf.meta_iterations == 0
    with_oos = by[("tfidf", "intents 5-way 5-shot", "accuracy with oos")]
    recall = by[("tfidf", "intents 5-way 5-shot", "oos recall")]
    assert with_oos.value <= tfidf.value and 0 <= recall.value <= 1  # rejecting can only lose in-scope answers
    assert "reject below" in with_oos.metric and "± " in bench.table(rows)
