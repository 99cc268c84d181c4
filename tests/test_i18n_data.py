"""Languages on the data pages (Your data, Runs, Compare): the engine's errors carry catalogue keys, the figure
builders take their words from the page, and the pages run in Chinese."""

from __future__ import annotations

import ast
import io
import json
import pickle
import re
import string
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from streamlit.testing.v1 import AppTest

from metaviz import checkpoint, fewshot
from metaviz.analysis.runs import SeedSpread
from metaviz.data import uploads
from metaviz.data.images import ImageError
from metaviz.data.uploads import Limits, Preprocessing, UploadError
from metaviz.figures.fewshot import inner_loop_figure, probability_figure
from metaviz.figures.runs import compare_curves, spread_figure
from metaviz.learners.maml import MAMLConfig
from metaviz.messages import KeyedError, Note
from metaviz.store import Store
from metaviz.tasks.digits import DigitsConfig
from metaviz.train import RunConfig, build_learner
from ui import i18n, share

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_page_own_data import model_bytes, png, widget, zipped  # noqa: E402
from test_pages_runs import stored_run  # noqa: E402

APP = str(ROOT / "app.py")
OMNI = Preprocessing(28, 1, ink=True)
EN, ZH = i18n.catalogue("en"), i18n.catalogue("zh")
ENGINE_NAMESPACES = ("err_upload", "err_fewshot", "err_checkpoint", "err_photo")


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def check_keyed(message, english: str, namespaces=ENGINE_NAMESPACES) -> None:
    """``message`` (an error, a note or a rejected file) has a key in both catalogues whose placeholders are its
    params, and the English catalogue text, filled in, is the engine's English message."""
    key, params = message.key, message.params
    assert key and key.split(".")[0] in namespaces, key
    assert key in EN and key in ZH, f"{key} is missing from a catalogue"
    assert fields(EN[key]) == fields(ZH[key]) == set(params), (key, params)
    assert all(isinstance(v, str) for v in params.values())   # formatted in the engine, the same in every language
    assert EN[key].format(**params) == english


# ---- the engine's errors carry keys ------------------------------------------------------------------------

def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in entries.items():
            z.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def raised(call) -> KeyedError:
    with pytest.raises(KeyedError) as info:
        call()
    return info.value


@pytest.mark.parametrize("case", ["not_zip", "zip_too_big", "zip_entries"])
def test_a_zip_refused_as_a_whole_carries_its_key_without_the_file_name(case):
    data = zip_of({f"c/{i}.png": png(i) for i in range(3)})
    call = {"not_zip": lambda: uploads.ingest_zip(b"PK but not a zip", OMNI, label="x.zip"),
            "zip_too_big": lambda: uploads.ingest_zip(data, OMNI, Limits(max_archive_bytes=10), label="x.zip"),
            "zip_entries": lambda: uploads.ingest_zip(data, OMNI, Limits(max_zip_entries=2), label="x.zip")}[case]
    error = raised(call)
    assert isinstance(error, UploadError) and error.key == f"err_upload.{case}"
    check_keyed(error, str(error).removeprefix("x.zip: "))
    # on the page a zip goes through ingest_any_support: a rejected file with the same key
    (rejected,) = uploads.ingest_any_support([("x.zip", b"PK but not a zip")], OMNI).rejected
    assert rejected.file == "x.zip" and rejected.key == "err_upload.not_zip"
    check_keyed(rejected, rejected.reason)


def test_files_refused_one_by_one_carry_their_keys():
    white = np.full((40, 40, 4), 255, np.uint8)
    one_file = raised(lambda: uploads.example_from_bytes("a.png", png(1), OMNI, Limits(max_file_bytes=10)))
    blank = raised(lambda: uploads.example_from_drawing("drawing", white, OMNI))
    unreadable = raised(lambda: uploads.example_from_bytes("a.png", b"not an image", OMNI))
    pixels = raised(lambda: uploads.example_from_bytes("a.png", png(1), OMNI, Limits(max_image_pixels=100)))
    for error, key in ((one_file, "file_too_big"), (blank, "blank"), (unreadable, "unreadable"),
                       (pixels, "image_pixels")):
        assert isinstance(error, ImageError) and error.key == f"err_upload.{key}"
        check_keyed(error, str(error))


