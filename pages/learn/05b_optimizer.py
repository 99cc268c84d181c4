"""Lesson 5b: learn the optimizer. Meta-SGD's learned per-weight step sizes, and a learned update rule."""

import dataclasses

import streamlit as st

from metaviz import learners
from metaviz.analysis.adaptation import step_curves
from metaviz.analysis.lessons import step_sizes, train_states
from metaviz.figures.lessons import step_sizes_figure
from ui import lesson, state
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l5b.check", "options": ("l5b.check_a", "l5b.check_b", "l5b.check_c"),
           "right": 1, "why": "l5b.check_why"},)  # the self-check: its answer is in the figure


def metasgd_config(seed: int, n_steps: int, lr_scale: float):
    base = lesson.sine_config(seed, n_steps)
    return dataclasses.replace(base, learner="metasgd",
                               learner_config=learners.get("metasgd").Config(lr_scale=lr_scale),
                               train=dataclasses.replace(base.train, baseline=False))


@st.cache_data(show_spinner=False, max_entries=16)
def compute(seed: int, n_steps: int, lr_scale: float):
    trained = train_states({"metasgd": metasgd_config(seed, n_steps, lr_scale)})
    maml = lesson.sine_run(seed, n_steps).states["maml"]
    states = {"maml": maml, "metasgd": trained.states["metasgd"]}
    curves = step_curves(lesson.sine_config(seed, n_steps), states, n_tasks=50, steps=1)
    sizes = step_sizes(trained.states["metasgd"], learners.get("metasgd").Config().init_lr)
    return sizes, curves.mean("loss"), trained.seconds


lesson.header(__file__, "l5b.title", "l5b.body")
c1, c2 = st.columns(2)
n_steps = c1.select_slider(t("lesson.steps"), (100, 200, 400), value=lesson.SINE_DEFAULT, key="learn-5b-steps",
                           help=t("lesson.steps_help"))
lr_scale = c2.select_slider(t("l5b.lr_scale"), (0.03, 0.1, 0.3, 1.0), value=0.1, key="learn-5b-scale",
                            help=t("l5b.lr_scale_help"))
with st.spinner(t("lesson.computing")):
    sizes, loss, seconds = compute(state.seed(), n_steps, lr_scale)
lesson.chart(step_sizes_figure(sizes, text=dict(title=t("l5b.figure_title"), x=t("l4.parts_x"),
                                                   y=t("l5b.figure_y"), init=t("l5b.init"))),
                key="learn-5b-figure")
m1, m2, m3 = st.columns(3)
m1.metric(t("l5b.before"), f"{loss['metasgd'][0]:.2f}")
m2.metric(t("l5b.after_metasgd"), f"{loss['metasgd'][1]:.2f}")
m3.metric(t("l5b.after_maml"), f"{loss['maml'][1]:.2f}")
negative = sum(int((v < 0).sum()) for v in sizes.values) / sum(len(v) for v in sizes.values)
st.caption(t("l5b.caption", steps=n_steps, seconds=seconds, init=sizes.init, negative=negative))
lesson.try_this("l5b.try")
lesson.lab_link(lesson.lab_config(metasgd_config(state.seed(), n_steps, lr_scale)))
base = lesson.sine_config(state.seed())
lesson.lab_link(lesson.lab_config(dataclasses.replace(
    base, learner="learned_optimizer", learner_config=learners.get("learned_optimizer").Config(),
    train=dataclasses.replace(base.train, meta_batch=10))), key="lab-lo", label_key="l5b.open_lo")
lesson.self_check(__file__, CHECKS)
lesson.papers("l5b.papers")
lesson.footer(__file__)
