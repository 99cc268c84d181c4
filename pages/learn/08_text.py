"""Lesson 8: few-shot language. New intents from a few sentences: TF-IDF against a meta-trained n-gram
ProtoNet on the same tasks from domains never seen in meta-training."""

import dataclasses

import streamlit as st

from metaviz import tasks, textshot
from metaviz.figures.text import accuracy_bars
from metaviz.train import RunConfig, TrainConfig
from ui import lesson
from ui.i18n import t
from ui.router import ensure_router

CHECKS = ({"question": "l8.check", "options": ("l8.check_a", "l8.check_b", "l8.check_c"),
           "right": 1, "why": "l8.check_why"},)  # the self-check: its answer is in the figure

ensure_router()


@st.cache_data(show_spinner=False, max_entries=8)
def comparison(k_shot: int, n_tasks: int, task_seed: int):
    return textshot.compare_on_meta_test(k_shot, n_tasks, task_seed)


lesson.header(__file__, "l8.title", "l8.body")
c1, c2, c3 = st.columns([2, 2, 1])
k_shot = c1.select_slider(t("l8.shots"), (1, 3, 5, 10), value=5, key="learn-8-k")
n_tasks = c2.select_slider(t("l8.tasks"), (10, 30, 100), value=30, key="learn-8-n")
task_seed = c3.number_input(t("lesson.task"), 0, 10_000, 0, key="learn-8-task", help=t("lesson.task_help"))
with st.spinner(t("lesson.computing")):
    result = comparison(k_shot, n_tasks, task_seed)
names = {"tfidf": t("l8.tfidf"), "ngram_protonet": t("l8.ngram")}
lesson.chart(accuracy_bars(result.accuracy, names, t("l8.chart_title"), t("l8.accuracy"), 1 / result.n_way),
                key="learn-8-figure")
st.caption(t("l8.caption", n=n_tasks, tfidf=float(result.accuracy["tfidf"].mean()),
             ngram=float(result.accuracy["ngram_protonet"].mean()), chance=1 / result.n_way))
lesson.try_this("l8.try")
st.page_link("pages/own_text.py", label=t("l8.your_text"), icon=":material/chat:")
task_config = dataclasses.replace(tasks.get("intents").Config(), k_shot=k_shot)
lab = RunConfig(task="intents", learner="ngram_protonet", task_config=task_config,
                train=TrainConfig(meta_batch=4, meta_lr=1e-3, hidden=256, layers=1, baseline=False))
lesson.lab_link(lesson.lab_config(lab))
lesson.self_check(__file__, CHECKS)
lesson.papers("l8.papers")
lesson.footer(__file__)
