"""What the Runs and Compare pages share: the store, run labels, filters, the summary table, and this
session's background repeats (stopped when the tab closes)."""

from __future__ import annotations

import streamlit as st

from metaviz.analysis.runs import summary_rows
from metaviz.recorder import Repeats
from metaviz.store import RunRecord, Store, StoreError

RESUMABLE = ("interrupted", "paused", "stopped")
STATUS_COLORS = {"running": "green", "paused": "orange", "stopped": "gray", "done": "violet", "diverged": "red",
                 "error": "red", "interrupted": "orange"}


def store() -> Store:
    """The run store ($METAVIZ_HOME or ~/.local/share/metaviz); stops the page with a message if it cannot open."""
    try:
        return Store()
    except StoreError as error:
        st.error(f"The run store cannot be opened: {error}", icon=":material/error:")
        st.stop()


def label(record: RunRecord) -> str:
    name = f" «{record.name}»" if record.name else ""
    return f"{record.id} · {record.learner} on {record.task} · seed {record.seed} · {record.status}{name}"


def filtered(records: list[RunRecord], key: str) -> list[RunRecord]:
    """Task, learner and status pickers over the runs there are; the runs that pass."""
    cols = st.columns(3)
    chosen = {}
    for col, field in zip(cols, ("task", "learner", "status")):
        options = sorted({getattr(r, field) for r in records})
        chosen[field] = col.multiselect(field.capitalize(), options, key=f"{key}.{field}",
                                        placeholder=f"every {field}")
    return [r for r in records if all(not v or getattr(r, f) in v for f, v in chosen.items())]


def table(records: list[RunRecord], finals: dict) -> None:
    st.dataframe(summary_rows(records, finals), hide_index=True, width="stretch")


@st.cache_resource(scope="session", on_release=lambda jobs: [job.stop() for job in jobs], show_spinner=False)
def session_repeats() -> list[Repeats]:
    """Background repeats started by this browser session; their threads stop when it ends."""
    return []
