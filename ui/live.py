"""The polling fragment: redraw from the worker's snapshot while a run trains."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from metaviz.worker import Snapshot, Worker

REFRESH_SECONDS = 0.4  # between two and three redraws a second


def live_panel(worker: Worker, render: Callable[[Snapshot], None], interval: float = REFRESH_SECONDS) -> None:
    """Call ``render(snapshot)`` now and, while the run trains, every ``interval`` seconds.

    The timer is set when the fragment is defined, so when the run stops training
    an app-wide rerun redefines it without one (and lets the buttons catch up).
    """
    training = worker.snapshot().live

    @st.fragment(run_every=interval if training else None)
    def panel() -> None:
        snapshot = worker.snapshot()
        render(snapshot)
        if training and not snapshot.live:
            st.rerun()

    panel()
