"""Lesson 6a: where it breaks, distribution shift. Meta-test tasks from outside the meta-training
distribution: sine waves of larger amplitudes than MAML was meta-trained on."""

import dataclasses

import numpy as np
import streamlit as st

from metaviz.analysis.lessons import loss_by_amplitude
from metaviz.figures.lessons import shift_figure
from ui import lesson, state
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l6a.check", "options": ("l6a.check_a", "l6a.check_b", "l6a.check_c"),
           "right": 1, "why": "l6a.check_why"},)  # the self-check: its answer is in the figure
EDGES = (0.1, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0)


@st.cache_data(show_spinner=False, max_entries=16)
def compute(seed: int, n_steps: int, steps: int):
    trained = lesson.sine_run(seed, n_steps)
    states = {k: trained.states[k] for k in ("maml", "pretrained")}
    return loss_by_amplitude(lesson.sine_config(seed, n_steps), states, EDGES, n_tasks=20, steps=steps)


lesson.header(__file__, "l6a.title", "l6a.body")
c1, c2 = st.columns(2)
steps = c1.select_slider(t("l6a.steps"), (1, 5, 10), value=1, key="learn-6a-steps")
n_steps = c2.select_slider(t("lesson.steps"), lesson.SINE_STEPS[1:], value=lesson.SINE_DEFAULT, key="learn-6a-train",
                           help=t("lesson.steps_help"))
with st.spinner(t("lesson.computing")):
    curves = compute(state.seed(), n_steps, steps)
names = {"maml": "MAML", "pretrained": t("l1.pretrained")}
lesson.chart(shift_figure(curves, names, text=dict(title=t("l6a.figure_title"), x=t("l6a.x"), y=t("l6a.y"),
                                                      train=t("l6a.train_range"), zero=t("l6a.zero"))),
                key="learn-6a-figure")
inside = (curves.edges[:-1] >= 1.0) & (curves.edges[1:] <= curves.train_range[1])
outside = curves.edges[:-1] >= curves.train_range[1]
maml = curves.loss["maml"]
st.caption(t("l6a.caption", steps=steps, inside=float(np.median(maml[inside])), outside=float(np.median(maml[outside])),
             zero_in=float(np.median(curves.reference[inside])), zero_out=float(np.median(curves.reference[outside]))))
lesson.try_this("l6a.try")
shifted = dataclasses.replace(lesson.sine_config(state.seed()).task_config, amp_min=5.0, amp_max=10.0)
lesson.lab_link(lesson.lab_config(dataclasses.replace(lesson.sine_config(state.seed()), test_task_config=shifted)))
lesson.self_check(__file__, CHECKS)
lesson.papers("l6a.papers")
lesson.footer(__file__)
