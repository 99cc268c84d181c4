"""Lesson 6f: why does it work? What theory says, measured on the lessons' sine network: how close first-order
MAML is to MAML (the second-order term's share as the inner learning rate and steps grow), Reptile's gradient
alignment (the cosine of task gradients, within a task and across tasks), and what theory does not yet say."""

import streamlit as st

from metaviz.analysis.theory import first_order_gap, gradient_alignment
from metaviz.figures.theory import alignment_figure, gap_figure
from ui import lesson, state
from ui.i18n import labels, t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l6f.check", "options": ("l6f.check_a", "l6f.check_b", "l6f.check_c"),
           "right": 0, "why": "l6f.check_why"},
          {"question": "l6f.check2", "options": ("l6f.check2_a", "l6f.check2_b", "l6f.check2_c"),
           "right": 1, "why": "l6f.check2_why"})  # the self-checks: their answers are in the two figures
INNER_LRS = (0.001, 0.003, 0.01, 0.03, 0.1)
INNER_STEPS = (1, 2, 5)
STARTS = {"scratch": "l6f.start_scratch", "maml": "l6f.start_maml"}


@st.cache_data(show_spinner=False, max_entries=8)
def gap(seed: int, start: str):
    trained = lesson.sine_run(seed, lesson.SINE_DEFAULT)
    return first_order_gap(lesson.sine_config(seed), trained.states[start], INNER_LRS, INNER_STEPS, n_tasks=5)


@st.cache_data(show_spinner=False, max_entries=8)
def alignment(seed: int):
    trained = lesson.sine_run(seed, lesson.SINE_DEFAULT)
    states = {k: trained.states[k] for k in ("scratch", "pretrained", "maml")}
    return gradient_alignment(lesson.sine_config(seed), states, n_tasks=20)


lesson.header(__file__, "l6f.title", "l6f.body")
start = st.radio(t("l6f.start"), list(STARTS), horizontal=True, key="learn-6f-start",
                 format_func=labels(STARTS).__getitem__, help=t("l6f.start_help"))
with st.spinner(t("lesson.computing")):
    result = gap(state.seed(), start)
lesson.chart(gap_figure(result, text=dict(title=t("l6f.gap_title"), x=t("l6f.gap_x"), y=t("l6f.gap_y"),
                                          steps=t("l6f.gap_steps"), cosine=t("l6f.gap_cosine"))), key="learn-6f-figure")
one = result.inner_steps.index(1)
small, trained_lr = INNER_LRS.index(0.001), INNER_LRS.index(lesson.sine_config(0).learner_config.inner_lr)
st.caption(t("l6f.gap_caption", small=result.share[one, small], lr=INNER_LRS[trained_lr],
             at=result.share[one, trained_lr], five=result.share[INNER_STEPS.index(5), trained_lr]))

lesson.markdown(t("l6f.reptile_body"), heading=t("l6f.reptile_title"))
with st.spinner(t("lesson.computing")):
    aligned = alignment(state.seed())
names = {"scratch": t("l1.scratch"), "pretrained": t("l1.pretrained"), "maml": t("l6f.meta_trained")}
lesson.chart(alignment_figure(aligned, names, text=dict(title=t("l6f.align_title"), y=t("l6f.align_y"),
                                                        within=t("l6f.within"), across=t("l6f.across"))),
             key="learn-6f-alignment")
within = dict(zip(aligned.names, aligned.within.mean(1)))
across = dict(zip(aligned.names, aligned.across.mean(1)))
st.caption(t("l6f.align_caption", n=aligned.within.shape[1], within0=within["scratch"], within1=within["maml"],
             withinp=within["pretrained"], across0=across["scratch"], across1=across["maml"]))

lesson.markdown(t("l6f.open_body"), heading=t("l6f.open_title"))
lesson.try_this("l6f.try")
lesson.lab_link(lesson.lab_config(lesson.sine_config(state.seed())))
lesson.self_check(__file__, CHECKS)
lesson.papers("l6f.papers")
lesson.footer(__file__)
