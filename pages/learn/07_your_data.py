"""Lesson 7: few-shot on your own data. A meta-trained model meets characters it has never seen, as your own
drawings would be; then photos, through a backbone pretrained on ImageNet and through the Omniglot model, side by
side; then the Your Data page, to bring your own."""

import dataclasses

import streamlit as st

from metaviz import checkpoint, photo_results, tasks
from metaviz.analysis.embedding import omniglot_available
from metaviz.analysis.tasks import preview
from metaviz.fewshot import classify
from metaviz.figures.fewshot import probability_figure
from metaviz.figures.tasks import image_grid
from ui import lesson, state
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l7.check", "options": ("l7.check_a", "l7.check_b", "l7.check_c"),
           "right": 1, "why": "l7.check_why"},
          {"question": "l7.check_photos", "options": ("l7.check_photos_a", "l7.check_photos_b", "l7.check_photos_c"),
           "right": 2, "why": "l7.check_photos_why"})  # the self-checks: their answers are in the figures
MODELS = ("protonet-omniglot", "maml-omniglot")
LETTERS = "ABCDE"


@st.cache_data(show_spinner=False, max_entries=32)
def demo(name: str, n_classes: int, k_shot: int, seed: int):
    loaded = checkpoint.load(checkpoint.zoo()[name])
    config = dataclasses.replace(tasks.get("omniglot").Config(), n_way=n_classes, k_shot=k_shot, n_query=1,
                                 size=loaded.config.task_config.size)
    task = preview("omniglot", config, "test", 1, seed)  # meta-test characters: never seen in meta-training
    prediction = classify(loaded.config, loaded.params, task.support_x[0], task.support_y[0], task.query_x[0],
                          LETTERS[:n_classes])
    return task, prediction


@st.cache_data(show_spinner=False, max_entries=8)
def photo_demo(seed: int) -> photo_results.Contrast:
    loaded = checkpoint.load(checkpoint.zoo()[MODELS[0]])
    return photo_results.contrast(loaded.config, loaded.params, loaded.temperature, seed=seed)


def photos_section(seed: int) -> None:
    """The same photos through the pretrained backbone and through the Omniglot ProtoNet."""
    st.subheader(t("l7.photos_title"))
    st.markdown(t("l7.photos_body"))
    with st.spinner(t("lesson.computing")):
        c = photo_demo(seed)
    names = (t("l7.class_palace"), t("l7.class_flower"))
    support = len(c.support_y)
    st.image(list(c.crops[:support // 2]) + list(c.crops[len(c.crops) // 2:len(c.crops) // 2 + support // 2]),
             width=84, caption=[names[int(y)] for y in c.support_y])
    st.caption(t("l7.photos_support"))
    rows = [t("l7.photo_query", i=i + 1, label=names[int(y)]) for i, y in enumerate(c.query_y)]
    for column, probabilities, title_key in zip(st.columns(2), (c.photo, c.drawing),
                                                ("l7.photo_model", "l7.drawing_model")):
        wrong = probabilities.argmax(1) != c.query_y
        column.plotly_chart(probability_figure(names, probabilities, rows, text=dict(title=t(title_key))),
                            key=f"learn-7-{title_key}")
        column.caption(t("l7.photo_caption", right=int((~wrong).sum()), total=len(wrong)) + (
            t("l7.photo_wrong", p=f"{probabilities[wrong].max(1).max():.0%}") if wrong.any() else ""))


@st.cache_data(show_spinner=False, max_entries=4)
def zoo_config(name: str):
    return checkpoint.load(checkpoint.zoo()[name]).config if name in checkpoint.zoo() else None


lesson.header(__file__, "l7.title", "l7.body")
st.page_link("pages/own_data.py", label=t("l7.go"), icon=":material/draw:")
if not omniglot_available() or not set(MODELS) <= set(checkpoint.zoo()):
    st.info(t("l7.no_data"))
else:
    c1, c2, c3, c4 = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
    name = c1.radio(t("l7.model"), MODELS, horizontal=True, key="learn-7-model",
                    format_func=lambda n: "ProtoNet" if n.startswith("protonet") else "MAML")
    n_classes = c2.slider(t("l7.classes"), 2, 5, 3, key="learn-7-classes")
    k_shot = c3.slider(t("l2.k_shot"), 1, 3, 1, key="learn-7-k")
    if c4.button(t("l2.resample"), icon=":material/casino:", key="learn-7-new"):
        st.session_state["learn-7-seed"] = st.session_state.get("learn-7-seed", 0) + 1
    seed = state.seed() * 1000 + st.session_state.get("learn-7-seed", 0)
    with st.spinner(t("lesson.computing")):
        task, prediction = demo(name, n_classes, k_shot, seed)
    support, queries, right = st.columns([1, 1, 3])
    lesson.image(support, image_grid(task.support_x[0], task.support_y[0], n_classes),
                 t("l7.support", letters=", ".join(LETTERS[:n_classes])))
    lesson.image(queries, image_grid(task.query_x[0], task.query_y[0], n_classes), t("l7.queries"))
    truth = task.query_y[0]
    rows = [t("l7.query", i=i + 1, label=LETTERS[int(y)]) for i, y in enumerate(truth)]
    lesson.chart(where=right, fig=probability_figure(prediction.classes, prediction.probabilities, rows,
                                          text=dict(title=t("l7.figure_title"))), key="learn-7-figure")
    right.caption(t("l7.caption", right=int((prediction.predicted == truth).sum()), total=len(truth),
                    chance=1 / n_classes))
    photos_section(seed)
lesson.try_this("l7.try")
if (lab := zoo_config("protonet-omniglot")) is not None:
    lesson.lab_link(lesson.lab_config(dataclasses.replace(
        lab, task_config=dataclasses.replace(lab.task_config, n_way=5, k_shot=1), seed=state.seed())))
lesson.self_check(__file__, CHECKS)
lesson.papers("l7.papers")
lesson.footer(__file__)
