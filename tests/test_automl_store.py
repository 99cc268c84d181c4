"""AutoML searches through the run store's contracts: the CLI records one, exports hand it on, imports check it."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from metaviz.__main__ import main
from metaviz.automl.worker import stored_snapshot
from metaviz.export import AUTOML_SCRIPT, SCRIPTS, ExportError, export_files, export_run, import_run
from metaviz.store import Store

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["automl", "--task", "blobs", "--method", "unrolled", "--outer-steps", "3", "--set", "inner_steps=4",
        "--set", "hidden=8", "--seed", "2"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    out = home / "summary.json"
    assert main([*ARGS, "--home", str(home), "--json", str(out)]) == 0
    return Store(home), json.loads(out.read_text())


def test_the_cli_records_a_search_with_its_config_curves_and_both_choices(searched):
    store, summary = searched
    record = store.get(summary["run_id"])
    assert (record.kind, record.status, record.source, record.learner, record.step) == (
        "automl", "done", "cli", "unrolled", 3)
    assert record.run_config().to_dict() == summary["config"]
    assert record.result == {"method": summary["result"], "baseline": summary["baseline_result"],
                             "grid": summary["grid_result"]}
    assert summary["compute_steps"] == summary["baseline_compute_steps"] == summary["grid_compute_steps"] == 12
    assert (summary["baseline_method"], summary["grid_method"]) == ("random_search", "grid_search")
    assert record.result["grid"] == summary["grid_result"] and summary["grid_result"]["test_loss"] > 0
    history = store.history(record.id)
    assert history.evals["compute_steps"].tolist() == [4, 8, 12]
    assert {"lr.1", "weight_decay.1", "baseline_val_loss", "grid_val_loss", "test_loss", "test_accuracy",
            "grid_test_loss"} <= set(history.evals)
    finals = store.finals([record.id])[record.id]
    assert finals["test_accuracy"] == pytest.approx(summary["result"]["test_accuracy"])


def test_runs_lists_searches_by_kind_and_shows_what_they_chose(searched, capsys):
    store, summary = searched
    home = str(store.home)
    assert main(["runs", "--home", home, "--kind", "meta"]) == 0
    assert "matching the filters" in capsys.readouterr().out
    assert main(["runs", "--home", home, "--kind", "automl", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["kind"], listed["result"]["grid"]) == (summary["run_id"], "automl",
                                                                         summary["grid_result"])
    assert main(["runs", "--home", home, "show", summary["run_id"]]) == 0
    shown = capsys.readouterr().out
    assert "3/3 outer steps" in shown and "grid chose" in shown and "lr_mean_per_layer" in shown


def test_a_budget_stops_the_search_and_still_scores_what_it_holds(tmp_path):
    out = tmp_path / "s.json"
    args = ["automl", "--task", "sinusoid", "--method", "darts", "--outer-steps", "100000", "--set",
            "retrain_steps=5", "--budget-s", "0.5", "--home", str(tmp_path), "--json", str(out)]
    assert main(args) == 0
    summary = json.loads(out.read_text())
    record = Store(tmp_path).get(summary["run_id"])
    assert record.status == "stopped" and "budget" in record.message and 0 < record.step < 100000
    assert summary["result"]["hyperparameters"]["cell"] and record.result["method"] == summary["result"]


def test_bad_arguments_exit_2_with_the_reason(tmp_path, capsys):
    assert main(["automl", "--method", "darts", "--set", "width=many", "--home", str(tmp_path)]) == 2
    assert "width" in capsys.readouterr().err
    assert main(["automl", "--outer-steps", "0", "--no-store"]) == 2


def test_an_exported_search_imports_as_the_same_run_and_draws_the_same(searched, tmp_path):
    store, summary = searched
    zipped = export_run(store, summary["run_id"], tmp_path / "run.zip")
    names = set(zipfile.ZipFile(zipped).namelist())
    assert names == {"run.json", "config.json", "metrics.csv", "evals.json", "reproduce.py"}  # no checkpoint
    other = Store(tmp_path / "other")
    new = import_run(other, zipped)
    before, after = store.get(summary["run_id"]), other.get(new)
    assert (after.kind, after.status, after.source, after.config, after.result) == (
        "automl", "done", "import", before.config, before.result)
    drawn, again = stored_snapshot(store, before.id), stored_snapshot(other, new)
    assert [e.val_loss for e in drawn.steps] == [e.val_loss for e in again.steps]
    assert [e.compute_steps for e in drawn.baseline_steps] == [e.compute_steps for e in again.baseline_steps]
    assert [e.val_loss for e in drawn.grid_steps] == [e.val_loss for e in again.grid_steps] and drawn.grid_steps
    assert again.result == drawn.result


def test_the_reproduce_script_is_constant_and_runs_the_search_again(searched, tmp_path):
    store, summary = searched
    files = export_files(store, summary["run_id"])
    assert files["reproduce.py"].decode() == AUTOML_SCRIPT == SCRIPTS["automl"]
    assert "{" + "config}" not in AUTOML_SCRIPT and summary["run_id"] not in AUTOML_SCRIPT
    export_run(store, summary["run_id"], tmp_path / "out")
    done = subprocess.run([sys.executable, "reproduce.py"], cwd=tmp_path / "out", capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert done.returncode == 0, done.stderr
    last = summary["result"]["test_loss"]
    assert f"method: test_loss {last:.6g}" in done.stdout and "step 3: val_loss" in done.stdout


def _rewrite(files: dict, path: Path, run=None, config=None, extra=None) -> Path:
    meta, cfg = json.loads(files["run.json"]), json.loads(files["config.json"])
    run and run(meta)
    config and config(cfg)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in {**files, "run.json": json.dumps(meta).encode(), "config.json": json.dumps(cfg).encode(),
                           **(extra or {})}.items():
            archive.writestr(name, data)
    return path


REFUSED = {
    "a hyperparameter named with code": (dict(run=lambda m: m["result"]["method"]["hyperparameters"].update(
        {"__import__('os')": 1})), "run.json", "result"),
    "an accuracy of 3": (dict(run=lambda m: m["result"]["method"].update(test_accuracy=3.0)), "run.json", "result"),
    "an unknown kind": (dict(run=lambda m: m.update(kind="rl")), "run.json", "kind"),
    "an unknown method": (dict(config=lambda c: c.update(method="sh")), "config.json", "method"),
    "a billion outer steps": (dict(config=lambda c: c.update(outer_steps=10**9)), "config.json", "outer_steps"),
    "an unknown method field": (dict(config=lambda c: c["method_config"].update(x=1)), "config.json", "x"),
    "a checkpoint": (dict(extra={"checkpoint.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "}),
                     "checkpoint.safetensors", "checkpoint"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_search_out_of_its_schema_is_refused_by_name_and_nothing_is_added(searched, tmp_path, case):
    store, summary = searched
    changes, file, words = REFUSED[case]
    bad = _rewrite(export_files(store, summary["run_id"]), tmp_path / "bad.zip", **changes)
    other = Store(tmp_path / "other")
    with pytest.raises(ExportError) as caught:
        import_run(other, bad)
    assert str(caught.value).startswith(f"{file}: ") and words in str(caught.value), str(caught.value)
    assert other.runs() == []


def test_a_search_relabelled_as_a_meta_run_is_refused(searched, tmp_path):
    store, summary = searched
    files = export_files(store, summary["run_id"])
    with pytest.raises(ExportError, match="config.json"):  # an AutoML config is not a RunConfig
        import_run(Store(tmp_path / "o"), _rewrite(files, tmp_path / "m.zip", run=lambda m: m.update(kind="meta")))