def test_rejected_files_in_a_zip_carry_their_keys():
    evil = zip_of({"dog/1.png": b"broken", "../../etc/x.png": png(1), "/abs/y.png": png(2), "loose.png": png(3),
                   "cat/1.png": png(4), "cat/2.png": png(5), "cat/3.png": png(6), "bird/1.png": png(7),
                   "notes/readme.txt": b"text"})
    support = uploads.ingest_zip(evil, OMNI, Limits(max_files=3, max_classes=1), label="evil.zip")
    keys = {r.key for r in support.rejected}
    assert {f"err_upload.{k}" for k in ("unsafe_path", "no_class_folder", "unreadable", "class_unusable",
                                        "too_many_files", "too_many_classes", "empty_folder")} <= keys, keys
    for r in support.rejected:
        check_keyed(r, r.reason)
    (note,) = support.notes
    assert isinstance(note, Note) and note.key == "err_upload.ignored"
    check_keyed(note, str(note))


def test_zip_bombs_are_refused_with_their_keys():
    big = zip_of({"cat/a.png": bytes(3_000), "cat/b.png": bytes(3_000)})
    support = uploads.ingest_zip(big, OMNI, Limits(max_zip_bytes=4_000), label="bomb.zip")
    (bomb,) = [r for r in support.rejected if r.key == "err_upload.zip_bomb"]
    check_keyed(bomb, bomb.reason)
    declared = uploads.ingest_zip(big, OMNI, Limits(max_file_bytes=1_000), label="bomb.zip")
    for r in declared.rejected[:2]:
        assert r.key == "err_upload.entry_too_big"
        check_keyed(r, r.reason)
    archive = zipfile.ZipFile(io.BytesIO(big))
    liar = raised(lambda: uploads._read_capped(archive, archive.getinfo("cat/a.png"), 1_000))
    assert liar.key == "err_upload.zip_bomb_entry"
    check_keyed(liar, str(liar))


def test_empty_sets_and_models_that_cannot_take_images_carry_keys():
    for error, key in ((raised(lambda: uploads.SupportSet({}).arrays()), "err_upload.empty_support"),
                       (raised(lambda: uploads.QuerySet(()).arrays()), "err_upload.no_queries"),
                       (raised(lambda: uploads.preprocessing_for(RunConfig())), "err_upload.regression_model")):
        assert isinstance(error, UploadError) and error.key == key
        check_keyed(error, str(error))


def test_few_shot_errors_carry_keys():
    config = RunConfig("digits", "maml", DigitsConfig(n_way=2))
    params = build_learner(config).state_numpy()
    head = raised(lambda: fewshot.learner_for(config, params, 3))
    assert isinstance(head, fewshot.HeadSizeError) and head.key == "err_fewshot.head_size"
    one = raised(lambda: fewshot.learner_for(config, params, 1))
    none = raised(lambda: fewshot.learner_for(config, params, 0))
    other = RunConfig("digits", "maml", DigitsConfig(n_way=2), train=config.train.__class__(hidden=8))
    mismatch = raised(lambda: fewshot.learner_for(other, params, 2))
    for error, key in ((head, "head_size"), (one, "one_class"), (none, "too_few_classes"),
                       (mismatch, "params_mismatch")):
        assert isinstance(error, fewshot.FewShotError) and error.key == f"err_fewshot.{key}"
        check_keyed(error, str(error))


def test_wrong_checkpoints_carry_keys(tmp_path):
    stranger = safetensors.numpy.save({"w": np.zeros(3, np.float32)}, metadata={"format": "other"})
    cases = {"too_short": b"\x80\x04", "bad_header": b"\x80\x04 this is a pickle, not a checkpoint",
             "not_json": (5).to_bytes(8, "little") + b"nope!", "not_metaviz": stranger}
    for key, data in cases.items():
        error = raised(lambda data=data: checkpoint.load(data))
        assert isinstance(error, checkpoint.CheckpointError) and error.key == f"err_checkpoint.{key}", str(error)
        check_keyed(error, str(error))
    three_way = checkpoint.load(model_bytes("maml", 3))   # an output head for 3 classes, built for 2
    wrong = raised(lambda: checkpoint.build(three_way, task_config=DigitsConfig(n_way=2)))
    assert wrong.key == "err_checkpoint.mismatch"
    check_keyed(wrong, str(wrong))


