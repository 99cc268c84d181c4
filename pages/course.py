"""The Course: the lessons and labs as a 90-minute or a 45-minute class, with the time of each part, what to show,
what to ask and a link to each step; shared as a link (with the locks in force) and presented with the arrow
keys (:mod:`ui.presenter`)."""

from urllib.parse import urlencode

import streamlit as st

from metaviz.figures.light import timeline_chart
from ui import course, handout, presenter
from ui.i18n import labels, t
from ui.router import ensure_router

ensure_router()

st.title(t("course.title"))
st.markdown(t("course.body"))
length = st.radio(t("course.plan"), course.PLANS, index=course.PLANS.index(presenter.plan_length()),
                  format_func=labels(course.PLAN_KEYS).__getitem__, horizontal=True, key="course-plan")
steps = course.plan(length)
# the class at a glance, drawn light: the page's first figure, before plotly's bundle or anything else loads
st.markdown(timeline_chart([(t(step.title), minutes) for step, minutes in steps], title=t("pg_first.course_title"),
                           x_title=t("pg_first.minutes")), unsafe_allow_html=True)
first = steps[0][0]
st.page_link(first.page, label=t("course.present"), icon=":material/co_present:",
             query_params=presenter.link_params(length))
base = (st.context.url or "").split("?")[0]
share_params = {k: v for k, v in presenter.link_params(length).items() if k != presenter.FLAG}
st.caption(t("course.share"))
st.code(f"{base}?{urlencode(share_params, safe=',*')}", language=None, wrap_lines=True)
handout_slot = st.empty()  # filled once the steps are drawn: the handout reads every lesson's file

start = 0
for n, (step, minutes) in enumerate(steps, 1):
    with st.container(border=True, key=f"course-step-{n}"):
        head, link = st.columns([4, 1], vertical_alignment="center")
        head.markdown(t("course.step", n=n, title=t(step.title), start=start, end=start + minutes))
        link.page_link(step.page, label=t("course.open"), icon=":material/open_in_new:")
        st.markdown(f"**{t('course.show')}** {t(step.show)}")
        st.markdown(f"**{t('course.ask')}** {t(step.ask)}")
    start += minutes
st.caption(t("course.total", minutes=start))
kept = course.handout(length)  # this run's words, taken now: the download runs in another thread
handout_slot.download_button(t("course.handout"), lambda: handout.page(**kept), file_name=f"course-{length}.html",
                             mime="text/html", icon=":material/print:", key="course-handout",
                             help=t("course.handout_help"), on_click="ignore")
