"""Lesson 5e: task embeddings. A Conditional Neural Process summarises the support set as one vector r; more
points, a sharper prediction; similar tasks, nearby vectors."""

import streamlit as st

from metaviz.analysis.adaptation import initial_state
from metaviz.analysis.lessons import read_curve, task_vectors, train_states
from metaviz.figures.lessons import curve_reading_figure, task_vectors_figure
from metaviz.train import RunConfig, TrainConfig
from ui import lesson, state
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l5e.check", "options": ("l5e.check_a", "l5e.check_b", "l5e.check_c"),
           "right": 2, "why": "l5e.check_why"},)  # the self-check: its answer is in the figure
SHOTS = (1, 3, 10)


def config(seed: int, n_steps: int) -> RunConfig:
    return RunConfig(task="sinusoid", learner="cnp", seed=seed, device="cpu",
                     train=TrainConfig(n_steps=max(n_steps, 1), meta_batch=16, meta_lr=3e-3,
                                       eval_every=max(n_steps, 1), n_eval_tasks=1, eval_steps=0, baseline=False))


@st.cache_data(show_spinner=False, max_entries=8)
def model(seed: int, n_steps: int):
    c = config(seed, n_steps)
    if n_steps == 0:
        return initial_state(c), 0.0
    trained = train_states({"cnp": c})
    return trained.states["cnp"], trained.seconds


@st.cache_data(show_spinner=False, max_entries=32)
def compute(seed: int, n_steps: int, task_seed: int):
    params, seconds = model(seed, n_steps)
    c = config(seed, n_steps)
    return read_curve(c, params, SHOTS, task_seed), task_vectors(c, params), seconds


lesson.header(__file__, "l5e.title", "l5e.body")
c1, c2 = st.columns([3, 1])
n_steps = c1.select_slider(t("lesson.steps"), (0, 300, 600, 1200, 2400), value=600, key="learn-5e-steps",
                           help=t("lesson.steps_help"))
task_seed = c2.number_input(t("lesson.task"), 0, 10_000, 0, key="learn-5e-task", help=t("lesson.task_help"))
with st.spinner(t("lesson.computing_long")):
    reading, vectors, seconds = compute(state.seed(), n_steps, task_seed)
left, right = st.columns(2)
lesson.chart(where=left, fig=curve_reading_figure(reading, text=dict(
    title=t("l5e.curve_title"), truth=t("fig.truth"), mean=t("l5e.mean"), band=t("l5e.band"),
    support=t("l5e.support"))), key="learn-5e-figure")
lesson.chart(where=right, fig=task_vectors_figure(vectors, text=dict(
    title=t("l5e.vectors_title"), x=t("l5e.pc1"), y=t("l5e.pc2"), colour=t("l5e.amplitude"))), key="learn-5e-vectors")
st.caption(t("l5e.caption", steps=n_steps, seconds=seconds,
             mse=", ".join(f"K={k}: {m:.2f}" for k, m in zip(reading.shots, reading.mse))))
lesson.try_this("l5e.try")
lesson.lab_link(lesson.lab_config(config(state.seed(), n_steps)))
lesson.self_check(__file__, CHECKS)
lesson.papers("l5e.papers")
lesson.footer(__file__)
