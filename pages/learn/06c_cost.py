"""Lesson 6c: where it breaks, compute cost. Time and memory of one meta-gradient, second order against first
order against metric-based, measured now on this machine."""

import streamlit as st

from metaviz import tasks
from metaviz.analysis.embedding import omniglot_available
from metaviz.analysis.lessons import compute_cost, cost_config
from metaviz.device import device_label, resolve_device
from metaviz.figures.lessons import cost_figure
from ui import lesson, state
from ui.i18n import labels, t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l6c.check", "options": ("l6c.check_a", "l6c.check_b", "l6c.check_c"),
           "right": 2, "why": "l6c.check_why"},)  # the self-check: its answer is in the figure
META_BATCH = 4


def task_config(family: str, n_way: int = 5):
    config = tasks.get(family).Config()
    return config if family == "sinusoid" else type(config)(**{**config.to_dict(), "n_way": n_way, "k_shot": 1,
                                                               "n_query": 5})


@st.cache_data(show_spinner=False, max_entries=32)
def measure(family: str, inner_steps: int, device: str, attempt: int):
    return compute_cost(family, task_config(family), inner_steps=inner_steps, meta_batch=META_BATCH, device=device,
                        repeats=3)


lesson.header(__file__, "l6c.title", "l6c.body")
images = "omniglot" if omniglot_available() else "digits"
c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
family = c1.radio(t("l6c.task"), (images, "sinusoid"), horizontal=True, key="learn-6c-task",
                  format_func=labels({images: "l6c.images", "sinusoid": "l6c.sine"}).__getitem__)
inner_steps = c2.select_slider(t("l4.inner_steps"), (1, 3, 5), value=1, key="learn-6c-steps")
if c3.button(t("l6c.again"), icon=":material/refresh:", key="learn-6c-again"):
    st.session_state["learn-6c-attempt"] = st.session_state.get("learn-6c-attempt", 0) + 1
device = str(resolve_device(state.device()))
with st.spinner(t("l6c.measuring", device=device_label(device))):
    cost = measure(family, inner_steps, device, st.session_state.get("learn-6c-attempt", 0))
names = {"maml": t("l6c.maml"), "fomaml": t("l6c.fomaml"), "reptile": "Reptile", "protonet": "ProtoNet"}
lesson.chart(cost_figure(cost, names, text=dict(title=t("l6c.figure_title"), seconds=t("l6c.seconds"),
                                                   memory=t("l6c.memory"), cuda=t("l6c.cuda"))),
                key="learn-6c-figure")
second, first = cost.methods.index("maml"), cost.methods.index("fomaml")
st.caption(t("l6c.caption", device=device_label(device), batch=META_BATCH, k=inner_steps,
             ratio=cost.seconds[second] / cost.seconds[first],
             memory=cost.saved_mib[second] / max(cost.saved_mib[first], 1e-9)))
lesson.try_this("l6c.try")
lesson.lab_link(lesson.lab_config(cost_config(family, task_config(family), "maml", inner_steps, META_BATCH, "auto")))
lesson.self_check(__file__, CHECKS)
lesson.papers("l6c.papers")
lesson.footer(__file__)
