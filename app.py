"""MetaViz: the router. Lists every page and draws the shared sidebar."""

import streamlit as st

from ui.router import run_page
from ui.share import restore as restore_shared_link
from ui.sidebar import sidebar

st.set_page_config(page_title="MetaViz", page_icon=":material/neurology:", layout="wide")

PAGES = {
    "MetaViz": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/tasks.py", title="Task Builder", icon=":material/dataset:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/adaptation.py", title="Adaptation", icon=":material/tune:"),
        st.Page("pages/landscape.py", title="Loss Landscape", icon=":material/landscape:"),
        st.Page("pages/embedding.py", title="Embedding Space", icon=":material/scatter_plot:"),
        st.Page("pages/runs.py", title="Runs", icon=":material/inventory_2:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page("pages/own_data.py", title="Your Data", icon=":material/draw:"),
    ],
}

page = st.navigation(PAGES)
restore_shared_link()
sidebar()
run_page(page)
