"""Hand a stored run to someone else, and take one in: a folder (or a zip of it) of plain files.

    export_run(Store(), "3fa2c1d0", "out/3fa2c1d0")        # or "out/3fa2c1d0.zip"
    new_id = import_run(Store(), "out/3fa2c1d0.zip")

An exported run holds:

    run.json                  what the store knows: status, seed, code version, device, wall time, memory
    config.json               the RunConfig (``python -m metaviz train --config config.json`` runs it again), or
                              for an AutoML search (run.json's ``kind`` "automl") its AutoMLConfig
    metrics.csv               one row per step: the training losses and every evaluation scalar
    evals.json                the evaluation curves (query loss/accuracy after 0..S inner steps)
    checkpoint.safetensors    the learner's parameters at the last checkpoint (metaviz.checkpoint format)
    state.safetensors         the baseline's parameters and optimizer state there (to resume exactly)
    weights.pt                only with ``torch_weights``: a plain state dict for ``torch.load(weights_only=True)``
    reproduce.py              a constant script that trains the run in config.json again with the metaviz package

An AutoML search has no checkpoint: what it found is run.json's ``result`` (the chosen hyperparameters or
cell, with their validation and test scores), and its curves are in metrics.csv.

Import reads only those names, from a folder or a zip: no other paths are touched (no absolute
names, no "..", no links), sizes are capped before anything is read, every file is parsed as
data (JSON, CSV, safetensors), ``weights.pt`` is ignored (unpickling could run code), and the
checkpoint must match the config. A run that was still running when exported arrives
"interrupted", resumable from its checkpoint.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from metaviz import checkpoint, export_schema
from metaviz.export_schema import ExportError, ImportRefused
from metaviz.store import HELD, Store, StoreError, identity

FORMAT = "metaviz-run/1"
FILES = ("run.json", "config.json", "metrics.csv", "evals.json", "checkpoint.safetensors", "state.safetensors",
         "weights.pt", "reproduce.py")
MAX_FILE = 512 * 2**20      # bytes per file
MAX_TOTAL = 1024 * 2**20    # bytes in all
MAX_ENTRIES = 64            # entries in a zip


def metrics_csv(history) -> str:
    """The run's metrics as CSV: ``step``, then the training metrics, then the evaluation scalars;
    empty cells where a step has no value (most steps are not evaluated)."""
    train, evals = history.train, history.evals
    train_keys = [k for k in train if k != "step" and np.isfinite(train[k]).any()]
    eval_keys = [k for k in evals if k != "step"]
    rows: dict[int, dict[str, float]] = {}
    for table, keys in ((train, train_keys), (evals, eval_keys)):
        for i, step in enumerate(table.get("step", [])):
            row = rows.setdefault(int(step), {})
            for key in keys:
                value = table[key][i]
                if np.isfinite(value):
                    row[key] = float(value)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", *train_keys, *eval_keys])
    for step in sorted(rows):
        writer.writerow([step, *(repr(rows[step][k]) if k in rows[step] else "" for k in [*train_keys, *eval_keys])])
    return out.getvalue()


# The same text for every run: nothing stored (names, device, commit, config) is ever formatted into
# code; the script reads config.json beside it at run time and validates it as data.
SCRIPT = '''"""Reproduce an exported metaviz run: train it again from the config.json beside this file.

Needs only the metaviz package:   python reproduce.py
It prints the held-out metrics at every evaluation, as the run recorded them (metrics.csv);
on the same kind of device and the same versions they match. run.json says which version, commit
and device recorded it. Learning rates changed live in the app are not replayed: the config holds
the values in force at the end.
"""

import json
from pathlib import Path

from metaviz.events import EvalEvent
from metaviz.train import Run, RunConfig, train

CONFIG = json.loads((Path(__file__).resolve().parent / "config.json").read_text(encoding="utf-8"))

run = Run(RunConfig.from_dict(CONFIG))
for event in train(run, run.config.train.n_steps):
    if isinstance(event, EvalEvent):
        print(f"step {event.step}: " + ", ".join(f"{k} {v:.6g}" for k, v in event.scalars().items()), flush=True)
'''

AUTOML_SCRIPT = '''"""Reproduce an exported metaviz AutoML search: run it again, beside its baselines at equal compute,
from the config.json beside this file.

