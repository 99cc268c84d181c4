"""Empty states that show a figure: a page with nothing to show yet (no stored run, no examples) draws a small
light chart that says what will appear there and how to get it, instead of a blank page under a notice."""

from __future__ import annotations

import streamlit as st

from metaviz.figures.light import empty_chart


def draw(title: str, message: str) -> None:
    """The drawn empty state (``metaviz.figures.light.empty_chart``); markdown, not st.html, whose sanitizer
    drops SVG. The HTML is ours and its words are escaped."""
    st.markdown(empty_chart(title, message), unsafe_allow_html=True)
