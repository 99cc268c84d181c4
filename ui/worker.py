"""One training worker per browser session, released when the tab closes."""

from __future__ import annotations

import streamlit as st

from metaviz.worker import Worker


@st.cache_resource(scope="session", on_release=lambda worker: worker.close(), show_spinner=False)
def session_worker() -> Worker:
    """The worker of this browser session: its thread stops (and GPU memory is freed)
    when the session disconnects."""
    return Worker()
