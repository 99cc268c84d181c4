"""Lesson 9: the same loop, one level up. Hyperparameters (learning rates) and architectures (DARTS) learned by
the bi-level loop, drawn from a small shipped result (scripts/automl_lesson.py)."""

import numpy as np
import streamlit as st

from metaviz.automl.lesson import INNER, load
from metaviz.figures.automl import alpha_figure, cell_figure, hyperparameter_figure, search_figure
from ui import lesson
from ui.i18n import labels, t
from ui.router import ensure_router

CHECKS = ({"question": "l9.check", "options": ("l9.check_a", "l9.check_b", "l9.check_c"),
           "right": 1, "why": "l9.check_why"},)  # the self-check: its answer is in the figure

ensure_router()


@st.cache_data(show_spinner=False)
def shipped() -> dict:
    return load()


lesson.header(__file__, "l9.title", "l9.body")
data = shipped()
inner = st.select_slider(t("l9.inner"), INNER, value=INNER[-1], key="learn-9-inner", help=t("l9.inner_help"))
hyper = data["hyper"][str(inner)]
layers = [f"{t('pg_automl.layer')} {i + 1}" for i in range(len(hyper["layers"]))]
left, right = st.columns(2)
lesson.chart(where=left, fig=hyperparameter_figure(np.arange(1, len(hyper["lr"]) + 1), hyper["lr"], None, layers, dict(
    title=t("l9.lr_title", t=inner), lr=t("pg_automl.lr"), wd=t("pg_automl.wd"), x=t("pg_automl.outer")),
    uirevision="learn-9-lr"), key="learn-9-lr")
curves = {t("pg_automl.method.unrolled"): tuple(map(np.asarray, hyper["curve"])),
          t("pg_automl.method.random_search"): tuple(map(np.asarray, hyper["random_curve"]))}
lesson.chart(where=right, fig=search_figure(curves, dict(title=t("pg_automl.search_title"), x=t("pg_automl.compute"),
                                              y=t("pg_automl.val_loss")), uirevision="learn-9-search"),
                   key="learn-9-search")
st.caption(t("l9.cost", t=inner, hyper=1000 * hyper["hypergradient_s"], plain=1000 * hyper["plain_run_s"],
             ratio=hyper["hypergradient_s"] / max(hyper["plain_run_s"], 1e-9)))
order = st.radio(t("l9.order"), ("first", "second"), horizontal=True, key="learn-9-order",
                 format_func=labels({"first": "l9.first", "second": "l9.second"}).__getitem__)
darts = data["darts"][order]
step, alpha = darts["alpha"][-1]
a, b = st.columns([3, 2])
lesson.chart(where=a, fig=alpha_figure(np.asarray(alpha), darts["nodes"], dict(
    title=t("pg_automl.alpha_title", step=step), x=t("pg_automl.edge"), y=t("pg_automl.weight")),
    uirevision="learn-9-alpha"), key="learn-9-alpha")
lesson.chart(where=b, fig=cell_figure(darts["choice"], darts["nodes"], dict(title=t("pg_automl.cell_title"),
                                                                 input=t("pg_automl.input"))), key="learn-9-cell")
st.caption(t("l9.darts_caption", first=data["darts"]["first"]["test_loss"],
             second=data["darts"]["second"]["test_loss"]))
lesson.try_this("l9.try")
if st.button(t("l9.open_lab"), icon=":material/science:", key="lesson-lab", type="primary"):
    st.session_state["automl-task"] = data["task"]
    st.session_state["automl-method"] = "darts"
    st.session_state["automl-second"] = order == "second"
    st.switch_page("pages/automl.py")
lesson.self_check(__file__, CHECKS)
lesson.papers("l9.papers")
lesson.footer(__file__)
