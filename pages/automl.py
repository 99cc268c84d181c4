"""AutoML: the bi-level loop one level up. Learn an inner run's learning rates and weight decay, or its
architecture (DARTS), live, against random search at equal compute."""

import dataclasses

import streamlit as st

from metaviz import automl, tasks
from metaviz.automl.problem import TASKS
from metaviz.automl.search import AutoMLConfig
from metaviz.automl.space import SPACES
from metaviz.automl.worker import AutoMLWorker
from ui import automl_view, empty, state
from ui.i18n import t, title
from ui.live import live_panel
from ui.router import ensure_router
from ui.worker import run_store

ensure_router()
SPACE_KEYS = {"vector": "pg_automl.space.vector", "conv": "pg_automl.space.conv"}


@st.cache_resource(scope="session", on_release=lambda worker: worker.stop(), show_spinner=False)
def automl_worker() -> AutoMLWorker:
    """This session's search; recorded in the run store (the Runs page lists it) unless the store is off."""
    return AutoMLWorker(store=run_store())


def method_config(name: str, inner_steps: int, second_order: bool, space: str = "vector"):
    cls = automl.get(name).Config
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {"inner_steps": inner_steps} if "inner_steps" in fields else {}
    values |= {"steps_per_outer": max(inner_steps // 4, 1)} if "steps_per_outer" in fields else {}
    values |= {"second_order": second_order} if "second_order" in fields else {}
    values |= {"space": space, **({"width": 8} if space == "conv" else {})} if "space" in fields else {}
    return cls(**values)


st.title(t("pg_automl.title"))
st.markdown(t("pg_automl.intro"))
worker = automl_worker()
snap = worker.snapshot()
setup, live = st.columns([1.2, 2.6], gap="large")
if snap.config is None:  # no search yet: a drawn empty state, the page's first figure, before the controls
    with live:
        empty.draw(t("pg_first.automl_title"), t("pg_automl.press_start"))
with setup:
    families = {n: title(tasks.get(n)) for n in TASKS}
    task = st.selectbox(t("pg_automl.task"), list(families), format_func=families.__getitem__, key="automl-task")
    methods = {n: automl_view.method_name(n) for n in automl.available()}
    method = st.selectbox(t("pg_automl.method"), list(methods), format_func=methods.__getitem__, key="automl-method")
    architecture = automl.get(method).kind == "architecture"
    images = getattr(tasks.get(task), "image_shape", None) is not None
    spaces = {n: t(SPACE_KEYS[n]) for n in SPACES if n == "vector" or images}
    space = st.radio(t("pg_automl.space"), list(spaces), format_func=spaces.__getitem__, horizontal=True,
                     key="automl-space", disabled=not architecture or len(spaces) == 1)
    space = space if space in spaces else "vector"
    outer = st.slider(t("pg_automl.outer_steps"), 2, 400, 200 if architecture else 20,
                      key=f"automl-outer-{automl.get(method).kind}")
    inner = st.select_slider(t("pg_automl.inner_steps"), (10, 20, 40, 80), value=40, key="automl-inner")
    second = st.checkbox(t("pg_automl.second_order"), key="automl-second", disabled=method != "darts")
    config = AutoMLConfig(task, method, method_config(method, inner, second, space if architecture else "vector"),
                          outer, state.seed())
    buttons = st.columns(2)  # commands run as callbacks, before the page reruns: it is drawn from their result
    buttons[0].button(t("pg_automl.start"), type="primary", icon=":material/play_arrow:", key="automl-start",
                      on_click=worker.start, args=(config,))
    if snap.status == "paused":
        buttons[1].button(t("pg_automl.resume"), icon=":material/resume:", key="automl-pause", on_click=worker.resume)
    else:
        buttons[1].button(t("pg_automl.pause"), icon=":material/pause:", key="automl-pause", on_click=worker.pause,
                          disabled=not snap.live)
    buttons[0].button(t("pg_automl.step"), icon=":material/skip_next:", key="automl-step",
                      help=t("pg_automl.step_help"), disabled=snap.live,
                      on_click=worker.step if snap.active else worker.start_stepping,
                      args=() if snap.active else (config,))
    buttons[1].button(t("pg_automl.reset"), icon=":material/restart_alt:", key="automl-reset",
                      disabled=snap.status == "idle", on_click=worker.reset)
    ops = SPACES[space if architecture else "vector"]
    st.caption(t("pg_automl.ops", ops=", ".join(f"`{op}`" for op in ops)))
    st.caption(t("pg_automl.honest"))
    if snap.run_id:
        st.caption(t("pg_automl.stored", id=snap.run_id))

with live:
    live_panel(worker, automl_view.status_row, drawn=snap)
    live_panel(worker, automl_view.search_view, drawn=snap, follows=False)
    if snap.config is not None:
        live_panel(worker, automl_view.detail_view, drawn=snap, follows=False)
