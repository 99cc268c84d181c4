"""Lesson 3: meta-training and meta-testing. Many tasks for training, tasks of new classes for testing."""

import dataclasses

import streamlit as st

from metaviz.analysis.adaptation import step_curves
from metaviz.analysis.embedding import omniglot_available, quick_config, quick_run, zoo_run
from metaviz.analysis.tasks import class_split
from metaviz.figures.tasks import split_figure
from ui import lesson, state, words
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l3.check", "options": ("l3.check_a", "l3.check_b", "l3.check_c"),
           "right": 0, "why": "l3.check_why"},)  # the self-check: its answer is in the figure
SPLITS = ("train", "val", "test")


@st.cache_data(show_spinner=False, max_entries=4)
def model(family: str, seed: int):
    """A ProtoNet meta-trained on the meta-training classes only: the shipped one for Omniglot, else a quick
    run on digits."""
    return zoo_run("protonet-omniglot") if family == "omniglot" else quick_run(quick_config("digits", seed))


@st.cache_data(show_spinner=False, max_entries=16)
def accuracy(family: str, seed: int, n_way: int, k_shot: int):
    run = model(family, seed)
    config = run.config
    task_config = dataclasses.replace(config.task_config, n_way=n_way, k_shot=k_shot, n_query=5,
                                      **({"rotations": False} if config.task == "omniglot" else {}))
    config = dataclasses.replace(config, task_config=task_config, device="cpu")
    curves = {s: step_curves(config, {"protonet": run.checkpoints[-1][1]}, n_tasks=20, steps=0, split=s)
              for s in SPLITS}
    return config, {s: float(c.accuracy["protonet"][:, 0].mean()) for s, c in curves.items()}


lesson.header(__file__, "l3.title", "l3.body")
c1, c2 = st.columns(2)
family = "omniglot" if omniglot_available() else "digits"
ways = (2, 5, 10, 20) if family == "omniglot" else (2, 3, 5)  # digits: five meta-test classes
n_way = c1.select_slider(t("l2.n_way"), ways, value=5, key="learn-3-n")
k_shot = c2.select_slider(t("l2.k_shot"), (1, 5), value=1, key="learn-3-k")
with st.spinner(t("lesson.computing")):
    config, scores = accuracy(family, state.seed(), n_way, k_shot)
    split = class_split(config.task, dataclasses.replace(config.task_config, n_way=2))
names = {"train": t("l3.train"), "val": t("l3.val"), "test": t("l3.test")}
for column, s in zip(st.columns(3), SPLITS):
    column.metric(names[s], f"{scores[s]:.0%}", help=t("l3.metric_help", n=n_way, k=k_shot))
fig = split_figure(split, columns=40 if config.task == "omniglot" else 10, text=words.task_split())
lesson.chart(lesson.relabel(fig, title=t("l3.figure_title")), key="learn-3-figure")  # the lesson's own title
st.caption(t("l3.caption_omniglot") if config.task == "omniglot" else t("l3.caption_digits"))
lesson.try_this("l3.try")
lesson.lab_link(lesson.lab_config(dataclasses.replace(config, seed=state.seed())))
lesson.self_check(__file__, CHECKS)
lesson.papers("l3.papers")
lesson.footer(__file__)
