"""The lab in Chinese: Home, Task Builder and Train run in zh with their words from the catalogue, and the
figure builders they use take the words they are given (English stays the default)."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from apptests import open_page, wait_for
from streamlit.testing.v1 import AppTest

from metaviz import tasks
from metaviz.analysis.tasks import ClassSplit, class_split, preview
from metaviz.figures.curves import accuracy_curves, loss_curves, steps_curve
from metaviz.figures.tasks import preview_figure, split_figure
from ui import i18n

APP = str(Path(__file__).resolve().parents[1] / "app.py")
ZH = i18n.catalogue("zh")


def open_zh(page: str) -> AppTest:
    return open_page(page, lang="zh")


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def names(chart: dict) -> list[str]:
    return [trace.get("name") for trace in chart["data"] if trace.get("name")]


# ---- the pages in Chinese -----------------------------------------------------------------------------------

def test_home_in_chinese():
    at = open_zh("pages/home.py")
    assert at.title[0].value == ZH["pg_home.title"]
    assert [s.value for s in at.subheader] == [ZH["pg_home.tasks_title"], ZH["pg_home.learned_title"]]
    assert any(m.value.startswith(ZH["pg_home.learned_body"][:20]) for m in at.markdown)
    assert at.sidebar.selectbox(key="mv.device").label == ZH["ui_sidebar.device"]
    assert at.sidebar.number_input(key="mv.seed").label == ZH["ui_sidebar.seed"]
    (adaptation,) = charts(at)
    gallery = next(m.value for m in at.markdown if "mv-light-chart" in m.value)  # the light chart
    assert all(f"{ZH['pg_home.task'].format(i=i)}</span>" in gallery for i in range(1, 6))
    # the shared adaptation figure: legend and panel titles translated, MAML keeps its name
    shown = names(adaptation)
    assert ZH["fig_adapt.fit_truth"] in shown and ZH["fig_adapt.fit_before"] in shown
    assert ZH["fig_adapt.fit_after_one"].format(name="MAML", n=1) in shown
    panels = [a["text"] for a in adaptation["layout"]["annotations"]]
    assert [p.split("（")[0] for p in panels] == ["MAML", ZH["fig_adapt.name_pretrained"]]
    assert not any("pretrained + fine-tune" in text for text in shown + panels)


def test_task_builder_in_chinese_with_a_regression_chart():
    at = open_zh("pages/tasks.py")
    assert at.title[0].value == ZH["pg_tasks.title"]
    family = at.selectbox(key="builder.family")
    assert family.label == ZH["pg_tasks.family"] and family.value == "sinusoid"
    assert at.toggle(key="builder.shift").label == ZH["pg_tasks.shift"]
    assert at.button(key="builder.resample").label == ZH["pg_tasks.resample"]
    (chart,) = charts(at)
    assert {ZH["fig_tasks.truth"], ZH["fig_tasks.support"], ZH["fig_tasks.query"]} <= set(names(chart))
    assert [a["text"] for a in chart["layout"]["annotations"]] == [ZH["fig_tasks.task"].format(i=i)
                                                                   for i in (1, 2, 3)]


def test_task_builder_in_chinese_with_images_and_the_class_split():
    at = open_zh("pages/tasks.py")
    at.selectbox(key="builder.family").set_value("digits")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    config = at.session_state["mv.run_config"].task_config
    captions = " ".join(str(image.proto) for image in at.get("image"))
    assert ZH["pg_tasks.support_caption"].format(k=config.k_shot) in captions
    assert ZH["pg_tasks.query_caption"].format(q=config.n_query) in captions
    assert any(m.value.startswith(f"**{ZH['pg_tasks.task'].format(i=1)}**") for m in at.markdown)
    assert any(m.value == ZH["pg_tasks.classes_by_split"] for m in at.markdown)
    (split,) = charts(at)
    legend = names(split)
    splits = [ZH[f"fig_tasks.split_{s}"] for s in ("train", "val", "test", "val_test", "unused")]
    assert legend[0].startswith(ZH["fig_tasks.split_train"] + " (")
    assert all(n.split(" (")[0] in splits for n in legend) and len(legend) >= 2



def iterations(at: AppTest) -> int:
    value = next(m.value for m in at.metric if m.label == ZH["ui_run.iterations"])
    return int(value.split("/")[0].replace(",", ""))


def test_train_in_chinese_starts_a_run_and_draws_translated_curves():
    at = open_zh("pages/train.py")
    assert at.title[0].value == ZH["pg_train.title"]
    assert {s.label for s in at.selectbox} >= {ZH["pg_train.family"], ZH["pg_train.learner"]}
    assert [at.button(key=k).label for k in ("start", "pause", "step", "reset")] == [
        ZH["ui_controls.start"], ZH["ui_controls.pause"], ZH["ui_controls.step"], ZH["ui_controls.reset"]]
    assert any(ZH["pg_first.press_start"].format(start=ZH["ui_controls.start"]) in m.value and "mv-empty" in m.value
               for m in at.markdown)  # the drawn empty state, in Chinese
    assert {e.label for e in at.expander} >= {ZH["pg_train.task_settings"], ZH["pg_train.learner_settings"],
                                              ZH["pg_train.train_settings"], ZH["pg_train.share"]}

    at.button(key="start").click()
    at.run()
    wait_for(at, lambda a: iterations(a) >= 3)
    live = next(m.value for m in at.markdown if "mv-light-chart" in m.value)  # the light chart while training
    words = "".join(ET.fromstring(live).itertext())
    assert ZH["fig_curves.loss_title"] in words and ZH["fig_curves.iteration"] in words
    assert ZH["fig_curves.train"] in words
    at.button(key="pause").click()
    at.run()
    wait_for(at, lambda a: a.button(key="start").label == ZH["ui_controls.resume"])
    loss = charts(at)[0]  # paused: the plotly chart
    assert loss["layout"]["title"]["text"] == ZH["fig_curves.loss_title"]
    assert loss["layout"]["xaxis"]["title"]["text"] == ZH["fig_curves.iteration"]
    assert names(loss)[0] == ZH["fig_curves.train"]
    assert any(f"badge[{ZH['status.paused']}]" in m.value for m in at.markdown)  # st.badge is markdown
    at.button(key="reset").click()
    at.run()
    assert iterations(at) == 0


def test_train_in_chinese_names_task_kinds_and_lists_pending_settings():
    at = open_zh("pages/train.py")
    caption = next(c.value for c in at.caption if c.value.startswith(ZH["pg_train.not_offered"].split("{")[0]))
    assert ZH["pg_train.regression"] in caption and ZH["pg_train.classification"] in caption
    at.button(key="start").click()
    at.run()
    at.slider(key="task.sinusoid.k_shot").set_value(5)
    at.run()
    warning = " ".join(w.value for w in at.warning)
    assert warning.startswith(ZH["ui_controls.pending"].split("{")[0])
    at.button(key="reset").click()
    at.run()


def test_switching_the_language_keeps_the_setup_and_the_sidebar():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    next(s for s in at.selectbox if s.label == "Task family").set_value("blobs")
    at.sidebar.number_input(key="mv.seed").set_value(7)
    at.sidebar.selectbox(key="mv.device").set_value("cpu")
    at.run()
    at.sidebar.selectbox(key=i18n.LANG).set_value("zh")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == ZH["pg_train.title"]
    assert next(s for s in at.selectbox if s.label == ZH["pg_train.family"]).value == "blobs"
    assert at.session_state["mv.run_config"].task == "blobs"
    assert at.sidebar.number_input(key="mv.seed").value == 7
    assert at.sidebar.selectbox(key="mv.device").value == "cpu"


STATUS_PAGE = """
import streamlit as st
from metaviz.worker import Snapshot
from ui import run_view
st.session_state["mv.lang"] = LANG
for status in ("idle", "starting", "queued", "running", "stepping", "paused", "done", "diverged", "error",
               "limited"):
    run_view.status_row(Snapshot(status=status, message="engine says why", queue_position=2))
