"""Lesson 6d: where tasks come from. Class-labelled datasets split by class, synthetic families, unlabelled
data, your own collection; how many distinct N-way tasks a pool of classes gives."""

import dataclasses

import streamlit as st

from metaviz import tasks
from metaviz.analysis.embedding import omniglot_available
from metaviz.analysis.lessons import log10_class_sets, meta_train_classes
from metaviz.figures.lessons import class_sets_figure
from metaviz.train import RunConfig
from ui import lesson, state
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l6d.check", "options": ("l6d.check_a", "l6d.check_b", "l6d.check_c"),
           "right": 0, "why": "l6d.check_why"},)  # the self-check: its answer is in the figure


def sources(omniglot: bool):
    """(catalogue key, family, config) of each pool of meta-training classes shown."""
    digits = tasks.get("digits").Config()
    out = [("l6d.digits", "digits", digits)]
    if omniglot:
        omniglot = tasks.get("omniglot").Config()
        out += [("l6d.omniglot", "omniglot", omniglot),
                ("l6d.omniglot_alphabet", "omniglot", dataclasses.replace(omniglot, split_by="alphabet")),
                ("l6d.omniglot_rotations", "omniglot", dataclasses.replace(omniglot, rotations=True))]
    return out


@st.cache_data(show_spinner=False, max_entries=4)
def class_counts(omniglot: bool) -> dict[str, int]:
    return {key: meta_train_classes(family, config) for key, family, config in sources(omniglot)}


lesson.header(__file__, "l6d.title", "l6d.body")
n_way = st.slider(t("l2.n_way"), 2, 20, 5, key="learn-6d-n")
with st.spinner(t("lesson.computing")):
    counts = class_counts(omniglot_available())
rows = [(t(key), counts[key], log10_class_sets(counts[key], n_way)) for key, _, _ in sources(omniglot_available())]
lesson.chart(class_sets_figure(rows, n_way, text=dict(title=t("l6d.figure_title"), x=t("l6d.x"),
                                                         classes=t("l6d.classes"))), key="learn-6d-figure")
st.caption(t("l6d.caption"))
lesson.try_this("l6d.try")
digits = dataclasses.replace(tasks.get("digits").Config(), n_way=min(n_way, 5))
lesson.lab_link(lesson.lab_config(RunConfig(task="digits", learner="protonet", task_config=digits,
                                            seed=state.seed())))
lesson.self_check(__file__, CHECKS)
lesson.papers("l6d.papers")
lesson.footer(__file__)
