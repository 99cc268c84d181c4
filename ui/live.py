"""The polling fragment: redraw from the worker's snapshot while a run trains."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from metaviz.worker import Snapshot, Worker

REFRESH_SECONDS = 0.4  # between two and three redraws a second
SLOW_REFRESH_SECONDS = 2.0  # panels that change once a second at most (the adaptation on a held-out task)


def live_panel(worker: Worker, render: Callable[[Snapshot], None], drawn: Snapshot,
               interval: float = REFRESH_SECONDS, follows: bool = True, later: bool = False) -> None:
    """Call ``render(snapshot)`` now and, while the run trains, every ``interval`` seconds.

    ``drawn``: the snapshot the rest of the page (the buttons) was drawn from. The timer is set when the
    fragment is defined, so when the run stops training an app-wide rerun redefines it without one and lets
    the buttons catch up (done by the panel with ``follows=True``; a page with several panels lets one do it).
    Whether to poll follows ``drawn``, not a fresh snapshot: a Step can finish between the two, and buttons
    drawn while it was stepping would then never be redrawn (a disabled "Start" over a paused run).

    Each redraw costs the browser more than the server (a plotly chart is laid out again even when only a
    point was added), so a panel whose content changes rarely takes a longer ``interval``.

    ``later``: while the run trains, draw nothing in this page run and start at the first refresh (the page
    right after Start shows its first point sooner without the heavy views, which follow within ``interval``).
    """
    training = drawn.live
    skip = later and training  # the page run skips; the fragment's own reruns draw

    @st.fragment(run_every=interval if training else None)
    def panel() -> None:
        nonlocal skip
        if skip:
            skip = False
            return
        snapshot = worker.snapshot()
        render(snapshot)
        if follows and training and not snapshot.live:
            st.rerun()

    panel()
