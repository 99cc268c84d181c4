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
from metaviz.export import SCRIPT, ExportError, export_files, export_run, import_run
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


# ---- every field is checked against a schema: a refusal names the file, the field and the reason ----------------
def _refusal(store_home: Path, zip_path: Path) -> ExportError:
    store = Store(store_home)
    with pytest.raises(ExportError) as caught:
        import_run(store, zip_path)
    assert store.runs() == []  # nothing half-imported
    return caught.value


def _with(files: dict, **changes) -> dict:
    """The export's files with run.json / config.json fields changed (``run__status=...``, ``config__seed=...``)."""
    meta, config = json.loads(files["run.json"]), json.loads(files["config.json"])
    for key, value in changes.items():
        where, _, name = key.partition("__")
        target = meta if where == "run" else config
        *path, last = name.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    return {**files, "run.json": json.dumps(meta).encode(), "config.json": json.dumps(config).encode()}


REFUSED = {  # change -> (file, field) the refusal must name
    "unknown run key": (dict(run__surprise=1), "run.json", "surprise"),
    "hostile status": (dict(run__status="done" + ALL_BREAKERS), "run.json", "status"),
    "a step that is text": (dict(run__step="12"), "run.json", "step"),
    "infinite wall time": (dict(run__wall_time=float("inf")), "run.json", "wall_time"),
    "NaN seed": (dict(run__seed=float("nan")), "run.json", "seed"),
    "huge name": (dict(run__name="x" * 20_000), "run.json", "name"),
    "hostile task": (dict(config__task="sinusoid" + ALL_BREAKERS), "config.json", "task"),
    "hostile learner": (dict(config__learner="maml" + PAYLOAD), "config.json", "learner"),
    "hostile device": (dict(config__device="cpu" + PAYLOAD), "config.json", "RunConfig.device"),
    "unknown config key": (dict(config__train__x=1), "config.json", "TrainConfig"),
    "hostile config key": (dict(config__train__=1), "config.json", "TrainConfig"),  # an empty key
    "config key with code": ({"config__" + PAYLOAD: 1}, "config.json", "RunConfig"),
    "hostile config value": (dict(config__train__strategy="vmap" + ALL_BREAKERS), "config.json", "strategy"),
    "NaN meta_lr": (dict(config__train__meta_lr=float("nan")), "config.json", "TrainConfig.meta_lr"),
    "n_steps 10^12": (dict(config__train__n_steps=10**12), "config.json", "TrainConfig.n_steps"),
    "seed 2^40": (dict(config__seed=2**40), "config.json", "RunConfig.seed"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_field_out_of_its_schema_is_refused_by_name(trained, tmp_path, case):
    store, record = trained
    changes, file, field = REFUSED[case]
    error = _refusal(tmp_path / "x", _zip(tmp_path / "bad.zip", _with(export_files(store, record.id), **changes)))
    assert str(error).startswith(f"{file}: ") and field in str(error), str(error)
    assert error.key == "sec.import_refused" and error.params["file"] == file


def test_n_way_of_a_billion_is_refused_before_anything_is_built(tmp_path):
    from metaviz import export_schema

    with pytest.raises(ExportError, match=r"config.json: OmniglotConfig.n_way: .*must be <= 60"):
        export_schema.run_config({"task": "omniglot", "learner": "protonet", "task_config": {"n_way": 10**9}})


@pytest.mark.parametrize("text, field", [
    ("step,val_loss\n" + "".join(f"{i},1.0\n" for i in range(10**7 // 1000)), "line 7"),  # rows past the 4 steps
    ("step,val_loss\n0,nan\n", "line 2.val_loss"),
    ("step,val_loss\n0,inf\n", "line 2.val_loss"),
    ("step,val_loss\n0,1\n0,2\n", "line 3.step"),
    ("step,val_loss\n99,1\n", "line 2.step"),
    ("step," + PAYLOAD.replace("\n", " ") + "\n0,1\n", "line 1"),
    ("step,a\x00b\n0,1\n", "line 1"),
    ("step," + ",".join(f"m{i}" for i in range(100)) + "\n", "line 1"),
])
def test_metrics_csv_rows_names_and_numbers_are_checked(text, field):
    from metaviz import export_schema

    with pytest.raises(ExportError) as caught:
        export_schema.metrics(text, n_steps=4)
    assert str(caught.value).startswith(f"metrics.csv: {field}"), str(caught.value)


@pytest.mark.slow  # builds 90 MB of CSV text
def test_ten_million_metric_rows_stop_at_the_runs_length():
    from metaviz import export_schema

    rows = "".join(f"{i},0.5\n" for i in range(10**7))  # 10^7 rows, ~90 MB: refused after the run's 5 steps
    with pytest.raises(ExportError, match="more rows than the run's 5 steps"):
        export_schema.metrics("step,val_loss\n" + rows, n_steps=4)


def test_oversized_evals_and_zips_are_refused(trained, tmp_path):
    store, record = trained
    files = export_files(store, record.id)
    evals = json.loads(files["evals.json"])
    many = _zip(tmp_path / "evals.zip", {**files, "evals.json": json.dumps(evals[:1] * 10**5).encode()})
    assert "evals.json: (the whole file): 100,000 evaluations" in str(_refusal(tmp_path / "x", many))
    long = [{**evals[0], "curves": {"val": {"loss": [1.0] * 5000}}}]
    error = _refusal(tmp_path / "x", _zip(tmp_path / "long.zip", {**files, "evals.json": json.dumps(long).encode()}))
    assert str(error).startswith("evals.json: [0].curves.val.loss: ")
    nan = [{**evals[0], "curves": {"val": {"loss": [float("nan")]}}}]
    error = _refusal(tmp_path / "x", _zip(tmp_path / "nan.zip", {**files, "evals.json": json.dumps(nan).encode()}))
    assert str(error).startswith("evals.json: [0].curves.val.loss.0: ") and "finite" in str(error)
    entries = tmp_path / "entries.zip"
    with zipfile.ZipFile(entries, "w") as archive:
        for i in range(10**4):
            archive.writestr(f"f{i}", b"")
    assert "10000 entries" in str(_refusal(tmp_path / "x", entries))


def test_a_checkpoint_that_does_not_fit_its_config_is_refused(trained, tmp_path):
    import safetensors.numpy

    from metaviz import checkpoint

    store, record = trained
    files = export_files(store, record.id)
    loaded = checkpoint.load(files["checkpoint.safetensors"])
    name = next(k for k, v in sorted(loaded.params.items()) if v.shape and v.shape[0] > 1)
    params = {**loaded.params, name: loaded.params[name][:-1].copy()}  # one tensor a row short
    wrong = safetensors.numpy.save(params, metadata=loaded.metadata)
    error = _refusal(tmp_path / "x", _zip(tmp_path / "w.zip", {**files, "checkpoint.safetensors": wrong}))
    assert str(error).startswith("checkpoint.safetensors: tensors: ") and "wrong shapes" in str(error)


def test_archive_refusals_carry_catalogue_keys_in_both_languages(tmp_path):
    from ui.i18n import catalogue

    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"not a zip at all")
    cases = {"sec.export_not_zip": not_zip,
             "sec.export_entry": _zip(tmp_path / "escape.zip", {"../run.json": b"{}"}),
             "sec.export_layout": _zip(tmp_path / "two.zip", {"a/run.json": b"{}", "b/config.json": b"{}"})}
    en, zh = catalogue("en"), catalogue("zh")
    for key, path in cases.items():
        error = _refusal(tmp_path / "x", path)
        assert error.key == key and str(error).endswith(en[key].format(**error.params)), str(error)
        assert zh[key].format(**error.params) != en[key].format(**error.params)
