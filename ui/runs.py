"""What the Runs and Compare pages share: the store, run labels, filters, the summary table, and this
session's background repeats (stopped when the tab closes)."""

from __future__ import annotations

import streamlit as st

from metaviz.analysis.runs import summary_rows
from metaviz.recorder import Repeats
from metaviz.store import RunRecord, Store, StoreError
from ui.i18n import t
from ui.status import label as status_label

RESUMABLE = ("interrupted", "paused", "stopped")
FILTER_KEYS = {"task": ("ui_runs.task", "ui_runs.every_task"), "learner": ("ui_runs.learner", "ui_runs.every_learner"),
               "status": ("ui_runs.status", "ui_runs.every_status")}  # field -> (label, placeholder)
COLUMN_KEYS = {"run": "ui_runs.col_run", "name": "ui_runs.col_name", "learner": "ui_runs.col_learner",
               "task": "ui_runs.col_task", "seed": "ui_runs.col_seed", "status": "ui_runs.col_status",
               "steps": "ui_runs.col_steps", "val loss": "ui_runs.col_val_loss",
               "val accuracy": "ui_runs.col_val_accuracy", "baseline val loss": "ui_runs.col_baseline_val_loss",
               "wall time (s)": "ui_runs.col_wall_time", "peak memory (MiB)": "ui_runs.col_peak_memory",
               "peak GPU memory (MiB)": "ui_runs.col_peak_gpu", "device": "ui_runs.col_device"}


def store() -> Store:
    """The run store ($METAVIZ_HOME or ~/.local/share/metaviz); stops the page with a message if it cannot open."""
    try:
        return Store()
    except StoreError as error:
        st.error(t("ui_runs.store_error", error=str(error)), icon=":material/error:")
        st.stop()


def label(record: RunRecord) -> str:
    name = f" «{record.name}»" if record.name else ""
    return t("ui_runs.label", id=record.id, learner=record.learner, task=record.task, seed=record.seed,
             status=status_label(record.status)) + name


def filtered(records: list[RunRecord], key: str) -> list[RunRecord]:
    """Task, learner and status pickers over the runs there are; the runs that pass."""
    cols = st.columns(3)
    chosen = {}
    for col, field in zip(cols, ("task", "learner", "status")):
        options = sorted({getattr(r, field) for r in records})
        title, placeholder = FILTER_KEYS[field]
        shown = {o: status_label(o) if field == "status" else str(o) for o in options}  # looked up now
        chosen[field] = col.multiselect(t(title), options, key=f"{key}.{field}", placeholder=t(placeholder),
                                        format_func=shown.__getitem__)
    return [r for r in records if all(not v or getattr(r, f) in v for f, v in chosen.items())]


def table(records: list[RunRecord], finals: dict) -> None:
    rows = [{t(COLUMN_KEYS[c]) if c in COLUMN_KEYS else c: status_label(v) if c == "status" else v
             for c, v in row.items()} for row in summary_rows(records, finals)]
    st.dataframe(rows, hide_index=True, width="stretch")


@st.cache_resource(scope="session", on_release=lambda jobs: [job.stop() for job in jobs], show_spinner=False)
def session_repeats() -> list[Repeats]:
    """Background repeats started by this browser session; their threads stop when it ends."""
    return []
