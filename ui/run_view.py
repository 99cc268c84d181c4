"""Drawing a run's snapshot: status, metrics, curves and the adaptation view."""

from __future__ import annotations

import streamlit as st

from metaviz import learners, tasks
from metaviz.analysis.adaptation import adaptation_curves
from metaviz.figures.adaptation import adaptation_figure
from metaviz.figures.curves import accuracy_curves, loss_curves, steps_curve
from metaviz.worker import Snapshot
from ui import state


def memo(name: str, key, compute):
    """``compute()``, kept in this session until ``key`` changes (live views redraw often)."""
    slot = f"mv.memo.{name}"
    held = st.session_state.get(slot)
    if held is None or held[0] != key:
        held = (key, compute())
        st.session_state[slot] = held
    return held[1]


STATUS = {"idle": ("No run yet", "gray"), "starting": ("starting", "blue"), "running": ("running", "green"),
          "stepping": ("stepping", "orange"),
          "paused": ("paused", "orange"), "done": ("done", "violet"), "diverged": ("diverged", "red"),
          "error": ("error", "red")}


def status_row(snap: Snapshot) -> None:
    label, color = STATUS[snap.status]
    total = snap.config.train.n_steps if snap.config else 0
    cols = st.columns(4)
    cols[0].metric("Meta-iterations", f"{snap.step} / {total}" if total else "0")
    cols[1].metric("Tasks per second", f"{snap.tasks_per_second:,.0f}")
    cols[2].metric("Device", snap.device.split(":")[0] if snap.device else "–")
    with cols[3]:
        st.markdown("**Status**")
        st.badge(label, color=color)
    if snap.status in ("diverged", "error"):
        st.error(snap.message, icon=":material/error:")


def curves(snap: Snapshot) -> None:
    if not snap.config:
        st.info("Press **Start** to meta-train. The curves and the adaptation view fill in live.")
        return
    classification = tasks.get(snap.config.task).kind == "classification"
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(loss_curves(snap.train, snap.evals, snap.config.learner), key="train-loss")
    ev = snap.last_eval
    with right:
        if classification:
            n_way = snap.config.task_config.n_way
            st.plotly_chart(accuracy_curves(snap.evals, snap.config.learner, n_way), key="train-accuracy")
        if ev is not None and learners.get(snap.config.learner).has_inner_loop:  # one-pass learners: flat
            metric = "accuracy" if classification else "loss"

            def build():
                base = None if ev.baseline_val is None else getattr(ev.baseline_val, metric)
                return steps_curve(getattr(ev.val, metric), base, snap.config.learner, metric)

            st.plotly_chart(memo("steps-curve", (snap.config, ev.step), build), key="train-steps")


def adaptation(snap: Snapshot) -> None:
    """The inner loop on one held-out task, from the latest parameters."""
    ckpt = snap.checkpoint
    if ckpt is None:
        return
    st.subheader("Adaptation on a held-out task")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    steps = left.slider("Inner steps to draw", 1, 20, 10, key="mv.draw_steps",
                        help="Training uses the learner's own number of inner steps; here you may look further.")
    if right.button("New held-out task", key="new-task", icon=":material/casino:", width="stretch"):
        state.next_task_seed()
    task_cls = tasks.get(ckpt.config.task)
    if task_cls.kind != "regression":
        return
    def compute():
        states = {ckpt.config.learner: ckpt.learner}
        if ckpt.baseline is not None:
            states["pretrained"] = ckpt.baseline
        result = adaptation_curves(ckpt.config, states, state.task_seed(), steps=steps)
        return result, adaptation_figure(result)

    # recomputed only when the parameters (about once a second) or the view change
    result, figure = memo("adaptation", (snap.config, ckpt.step, ckpt.config, state.task_seed(), steps), compute)
    st.caption(f"Held-out task #{state.task_seed()}: amplitude {result.task_truth['amplitude']:.2f}, "
               f"phase {result.task_truth['phase']:.2f}; inner learning rate {result.inner_lr:g}; "
               f"parameters from meta-iteration {ckpt.step}.")
    st.plotly_chart(figure, key="train-adaptation")
