"""Lesson 10: where meta-learning is used. A map of the applications (few-shot vision, language, robot control and
game AI, architecture search, personalisation, hyperparameters), each linked to the lab that shows it in MetaViz,
and saying plainly which are only described here."""

import streamlit as st

from metaviz.figures.applications import applications_figure
from ui import lesson
from ui.i18n import labels, t
from ui.router import ensure_router

ensure_router()
CHECKS = ({"question": "l10.check", "options": ("l10.check_a", "l10.check_b", "l10.check_c"),
           "right": 1, "why": "l10.check_why"},)  # the self-check: its answer is in the map
PAGES = {"pages/train.py": "nav.train", "pages/own_data.py": "nav.own_data", "pages/own_text.py": "nav.own_text",
         "pages/meta_rl.py": "nav.meta_rl", "pages/automl.py": "nav.automl"}
APPLICATIONS = (  # area, application, the lab that shows it live (None: only described here); catalogue keys
    ("l10.vision", "l10.vision_characters", "pages/train.py"),
    ("l10.vision", "l10.vision_yours", "pages/own_data.py"),
    ("l10.vision", "l10.vision_rare", None),
    ("l10.language", "l10.language_intents", "pages/own_text.py"),
    ("l10.language", "l10.language_low_resource", None),
    ("l10.control", "l10.control_navigation", "pages/meta_rl.py"),
    ("l10.control", "l10.control_bandits", "pages/meta_rl.py"),
    ("l10.control", "l10.control_robots", None),
    ("l10.control", "l10.control_games", None),
    ("l10.nas", "l10.nas_darts", "pages/automl.py"),
    ("l10.personal", "l10.personal_classes", "pages/own_data.py"),
    ("l10.personal", "l10.personal_cold_start", None),
    ("l10.hyper", "l10.hyper_learning_rates", "pages/automl.py"),
    ("l10.hyper", "l10.hyper_optimizers", None),
)

lesson.header(__file__, "l10.title", "l10.body")
rows = [(t(area), t(app), t(PAGES[page]) if page else None) for area, app, page in APPLICATIONS]
lesson.chart(applications_figure(rows, text=dict(title=t("l10.figure_title"), root=t("l10.root"),
                                                 shown=t("l10.shown"), described=t("l10.described"))),
             key="learn-10-figure")
shown = sum(page is not None for *_, page in APPLICATIONS)
st.caption(t("l10.caption", shown=shown, total=len(APPLICATIONS)))

st.subheader(t("l10.labs_title"))
for area in dict.fromkeys(area for area, _, _ in APPLICATIONS):
    apps = [(app, page) for a, app, page in APPLICATIONS if a == area]
    with st.container(border=True):
        st.markdown(f"**{t(area)}**")
        for app, page in apps:
            if page:
                st.page_link(page, label=f"{t(app)} · {t(PAGES[page])}", icon=":material/science:")
            else:
                st.markdown(f"- {t(app)} · *{t('l10.described')}*")
lesson.markdown(t("l10.body2"))
lesson.try_this("l10.try")
labs = list(dict.fromkeys(page for *_, page in APPLICATIONS if page))
lab = st.selectbox(t("l10.pick"), labs, format_func=labels(PAGES).__getitem__, key="learn-10-lab")
if st.button(t("l10.open_lab"), icon=":material/science:", key="lesson-lab", type="primary"):
    st.switch_page(lab)
lesson.self_check(__file__, CHECKS)
lesson.papers("l10.papers")
lesson.footer(__file__)
