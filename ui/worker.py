"""One training worker per browser session, released when the tab closes."""

from __future__ import annotations

import os

import streamlit as st

from metaviz.store import Store, StoreError
from metaviz.worker import Worker


def run_store() -> Store | None:
    """The run store the app records runs in ($METAVIZ_HOME, else ~/.local/share/metaviz); None when
    METAVIZ_STORE=off or the folder cannot be used (the app then trains without saving)."""
    if os.environ.get("METAVIZ_STORE", "").lower() in ("off", "0", "false", "no"):
        return None
    try:
        return Store()
    except StoreError:
        return None


@st.cache_resource(scope="session", on_release=lambda worker: worker.close(), show_spinner=False)
def session_worker() -> Worker:
    """The worker of this browser session: its thread stops (and GPU memory is freed)
    when the session disconnects. Its runs are recorded in the run store."""
    return Worker(store=run_store())
