"""The AutoML benchmark: rows with the promised keys, equal compute within each group."""

import json

from metaviz.__main__ import main
from metaviz.automl import bench


def test_rows_have_the_promised_keys_and_equal_compute(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench, "HYPER_STEPS", 4)
    monkeypatch.setattr(bench, "SETUPS", {
        "unrolled": ({"inner_steps": 4, "hidden": 8}, 3), "random_search": ({"inner_steps": 4, "hidden": 8}, 3),
        "darts": ({"retrain_steps": 5, "width": 6}, 10), "random_nas": ({"train_steps": 5, "width": 6}, 3)})
    monkeypatch.setattr(bench, "TASKS", ("blobs",))
    monkeypatch.setattr(bench, "NAS_TRAIN", 5)
    monkeypatch.setattr(bench, "all_architectures", lambda nodes, ops: [(1, 1, 1), (2, 3, 4)])
    out = tmp_path / "automl.json"
    assert main(["bench", "automl", "--budget-s", "0", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert {"task", "method", "compute_steps", "val_loss", "accuracy", "hyperparameters"} <= set(rows[0])
    by_method = {r["method"]: r for r in rows}
    assert set(by_method) == {"unrolled", "random_search", "darts", "random_nas", "all_cells"}
    assert by_method["unrolled"]["compute_steps"] == by_method["random_search"]["compute_steps"] == 16
    assert by_method["darts"]["compute_steps"] == 15 and by_method["random_nas"]["compute_steps"] == 15
    assert by_method["all_cells"]["compute_steps"] == 10
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in rows)
    assert "| blobs | darts | 1 |" in capsys.readouterr().out
