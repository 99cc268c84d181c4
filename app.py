"""MetaViz: the router. Lists every page and draws the shared sidebar."""

import streamlit as st

from ui import presenter, state
from ui.i18n import init_from_url, t
from ui.lesson import pages as lesson_pages
from ui.router import run_page
from ui.share import restore as restore_shared_link
from ui.sidebar import sidebar

st.set_page_config(page_title="MetaViz", page_icon=":material/neurology:", layout="wide")
init_from_url()  # ?lang= on a session's first run, before anything (the navigation too) is titled

PAGES = {
    t("nav.lab"): [
        st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", default=True),
        st.Page("pages/tasks.py", title=t("nav.tasks"), icon=":material/dataset:"),
        st.Page("pages/train.py", title=t("nav.train"), icon=":material/model_training:"),
        st.Page("pages/own_data.py", title=t("nav.own_data"), icon=":material/draw:"),
        st.Page("pages/own_text.py", title=t("nav.own_text"), icon=":material/chat:"),
        st.Page("pages/automl.py", title=t("nav.automl"), icon=":material/auto_awesome:"),
        st.Page("pages/meta_rl.py", title=t("nav.meta_rl"), icon=":material/smart_toy:"),
    ],
    t("nav.inside"): [
        st.Page("pages/adaptation.py", title=t("nav.adaptation"), icon=":material/tune:"),
        st.Page("pages/landscape.py", title=t("nav.landscape"), icon=":material/landscape:"),
        st.Page("pages/embedding.py", title=t("nav.embedding"), icon=":material/scatter_plot:"),
    ],
    t("nav.runs_section"): [
        st.Page("pages/runs.py", title=t("nav.runs"), icon=":material/inventory_2:"),
        st.Page("pages/compare.py", title=t("nav.compare"), icon=":material/compare_arrows:"),
    ],
    t("nav.learn"): [st.Page("pages/course.py", title=t("nav.course"), icon=":material/co_present:"),
                     *lesson_pages()],
}

presenting = state.presenting()
page = st.navigation(PAGES, position="hidden" if presenting else "sidebar")
restore_shared_link()
if presenting:
    presenter.bar(page.url_path)
else:
    sidebar()
run_page(page)
