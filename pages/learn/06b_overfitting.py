"""Lesson 6b: where it breaks, meta-overfitting. Two MAML runs that differ only in how many distinct
meta-training tasks they may draw (``TrainConfig.distinct_tasks``)."""

import dataclasses

import streamlit as st

from metaviz.analysis.adaptation import overfit_configs, overfit_from_evals, quick_run
from metaviz.figures.adaptation import overfitting_figure
from ui import lesson, state, words
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l6b.check", "options": ("l6b.check_a", "l6b.check_b", "l6b.check_c"),
           "right": 0, "why": "l6b.check_why"},)  # the self-check: its answer is in the figure


def configs(seed: int, distinct: int, n_steps: int):
    base = lesson.sine_config(seed, n_steps)
    base = dataclasses.replace(base, train=dataclasses.replace(base.train, n_eval_tasks=100, eval_steps=1))
    return overfit_configs(base, distinct, n_steps, eval_every=max(n_steps // 10, 1))


@st.cache_data(show_spinner=False, max_entries=16)
def compute(seed: int, distinct: int, n_steps: int):
    runs = [quick_run(c) for c in configs(seed, distinct, n_steps)]
    return [overfit_from_evals(r.evals, "loss") for r in runs], sum(r.seconds for r in runs)


lesson.header(__file__, "l6b.title", "l6b.body")
c1, c2 = st.columns(2)
distinct = c1.select_slider(t("l6b.distinct"), (1, 2, 5, 10, 50), value=5, key="learn-6b-distinct",
                            help=t("l6b.distinct_help"))
n_steps = c2.select_slider(t("lesson.steps"), (100, 200, 400), value=200, key="learn-6b-steps",
                           help=t("lesson.steps_help"))
with st.spinner(t("lesson.computing_long")):
    (few, many), seconds = compute(state.seed(), distinct, n_steps)
labels = (t("l6b.few", n=distinct), t("l6b.many"))
own = dict(title=t("l6b.figure_title"), x=t("l6b.x"), y_loss=t("l6b.y"))  # the lesson's title and axes
fig = overfitting_figure(dict(zip(labels, (few, many))), uirevision="learn-6b", text=words.overfit() | own)
lesson.chart(fig, key="learn-6b-figure")
st.caption(t("l6b.caption", few=float(few.gap[-1]), many=float(many.gap[-1]), seconds=seconds))
lesson.try_this("l6b.try")
lesson.lab_link(lesson.lab_config(configs(state.seed(), distinct, n_steps)[0]))
lesson.self_check(__file__, CHECKS)
lesson.papers("l6b.papers")
lesson.footer(__file__)