"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_run_status_has_words(lang):
    at = AppTest.from_string(STATUS_PAGE.replace("LANG", repr(lang)), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    words = i18n.catalogue(lang)
    badges = [m.value for m in at.markdown if "badge[" in m.value]
    keys = ["idle", "starting", "queued", "running", "stepping", "paused", "done", "diverged", "error", "limited"]
    assert [b.split("-badge")[1] for b in badges] == [f"[{words['status.' + key]}]" for key in keys]
    assert [i.value for i in at.info] == [words["ui_run.queue"].format(n=2)]
    assert [e.value for e in at.error] == ["engine says why"] * 3  # diverged, error, limited say why


def test_every_status_a_run_or_a_stored_run_can_have_has_words_in_every_language():
    from metaviz.store import STATUSES
    from ui import status

    worker = ("idle", "starting", "queued", "running", "stepping", "paused", "done", "diverged", "error", "limited")
    assert set(worker) | set(STATUSES) == set(status.STATUS)
    for lang in ("en", "zh"):
        words = i18n.catalogue(lang)
        assert all(words[key] for key, _ in status.STATUS.values())


# ---- the figure builders take the words they are given --------------------------------------------------------

WORDS = {"title": "T", "x": "X", "y": "Y", "train": "tr", "val": "va", "test": "te", "baseline_train": "btr",
         "baseline_val": "bva", "baseline_test": "bte"}


def test_loss_curves_take_their_words():
    steps = np.arange(1, 11.0)
    train = {"step": steps, "loss": 1 / steps, "baseline_loss": 2 / steps}
    evals = {"step": np.array([0.0, 10]), "val_loss": np.array([2.0, 1]), "test_loss": np.array([3.0, 2]),
             "baseline_val_loss": np.array([2.0, 2]), "baseline_test_loss": np.array([3.0, 3])}
    fig = loss_curves(train, evals, "maml", text=WORDS)
    assert [t.name for t in fig.data] == ["tr", "va", "te", "btr", "bva", "bte"]
    assert (fig.layout.title.text, fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("T", "X", "Y")
    english = loss_curves(train, evals, "maml")
    assert english.layout.title.text == "Loss" and english.data[2].name == "meta-test, shifted (after adaptation)"
    partial = loss_curves(train, evals, "maml", text={"val": "only this"})  # the rest keeps its English
    assert [t.name for t in partial.data][:2] == ["meta-train (smoothed)", "only this"]


def test_accuracy_curves_take_their_words_and_fill_chance():
    evals = {"step": np.array([0.0, 10]), "val_accuracy": np.array([0.3, 0.6]),
             "baseline_val_accuracy": np.array([0.3, 0.4])}
    fig = accuracy_curves(evals, "protonet", 4, text=dict(title="T", x="X", y="Y", val="v", baseline_val="bv",
                                                          chance="zufall 1/{n}"))
    assert [t.name for t in fig.data] == ["v", "bv", "zufall 1/4"]
    assert list(fig.data[-1].y) == [0.25, 0.25]
    assert (fig.layout.title.text, fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("T", "X", "Y")
    assert accuracy_curves(evals, "protonet", 4).data[-1].name == "chance (1/4)"


@pytest.mark.parametrize("metric, values, axis", [("loss", [3.0, 1.0], "L"), ("loss", [3.0, 1e9], "G"),
                                                  ("accuracy", [0.2, 0.6], "A")])
def test_steps_curve_takes_its_words(metric, values, axis):
    text = dict(title="T", x="X", y_loss="L", y_log="G", y_accuracy="A", baseline="base", learner="mine")
    fig = steps_curve(np.array(values), np.array(values), "maml", metric, text=text)
    assert [t.name for t in fig.data] == ["mine", "base"]
    assert (fig.layout.title.text, fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("T", "X", axis)
    assert [t.name for t in steps_curve(np.array(values), np.array(values), "maml", metric).data] == [
        "maml", "pretrained"]


def test_task_previews_take_their_words():
    words = dict(task="T{i}", truth="wahr", support="S", query="Q", point="k{label}-{part}")
    sine = preview("sinusoid", tasks.get("sinusoid").Config(), "train", n_tasks=2, seed=0)
    fig = preview_figure(sine, text=words)
    assert [a.text for a in fig.layout.annotations] == ["T1", "T2"]
    assert {t.name for t in fig.data} == {"wahr", "S", "Q"}
    assert {t.name for t in preview_figure(sine).data} == {"true function", "support", "query"}
    blobs = preview("blobs", tasks.get("blobs").Config(), "train", n_tasks=1, seed=0)
    labels = sorted({int(v) for v in np.unique(blobs.support_y[0])})
    points = {t.name for t in preview_figure(blobs, text=words).data}
    assert points == {f"k{label}-{part}" for label in labels for part in ("S", "Q")}
    assert "class 0 (support)" in {t.name for t in preview_figure(blobs).data}


def test_class_split_takes_its_words():
    split = class_split("digits", tasks.get("digits").Config())
    assert isinstance(split, ClassSplit)
    words = dict(train="A", val="B", test="C", val_test="D", unused="E")
    fig = split_figure(split, text=words)
    translated = [t.name.split(" (")[0] for t in fig.data]
    assert translated and set(translated) <= set(words.values())
    english = [t.name.split(" (")[0] for t in split_figure(split).data]
    assert [words[{"meta-train": "train", "meta-validation": "val", "meta-test": "test",
                   "meta-validation and meta-test": "val_test", "unused": "unused"}[e]] for e in english] == translated
