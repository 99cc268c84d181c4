"""Home: what meta-learning is, with a result already on screen."""

import streamlit as st

from metaviz.analysis.adaptation import task_gallery
from metaviz.analysis.demo import quick_sine_demo
from metaviz.figures.adaptation import adaptation_figure, tasks_figure
from metaviz.train import RunConfig
from ui import state
from ui.router import ensure_router

ensure_router()


@st.cache_data(show_spinner="Meta-training MAML on sine waves for a few seconds…", max_entries=8)
def demo(seed: int):
    return quick_sine_demo(seed=seed, n_steps=200)


st.title("MetaViz: learning to learn, live")
st.markdown(
    "Ordinary training fits **one task** from lots of data. *Meta-learning* trains on **many related tasks** "
    "so that a **new** task can be learned from a handful of examples. Each task comes as a small "
    "**support set** (the few examples you may learn from) and a **query set** (where you are scored)."
)

left, right = st.columns(2)
with left:
    st.subheader("A distribution of tasks")
    st.markdown("Each colour is one task, a sine wave with its own amplitude and phase; the dots are its "
                "K = 10 support points. No single curve fits them all.")
    x, curves, sx, sy = task_gallery(RunConfig(), n_tasks=5, seed=state.seed())
    st.plotly_chart(tasks_figure(x, curves, sx, sy), key="home-tasks")
with right:
    st.subheader("What a meta-learner learns")
    result = demo(state.seed())
    st.markdown(f"MAML learned a starting point from which **one gradient step** on 10 points fits a new wave. "
                f"The pretrained network, trained on all tasks at once, learned their average and cannot adapt. "
                f"Trained when you opened this page: 200 meta-iterations in {result.seconds:.1f} s "
                f"on the {result.device}.")
    st.plotly_chart(adaptation_figure(result.adaptation), key="home-adaptation")

st.markdown(
    "**The bi-level loop.** The *inner loop* adapts to one task using its support set (for MAML: a few SGD "
    "steps). The *outer loop* changes what all tasks share (for MAML: the initial weights) so that the inner "
    "loop's result scores well on the query sets. Meta-*testing* then measures adaptation on tasks never seen."
)
st.page_link("pages/train.py", label="Train a meta-learner yourself and watch both loops live",
             icon=":material/play_arrow:")
