"""The headless command line: train from a config file into the store, stop with Ctrl-C and resume,
list runs as JSON, export and import, run the exported reproduction script, evaluate a stored run."""

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from metaviz import checkpoint
from metaviz.__main__ import main
from metaviz.commands.train import set_field
from metaviz.export import ExportError, import_run, read_export
from metaviz.store import Store

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"task": "sinusoid", "learner": "maml", "seed": 3,
          "train": {"meta_batch": 4, "n_steps": 12, "eval_every": 4, "n_eval_tasks": 8, "eval_steps": 2,
                    "hidden": 16}}


def cli(home, *args, **kwargs):
    env = dict(os.environ, METAVIZ_HOME=str(home), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "metaviz", *args], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One run trained by the command line from a config file (shared by the tests below)."""
    home = tmp_path_factory.mktemp("home")
    config = home / "run.json"
    config.write_text(json.dumps(CONFIG))
    process = cli(home, "train", "--config", str(config), "--set", "learner.inner_steps=2",
                  "--set", "train.meta_lr=0.005", "--checkpoint-every", "5", "--name", "from-a-file")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    store = Store(home)
    (record,) = store.runs()
    return home, store, record, out, err


def test_train_from_a_config_file_writes_the_run_to_the_store(trained):
    home, store, record, out, err = trained
    assert record.status == "done" and record.step == 12 and record.name == "from-a-file"
    config = record.run_config()
    assert config.seed == 3 and config.learner_config.inner_steps == 2 and config.train.meta_lr == 0.005
    history = store.history(record.id)
    assert list(history.train["step"]) == list(range(1, 13)) and np.isfinite(history.train["loss"]).all()
    assert list(history.evals["step"]) == [0, 4, 8, 12]
    assert [c.step for c in store.checkpoints(record.id)] == [5, 10, 12]
    assert f"run {record.id} done at step 12/12" in out
    assert "100% [" in err and "val_loss" in err  # the progress line with live metrics


def test_runs_json_lists_the_run(trained, capsys):
    home, store, record, _, _ = trained
    assert main(["runs", "--home", str(home), "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == record.id and listed["status"] == "done" and listed["learner"] == "maml"
    assert listed["final"]["val_loss"] == store.history(record.id).final()["val_loss"]
    assert main(["runs", "--home", str(home), "--json", "--status", "running"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["runs", "--home", str(home), "show", "nope"]) == 1
    assert "no run 'nope'" in capsys.readouterr().err


def test_export_then_import_round_trips(trained, tmp_path, capsys):
    home, store, record, _, _ = trained
    assert main(["runs", "--home", str(home), "export", record.id, str(tmp_path / "out.zip")]) == 0
    other = tmp_path / "other"
    assert main(["runs", "--home", str(other), "import", str(tmp_path / "out.zip")]) == 0
    assert f"as run {record.id}" in capsys.readouterr().out  # the id is kept when it is free
    copy = Store(other).get(record.id)
    assert (copy.config, copy.status, copy.step, copy.version, copy.git_commit, copy.source) == (
        record.config, "done", 12, record.version, record.git_commit, "import")
    a, b = Store(other).history(record.id), store.history(record.id)
    for table in ("train", "evals"):
        assert getattr(a, table).keys() == getattr(b, table).keys()
        for key in getattr(b, table):
            np.testing.assert_array_equal(getattr(a, table)[key], getattr(b, table)[key])
    assert Store(other).evals(record.id) == store.evals(record.id)
    mine, theirs = store.last_checkpoint(record.id), Store(other).last_checkpoint(record.id)
    assert theirs.step == 12 and theirs.path.read_bytes() == mine.path.read_bytes()
    assert theirs.state.read_bytes() == mine.state.read_bytes()
    # a second import gets a fresh id, and the folder form works too
    assert main(["runs", "--home", str(home), "export", record.id, str(tmp_path / "folder")]) == 0
    second = import_run(Store(other), tmp_path / "folder")
    assert second != record.id and Store(other).get(second).parent == record.id


def test_import_refuses_unsafe_or_foreign_archives(trained, tmp_path):
    home, store, record, _, _ = trained
    main(["runs", "--home", str(home), "export", record.id, str(tmp_path / "good")])
    files = {p.name: p.read_bytes() for p in (tmp_path / "good").iterdir()}

    def archive(name, entries):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as z:
            for entry, data in entries.items():
                z.writestr(entry, data)
        return path

    with pytest.raises(ExportError, match="refusing the entry"):
        read_export(archive("escape.zip", {**files, "../config.json": b"{}"}))
    link = zipfile.ZipInfo("run/config.json")
    link.external_attr = 0o120777 << 16
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(link, "/etc/passwd")
    with pytest.raises(ExportError, match="symbolic link"):
        read_export(path)
    pickled = archive("pickle.zip", {**files, "checkpoint.safetensors": b"\x80\x04\x95" + b"\0" * 64})
    with pytest.raises(ExportError, match="checkpoint.safetensors"):
        import_run(Store(tmp_path / "x"), pickled)
    assert "weights.pt" not in read_export(archive("pt.zip", {**files, "weights.pt": b"anything"}))
    wrong = archive("wrong.zip", {**files, "config.json": json.dumps({**record.config, "learner": "reptile",
                                                                     "learner_config": {}})})
    with pytest.raises(ExportError, match="holds maml on sinusoid, but config.json says reptile"):
        import_run(Store(tmp_path / "x"), wrong)
    assert Store(tmp_path / "x").runs() == []  # nothing half-imported


@pytest.mark.slow  # trains the run again in a fresh process
def test_the_exported_script_reproduces_the_run(trained, tmp_path):
    home, store, record, _, _ = trained
    main(["runs", "--home", str(home), "export", record.id, str(tmp_path / "run")])
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "reproduce.py"], cwd=tmp_path / "run", env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [int(line.split(":")[0].split()[1]) for line in lines] == [0, 4, 8, 12]
    printed = dict(item.split() for item in lines[-1].split(": ", 1)[1].split(", "))
    final = store.history(record.id).final()
    assert float(printed["val_loss"]) == pytest.approx(final["val_loss"], rel=1e-5)
    assert float(printed["baseline_val_loss"]) == pytest.approx(final["baseline_val_loss"], rel=1e-5)


def test_ctrl_c_stops_with_a_checkpoint_and_resume_finishes(tmp_path, capsys):
    process = cli(tmp_path, "train", "--task", "sinusoid", "--steps", "100000", "--meta-batch", "4",
                  "--set", "train.hidden=16", "--set", "train.n_eval_tasks=8", "--set", "train.eval_every=7",
                  "--checkpoint-every", "1000")
    store = Store(tmp_path)
    deadline = time.monotonic() + 120
    while not (store.runs() and store.runs()[0].step >= 10) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    (record,) = store.runs()
    assert record.status == "stopped" and record.step >= 10 and record.owner_pid is None
    found = store.last_checkpoint(record.id)
    assert found.step == record.step and checkpoint.load(found.path).step == record.step
    assert f"--resume {record.id}" in err
    evals = store.history(record.id).evals["step"]
    assert evals[-1] == record.step // 7 * 7  # a due evaluation is done before stopping

    stopped_at = record.step
    assert main(["train", "--home", str(tmp_path), "--resume", record.id[:6], "--steps", str(stopped_at + 3),
                 "--quiet"]) == 0
    resumed = store.get(record.id)
    assert resumed.status == "done" and resumed.step == stopped_at + 3
    assert list(store.history(record.id).train["step"]) == list(range(1, stopped_at + 4))
    assert main(["train", "--home", str(tmp_path), "--resume", record.id, "--seed", "1"]) == 2
    assert "drop --seed" in capsys.readouterr().err


def test_eval_scores_a_stored_run(trained, capsys):
    home, store, record, _, _ = trained
    assert main(["eval", "meta-test", "--home", str(home), "--run", record.id, "--tasks", "8",
                 "--inner-steps", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    losses = [float(line.split("loss ")[1]) for line in lines[1:]]
    assert len(losses) == 4 and losses[3] < losses[0]  # adaptation helps on held-out sine tasks
    assert main(["eval", "omniglot-oneshot", "--home", str(home), "--run", record.id]) == 2
    assert "needs an image classifier" in capsys.readouterr().err


def test_set_reads_nested_fields_and_rejects_bad_ones():
    config = {"train": {"n_steps": 5}}
    set_field(config, "train.meta_lr=0.1")
    set_field(config, "learner.inner_steps=3")
    set_field(config, "seed=4")
    assert config == {"train": {"n_steps": 5, "meta_lr": "0.1"}, "learner_config": {"inner_steps": "3"}, "seed": 4}
    for bad, message in (("train.meta_lr", "KEY=VALUE"), ("optim.lr=1", "unknown section"),
                         ("lr=1", "top-level key"), ("a.b.c=1", "at most one dot")):
        with pytest.raises(ValueError, match=message):
            set_field({}, bad)
