"""The accuracy benchmark runs end to end on a tiny budget and reports what it measured."""

import json
import subprocess
import sys
from pathlib import Path

from metaviz import bench

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


def test_cli_writes_json(tmp_path):
    out = tmp_path / "rows.json"
    result = subprocess.run([sys.executable, "-m", "metaviz", "bench", "accuracy", "--budget-s", "0.5",
                             "--device", "cpu", "--learners", "pretrained", "--setups", "sine K=10",
                             "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    assert [r["metric"] for r in rows] == ["mse@1", "mse@10"] and rows[0]["learner"] == "pretrained"
