"""The Your Data page with photos (AppTest): the photo model is chosen for colour images, predicts from the
shipped EfficientNet-Lite0, offers the heads without running the backbone again, draws the reliability diagram,
and lists a backbone whose weights are missing with how to get them, without crashing."""

from __future__ import annotations

import io
import re

import numpy as np
from apptests import APP
from PIL import Image
from sklearn.datasets import load_sample_image
from streamlit.testing.v1 import AppTest
from test_page_own_data import zipped

from metaviz import photoshot


def jpeg_crops(name: str, k: int, seed: int) -> list[bytes]:
    photo = load_sample_image(name)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        s = int(rng.integers(160, 300))
        y, x = int(rng.integers(0, photo.shape[0] - s)), int(rng.integers(0, photo.shape[1] - s))
        buffer = io.BytesIO()
        Image.fromarray(photo[y:y + s, x:x + s]).save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.subheader]
    parts += [w.value for w in at.warning] + [e.value for e in at.error] + [s.value for s in at.success]
    text = "\n".join(parts)
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def photos_page(lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["mv.lang"] = lang
    at.run()
    at.switch_page("pages/own_data.py")
    at.run()
    support = {f"photos/{cls}/{i}.jpg": data for cls, name, seed in (("palace", "china.jpg", 0),
                                                                     ("flower", "flower.jpg", 1))
               for i, data in enumerate(jpeg_crops(name, 3, seed))}
    widget = at.session_state["own.files"].widget if "own.files" in at.session_state else 0
    at.file_uploader(key=f"own.zip.{widget}").set_value(("photos.zip", zipped(support), "application/zip"))
    at.run()
    widget = at.session_state["own.files"].widget
    queries = [(f"q{i}-{name}", data, "image/jpeg") for name, seed in (("china.jpg", 5), ("flower.jpg", 6))
               for i, data in enumerate(jpeg_crops(name, 2, seed))]
    at.file_uploader(key=f"own.queries.{widget}").set_value(queries)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    import json

    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_colour_photos_get_the_photo_model_predictions_heads_and_a_reliability_diagram(monkeypatch, tmp_path):
    at = photos_page()
    assert at.selectbox(key="own.model").value == "photos"
    page = texts(at)
    assert "Your images are in colour, so the photo model is chosen" in page
    assert "224x224 RGB" in page and "Support set: 2 classes, 6 examples" in page
    for i in range(2):
        assert f"q{i}-china.jpg: **palace**" in page and f"q{i}-flower.jpg: **flower**" in page
    assert "look like the photos EfficientNet-Lite0 was trained on" in page
    assert next(m for m in at.metric if m.label.startswith("Leave-one-out")).value == "100%"
    stored = photoshot.calibration().get("efficientnet_lite0", {}).get("prototype", {})
    if {"ece_before", "ece_after"} <= stored.keys():  # metaviz/zoo/photos.json: the engine's fitted temperature
        assert (f"temperature T = {stored['temperature']:.2f}, fitted on held-out tasks: expected calibration error "
                f"{stored['ece_before']:.3f} before, {stored['ece_after']:.3f} after") in page
    else:
        assert "No temperature is stored for this backbone and head yet" in page
    titles = [c["layout"]["title"]["text"] for c in charts(at)]
    assert "Reliability on your held-out examples" in titles
    assert "**The embedding space**: your photos and each class's prototype" in page
    roles = [d[2] for c in charts(at) for trace in c["data"] for d in trace.get("customdata") or []
             if isinstance(d, list) and len(d) > 2]
    assert (roles.count("support"), roles.count("query"), roles.count("prototype")) == (6, 4, 2)
    features = at.session_state["own.photo_features"][1]

    at.segmented_control(key="own.head").set_value("logistic")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["own.photo_features"][1] is features  # the backbone did not run again
    assert at.session_state["own.photo_result"][1].prediction.head == "logistic"
    assert "q0-china.jpg: **palace**" in texts(at)

    from ui import photos

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))      # no torch hub cache: ResNet-18's weights are missing
    monkeypatch.delenv("METAVIZ_WEIGHTS", raising=False)
    photos._available.clear()
    at.run()
    assert "ResNet-18 (weights not on this machine)" in at.selectbox(key="own.backbone").options
    at.selectbox(key="own.backbone").set_value("resnet18")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warning = " ".join(w.value for w in at.warning)
    assert "ResNet-18's ImageNet weights are not on this machine" in warning
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in warning
    photos._available.clear()


def test_the_photo_model_in_chinese():
    at = photos_page("zh")
    assert at.selectbox(key="own.model").value == "photos"
    assert any("骨干网络" in s.label for s in at.selectbox)
    assert any("可靠性" in c["layout"]["title"]["text"] for c in charts(at))


def test_images_unlike_photos_are_named_in_the_photo_models_warning():
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.switch_page("pages/own_data.py")
    at.run()

    def png(colour, checker: bool = False) -> bytes:
        a = np.zeros((64, 64, 3), np.uint8)
        a[:] = colour
        if checker:  # a checkerboard: the statistic's highest measured value (docs/benchmarks.md)
            a[(np.indices((64, 64)).sum(0) // 8) % 2 == 0] = 255 - np.array(colour)
        buffer = io.BytesIO()
        Image.fromarray(a).save(buffer, format="PNG")
        return buffer.getvalue()

    support = {f"odd/red/{i}.png": png((255, 0, 0)) for i in range(2)}
    support |= {f"odd/checks/{i}.png": png((0, 0, 255), checker=True) for i in range(2)}
    at.file_uploader(key="own.zip.0").set_value(("odd.zip", zipped(support), "application/zip"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="own.model").value == "photos"  # in colour: the photo model, which then warns
    warning = " ".join(w.value for w in at.warning)
    assert "look unlike the photos EfficientNet-Lite0 was trained on (ImageNet)" in warning
    assert "over the limit of 0.45" in warning
