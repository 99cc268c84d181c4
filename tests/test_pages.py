"""Every page through the router, in Streamlit's AppTest (no browser: timers do not fire here)."""

from pathlib import Path

import pytest
from apptests import open_page, wait_for
from helpers import task_for
from streamlit.testing.v1 import AppTest

from metaviz import learners

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["pages/home.py", "pages/train.py", "pages/automl.py"]





@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exceptions(page):
    at = open_page(page)
    assert at.title, "every page has a title"
    assert at.sidebar.selectbox(key="mv.device").value == "auto"  # the shared sidebar is there


def test_home_shows_results_on_first_load():
    at = open_page("pages/home.py")
    charts = at.get("plotly_chart")
    assert len(charts) == 1  # the adaptation; the task gallery is the light chart, the page's first figure
    gallery = [m.value for m in at.markdown if "mv-light-chart" in m.value]
    assert len(gallery) == 1 and gallery[0].count("<polyline") == 5
    assert any("meta-iterations in" in m.value for m in at.markdown)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)



def iterations(at: AppTest) -> int:
    return int(metric(at, "Meta-iterations").split("/")[0].replace(",", ""))


def test_train_page_start_pause_step_reset():
    at = open_page("pages/train.py")
    assert metric(at, "Meta-iterations") == "0"
    assert any("What the learner will meet" in m.value for m in at.markdown)  # before a run: the family's tasks
    assert len(at.get("plotly_chart")) == 1
    at.button(key="start").click()
    at.run()
    # right after Start: the status and the light loss chart, not yet the heavier views (they follow)
    assert any("mv-light-chart" in m.value for m in at.markdown)
    assert "Adaptation on a held-out task" not in [h.value for h in at.subheader]
    assert not any("What the learner will meet" in m.value for m in at.markdown)
    wait_for(at, lambda a: iterations(a) >= 3)
    assert "Adaptation on a held-out task" in [h.value for h in at.subheader]
    assert len(at.get("plotly_chart")) >= 1  # the adaptation
    # the loss chart and the steps curve: light while the run trains (plotly once it stops)
    assert sum("mv-light-chart" in m.value for m in at.markdown) >= 2

    at.button(key="pause").click()
    at.run()
    wait_for(at, lambda a: a.button(key="start").label == "Resume")
    paused = iterations(at)
    at.button(key="step").click()
    at.run()
    wait_for(at, lambda a: iterations(a) == paused + 1)

    at.button(key="reset").click()
    at.run()
    assert metric(at, "Meta-iterations") == "0"
    assert any("Press Start to meta-train" in m.value and "mv-empty" in m.value for m in at.markdown)  # drawn


def test_train_page_applies_learning_rates_live_and_flags_the_rest():
    at = open_page("pages/train.py")
    at.button(key="start").click()
    at.run()
    at.select_slider(key="learner.maml.inner_lr").set_value(0.02)
    at.slider(key="task.sinusoid.k_shot").set_value(5)
    at.run()
    warning = " ".join(w.value for w in at.warning)
    assert "K-shot" in warning and "Inner learning rate" not in warning
    wait_for(at, lambda a: any("inner learning rate 0.02" in c.value for c in a.caption))
    at.button(key="reset").click()
    at.run()


def test_generated_widgets_reject_inconsistent_settings():
    at = open_page("pages/train.py")
    at.slider(key="task.sinusoid.amp_min").set_value(6.0)  # above amp_max = 5
    at.run()
    assert any("amp_min must not exceed amp_max" in e.value for e in at.error)


@pytest.mark.parametrize("family", ["sinusoid", "polynomial", "mixture", "blobs", "digits", "image-folder",
                                    "omniglot"])
def test_task_builder_previews_every_family(family, tmp_path):
    from helpers import make_image_folder

    from metaviz.data.omniglot import SHARED_DIR

    if family == "omniglot" and not (SHARED_DIR / "images_background_small1.zip").is_file():
        pytest.skip(f"Omniglot's minimal sets are not in {SHARED_DIR}")
    at = open_page("pages/tasks.py")
    at.selectbox(key="builder.family").set_value(family)
    at.run()
    if family == "image-folder":
        assert any("choose an image folder" in e.value for e in at.error)
        at.text_input(key="task.image-folder.path").set_value(str(make_image_folder(tmp_path / "f", 10)))
        at.run()
        assert any("the val split has 2 classes but N-way = 5" in e.value for e in at.error)  # says what to do
        at.slider(key="task.image-folder.n_way").set_value(2)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    kind = "images" if family in ("digits", "image-folder", "omniglot") else "chart"
    if kind == "images":
        assert len(at.get("image")) >= 6  # support and query grids of three tasks
    else:
        assert at.get("plotly_chart")
    assert at.session_state["mv.run_config"].task == family  # the Train page trains on this setup


def test_task_builder_changes_reach_the_preview_and_the_shared_config():
    at = open_page("pages/tasks.py")
    at.selectbox(key="builder.family").set_value("digits")
    at.run()
    at.slider(key="task.digits.k_shot").set_value(3)
    at.run()
    assert any("support: 3 per class" in str(i.proto) for i in at.get("image")) and \
        at.session_state["mv.run_config"].task_config.k_shot == 3
    at.toggle(key="builder.shift").set_value(True)
    at.run()
    assert at.session_state["mv.run_config"].test_task_config is not None
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception


@pytest.mark.parametrize("learner", learners.available())
def test_train_page_runs_every_learner_live(learner):
    at = open_page("pages/train.py")
    if task_for(learner) != "sinusoid":
        next(s for s in at.selectbox if s.label == "Task family").set_value(task_for(learner))
        at.run()
    next(s for s in at.selectbox if s.label == "Meta-learner").set_value(learner)
    at.run()
    at.button(key="start").click()
    at.run()
    # text: the first evaluation fine-tunes the pretrained baseline's n-gram embedding table on 100 tasks
    wait_for(at, lambda a: iterations(a) >= 2, timeout=240 if task_for(learner) == "intents" else 60)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["mv.run_config"].learner == learner
    at.button(key="reset").click()
    at.run()
