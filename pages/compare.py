"""Compare: stored runs side by side on shared axes, and the spread of one setup over several seeds."""

import streamlit as st

from metaviz.analysis.runs import seed_spread
from metaviz.figures.runs import LABELS, compare_curves, spread_figure
from metaviz.recorder import Repeats
from ui import empty, words
from ui import runs as shared
from ui.i18n import t
from ui.router import ensure_router
from ui.run_view import chart

ensure_router()
LABEL_KEYS = {"loss": "fig_runs.loss", "val_loss": "fig_runs.val_loss", "val_accuracy": "fig_runs.val_accuracy",
              "baseline_val_loss": "fig_runs.baseline_val_loss", "test_loss": "fig_runs.test_loss",
              "test_accuracy": "fig_runs.test_accuracy", "train_loss": "fig_runs.train_loss",
              "train_accuracy": "fig_runs.train_accuracy"}  # the curves of metaviz.figures.runs.LABELS


def label(key: str, metric: str = "loss") -> str:
    """A curve's name; a loss curve named as runs whose loss is ``metric`` (TaskDistribution.metric) name it."""
    return words.curve_label(key, metric) or (t(LABEL_KEYS[key]) if key in LABEL_KEYS else LABELS.get(key, key))


st.title(t("pg_compare.title"))
st.caption(t("pg_compare.intro"))
store = shared.store()
records = store.runs()
if not records:
    st.info(t("pg_compare.empty"))
    empty.draw(t("pg_speed.empty_compare_title"), t("pg_speed.empty_compare", train=t("nav.train")))
    st.stop()
by_id = {r.id: r for r in records}
labels = {i: shared.label(r) for i, r in by_id.items()}  # looked up now, not by a later format_func
chosen = st.multiselect(t("pg_compare.runs"), list(by_id), default=list(by_id)[:2],
                        format_func=labels.__getitem__, key="compare.runs",
                        placeholder=t("pg_compare.runs_placeholder"))
if not chosen:
    st.info(t("pg_compare.choose"))
    st.stop()
histories = {i: store.history(i) for i in chosen}
metrics = {words.metric_of(by_id[i].task) for i in chosen}
metric = metrics.pop() if len(metrics) == 1 else "loss"  # runs of families that measure different costs: "loss"
keys = [k for k in LABELS if any(k in (h.train if k == "loss" else h.evals) for h in histories.values())]
key = st.segmented_control(t("pg_compare.curve"), keys, default="val_loss" if "val_loss" in keys else keys[0],
                           format_func=lambda k: label(k, metric), key="compare.key") or keys[0]
series = [(t("pg_compare.series", learner=by_id[i].learner, id=i, seed=by_id[i].seed), by_id[i].learner,
           histories[i].train if key == "loss" else histories[i].evals) for i in chosen]
st.plotly_chart(compare_curves(series, key, text=dict(label=label(key, metric), x=t("fig_runs.x"))),
                key="compare.curves")
st.subheader(t("pg_compare.finals"))
shared.table([by_id[i] for i in chosen], store.finals(chosen))
st.caption(t("pg_compare.memory"))

st.subheader(t("pg_compare.seeds"))
base_id = st.selectbox(t("pg_compare.setup"), chosen, format_func=labels.__getitem__,
                       key="compare.base")
left, right = st.columns([1, 3], vertical_alignment="bottom")
n = left.number_input(t("pg_compare.repeats"), 1, 20, 3, key="compare.n", help=t("pg_compare.repeats_help"))
jobs = shared.session_repeats()
busy = any(job.alive for job in jobs)
if right.button(t("pg_compare.seeds"), icon=":material/stacks:", key="compare.repeat",
                disabled=busy or by_id[base_id].kind != "meta",  # repeats meta-train; a search has no Repeats
                help=t("pg_compare.seeds_help")):
    jobs.append(Repeats(store, base_id, int(n)))
    st.rerun()


@st.fragment(run_every=1.0 if busy else None)
def spread(run_id: str) -> None:
    base = store.get(run_id)
    group = store.runs(group_id=base.group_id) if base.group_id else [base]
    for job in jobs:
        if job.error:
            st.error(t("pg_compare.stopped", error=job.error))
    alive = any(job.alive for job in jobs)
    finished = [r for r in group if r.status == "done"]
    if alive:  # the repeats train: a bar, and the seeds done so far drawn (the setup's own run first)
        done, total = len(finished) - 1, max(len(group) - 1, 1)
        st.progress(min(max(done / total, 0.0), 1.0), text=t("pg_compare.training", done=done, total=total))
    if len(finished) < (1 if alive else 2):
        st.info(t("pg_compare.press"))
        return
    finals = store.finals(r.id for r in finished)
    metric = "val_accuracy" if all("val_accuracy" in finals[r.id] for r in finished) else "val_loss"
    result = seed_spread([store.history(r.id) for r in finished], [r.seed for r in finished], metric)
    named = words.metric_of(base.task)
    figure = spread_figure(result, base.learner, text=dict(
        label=label(metric, named), title=t("fig_runs.spread_title"), x=t("fig_runs.x"), seed=t("fig_runs.seed"),
        band=t("fig_runs.band"), mean=t("fig_runs.mean")))
    chart(figure, alive, key="compare.spread")  # the light chart while the panel refreshes every second
    st.metric(t("pg_compare.final", metric=label(metric, named), n=len(finished)),
              f"{result.final_mean:.4g} ± {result.final_std:.2g}")
    if busy and not any(job.alive for job in jobs):
        st.rerun()  # the repeats ended: redraw the page without the polling timer


spread(base_id)