Needs only the metaviz package:   python reproduce.py
It prints the validation loss after every outer step and the final choices' test scores, as the run
recorded them (metrics.csv, and run.json's result); on the same versions they match.
"""

import json
from pathlib import Path

from metaviz.automl.search import AutoMLConfig, OuterStepEvent, ResultEvent, paired, search_runs

CONFIG = AutoMLConfig.from_dict(json.loads((Path(__file__).resolve().parent / "config.json").read_text("utf-8")))

for who, event in paired(search_runs(CONFIG)):
    if isinstance(event, OuterStepEvent) and who == "method":
        print(f"step {event.step}: val_loss {event.val_loss:.6g}", flush=True)
    elif isinstance(event, ResultEvent):
        print(f"{who}: test_loss {event.result.test_loss:.6g}, test_accuracy {event.result.test_accuracy}")
'''
SCRIPTS = {"meta": SCRIPT, "automl": AUTOML_SCRIPT}  # one constant text per kind of run


def export_files(store: Store, run_id: str, torch_weights: bool = False) -> dict[str, bytes]:
    """The exported files of a run, by name."""
    record = store.get(run_id)
    meta = record.to_json()
    for key in ("owner_pid", "owner_host"):
        meta.pop(key, None)
    found = store.last_checkpoint(record.id)
    meta |= {"format": FORMAT, "checkpoint_step": None if found is None else found.step}
    files = {"run.json": json.dumps(meta, indent=2).encode(),
             "config.json": json.dumps(record.config, indent=2).encode(),
             "metrics.csv": metrics_csv(store.history(record.id)).encode(),
             "evals.json": json.dumps([{"step": s, "inner_steps": i, "curves": c}
                                       for s, i, c in store.evals(record.id)]).encode(),
             "reproduce.py": SCRIPTS[record.kind].encode()}
    if found is not None:
        files["checkpoint.safetensors"] = found.path.read_bytes()
        if found.state is not None:
            files["state.safetensors"] = found.state.read_bytes()
        if torch_weights:
            import torch

            params = checkpoint.load(files["checkpoint.safetensors"]).params
            buffer = io.BytesIO()
            torch.save({k: torch.from_numpy(v.copy()) for k, v in params.items()}, buffer)
            files["weights.pt"] = buffer.getvalue()
    return files


def export_zip(store: Store, run_id: str, torch_weights: bool = False) -> bytes:
    """The exported run as the bytes of a zip (for a download button)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in export_files(store, run_id, torch_weights).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def export_run(store: Store, run_id: str, dest: str | Path, torch_weights: bool = False) -> Path:
    """Write a run to the folder ``dest`` (created; must not hold files already), or to a zip when
    ``dest`` ends with ``.zip``. Returns the path written."""
    dest = Path(dest)
    if dest.suffix.lower() == ".zip":
        if dest.exists():
            raise StoreError(f"{dest} exists; choose another name or remove it")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.write_bytes(export_zip(store, run_id, torch_weights))
        tmp.replace(dest)
        return dest
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StoreError(f"{dest} exists and is not an empty folder; choose a new folder (or a .zip name)")
    files = export_files(store, run_id, torch_weights)
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (dest / name).write_bytes(data)
    return dest


# ---- import -------------------------------------------------------------------------------------
def _read_zip(path: Path | bytes) -> dict[str, bytes]:
    if isinstance(path, bytes):
        path = io.BytesIO(path)
        path.name = "the uploaded zip"
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ExportError(f"{path}: not a readable zip ({error})", "sec.export_not_zip", error=str(error)) from None
    path = getattr(path, "name", path)
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        if len(entries) > MAX_ENTRIES:
            raise ExportError(f"{path}: {len(entries)} entries; an exported run has at most {len(FILES)}",
                              "sec.export_entries", n=str(len(entries)), most=str(len(FILES)))
        names = [PurePosixPath(i.filename) for i in entries]
        for info, name in zip(entries, names):
            if (info.filename.startswith(("/", "\\")) or "\\" in info.filename or ".." in name.parts
                    or ":" in info.filename or len(name.parts) > 2):
                raise ExportError(f"{path}: refusing the entry {info.filename!r} (absolute, '..', or nested)",
                                  "sec.export_entry", entry=repr(info.filename))
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise ExportError(f"{path}: refusing the symbolic link {info.filename!r}", "sec.export_link",
                                  entry=repr(info.filename))
        prefixes = {n.parts[0] for n in names if len(n.parts) == 2}
        if len(prefixes) > 1 or (prefixes and any(len(n.parts) == 1 for n in names)):
            raise ExportError(f"{path}: the files must sit at the top or in one folder, as exported",
                              "sec.export_layout")
        if sum(i.file_size for i in entries) > MAX_TOTAL:
            raise ExportError(f"{path}: more than {MAX_TOTAL // 2**20} MiB uncompressed", "sec.export_total",
                              mib=str(MAX_TOTAL // 2**20))
        files = {}
        for info, name in zip(entries, names):
            if name.name not in FILES or name.name == "weights.pt":
                continue  # only the known files are read; weights.pt would need unpickling
            if info.file_size > MAX_FILE:
                raise ExportError(f"{path}: {info.filename} is larger than {MAX_FILE // 2**20} MiB", "sec.export_file",
                                  entry=info.filename, mib=str(MAX_FILE // 2**20))
            with archive.open(info) as f:
                data = f.read(MAX_FILE + 1)  # the header's size may lie: never read past the cap
            if len(data) > MAX_FILE:
                raise ExportError(f"{path}: {info.filename} is larger than {MAX_FILE // 2**20} MiB", "sec.export_file",
                                  entry=info.filename, mib=str(MAX_FILE // 2**20))
            files[name.name] = data
    return files


def _read_folder(path: Path) -> dict[str, bytes]:
    files, total = {}, 0
    for name in FILES:
        if name == "weights.pt":
            continue
        file = path / name
        if file.is_symlink():
            raise ExportError(f"{file}: refusing a symbolic link")
        if not file.exists():
            continue
        if not file.is_file():
            raise ExportError(f"{file} is not a regular file")
        size = file.stat().st_size
        total += size
        if size > MAX_FILE or total > MAX_TOTAL:
            raise ExportError(f"{file}: too large (at most {MAX_FILE // 2**20} MiB a file)")
        files[name] = file.read_bytes()
    return files


def read_export(path: str | Path | bytes) -> dict[str, bytes]:
    """The known files of an exported run (a folder, a zip, or a zip's bytes), size-checked, as bytes."""
    if isinstance(path, (bytes, bytearray)):
        if len(path) > MAX_TOTAL:
            raise ExportError(f"the zip is larger than {MAX_TOTAL // 2**20} MiB")
        return _read_zip(bytes(path))
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if path.is_file():
        return _read_zip(path)
    raise ExportError(f"{path}: no such folder or zip")


def _json(files: dict[str, bytes], name: str):
    try:
        return json.loads(files[name].decode("utf-8"))
    except KeyError:
        raise ExportError(f"the export has no {name}; export the run again with `python -m metaviz runs "
                           "export`") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # RecursionError: "[[[[..." nested deep
        raise ImportRefused(name, "(the whole file)", f"not valid JSON: {str(error)[:200]}") from None


def import_run(store: Store, path: str | Path | bytes) -> str:
    """Add an exported run (folder, zip, or a zip's bytes) to ``store``; returns its id (the exported
    one when it is free)."""
    from metaviz.recorder import STATE_FORMAT

    files = read_export(path)
    meta = export_schema.run_meta(_json(files, "run.json"))
    config = export_schema.run_config(_json(files, "config.json"), meta.kind)
    n_steps = identity(meta.kind, config.to_dict())[2]
    if meta.kind == "automl" and "checkpoint.safetensors" in files:
        raise ImportRefused("checkpoint.safetensors", "(the whole file)", "an AutoML search has no checkpoint")
    if meta.kind == "meta" and meta.result is not None:
        raise ImportRefused("run.json", "result", "only an AutoML search has a result")
    try:
        text = files["metrics.csv"].decode("utf-8") if "metrics.csv" in files else "step\n"
    except UnicodeDecodeError as error:
        raise ImportRefused("metrics.csv", "(the whole file)", f"not UTF-8 text ({error})") from None
    rows = export_schema.metrics(text, n_steps)
    evals = export_schema.evals(_json(files, "evals.json"), n_steps) if "evals.json" in files else []
    loaded = None
    if "checkpoint.safetensors" in files:
        try:
            loaded = checkpoint.load(files["checkpoint.safetensors"])
        except checkpoint.CheckpointError as error:
            raise ExportError(f"checkpoint.safetensors: {error}") from None
        if (loaded.config.task, loaded.config.learner) != (config.task, config.learner):
            raise ExportError(f"checkpoint.safetensors holds {loaded.config.learner} on {loaded.config.task}, but "
                               f"config.json says {config.learner} on {config.task}")
        if not 0 <= loaded.step <= n_steps:
            raise ImportRefused("checkpoint.safetensors", "step", f"{loaded.step} is outside the run's 0..{n_steps}")
        try:
            checkpoint.build(loaded)  # every tensor's name and shape against the learner its config builds
        except checkpoint.CheckpointError as error:
            raise ImportRefused("checkpoint.safetensors", "tensors", str(error)) from None
    state = files.get("state.safetensors")
    if state is not None:
        if loaded is None:
            raise ExportError("state.safetensors without checkpoint.safetensors")
        try:
            header = checkpoint._header(state)
        except checkpoint.CheckpointError as error:
            raise ExportError(f"state.safetensors: {error}") from None
        if (header.get("__metadata__") or {}).get("format") != STATE_FORMAT:
            raise ExportError(f"state.safetensors: not a metaviz training state (expected {STATE_FORMAT!r})")
    status, message = meta.status, meta.message
    if status in HELD:
        status, message = "interrupted", "exported while it was still training; resume it from its checkpoint"
    wanted = meta.id
    free = wanted.isalnum() and len(wanted) <= 32 and not store.exists(wanted)
    run_id = store.create_run(config.to_dict(), device=meta.device, source="import", name=meta.name, status=status,
                              run_id=wanted if free else None, parent=wanted or None, group_id=meta.group_id,
                              version=meta.version or "unknown", git_commit=meta.git_commit, kind=meta.kind)
    try:
        if meta.result is not None:
            store.update(run_id, result=meta.result.model_dump())
        last = max([s for s, _, _ in rows] + [s for s, _, _ in evals] + [loaded.step if loaded else 0])
        store.add_metrics(run_id, rows, evals, step=last if meta.step is None else min(meta.step, n_steps),
                          message=message, wall_time=meta.wall_time, peak_rss=meta.peak_rss,
                          peak_device=meta.peak_device)
        if loaded is not None:
            target, state_target = store.checkpoint_paths(run_id, loaded.step)
            target.parent.mkdir(parents=True, exist_ok=True)
            for data, where in ((files["checkpoint.safetensors"], target), (state, state_target)):
                if data is not None:
                    tmp = where.with_name(where.name + ".tmp")
                    tmp.write_bytes(data)
                    tmp.replace(where)
            store.add_checkpoint(run_id, loaded.step, target, state_target if state is not None else None)
    except BaseException:
        store.delete(run_id, force=True)
        raise
    return run_id
