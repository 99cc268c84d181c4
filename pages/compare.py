"""Compare: stored runs side by side on shared axes, and the spread of one setup over several seeds."""

import streamlit as st

from metaviz.analysis.runs import seed_spread
from metaviz.figures.runs import LABELS, compare_curves, spread_figure
from metaviz.recorder import Repeats
from ui import runs as shared
from ui.router import ensure_router

ensure_router()

st.title("Compare")
st.caption("Runs on shared axes: one colour per meta-learner (the same on every page), one dash per run of it.")
store = shared.store()
records = store.runs()
if not records:
    st.info("No stored runs yet: train some on the Train page or with `python -m metaviz train`.")
    st.stop()
by_id = {r.id: r for r in records}
chosen = st.multiselect("Runs", list(by_id), default=list(by_id)[:2], format_func=lambda i: shared.label(by_id[i]),
                        key="compare.runs", placeholder="choose runs to compare")
if not chosen:
    st.info("Choose at least one run.")
    st.stop()
histories = {i: store.history(i) for i in chosen}
keys = [k for k in LABELS if any(k in (h.train if k == "loss" else h.evals) for h in histories.values())]
key = st.segmented_control("Curve", keys, default="val_loss" if "val_loss" in keys else keys[0],
                           format_func=LABELS.get, key="compare.key") or keys[0]
series = [(f"{by_id[i].learner} · {i} (seed {by_id[i].seed})", by_id[i].learner,
           histories[i].train if key == "loss" else histories[i].evals) for i in chosen]
st.plotly_chart(compare_curves(series, key), key="compare.curves")
st.subheader("Final metrics, time and memory")
shared.table([by_id[i] for i in chosen], store.finals(chosen))
st.caption("Peak memory is the resident peak of the process that trained the run (the app's, shared by its "
           "sessions, or the command line's); GPU memory is the peak allocated on the device.")

st.subheader("Same setup, several seeds")
base_id = st.selectbox("Setup (a run whose config is repeated)", chosen, format_func=lambda i: shared.label(by_id[i]),
                       key="compare.base")
left, right = st.columns([1, 3], vertical_alignment="bottom")
n = left.number_input("Repeats", 1, 20, 3, key="compare.n", help="New seeds: the setup's seed + 1, + 2, ...")
jobs = shared.session_repeats()
busy = any(job.alive for job in jobs)
if right.button("Same setup, several seeds", icon=":material/stacks:", key="compare.repeat", disabled=busy,
                help="Trains the repeats one after another in the background (headless, like the command line); "
                     "each is stored, and the spread below fills in as they finish."):
    jobs.append(Repeats(store, base_id, int(n)))
    st.rerun()


@st.fragment(run_every=1.0 if busy else None)
def spread(run_id: str) -> None:
    base = store.get(run_id)
    group = store.runs(group_id=base.group_id) if base.group_id else [base]
    for job in jobs:
        if job.error:
            st.error(f"Repeats stopped: {job.error}")
    if any(job.alive for job in jobs):
        st.caption(f"Training repeats in the background: {sum(r.status == 'done' for r in group) - 1} of "
                   f"{len(group) - 1} done.")
    finished = [r for r in group if r.status == "done"]
    if len(finished) < 2:
        st.info("Press the button to train this setup with other seeds; the spread appears when two are done.")
        return
    finals = store.finals(r.id for r in finished)
    metric = "val_accuracy" if all("val_accuracy" in finals[r.id] for r in finished) else "val_loss"
    result = seed_spread([store.history(r.id) for r in finished], [r.seed for r in finished], metric)
    st.plotly_chart(spread_figure(result, base.learner), key="compare.spread")
    st.metric(f"Final {LABELS[metric]} over {len(finished)} seeds", f"{result.final_mean:.4g} ± {result.final_std:.2g}")
    if busy and not any(job.alive for job in jobs):
        st.rerun()  # the repeats ended: redraw the page without the polling timer


spread(base_id)
