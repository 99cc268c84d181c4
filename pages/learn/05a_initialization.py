"""Lesson 5a: learn an initialization. MAML and Reptile (and ANIL) meta-trained for the same budget on sine
waves, then adapting to the same new wave."""

import dataclasses

import streamlit as st

from metaviz import learners
from metaviz.analysis.adaptation import adaptation_curves
from metaviz.analysis.lessons import train_states
from metaviz.figures.adaptation import adaptation_figure
from ui import lesson, state, words
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l5a.check", "options": ("l5a.check_a", "l5a.check_b", "l5a.check_c"),
           "right": 2, "why": "l5a.check_why"},)  # the self-check: its answer is in the figure
CHOICES = ("maml", "reptile", "anil")
STEPS = 5  # inner steps drawn: ANIL and MAML were meta-trained for one, Reptile for five


@st.cache_data(show_spinner=False, max_entries=16)
def trained(seed: int, n_steps: int, name: str):
    if name == "maml":
        return lesson.sine_run(seed, n_steps).states["maml"], lesson.sine_run(seed, n_steps).seconds
    config = dataclasses.replace(lesson.sine_config(seed, n_steps), learner=name,
                                 learner_config=learners.get(name).Config(),
                                 train=dataclasses.replace(lesson.sine_config(seed, n_steps).train, baseline=False))
    result = train_states({name: config})
    return result.states[name], result.seconds


@st.cache_data(show_spinner=False, max_entries=32)
def curves(seed: int, n_steps: int, names: tuple[str, ...], task_seed: int):
    states = {name: trained(seed, n_steps, name)[0] for name in names}
    return adaptation_curves(lesson.sine_config(seed, n_steps), states, task_seed, steps=STEPS)


lesson.header(__file__, "l5a.title", "l5a.body")
c1, c2, c3 = st.columns([2, 2, 1])
names = c1.multiselect(t("l5a.learners"), CHOICES, default=["maml", "reptile"], key="learn-5a-learners",
                       format_func=lambda n: {"maml": "MAML", "reptile": "Reptile", "anil": "ANIL"}[n])
n_steps = c2.select_slider(t("lesson.steps"), (50, 100, 200, 400), value=100, key="learn-5a-steps",
                           help=t("lesson.steps_help"))
task_seed = c3.number_input(t("lesson.task"), 0, 10_000, 0, key="learn-5a-task", help=t("lesson.task_help"))
names = tuple(n for n in CHOICES if n in names) or ("maml",)
with st.spinner(t("lesson.computing")):
    result = curves(state.seed(), n_steps, names, task_seed)
    seconds = sum(trained(state.seed(), n_steps, n)[1] for n in names)
fig = adaptation_figure(result, uirevision="learn-5a", text=words.fit(), names=words.learner_names())
lesson.chart(fig, key="learn-5a-figure")
st.caption(t("l5a.caption", steps=n_steps, seconds=seconds, lr=result.inner_lr, k=STEPS))
lesson.try_this("l5a.try")
lab = lesson.sine_config(state.seed())
lesson.lab_link(lesson.lab_config(dataclasses.replace(lab, learner="reptile",
                                                      learner_config=learners.get("reptile").Config())))
lesson.self_check(__file__, CHECKS)
lesson.papers("l5a.papers")
lesson.footer(__file__)
