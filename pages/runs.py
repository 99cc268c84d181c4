"""Runs: every stored run, from this app or from `python -m metaviz train`; open one, resume it, delete it."""

import json

import streamlit as st

from metaviz import learners, tasks
from metaviz.automl.worker import stored_snapshot
from metaviz.export import export_zip, import_run
from metaviz.figures.curves import accuracy_curves, steps_curve
from metaviz.messages import recognise
from ui import automl_view, empty, state, status, words
from ui import runs as shared
from ui.i18n import said, t
from ui.router import ensure_router
from ui.run_view import accuracy_text, loss_view, steps_text
from ui.worker import session_worker

ensure_router()

st.title(t("pg_runs.title"))
st.caption(t("pg_runs.intro"))
store = shared.store()
everything = store.runs()
if not everything:
    st.info(t("pg_runs.empty"), icon=":material/inventory_2:")
    empty.draw(t("pg_speed.empty_runs_title"), t("pg_speed.empty_runs", train=t("nav.train")))
    st.stop()
records = shared.filtered(everything, "runs")
if not records:
    st.warning(t("pg_runs.no_match"))
    st.stop()
shared.table(records, store.finals(r.id for r in records))

by_id = {r.id: r for r in records}
labels = {i: shared.label(r) for i, r in by_id.items()}  # looked up now, not by a later format_func
chosen = st.selectbox(t("pg_runs.open"), list(by_id), format_func=labels.__getitem__, key="runs.open")
live = by_id[chosen].status == "running"


@st.fragment(run_every=1.0 if live else None)
def detail(run_id: str) -> None:
    """One run: status, results, curves; redrawn every second while it trains."""
    record = store.get(run_id)
    if live and record.status != "running":
        st.rerun()  # it ended: redraw the page (buttons, no timer)
    history = store.history(run_id)
    final = history.final()
    cols = st.columns(5)
    cols[0].metric(t("pg_runs.steps"), f"{record.step} / {record.n_steps}")
    cols[1].metric(words.metric(record.task)["val"], f"{final['val_loss']:.4g}" if "val_loss" in final else "–")
    if "val_accuracy" in final:
        cols[2].metric(t("pg_runs.val_accuracy"), f"{final['val_accuracy']:.1%}")
    cols[3].metric(t("pg_runs.time"), t("pg_runs.seconds", s=f"{record.wall_time:,.1f}"))
    with cols[4]:
        st.markdown(t("pg_runs.status"))
        st.badge(status.label(record.status), color=status.color(record.status))
    if record.message:
        (st.error if record.status in ("error", "diverged") else st.info)(said(recognise(record.message)))
    if record.kind == "automl":  # a search: drawn by the AutoML page's own views
        automl_view.stored(stored_snapshot(store, run_id), key="runs")
        return
    left, right = st.columns([3, 2])
    with left:  # redrawn every second while it trains
        loss_view(history.train, history.evals, record.learner, live, key="runs.loss", uirevision=f"runs-{run_id}",
                  task=record.task)
    classification = tasks.get(record.task).kind == "classification"
    if classification:
        n_way = record.config.get("task_config", {}).get("n_way", 2)
        right.plotly_chart(accuracy_curves(history.evals, record.learner, n_way, text=accuracy_text()),
                           key="runs.accuracy")
    evals = store.evals(run_id)
    if evals and learners.get(record.learner).has_inner_loop:
        metric = "accuracy" if classification else "loss"
        curves = evals[-1][2]
        base = curves.get("baseline_val", {}).get(metric)
        right.plotly_chart(steps_curve(curves["val"][metric], base, record.learner, metric,
                                       text=steps_text(record.task)), key="runs.steps")
    code = f"metaviz {record.version}" + (f", commit `{record.git_commit}`" if record.git_commit else "")
    memory = f"{record.peak_rss / 2**20:,.0f} MiB" if record.peak_rss else "–"
    steps = ", ".join(str(c.step) for c in store.checkpoints(run_id)) or t("pg_runs.none")
    st.caption(t("pg_runs.facts", seed=record.seed, device=record.device or "–", code=code, memory=memory,
                 steps=steps))


detail(chosen)
record = store.get(chosen)
with st.expander(t("pg_runs.config")):
    st.code(json.dumps(record.config, indent=2), language="json")

act = st.columns([2, 2, 1, 2])
resumable = record.status in shared.RESUMABLE and store.last_checkpoint(record.id) is not None
if act[0].button(t("pg_runs.resume"), icon=":material/play_arrow:", disabled=not resumable, key="runs.resume",
                 help=t("pg_runs.resume_help")):
    worker = session_worker()
    snap = worker.sync(worker.resume_stored(record.id), timeout=60)
    if snap.status == "error":
        st.error(said(recognise(snap.message)))
    else:
        state.set_run_config(snap.config)
        st.switch_page("pages/train.py")
confirm = act[2].checkbox(t("pg_runs.sure"), key="runs.confirm", help=t("pg_runs.sure_help"))
if act[1].button(t("pg_runs.delete"), icon=":material/delete:", disabled=not confirm, key="runs.delete"):
    try:
        store.delete(record.id)
    except Exception as error:  # noqa: BLE001 - a run still held elsewhere: say so
        st.error(str(error))
    else:
        st.toast(t("pg_runs.deleted", id=record.id))
        st.session_state.pop("runs.open", None)
        st.rerun()
act[3].download_button(t("pg_runs.export"), data=lambda: export_zip(store, record.id),
                       file_name=f"metaviz-run-{record.id}.zip", mime="application/zip", icon=":material/download:",
                       key="runs.export", help=t("pg_runs.export_help"))
with st.expander(t("pg_runs.import_title")):
    upload = st.file_uploader(t("pg_runs.import_file"), type=["zip"], key="runs.upload", max_upload_size=1024)
    if upload is not None and st.button(t("pg_runs.import"), key="runs.import"):
        try:
            st.success(t("pg_runs.imported", id=import_run(store, upload.getvalue())))
        except ValueError as error:  # ExportError, CheckpointError, StoreError: the message says what is wrong
            st.error(said(error))
