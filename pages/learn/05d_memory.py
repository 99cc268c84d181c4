"""Lesson 5d: learn with memory. A sequence model reads the labelled support set in one forward pass; no
weight changes when it reads more."""

import streamlit as st

from metaviz import learners, tasks
from metaviz.analysis.adaptation import initial_state
from metaviz.analysis.lessons import read_support, train_states
from metaviz.figures.lessons import reading_figure
from metaviz.train import RunConfig, TrainConfig
from ui import lesson, state
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l5d.check", "options": ("l5d.check_a", "l5d.check_b", "l5d.check_c"),
           "right": 0, "why": "l5d.check_why"},)  # the self-check: its answer is in the figure
SHOTS = (1, 2, 3, 5)


def config(seed: int, n_steps: int) -> RunConfig:
    """The sequence model on 3-way blobs: one attention block on a 32-unit backbone, so that a couple of hundred
    meta-iterations already make it read the support set."""
    return RunConfig(task="blobs", learner="sequence", task_config=tasks.get("blobs").Config(n_way=3, k_shot=5),
                     learner_config=learners.get("sequence").Config(blocks=1), seed=seed, device="cpu",
                     train=TrainConfig(n_steps=max(n_steps, 1), meta_batch=16, meta_lr=3e-3, hidden=32,
                                       eval_every=max(n_steps, 1), n_eval_tasks=1, eval_steps=0, baseline=False))


@st.cache_data(show_spinner=False, max_entries=16)
def compute(seed: int, n_steps: int, task_seed: int):
    c = config(seed, n_steps)
    if n_steps == 0:
        state_, seconds = initial_state(c), 0.0
    else:
        trained = train_states({"sequence": c})
        state_, seconds = trained.states["sequence"], trained.seconds
    return read_support(c, state_, SHOTS, task_seed), seconds


lesson.header(__file__, "l5d.title", "l5d.body")
c1, c2, c3 = st.columns([2, 2, 1])
k = c1.select_slider(t("l5d.read"), SHOTS, value=SHOTS[-1], key="learn-5d-k")
n_steps = c2.select_slider(t("lesson.steps"), (0, 100, 200, 400, 800), value=200, key="learn-5d-steps",
                           help=t("lesson.steps_help"))
task_seed = c3.number_input(t("lesson.task"), 0, 10_000, 0, key="learn-5d-task", help=t("lesson.task_help"))
with st.spinner(t("lesson.computing_long")):
    reading, seconds = compute(state.seed(), n_steps, task_seed)
fig = reading_figure(reading, SHOTS.index(k), text=dict(
    title=t("l5d.figure_title"), support=t("l5d.read_points"), unread=t("l5d.unread_points"), query=t("fig.query")))
lesson.chart(fig, key="learn-5d-figure")
st.caption(t("l5d.caption", steps=n_steps, seconds=seconds,
             accuracies=", ".join(f"K={s}: {a:.0%}" for s, a in zip(reading.shots, reading.accuracy))))
lesson.try_this("l5d.try")
lesson.lab_link(lesson.lab_config(config(state.seed(), n_steps)))
lesson.self_check(__file__, CHECKS)
lesson.papers("l5d.papers")
lesson.footer(__file__)
