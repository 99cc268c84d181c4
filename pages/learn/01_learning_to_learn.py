"""Lesson 1: learning to learn. Ordinary training on one task against meta-training over many; the outcome is
fast adaptation to a new task."""

import streamlit as st

from metaviz.analysis.adaptation import adaptation_curves
from metaviz.figures.adaptation import adaptation_figure
from ui import lesson, state, words
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l1.check", "options": ("l1.check_a", "l1.check_b", "l1.check_c"),
           "right": 1, "why": "l1.check_why"},)  # the self-check: its answer is in the figure


@st.cache_data(show_spinner=False, max_entries=32)
def curves(seed: int, n_steps: int, task_seed: int):
    trained = lesson.sine_run(seed, n_steps)
    states = {k: trained.states[k] for k in ("scratch", "pretrained", "maml")}
    return adaptation_curves(lesson.sine_config(seed, n_steps), states, task_seed, steps=10)


lesson.header(__file__, "l1.title", "l1.body")
left, right = st.columns([3, 1])
n_steps = left.select_slider(t("l1.steps"), lesson.SINE_STEPS, value=lesson.SINE_DEFAULT, key="learn-1-steps",
                             help=t("l1.steps_help"))
task_seed = right.number_input(t("lesson.task"), 0, 10_000, 0, key="learn-1-task", help=t("lesson.task_help"))
with st.spinner(t("lesson.computing")):
    trained = lesson.sine_run(state.seed(), n_steps)
    result = curves(state.seed(), n_steps, task_seed)
fig = adaptation_figure(result, uirevision="learn-1", text=words.fit(), names=words.learner_names())
names = {"scratch": t("l1.scratch"), "pretrained": t("l1.pretrained"), "maml": "MAML"}
for annotation, name in zip(fig.layout.annotations, result.predictions):  # the panels' titles
    mse = result.grid_mse[name]
    annotation.text = t("l1.panel", name=names[name], before=mse[0], after1=mse[1], after10=mse[-1])
lesson.chart(fig, key="learn-1-figure")
st.caption(t("l1.caption", steps=n_steps, seconds=trained.seconds, lr=result.inner_lr))
lesson.try_this("l1.try")
lesson.lab_link(lesson.lab_config(lesson.sine_config(state.seed())))
lesson.self_check(__file__, CHECKS)
lesson.papers("l1.papers")
lesson.footer(__file__)
