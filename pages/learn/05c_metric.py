"""Lesson 5c: learn a metric. A task of new characters in the embedding space of Prototypical Networks,
before and after meta-training."""

import dataclasses

import streamlit as st

from metaviz.analysis.embedding import TaskView, embedding_frames, omniglot_available, quick_config, quick_run, zoo_run
from metaviz.figures.embedding import embedding_figure
from ui import lesson, state, words
from ui.i18n import labels, t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l5c.check", "options": ("l5c.check_a", "l5c.check_b", "l5c.check_c"),
           "right": 1, "why": "l5c.check_why"},)  # the self-check: its answer is in the figure


@st.cache_data(show_spinner=False, max_entries=4)
def model(family: str, seed: int):
    return zoo_run("protonet-omniglot") if family == "omniglot" else quick_run(quick_config("digits", seed))


@st.cache_data(show_spinner=False, max_entries=16)
def frames(family: str, seed: int, n_way: int, k_shot: int, task_seed: int):
    run = model(family, seed)
    task_config = dataclasses.replace(run.config.task_config, n_way=n_way, k_shot=k_shot, n_query=5,
                                      **({"rotations": False} if run.config.task == "omniglot" else {}))
    view = TaskView(run.config.task, task_config, "test", task_seed)
    return run.config, embedding_frames(run.config, [run.checkpoints[0], run.checkpoints[-1]], view)


lesson.header(__file__, "l5c.title", "l5c.body")
c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
family = "omniglot" if omniglot_available() else "digits"
ways = (3, 5, 10) if family == "omniglot" else (2, 3, 5)
n_way = c1.select_slider(t("l2.n_way"), ways, value=5, key="learn-5c-n")
k_shot = c2.select_slider(t("l2.k_shot"), (1, 3, 5), value=5, key="learn-5c-k")
when = c3.radio(t("l5c.network"), ("after", "before"), key="learn-5c-when", horizontal=True,
                format_func=labels({"after": "l5c.after", "before": "l5c.before"}).__getitem__)
task_seed = c4.number_input(t("lesson.task"), 0, 10_000, 0, key="learn-5c-task", help=t("lesson.task_help"))
with st.spinner(t("lesson.computing")):
    config, result = frames(family, state.seed(), n_way, k_shot, task_seed)
frame = result.frames[-1 if when == "after" else 0]
fig = embedding_figure(frame, result.x_range, result.y_range, text=words.embedding())
lesson.chart(lesson.relabel(fig, x=t("l5c.pc1"), y=t("l5c.pc2")), key="learn-5c-figure")  # the lesson's axes
st.caption(t("l5c.caption", acc=frame.accuracy, plane=frame.plane_accuracy, chance=1 / n_way,
             step=result.frames[-1].step))
lesson.try_this("l5c.try")
lab = dataclasses.replace(config, task_config=dataclasses.replace(config.task_config, n_way=n_way, k_shot=k_shot),
                          seed=state.seed())
lesson.lab_link(lesson.lab_config(lab))
lesson.self_check(__file__, CHECKS)
lesson.papers("l5c.papers")
lesson.footer(__file__)
