"""AutoML: the bi-level loop one level up. Learn an inner run's learning rates and weight decay, or its
architecture (DARTS), live, against random search at equal compute."""

import dataclasses

import numpy as np
import streamlit as st

from metaviz import automl, tasks
from metaviz.automl.problem import TASKS
from metaviz.automl.search import AutoMLConfig
from metaviz.automl.space import OPS
from metaviz.automl.worker import AutoMLWorker, curve
from metaviz.figures.automl import alpha_figure, cell_figure, hyperparameter_figure, result_figure, search_figure
from ui import state
from ui.i18n import t, title
from ui.live import live_panel
from ui.router import ensure_router

ensure_router()
METHOD_KEYS = {"unrolled": "pg_automl.method.unrolled", "implicit": "pg_automl.method.implicit",
               "random_search": "pg_automl.method.random_search", "grid_search": "pg_automl.method.grid_search",
               "darts": "pg_automl.method.darts", "random_nas": "pg_automl.method.random_nas"}


def method_name(name: str) -> str:
    return t(METHOD_KEYS[name]) if name in METHOD_KEYS else name


@st.cache_resource(scope="session", on_release=lambda worker: worker.stop(), show_spinner=False)
def automl_worker() -> AutoMLWorker:
    return AutoMLWorker()


def method_config(name: str, inner_steps: int, second_order: bool):
    cls = automl.get(name).Config
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {"inner_steps": inner_steps} if "inner_steps" in fields else {}
    values |= {"steps_per_outer": max(inner_steps // 4, 1)} if "steps_per_outer" in fields else {}
    values |= {"second_order": second_order} if "second_order" in fields else {}
    return cls(**values)


def status_row(snap) -> None:
    words = {"idle": "pg_automl.idle", "queued": "pg_automl.queued", "running": "pg_automl.running",
             "done": "pg_automl.done", "stopped": "pg_automl.stopped", "error": "pg_automl.error"}
    compute = snap.steps[-1].compute_steps if snap.steps else 0
    st.caption(t(words[snap.status], step=len(snap.steps), compute=compute))
    if snap.status == "error":
        st.error(snap.message)


def hyper_view(snap) -> None:
    if not snap.steps:
        return
    steps = [e.step for e in snap.steps]
    h = [e.hyperparameters for e in snap.steps]
    if snap.config.method in ("unrolled", "implicit"):
        lr = np.stack([x["lr"].mean(0) for x in h]) if "lr" in h[0] else None
        wd = np.stack([x["weight_decay"] for x in h])
        layers = [f"{t('pg_automl.layer')} {i + 1}" for i in range(wd.shape[1])]
    else:
        lr, wd = np.stack([x["lr"] for x in h]), np.stack([x["weight_decay"] for x in h])
        layers = [t("pg_automl.trial")]
    st.plotly_chart(hyperparameter_figure(steps, lr, wd, layers, dict(
        title=t("pg_automl.hyper_title"), lr=t("pg_automl.lr"), wd=t("pg_automl.wd"), x=t("pg_automl.outer"))),
        key="automl-hyper")


def arch_view(snap) -> None:
    if snap.steps and snap.config.method == "darts":
        alpha = snap.steps[-1].hyperparameters["alpha"]
        st.plotly_chart(alpha_figure(alpha, snap.config.method_config.nodes, dict(
            title=t("pg_automl.alpha_title", step=snap.steps[-1].step), x=t("pg_automl.edge"),
            y=t("pg_automl.weight"))), key="automl-alpha")
    if snap.result is not None and "choice" in snap.result.hyperparameters:
        st.plotly_chart(cell_figure(snap.result.hyperparameters["choice"], snap.config.method_config.nodes,
                                    dict(title=t("pg_automl.cell_title"), input=t("pg_automl.input"))),
                        key="automl-cell")


def search_view(snap) -> None:
    if not snap.steps:
        return
    curves = {method_name(snap.config.method): curve(snap.steps),
              t("pg_automl.baseline"): curve(snap.baseline_steps)}
    st.plotly_chart(search_figure(curves, dict(title=t("pg_automl.search_title"), x=t("pg_automl.compute"),
                                               y=t("pg_automl.val_loss"))), key="automl-search")
    if snap.result is not None and snap.baseline_result is not None:
        accuracy = snap.result.test_accuracy is not None
        score = (lambda r: r.test_accuracy) if accuracy else (lambda r: r.test_loss)
        rows = [(method_name(snap.config.method), score(snap.result)),
                (t("pg_automl.baseline"), score(snap.baseline_result))]
        st.plotly_chart(result_figure(rows, dict(title=t("pg_automl.result_title"), y=t(
            "pg_automl.test_accuracy" if accuracy else "pg_automl.test_loss"))), key="automl-result")


st.title(t("pg_automl.title"))
st.markdown(t("pg_automl.intro"))
worker = automl_worker()
snap = worker.snapshot()
setup, live = st.columns([1.2, 2.6], gap="large")
with setup:
    families = {n: title(tasks.get(n)) for n in TASKS}
    task = st.selectbox(t("pg_automl.task"), list(families), format_func=families.__getitem__, key="automl-task")
    methods = {n: method_name(n) for n in automl.available()}
    method = st.selectbox(t("pg_automl.method"), list(methods), format_func=methods.__getitem__, key="automl-method")
    outer = st.slider(t("pg_automl.outer_steps"), 2, 400, 200 if automl.get(method).kind == "architecture" else 20,
                      key=f"automl-outer-{automl.get(method).kind}")
    inner = st.select_slider(t("pg_automl.inner_steps"), (10, 20, 40, 80), value=40, key="automl-inner")
    second = st.checkbox(t("pg_automl.second_order"), key="automl-second", disabled=method != "darts")
    left, right = st.columns(2)
    if left.button(t("pg_automl.start"), type="primary", icon=":material/play_arrow:", key="automl-start"):
        worker.start(AutoMLConfig(task, method, method_config(method, inner, second), outer, state.seed()))
        snap = worker.snapshot()
    if right.button(t("pg_automl.stop"), icon=":material/stop:", key="automl-stop", disabled=not snap.live):
        worker.stop()
        snap = worker.snapshot()
    st.caption(t("pg_automl.ops", ops=", ".join(f"`{op}`" for op in OPS)))
    st.caption(t("pg_automl.honest"))

with live:
    live_panel(worker, status_row, drawn=snap)
    live_panel(worker, search_view, drawn=snap, follows=False)
    if snap.config is not None and automl.get(snap.config.method).kind == "architecture":
        live_panel(worker, arch_view, drawn=snap, follows=False)
    elif snap.config is not None:
        live_panel(worker, hyper_view, drawn=snap, follows=False)
    else:
        st.info(t("pg_automl.press_start"))
