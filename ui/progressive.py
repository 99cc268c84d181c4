"""Long analyses that draw a first result at once and refine it: a progress bar, a preview, a cancel button.

A stream is a generator of partial results (``metaviz.analysis.coarse_to_fine.landscape_stream``) with a
``fraction`` done and the best ``result`` so far. :func:`follow` runs it in the page run: the bar moves after
every item, the preview is redrawn only when the result changed (a plotly chart costs the browser a layout
each time), and each new result is handed to ``keep`` at once, so that a cancelled stream leaves its last
picture behind. Cancel is an ordinary button: its click reruns the page, and Streamlit stops the running
script at its next call, which drops the generator (its ``finally`` and ``close`` run) mid-grid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import streamlit as st

from ui.i18n import t


def follow(stream: Iterable[Any], result: Callable[[Any], Any], draw: Callable[[Any], None],
           keep: Callable[[Any], None], text: Callable[[Any], str], key: str, quiet_s: float = 0.5) -> Any:
    """Consume ``stream`` with a progress bar and a cancel button; ``draw(result)`` into a preview whenever
    ``result(item)`` changes, ``keep`` it too. Returns the last item (the whole result when not cancelled).

    A stream that finishes within ``quiet_s`` draws no preview: the page's own figure follows at once."""
    bar, cancel, preview = st.empty(), st.empty(), st.empty()
    bar.progress(0.0, text=t("pg_speed.progress_starting"))
    cancel.button(t("pg_speed.progress_cancel"), icon=":material/stop_circle:", key=key,
                  help=t("pg_speed.progress_cancel_help"))
    shown, item, start = None, None, time.perf_counter()
    try:
        for item in stream:
            bar.progress(min(max(float(item.fraction), 0.0), 1.0), text=text(item))
            latest = result(item)
            if latest is not None and latest is not shown:
                shown = latest
                keep(latest)
                if time.perf_counter() - start < quiet_s:
                    continue
                with preview.container():
                    draw(latest)
    finally:  # also when the stream fails: no bar or button is left behind
        bar.empty()
        cancel.empty()
        preview.empty()
    return item
