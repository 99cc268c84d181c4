"""Home: what meta-learning is, with a result already on screen."""

import streamlit as st

from metaviz.analysis.adaptation import task_gallery
from metaviz.analysis.demo import quick_sine_demo
from metaviz.figures.adaptation import tasks_html
from metaviz.train import RunConfig
from ui import run_view, state
from ui.i18n import t
from ui.router import ensure_router

ensure_router()
DEMO_STEPS = 200


@st.cache_data(show_spinner=False, max_entries=8)
def demo(seed: int):
    return quick_sine_demo(seed=seed, n_steps=DEMO_STEPS)


st.title(t("pg_home.title"))
st.markdown(t("pg_home.intro"))

left, right = st.columns(2)
with left:
    st.subheader(t("pg_home.tasks_title"))
    st.markdown(t("pg_home.tasks_body"))
    x, curves, sx, sy = task_gallery(RunConfig(), n_tasks=5, seed=state.seed())
    # the light chart, not plotly: the page's first figure shows before plotly's bundle has loaded
    st.markdown(tasks_html(x, curves, sx, sy, text=dict(task=t("pg_home.task"))), unsafe_allow_html=True)
with right:
    st.subheader(t("pg_home.learned_title"))
    with st.spinner(t("pg_home.spinner")):
        result = demo(state.seed())
    st.markdown(t("pg_home.learned_body", steps=DEMO_STEPS, seconds=f"{result.seconds:.1f}", device=result.device))
    st.plotly_chart(run_view.adaptation_figure_here(result.adaptation), key="home-adaptation")

st.markdown(t("pg_home.bilevel"))
st.page_link("pages/train.py", label=t("pg_home.to_train"), icon=":material/play_arrow:")
