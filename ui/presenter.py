"""Presenter mode (``?present=1``, or the sidebar's switch): for projecting a class.

The navigation and the sidebar are hidden, the page takes the whole width, the text is larger and the
lessons leave out what a projector does not need (papers, neighbour links). A bar on top names the step of
the course (``?plan=90`` or ``45``: :mod:`ui.course`) and links to the steps before and after; the left and
right arrow keys follow those links. They are client-side page links in the same session, so the controls a
teacher's link locked stay locked; the links also carry the locks, so a reload keeps them.

The CSS and the script below are constants: nothing from the URL, a file or a user goes into them. The script
finds the links by the keys of their containers.
"""

from __future__ import annotations

import streamlit as st

from ui import course, share
from ui.i18n import current, t
from ui.state import PRESENT as FLAG

PLAN = "plan"

STYLE = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding: 1rem 2.5rem; }
[data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li { font-size: 1.4rem; }
[data-testid="stMainBlockContainer"] h1 { font-size: 3rem; }
</style>"""
KEYS = """<script>
(() => {
  if (window.mvPresenterKeys) return;
  window.mvPresenterKeys = true;
  document.addEventListener("keydown", (event) => {
    const where = {ArrowRight: "next", ArrowLeft: "previous", Escape: "exit"}[event.key];
    const target = event.target;
    if (!where || (target.closest && target.closest("input, textarea, select, [role=slider], [contenteditable]"))) {
      return;  // an arrow key inside a control moves the control
    }
    const link = document.querySelector(`.st-key-mv-present-${where} a, .st-key-mv-present-${where} button`);
    if (link) { event.preventDefault(); link.click(); }
  });
})();
</script>"""


def plan_length() -> str:
    length = st.query_params.get(PLAN, course.PLANS[0])
    return length if length in course.PLANS else course.PLANS[0]


def link_params(length: str) -> dict[str, str]:
    """The query parameters of a presenter link: the mode, the plan, the language and the locks in force."""
    params = {FLAG: "1", PLAN: length, "lang": current()}
    for name, key in (("lock", share.LOCK), ("hide", share.HIDE)):
        if st.session_state.get(key):
            params[name] = ",".join(st.session_state[key])
    return params


def bar(url: str) -> None:
    """Hide what a projector does not need and put the course's step bar on top (call before the page runs)."""
    st.html(STYLE)
    st.html(KEYS, unsafe_allow_javascript=True)
    length = plan_length()
    before, after, place = course.neighbours(length, url)
    params = link_params(length)
    left, middle, right, leave = st.columns([3, 2, 3, 1], vertical_alignment="center")
    if before is not None:
        with left.container(key="mv-present-previous"):
            st.page_link(before.page, label=t(before.title), icon=":material/arrow_back:", query_params=params)
    middle.caption(t("presenter.step", i=place, n=len(course.plan(length)), minutes=length) if place else
                   t("presenter.start", minutes=length))
    if after is not None:
        with right.container(key="mv-present-next"):
            st.page_link(after.page, label=t(after.title), icon=":material/arrow_forward:", query_params=params)
    with leave.container(key="mv-present-exit"):
        if st.button(t("presenter.leave"), icon=":material/close:", key="presenter-leave"):
            for name in (FLAG, PLAN):
                st.query_params.pop(name, None)
            st.rerun()


def switch() -> None:
    """The sidebar's way into presenter mode."""
    if st.button(t("presenter.switch"), icon=":material/co_present:", key="presenter-switch",
                 help=t("presenter.switch_help")):
        st.query_params[FLAG] = "1"
        st.rerun()
