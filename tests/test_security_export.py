"""An exported run is a file strangers pass around: nothing in it may run code on the machine that imports,
exports again and runs its ``reproduce.py`` (issue 17). Every free-text field of ``run.json`` carries
Python-breaking text and a marker command; the marker must never run and the script must still
reproduce the run."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from metaviz.__main__ import main
from metaviz.export import SCRIPT, export_files, export_run, import_run
from metaviz.store import Store

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"task": "sinusoid", "learner": "maml", "seed": 5,
          "train": {"meta_batch": 2, "n_steps": 4, "eval_every": 2, "n_eval_tasks": 4, "eval_steps": 1,
                    "hidden": 8}}
# closes a docstring / comment / string of any kind, then runs a line that leaves a file and prints a marker
# (the marker is built at run time, so the field's text echoed verbatim is not mistaken for it)
PAYLOAD = '"""\nprint("INJECTED" + "-MARKER"); open("INJECTED", "w")\n"""'
ALL_BREAKERS = "\"\"\" ''' \n # \\ \x00 '\"\n" + PAYLOAD + "\n'''\nprint('INJECTED' + '-MARKER')\n'''"
FREE_TEXT = ("name", "device", "version", "git_commit", "message", "group_id", "created_iso", "updated_iso")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    (home / "config.json").write_text(json.dumps(CONFIG))
    assert main(["train", "--config", str(home / "config.json"), "--home", str(home), "--quiet", "--threads", "1",
                 "--name", "plain"]) == 0
    store = Store(home)
    (record,) = store.runs()
    return store, record


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_the_script_is_the_same_constant_text_for_every_run(trained):
    store, record = trained
    assert export_files(store, record.id)["reproduce.py"].decode() == SCRIPT
    assert "{" + "config}" not in SCRIPT and record.id not in SCRIPT


@pytest.mark.parametrize("hostile", [PAYLOAD, ALL_BREAKERS], ids=["code", "every-breaker"])
def test_code_in_any_metadata_field_never_runs(trained, tmp_path, hostile):
    store, record = trained
    files = export_files(store, record.id)
    meta = json.loads(files["run.json"])
    for key in FREE_TEXT:
        meta[key] = f"{meta.get(key) or ''}{hostile}"
    crafted = _zip(tmp_path / "crafted.zip", {**files, "run.json": json.dumps(meta).encode()})

    other = Store(tmp_path / "other")
    new_id = import_run(other, crafted)
    copy = other.get(new_id)
    assert (copy.name, copy.device, copy.version, copy.git_commit, copy.message) == (
        meta["name"], meta["device"], meta["version"], meta["git_commit"], meta["message"])  # kept, as data
    out = export_run(other, new_id, tmp_path / "again")

    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "reproduce.py"], cwd=out, env=env, capture_output=True, text=True,
                          timeout=300)
    assert "INJECTED-MARKER" not in done.stdout + done.stderr
    assert not (out / "INJECTED").exists()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [int(line.split(":")[0].split()[1]) for line in lines] == [0, 2, 4]
    printed = dict(item.split() for item in lines[-1].split(": ", 1)[1].split(", "))
    assert float(printed["val_loss"]) == pytest.approx(store.history(record.id).final()["val_loss"], rel=1e-5)
    assert (out / "reproduce.py").read_text() == SCRIPT
