"""The Your Data page in AppTest, with uploaded files: a model, a zip of classes, queries, bad files."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from metaviz import checkpoint, textshot
from metaviz.tasks.digits import DigitsConfig
from metaviz.train import RunConfig, build_learner

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def png(seed: int, size: int = 32) -> bytes:
    """Black strokes on white: a cross at a random place."""
    rng = np.random.default_rng(seed)
    a = np.full((size, size), 255, np.uint8)
    r, c = rng.integers(6, size - 6, 2)
    a[r - 2:r + 2, 4:size - 4] = 0
    a[4:size - 4, c - 2:c + 2] = 0
    buffer = io.BytesIO()
    Image.fromarray(a).save(buffer, format="PNG")
    return buffer.getvalue()


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buffer.getvalue()


def model_bytes(learner: str = "protonet", n_way: int = 3) -> bytes:
    """A small digits model (8x8 inputs: fast) saved as a checkpoint file."""
    import tempfile

    config = RunConfig("digits", learner, DigitsConfig(n_way=n_way))
    with tempfile.TemporaryDirectory() as tmp:
        return checkpoint.save(Path(tmp) / "m.safetensors", config, build_learner(config).state_numpy(),
                               7).read_bytes()


def widget(at: AppTest) -> int:
    return at.session_state["own.files"].widget if "own.files" in at.session_state else 0


def open_page(model: bytes | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/own_data.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if model is not None:
        at.selectbox(key="own.model").set_value("upload")
        at.run()
        at.file_uploader(key="own.checkpoint").set_value(("model.safetensors", model, "application/octet-stream"))
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.subheader]
    text = "\n".join(parts + [w.value for w in at.warning] + [e.value for e in at.error])
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)  # as shown: a backslash-escaped mark is the mark itself


def test_page_opens_states_its_limits_and_offers_the_models():
    at = open_page()
    assert at.title[0].value == "Your own data"
    options = at.selectbox(key="own.model").options
    assert "Upload a checkpoint (.safetensors)" in options
    for name in checkpoint.zoo():
        if name in textshot.text_models():  # a sentence model: offered on Your Text, never for images
            assert not any(name in o for o in options)
        else:
            assert any(name.split("-")[0] in o.lower() or "prototypical" in o.lower() for o in options)
    assert "10 MB per image file" in texts(at) and "no absolute paths or '..'" in texts(at)


def test_upload_a_zip_of_classes_and_queries_and_get_predictions():
    at = open_page(model_bytes())
    assert "8x8 greyscale" in texts(at)
    support = zipped({"pets/cat/1.png": png(1), "pets/cat/2.png": png(2), "pets/dog/1.png": png(3),
                      "pets/dog/2.png": png(4), "pets/dog/notes.txt": b"hello"})
    at.file_uploader(key=f"own.zip.{widget(at)}").set_value(("pets.zip", support, "application/zip"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Support set: 2 classes, 4 examples" in texts(at)
    assert "ignored 1 file(s)" in texts(at)
    assert any("Add query images" in i.value for i in at.info)

    at.file_uploader(key=f"own.queries.{widget(at)}").set_value(
        [("q1.png", png(5), "image/png"), ("q2.png", png(6), "image/png"), ("bad.png", b"nope", "image/png")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    page = texts(at)
    assert "Queries: 2" in page and "q1.png: **" in page and "q2.png: **" in page
    assert "bad.png" in page and "not a readable image" in page            # named, with its reason
    assert at.get("plotly_chart")                                         # the probabilities
    loo = next(m for m in at.metric if m.label.startswith("Leave-one-out"))
    assert loo.value.endswith("%")

    # a malicious zip: a clear error, the rest of the page keeps working
    evil = zipped({"../../etc/evil.png": png(7), "/abs/x.png": png(8), "bird/1.png": png(9)})
    at.file_uploader(key=f"own.zip.{widget(at)}").set_value(("evil.zip", evil, "application/zip"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    page = texts(at)
    assert "evil.zip:../../etc/evil.png" in page and "unsafe path" in page
    assert "Support set: 3 classes, 5 examples" in page and "q1.png: **" in page


def test_add_a_class_by_hand_remove_an_image_and_clear():
    at = open_page(model_bytes())
    for name, seeds in (("circle", (1, 2)), ("square", (3,))):
        w = widget(at)
        at.text_input(key=f"own.class_name.{w}").set_value(name)
        at.file_uploader(key=f"own.class_files.{w}").set_value(
            [(f"{name}{s}.png", png(s), "image/png") for s in seeds] + [(f"{name}-broken.png", b"hi", "image/png")])
        at.run()
        at.button(key="own.add_class").click()
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    page = texts(at)
    assert "Support set: 2 classes, 3 examples" in page and "**circle**: 2 examples" in page
    assert "circle-broken.png" in page and "not a readable image" in page   # refused, and said why
    at.button(key="own.rm.0.1").click()    # circle's second image
    at.run()
    assert "Support set: 2 classes, 2 examples" in texts(at) and "**circle**: 1 example" in texts(at)
    at.button(key="own.clear").click()
    at.run()
    assert "Support set: 0 classes, 0 examples" in texts(at)


def test_a_class_without_a_name_is_refused_with_a_message():
    at = open_page(model_bytes())
    at.file_uploader(key=f"own.class_files.{widget(at)}").set_value([("a.png", png(1), "image/png")])
    at.run()
    at.button(key="own.add_class").click()
    at.run()
    assert any("Give the class a name" in e.value for e in at.error)


def test_bad_checkpoints_and_too_many_classes_get_clear_errors():
    at = open_page(b"\x80\x04 this is a pickle, not a checkpoint")
    assert any("model.safetensors" in e.value and "not a safetensors file" in e.value for e in at.error)

    at = open_page(model_bytes("maml", n_way=2))   # a head for 2 classes
    three = zipped({f"{c}/{i}.png": png(10 * k + i) for k, c in enumerate("abc") for i in range(2)})
    at.file_uploader(key=f"own.zip.{widget(at)}").set_value(("abc.zip", three, "application/zip"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("at most 2 classes apart; you gave 3" in e.value for e in at.error)


@pytest.mark.parametrize("name", ["protonet-omniglot", "maml-omniglot"])
def test_the_shipped_models_classify_uploads_on_first_open(name):
    if name not in checkpoint.zoo():
        pytest.skip(f"the zoo checkpoint {name!r} is not in {checkpoint.ZOO_DIR}")
    at = open_page()
    at.selectbox(key="own.model").set_value(name)
    at.run()
    assert "28x28 greyscale, ink = 1" in texts(at)
    support = zipped({f"{c}/{i}.png": png(10 * k + i) for k, c in enumerate("ab") for i in range(2)})
    at.file_uploader(key=f"own.zip.{widget(at)}").set_value(("ab.zip", support, "application/zip"))
    at.run()
    at.file_uploader(key=f"own.queries.{widget(at)}").set_value([("q.png", png(42), "image/png")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "q.png: **" in texts(at)
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    # the reliability diagram (2 held-out examples a class), the probabilities, and the inner-loop animation (MAML)
    # or the embedding (ProtoNet)
    assert len(specs) == 3 and specs[0]["layout"]["title"]["text"] == "Reliability on your held-out examples"
    bars = [d for d in specs[0]["data"] if d["type"] == "bar"]   # T = 1, and the model's T when it stores one
    assert bars and all("ECE" in d["name"] for d in bars) and sum(sum(d["customdata"][i][1] for i in range(
        len(d["y"]))) for d in bars) == 4 * len(bars)          # each of the 4 support examples held out once
    if name.startswith("maml"):
        assert len(specs[2]["frames"]) == 2                        # before and after its one inner step
    else:
        assert any(t.get("name") == "prototype (class mean)" for t in specs[1]["data"] + specs[2]["data"])


def test_the_run_trained_on_the_train_page_is_offered_and_used():
    import time

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    next(s for s in at.selectbox if s.label == "Task family").set_value("digits")
    at.run()
    next(s for s in at.selectbox if s.label == "Meta-learner").set_value("protonet")
    at.run()
    at.button(key="step").click()
    at.run()
    at.switch_page("pages/own_data.py")
    deadline = time.monotonic() + 60
    while True:   # the worker publishes its first checkpoint within a second or so
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        options = at.selectbox(key="own.model").options
        if any(o.startswith("This session's run") for o in options) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert any(o.startswith("This session's run: protonet on digits") for o in options), options
    at.selectbox(key="own.model").set_value("upload")   # away and back: the choice is really made
    at.run()
    at.selectbox(key="own.model").set_value("session")
    at.run()
    assert at.selectbox(key="own.model").value == "session"
    support = zipped({f"{c}/{i}.png": png(10 * k + i) for k, c in enumerate("ab") for i in range(2)})
    at.file_uploader(key=f"own.zip.{widget(at)}").set_value(("ab.zip", support, "application/zip"))
    at.run()
    at.file_uploader(key=f"own.queries.{widget(at)}").set_value([("q.png", png(42), "image/png")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "8x8 greyscale" in texts(at) and "q.png: **" in texts(at)
