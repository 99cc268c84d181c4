"""Property-based fuzzing of every way in (issue 17): hostile export zips, checkpoints, experiment JSON and
teacher-link parameters, and upload zips. Properties: no uncaught exception (only the named error of each
importer, with a message), nothing written outside the destination, valid input kept. Examples are bounded
and derandomized (CI is reproducible); each case is counted as refused-with-a-named-reason or handled, and the
counts are written to test-artifacts/fuzz_counts.json (the README's Security section quotes them)."""

import io
import json
import math
import struct
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from metaviz import checkpoint
from metaviz.__main__ import main
from metaviz.data.uploads import Preprocessing, UploadError, ingest_zip
from metaviz.export import FILES, ExportError, export_files, import_run
from metaviz.messages import KeyedError
from metaviz.store import Store

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
COUNTS: dict[str, Counter] = {}
HOSTILE_TEXT = st.sampled_from(['"""', "'''", "\n", "#", "\\", "\x00", "<img src=x onerror=alert(1)>", "../",
                                "'; DROP TABLE runs; --", "nan", "1e999", "-1", "10" * 20, "é中", "{config}"])
TEXT = st.one_of(st.text(max_size=30), HOSTILE_TEXT)
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)


def count(kind: str, outcome: str) -> None:
    COUNTS.setdefault(kind, Counter())[outcome] += 1


@pytest.fixture(scope="module", autouse=True)
def record_counts():
    yield
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "fuzz_counts.json").write_text(json.dumps({k: {"tried": sum(c.values()), **c} for k, c in COUNTS.items()},
                                                     indent=2))


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz-home")
    (home / "c.json").write_text(json.dumps({"task": "sinusoid", "learner": "maml", "train": {
        "meta_batch": 2, "n_steps": 3, "eval_every": 3, "n_eval_tasks": 2, "eval_steps": 1, "hidden": 4}}))
    assert main(["train", "--config", str(home / "c.json"), "--home", str(home), "--quiet", "--threads", "1",
                 "--checkpoint-every", "3"]) == 0
    store = Store(home)
    return export_files(store, store.runs()[0].id)


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are one of the hostile cases
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def _mutate_json(draw, data: bytes) -> bytes:
    value = json.loads(data)
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        value[key] = draw(JSON)
    elif isinstance(value, dict):
        value[draw(TEXT)] = draw(JSON)
    else:
        value = draw(JSON)
    return json.dumps(value).encode()


@st.composite
def hostile_exports(draw, files: dict[str, bytes]) -> bytes:
    files = dict(files)
    for name in draw(st.lists(st.sampled_from(sorted(files)), max_size=3, unique=True)):
        how = draw(st.sampled_from(["json", "bytes", "truncate", "drop"]))
        if how == "json" and name.endswith(".json"):
            files[name] = _mutate_json(draw, files[name])
        elif how == "bytes":
            files[name] = draw(st.binary(max_size=64))
        elif how == "truncate":
            files[name] = files[name][:draw(st.integers(0, len(files[name])))]
        else:
            files.pop(name)
    entries = list(files.items())
    for _ in range(draw(st.integers(0, 2))):  # entries an attacker adds: escapes, absolute paths, odd names
        name = draw(st.sampled_from(["../escape.json", "/abs/run.json", "a/b/c/run.json", "C:\\x", "x\\..\\y",
                                     "weights.pt", "other.txt"]) | st.text(min_size=1, max_size=12))
        entries.append((name, draw(st.binary(max_size=16))))
    return _zip(entries)


@FUZZ
@given(data=st.data())
def test_hostile_export_zips_are_imported_whole_or_refused_by_name(exported, tmp_path_factory, data):
    root = tmp_path_factory.mktemp("fuzz-import")
    home = root / "home"
    blob = data.draw(hostile_exports(exported))
    try:
        run_id = import_run(Store(home), blob)
    except ExportError as error:  # ImportRefused and the archive's own refusals
        message = str(error)
        assert any(name in message for name in FILES) or "zip" in message, message
        assert Store(home).runs() == []  # nothing half-imported
        count("export zip", "refused with a named reason")
    else:
        record = Store(home).get(run_id)
        assert record.source == "import"
        for checkpoint_record in Store(home).checkpoints(run_id):
            assert checkpoint_record.path.resolve().is_relative_to(home.resolve())
        count("export zip", "handled (imported)")
    assert {p for p in files_under(root) if not p.resolve().is_relative_to(home.resolve())} == set()


