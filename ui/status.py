"""A run's status in words and as a badge colour: one table for every page.

The worker's statuses (``metaviz.worker.Snapshot.status``: Train, Adaptation, Loss Landscape) and the run
store's (``metaviz.store.RunRecord.status``: Runs, Compare) share their names, so they share their words.
"""

from __future__ import annotations

from ui.i18n import t

STATUS = {"idle": ("status.idle", "gray"), "starting": ("status.starting", "blue"),
          "queued": ("status.queued", "gray"), "running": ("status.running", "green"),
          "stepping": ("status.stepping", "orange"), "paused": ("status.paused", "orange"),
          "done": ("status.done", "violet"), "diverged": ("status.diverged", "red"), "error": ("status.error", "red"),
          "limited": ("status.limited", "red"), "stopped": ("status.stopped", "gray"),
          "interrupted": ("status.interrupted", "orange")}  # status -> (catalogue key, st.badge colour)


def label(code: str) -> str:
    """The status ``code`` in the session's language; an unknown one as it is."""
    return t(STATUS[code][0]) if code in STATUS else code


def color(code: str) -> str:
    return STATUS[code][1] if code in STATUS else "gray"
