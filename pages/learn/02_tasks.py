"""Lesson 2: what a task is. Support set and query set, N-way K-shot, with sine curves and handwritten
characters."""

import dataclasses

import streamlit as st

from metaviz import tasks
from metaviz.analysis.embedding import omniglot_available
from metaviz.analysis.tasks import preview
from metaviz.figures.tasks import image_grid, preview_figure
from metaviz.train import RunConfig
from ui import lesson, state, words
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l2.check", "options": ("l2.check_a", "l2.check_b", "l2.check_c"),
           "right": 2, "why": "l2.check_why"},)  # the self-check: its answer is in the figure


@st.cache_data(show_spinner=False, max_entries=32)
def sample(family: str, n_way: int, k_shot: int, seed: int):
    config = tasks.get(family).Config()
    fields = {"k_shot": k_shot} | ({"n_way": n_way, "n_query": 2} if family != "sinusoid" else {"n_query": 10})
    return preview(family, dataclasses.replace(config, **fields), "train", 3 if family == "sinusoid" else 1, seed)


lesson.header(__file__, "l2.title", "l2.body")
family = "omniglot" if omniglot_available() else "digits"
c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
n_way = c1.slider(t("l2.n_way"), 2, 10, 5, key="learn-2-n")
k_shot = c2.slider(t("l2.k_shot"), 1, 5, 1, key="learn-2-k")
if c3.button(t("l2.resample"), icon=":material/casino:", key="learn-2-new"):
    st.session_state["learn-2-seed"] = st.session_state.get("learn-2-seed", 0) + 1
seed = state.seed() * 1000 + st.session_state.get("learn-2-seed", 0)

with st.spinner(t("lesson.computing")):
    sines, chars = sample("sinusoid", n_way, k_shot, seed), sample(family, n_way, k_shot, seed)
st.subheader(t("l2.sines"))
fig = preview_figure(sines, text=words.task_preview())
fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.12, x=0, xanchor="left"))
lesson.chart(fig, key="learn-2-figure")
st.caption(t("l2.sines_caption", k=k_shot))
st.subheader(t("l2.chars_omniglot") if family == "omniglot" else t("l2.chars_digits"))
left, right, _ = st.columns(3, gap="medium")
lesson.image(left, image_grid(chars.support_x[0], chars.support_y[0], n_way),
             t("l2.support_caption", n=n_way, k=k_shot))
lesson.image(right, image_grid(chars.query_x[0], chars.query_y[0], n_way), t("l2.query_caption", q=2))
st.caption(t("l2.rows"))
lesson.try_this("l2.try")
task_config = dataclasses.replace(tasks.get(family).Config(), n_way=n_way, k_shot=k_shot)
lesson.lab_link(lesson.lab_config(RunConfig(task=family, learner="protonet", task_config=task_config,
                                            seed=state.seed())))
lesson.self_check(__file__, CHECKS)
lesson.papers("l2.papers")
lesson.footer(__file__)
