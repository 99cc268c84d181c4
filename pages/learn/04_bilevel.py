"""Lesson 4: the bi-level loop. The inner loop adapts to one task, the outer loop updates what is shared; the
meta-gradient with its second-order term, in numbers, on a two-parameter toy and on a real MAML network."""

import streamlit as st

from metaviz.analysis.lessons import maml_gradient_parts
from metaviz.analysis.toy import PRESETS, ToyConfig, toy_surface, toy_update
from metaviz.figures.landscape import toy_figure
from metaviz.figures.lessons import gradient_parts_figure
from ui import lesson, state, words
from ui.i18n import labels, t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l4.check", "options": ("l4.check_a", "l4.check_b", "l4.check_c"),
           "right": 0, "why": "l4.check_why"},)  # the self-check: its answer is in the figure
THETA = (0.5, -1.0)
PRESET_KEYS = dict(zip(PRESETS, ("l4.preset_different", "l4.preset_same", "l4.preset_steep")))


@st.cache_data(show_spinner=False, max_entries=64)
def toy(preset: str, inner_lr: float, inner_steps: int):
    config = ToyConfig(preset, inner_lr, inner_steps)
    return toy_surface(config), toy_update(config, THETA)


@st.cache_data(show_spinner=False, max_entries=8)
def network_parts(seed: int):
    trained = lesson.sine_run(seed, lesson.SINE_DEFAULT)
    return maml_gradient_parts(lesson.sine_config(seed), trained.states["maml"], n_tasks=10)


def vec(v) -> str:
    return f"({v[0]:+.3f}, {v[1]:+.3f})"


lesson.header(__file__, "l4.title", "l4.body")
st.latex(t("l4.formula"))
lesson.markdown(t("l4.body2"))
c1, c2, c3 = st.columns(3)
preset = c1.selectbox(t("l4.preset"), list(PRESETS), format_func=labels(PRESET_KEYS).__getitem__, key="learn-4-preset")
inner_lr = c2.slider(t("l4.inner_lr"), 0.05, 0.45, 0.2, 0.05, key="learn-4-lr")
inner_steps = c3.slider(t("l4.inner_steps"), 1, 5, 1, key="learn-4-steps")
surface, update = toy(preset, round(inner_lr, 2), inner_steps)
fig = lesson.relabel(toy_figure(surface, update, text=words.toy()), title=t("l4.figure_title"))
lesson.chart(fig, key="learn-4-figure")
rows = [t("l4.task", i=1), t("l4.task", i=2), t("l4.mean")]
first = [*update.per_task["fomaml"], update.gradient["fomaml"]]
second = [*update.second_order_per_task, update.second_order]
full = [*update.per_task["maml"], update.gradient["maml"]]
st.dataframe({t("l4.col_task"): rows, t("l4.col_first"): [vec(v) for v in first],
              t("l4.col_second"): [vec(v) for v in second], t("l4.col_full"): [vec(v) for v in full]},
             hide_index=True)
st.caption(t("l4.toy_caption", t1=THETA[0], t2=THETA[1], lr=inner_lr, k=inner_steps))

st.subheader(t("l4.network_title"))
with st.spinner(t("lesson.computing")):
    parts = network_parts(state.seed())
m1, m2, m3, m4 = st.columns(4)
m1.metric(t("l4.norm_first"), f"{parts.first_norm:.3f}")
m2.metric(t("l4.norm_second"), f"{parts.second_norm:.3f}")
m3.metric(t("l4.norm_full"), f"{parts.full_norm:.3f}")
m4.metric(t("l4.cosine"), f"{parts.cosine:.3f}", help=t("l4.cosine_help"))
st.markdown(t("l4.network_caption", steps=lesson.SINE_DEFAULT, lr=parts.inner_lr, ms2=1000 * parts.seconds_full,
              ms1=1000 * parts.seconds_first))
with st.expander(t("l4.per_layer")):
    lesson.chart(gradient_parts_figure(parts, text=dict(
        title=t("l4.parts_title"), x=t("l4.parts_x"), y=t("l4.parts_y"), first=t("l4.col_first"),
        second=t("l4.col_second"), full=t("l4.col_full"))), key="learn-4-parts")
lesson.try_this("l4.try")
lesson.lab_link(lesson.lab_config(lesson.sine_config(state.seed())))
lesson.self_check(__file__, CHECKS)
lesson.papers("l4.papers")
lesson.footer(__file__)