@pytest.mark.parametrize("call, key", [
    (lambda: share.decode({"task": "mnist"}), "ui_share.bad_task"),
    (lambda: share.decode({"learner": "gpt"}), "ui_share.bad_learner"),
    (lambda: share.decode({"seed": "x"}), "ui_share.bad_seed"),
    (lambda: share.import_json(b"\x80\x04K\x01."), "ui_share.not_experiment"),
    (lambda: share.import_json(b" " * 100_001), "ui_share.too_large"),
])
def test_unusable_links_and_experiment_files_carry_keys(call, key):
    error = raised(call)
    assert error.key == key
    check_keyed(error, str(error), namespaces=("ui_share",))


def test_a_keyed_error_keeps_its_key_through_pickling():
    error = UploadError("x.zip: not a readable zip file (bad)", "err_upload.not_zip", error="bad")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is UploadError and str(back) == str(error)
    assert (back.key, back.params) == ("err_upload.not_zip", {"error": "bad"})


def test_every_engine_key_exists_and_every_catalogued_one_is_raised_somewhere():
    """tests/test_i18n.py scans app.py, ui/ and pages/; the engine's keys live in metaviz/."""
    constants = {n.value for p in (ROOT / "metaviz").rglob("*.py")
                 for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                 if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    used = {c for c in constants if re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", c) and c.split(".")[0] in ENGINE_NAMESPACES}
    catalogued = {k for k in EN if k.split(".")[0] in ENGINE_NAMESPACES}
    assert used == catalogued, (used - catalogued, catalogued - used)


# ---- the figure builders take their words from the page -----------------------------------------------------

def test_few_shot_figures_take_overrides_and_keep_english_defaults():
    probabilities = np.array([[0.7, 0.3], [0.2, 0.8]])
    steps = np.stack([probabilities, probabilities[:, ::-1]])
    assert probability_figure(["a", "b"], probabilities, ["q1", "q2"]).layout.title.text == \
        "Class probabilities of each query"
    fig = probability_figure(["a", "b"], probabilities, ["q1", "q2"], text=dict(title="概率"))
    assert fig.layout.title.text == "概率"
    fig = inner_loop_figure(["a", "b"], steps, ["q1", "q2"], np.array([0.5, 0.25]),
                            text=dict(title="内循环", step="步 ", loss="（损失 {loss}）", play="播放"))
    assert fig.layout.title.text == "内循环" and fig.layout.sliders[0].currentvalue.prefix == "步 "
    assert [s.label for s in fig.layout.sliders[0].steps] == ["0（损失 0.50）", "1（损失 0.25）"]
    assert fig.layout.updatemenus[0].buttons[0].label == "播放"


def test_run_figures_take_overrides_and_keep_english_defaults():
    table = {"step": np.arange(5.0), "val_loss": np.linspace(1, 0.5, 5)}
    default = compare_curves([("maml · a", "maml", table)], "val_loss")
    assert default.layout.title.text == "meta-val loss" and default.layout.xaxis.title.text == "meta-iteration"
    fig = compare_curves([("maml · a", "maml", table)], "val_loss", text=dict(label="元验证损失", x="元迭代"))
    assert fig.layout.title.text == fig.layout.yaxis.title.text == "元验证损失"
    assert fig.layout.xaxis.title.text == "元迭代"
    values = np.array([[1.0, 0.5], [0.9, 0.7]])
    spread = SeedSpread("val_loss", np.array([0, 5]), values, np.array([3, 4]), values.mean(0), values.std(0, ddof=1),
                        values[:, -1])
    assert spread_figure(spread, "maml").layout.title.text == "meta-val loss: spread over seeds"
    fig = spread_figure(spread, "maml", text=dict(label="元验证损失", title="{label}：离散程度", seed="种子 {seed}",
                                                  band="± 1 个标准差", mean="{n} 个种子的均值", x="元迭代"))
    assert fig.layout.title.text == "元验证损失：离散程度" and fig.layout.yaxis.title.text == "元验证损失"
    assert [t.name for t in fig.data] == ["种子 3", "种子 4", "± 1 个标准差", "2 个种子的均值"]


# ---- the pages in Chinese ----------------------------------------------------------------------------------

def chinese(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[i18n.LANG] = "zh"
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("METAVIZ_HOME", str(tmp_path))
    return Store(tmp_path)


def test_your_data_in_chinese_takes_uploads_and_says_why_a_file_is_refused():
    at = chinese("pages/own_data.py")
    assert at.title[0].value == ZH["pg_own.title"]
    assert ZH["ui_examples.upload_model"] in at.selectbox(key="own.model").options
    at.selectbox(key="own.model").set_value("upload").run()
    pickle_file = ("bad.safetensors", b"\x80\x04 pickle", "application/octet-stream")
    at.file_uploader(key="own.checkpoint").set_value(pickle_file)
    at.run()
    assert any(e.value == f"bad.safetensors: {ZH['err_checkpoint.bad_header']}" for e in at.error)
    at.file_uploader(key="own.checkpoint").set_value(("m.safetensors", model_bytes(), "application/octet-stream"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    evil = zipped({"a/1.png": png(1), "a/2.png": png(2), "b/1.png": png(3), "b/2.png": png(4),
                   "../../etc/evil.png": png(5)})
    at.file_uploader(key=f"own.zip.{widget(at)}").set_value(("evil.zip", evil, "application/zip"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", w.value) for w in at.warning]  # names are escaped markdown
    assert any("evil.zip:../../etc/evil.png" in w and ZH["err_upload.unsafe_path"] in w
               and w.startswith(ZH["ui_examples.not_used"].split("{")[0]) for w in shown)
    assert any(s.value == ZH["pg_own.support"].format(classes=2, examples=4) for s in at.subheader)
    at.file_uploader(key=f"own.queries.{widget(at)}").set_value([("q.png", png(6), "image/png")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value == ZH["pg_own.predictions"] for s in at.subheader)
    assert next(m for m in at.metric if m.label == ZH["pg_own.loo"]).value.endswith("%")
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any(c["layout"]["title"]["text"] == ZH["fig_fewshot.title"] for c in charts)


def test_runs_and_compare_in_chinese(home):
    ids = [stored_run(home, "maml"), stored_run(home, "reptile")]
    at = chinese("pages/runs.py")
    assert at.title[0].value == ZH["pg_runs.title"]
    assert ZH["ui_runs.col_wall_time"] in at.dataframe[0].value.columns
    assert next(m for m in at.metric if m.label == ZH["pg_runs.steps"]).value == "10 / 10"
    loss = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert loss["layout"]["title"]["text"] == ZH["fig_curves.loss_title"]
    assert ZH["fig_curves.val"] in [t["name"] for t in loss["data"]]

    at = chinese("pages/compare.py")
    assert at.title[0].value == ZH["pg_compare.title"]
    assert sorted(at.multiselect(key="compare.runs").value) == sorted(ids)
    (figure,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert figure["layout"]["yaxis"]["title"]["text"] == ZH["fig_runs.val_loss"]
    assert any(i.value == ZH["pg_compare.press"] for i in at.info)


# ---- messages kept with a run's status ---------------------------------------------------------------------

def test_run_messages_are_catalogued_and_recognised_from_their_text():
    """A run's message is stored as text; recognise() finds its key and parameters again, and the English
    catalogue text filled with them is the message itself."""
    from metaviz.messages import RUN_MESSAGES, recognise, run_message

    zh = i18n.catalogue("zh")
    for key, template in RUN_MESSAGES.items():
        params = {name: f"<{name}>" for name in re.findall(r"\{(\w+)\}", template)}
        found = recognise(str(run_message(key, **params)))  # through plain text, as the store keeps it
        assert (found.key, found.params) == (key, params)
        assert EN[key] == template and EN[key].format(**params) == str(found)
        assert set(re.findall(r"\{(\w+)\}", zh[key])) == set(params), key
    assert recognise("ValueError: something else").key is None


def test_a_diverged_run_and_a_reached_limit_carry_their_keys():
    from metaviz import scheduler
    from metaviz.messages import recognise
    from metaviz.train import Run, TrainConfig, train

    run = Run(RunConfig(learner_config=MAMLConfig(inner_lr=10.0, inner_steps=5), device="cpu",
                        train=TrainConfig(meta_lr=1.0, n_steps=50, eval_every=50, n_eval_tasks=2)))
    events = list(train(run, 50))
    assert run.status == "diverged"
    found = recognise(str(events[-1].message))
    assert found.key == "msg_run.diverged_inner" and found.params["inner_lr"] == "10"
    assert ZH[found.key].format(**found.params).startswith("训练在第")
    limit = recognise(str(scheduler.Limits(max_steps=1000).reached(1000, 0.0)))
    assert limit.key == "msg_run.limit_steps" and limit.params == {"steps": "1,000"}
