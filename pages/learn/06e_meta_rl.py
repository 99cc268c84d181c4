"""Lesson 6e: meta-RL, learning to adapt a behaviour. A policy meta-trained with MAML finds a goal it cannot see
after one policy-gradient step on its own rollouts; a policy pretrained on all goals barely moves."""

import dataclasses

import streamlit as st

from metaviz import checkpoint, learners, tasks
from metaviz.analysis.rl import trajectories
from metaviz.figures.rl import trajectory_figure
from ui import lesson, words
from ui.i18n import t, title
from ui.router import ensure_router

CHECKS = ({"question": "l6e.check", "options": ("l6e.check_a", "l6e.check_b", "l6e.check_c"),
           "right": 1, "why": "l6e.check_why"},)  # the self-check: its answer is in the figure

ensure_router()
# in a folder of their own: checkpoint.zoo() lists the few-shot classifiers that other pages offer
ZOO = ("maml_rl-navigation", "pretrained_rl-navigation")  # trained by scripts/train_rl_zoo.py


@st.cache_data(show_spinner=False, max_entries=32)
def compute(task_seed: int, shifted: bool):
    loaded = [checkpoint.load(checkpoint.ZOO_DIR / "rl" / f"{name}{checkpoint.SUFFIX}") for name in ZOO]
    config = loaded[0].config
    if shifted:  # goals outside the square of meta-training: distribution shift
        config = dataclasses.replace(config, task_config=tasks.get("navigation").Config(goal_range=1.0,
                                                                                         goal_exclude=0.5))
    result = trajectories(config, {item.config.learner: item.params for item in loaded}, task_seed, steps=3)
    return result, loaded[0].step, config


lesson.header(__file__, "l6e.title", "l6e.body")
c1, c2 = st.columns([1, 2])
task_seed = c1.number_input(t("lesson.task"), 0, 10_000, 0, key="learn-6e-task", help=t("lesson.task_help"))
shifted = c2.toggle(t("l6e.shift"), False, key="learn-6e-shift", help=t("l6e.shift_help"))
with st.spinner(t("lesson.computing")):
    result, step, config = compute(task_seed, shifted)
names = {n: title(learners.get(n)) for n in result.paths}
lesson.chart(trajectory_figure(result, words.rl_paths(), names), key="learn-6e-figure")
maml, pretrained = result.returns["maml_rl"], result.returns["pretrained_rl"]
st.caption(t("l6e.caption", steps=step, maml0=maml[0], maml1=maml[1], pre0=pretrained[0], pre1=pretrained[1]))
lesson.try_this("l6e.try")
lesson.lab_link(lesson.lab_config(config))
lesson.self_check(__file__, CHECKS)
lesson.papers("l6e.papers")
lesson.footer(__file__)
