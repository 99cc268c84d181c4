"""Keep every page behind the router in ``app.py``.

Streamlit treats an app with a ``pages/`` folder as a legacy multipage app until
``st.navigation`` has run (once per server process; AppTest resets that before
every run). Meanwhile it runs a page's file *alone*, without ``app.py``: no
shared sidebar and the legacy page list. So ``app.py`` runs each page through
:func:`run_page`, and every page starts with :func:`ensure_router`, which, when
the page was started alone, sends the run through the router:

* on a session's first run (a link opened straight on a fresh server) by a
  rerun, which the browser renders cleanly;
* on later runs (only AppTest resets the mode before every run) by running the
  router in place, since a rerun would drop the click that started the run.
"""

from __future__ import annotations

import runpy
import threading
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP = Path(__file__).resolve().parents[1] / "app.py"
_local = threading.local()  # each browser session's script runs in its own thread
ROUTED_BEFORE = "mv.routed_before"


def run_page(page) -> None:
    """Run the page chosen by ``st.navigation``, marked as routed."""
    st.session_state[ROUTED_BEFORE] = True
    _local.routed = True
    try:
        page.run()
    finally:
        _local.routed = False


def ensure_router() -> None:
    if getattr(_local, "routed", False):
        return
    PagesManager.uses_pages_directory = False  # later runs go through app.py directly
    if not st.session_state.get(ROUTED_BEFORE):
        st.rerun()
    runpy.run_path(str(APP), run_name="__main__")  # runs this page again, routed
    st.stop()