def _safetensors(header: dict, body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


@st.composite
def hostile_checkpoints(draw, valid: bytes) -> bytes:
    (n,) = struct.unpack("<Q", valid[:8])
    header, body = json.loads(valid[8:8 + n]), valid[8 + n:]
    how = draw(st.sampled_from(["tensor", "metadata", "length", "body", "header"]))
    if how == "tensor":
        name = draw(st.sampled_from(sorted(k for k in header if k != "__metadata__")))
        field = draw(st.sampled_from(["dtype", "shape", "data_offsets", "extra"]))
        header[name][field] = draw(st.one_of(st.sampled_from(["F32", "F64", "BF16", "U64", "object"]),
                                              st.lists(st.integers(-4, 2**40), max_size=9), JSON))
    elif how == "metadata":
        meta = header["__metadata__"]
        meta[draw(st.sampled_from(["config", "step", "format", "metaviz"]))] = draw(
            st.one_of(st.text(max_size=20), st.just(json.dumps(draw(JSON)))))
    elif how == "header":
        return _safetensors(draw(JSON), body)
    elif how == "length":
        return struct.pack("<Q", draw(st.integers(0, 2**64 - 1))) + valid[8:]
    else:
        body = body[:draw(st.integers(0, len(body)))]
    return _safetensors(header, body)


@FUZZ
@given(data=st.data())
def test_hostile_checkpoints_are_loaded_or_refused_with_a_named_error(exported, data):
    blob = data.draw(hostile_checkpoints(exported["checkpoint.safetensors"]))
    try:
        loaded = checkpoint.load(blob)
        checkpoint.build(loaded)
    except checkpoint.CheckpointError as error:
        assert str(error), "an empty message"
        count("checkpoint", "refused with a named reason")
    else:
        assert set(loaded.params) == {k for k in json.loads(blob[8:8 + struct.unpack("<Q", blob[:8])[0]])
                                      if k != "__metadata__"}
        count("checkpoint", "handled (loaded)")


@FUZZ
@given(value=st.one_of(JSON, st.fixed_dictionaries({"task": st.sampled_from(["sinusoid", "omniglot", "x"]),
                                                     "learner": st.sampled_from(["maml", "protonet", "y"])},
                                                    optional={"train": st.dictionaries(TEXT, JSON, max_size=3),
                                                              "seed": JSON, "device": JSON,
                                                              "task_config": JSON})))
def test_experiment_json_is_a_run_config_or_a_named_refusal(value):
    from ui.share import import_json

    try:
        config = import_json(json.dumps(value).encode())
    except KeyedError as error:
        assert error.key and str(error)
        count("experiment json", "refused with a named reason")
    else:
        assert type(config).from_dict(config.to_dict()) == config
        count("experiment json", "handled (opened)")


FIELD_KEYS = ["task", "learner", "seed", "task.n_way", "task.k_shot", "learner.inner_lr", "learner.inner_steps",
              "train.meta_lr", "train.n_steps", "train.meta_batch", "train.strategy", "train.baseline", "task.nope"]


@FUZZ
@given(params=st.dictionaries(st.sampled_from(FIELD_KEYS), st.one_of(TEXT, st.integers(-10**12, 10**12).map(str),
                                                                     st.floats().map(str)), max_size=5))
def test_teacher_link_parameters_open_an_experiment_or_a_named_refusal(params):
    from ui.share import decode

    try:
        config = decode(params)
    except ValueError as error:  # the page shows it in a toast; never an exception on the page
        assert str(error)
        count("teacher link", "refused with a named reason")
    else:
        for f, ui in type(config.train).ui_fields():
            value = getattr(config.train, f.name)
            if ui.min is not None and not isinstance(value, (bool, str)):
                assert math.isfinite(value) and ui.min <= value <= ui.max
        count("teacher link", "handled (opened)")


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    pixels = np.full((12, 12), 255, np.uint8)
    pixels[2 + seed % 6:8, 3:9] = 0
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@FUZZ
@given(extra=st.lists(st.tuples(st.one_of(st.text(min_size=1, max_size=20), st.sampled_from(
    ["../../x.png", "/etc/a.png", "c/../../b.png", "<img src=x onerror=alert(1)>/a.png", "c\\d.png", "__MACOSX/a.png",
     "c/.hidden.png", "c/d/e/f.png"])), st.binary(max_size=40) | st.just(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)),
    max_size=6))
def test_hostile_upload_zips_keep_the_valid_images_and_name_every_refusal(tmp_path_factory, extra):
    root = tmp_path_factory.mktemp("fuzz-upload")
    valid = [("good/a.png", _png(1)), ("other/b.png", _png(2))]
    try:
        support = ingest_zip(_zip(valid + extra), Preprocessing(8, 1, ink=True), label="up.zip")
    except UploadError as error:
        assert error.key and str(error)
        count("upload zip", "refused with a named reason")
        return
    assert {"good", "other"} <= set(support.names)  # the valid files are kept, whatever came beside them
    for rejected in support.rejected:
        assert rejected.file and rejected.reason and rejected.key  # named, with a reason in every language
    count("upload zip", "refused in part, valid images kept" if support.rejected else "handled (all used)")
    assert list(root.iterdir()) == []  # ingesting writes nothing anywhere
