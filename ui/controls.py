"""The run controls of the Train page, and which setting changes apply now."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from metaviz.train import RunConfig
from metaviz.worker import Snapshot, Worker
from ui import forms, state
from ui.i18n import t

FIRST_POINT_WAIT = 0.5  # seconds; the default sine run's first meta-iteration takes a few milliseconds
JUST_STARTED = "mv.just_started"  # set by Start for the page run that follows it


def just_started() -> bool:
    """Whether this page run is the one right after Start (asked once: the answer is then forgotten)."""
    return bool(st.session_state.pop(JUST_STARTED, False))


def buttons(worker: Worker, config: RunConfig) -> None:
    """Start or Resume, Pause, Step and Reset; each says in its help when it applies.

    A fragment: a click reruns the buttons alone, and only a command that changes whether the page polls
    (Start, Resume, Step, Reset) reruns the whole page. Pause, the one pressed while training runs at full
    speed, redraws just the buttons; the live panels see the paused run at their next refresh and stop polling.
    """
    _buttons(worker, config)


@st.fragment
def _buttons(worker: Worker, config: RunConfig) -> None:
    snap = worker.snapshot()  # fresh: the fragment reruns without the page
    c1, c2 = st.columns(2)
    c3, c4 = st.columns(2)
    resume = snap.status == "paused"
    sent, started, paused = [], False, False
    if c1.button(t("ui_controls.resume") if resume else t("ui_controls.start"), type="primary", disabled=snap.live,
                 width="stretch", icon=":material/play_arrow:", key="start",
                 help=t("ui_controls.resume_help") if resume else t("ui_controls.start_help")):
        sent.append(worker.resume() if resume else worker.start(state.with_globals(config)))
        started = not resume
    if c2.button(t("ui_controls.pause"), disabled=not snap.live, help=t("ui_controls.pause_help"), key="pause",
                 icon=":material/pause:", width="stretch"):
        sent.append(worker.pause())
        paused = True
    if c3.button(t("ui_controls.step"), help=t("ui_controls.step_help"), key="step",
                 icon=":material/skip_next:", width="stretch"):
        if not snap.active:
            worker.start(state.with_globals(config), paused=True)
        sent.append(worker.step())
    if c4.button(t("ui_controls.reset"), help=t("ui_controls.reset_help"), key="reset",
                 icon=":material/restart_alt:", width="stretch"):
        sent.append(worker.stop())
    if not sent:
        return
    worker.sync(sent[-1])
    if started:  # give the first meta-iteration a moment, so that the redrawn page has a first point
        st.session_state[JUST_STARTED] = True
        try:
            worker.wait(lambda s: s.step > 0 or not s.live, timeout=FIRST_POINT_WAIT)
        except TimeoutError:  # a slow first step (a big network): the live panel will show it
            pass
    if paused:
        try:
            st.rerun(scope="fragment")
        except StreamlitAPIException:  # the click arrived with a whole-page run: redraw the page
            pass
    st.rerun()  # the whole page (buttons, polling timers) from the state the command produced


def apply_changes(worker: Worker, snap: Snapshot, config: RunConfig) -> None:
    """Send live settings (learning rates) to the running run; list the ones that wait for a Reset."""
    running_config = snap.config if snap.active else None
    if running_config is not None:  # live settings apply now; the rest wait for a new run
        live_now = dict(meta_lr=config.train.meta_lr, inner_lr=getattr(config.learner_config, "inner_lr", None))
        current = dict(meta_lr=running_config.train.meta_lr,
                       inner_lr=getattr(running_config.learner_config, "inner_lr", None))
        if live_now != current and (config.task, config.learner) == (running_config.task, running_config.learner):
            worker.set(**{k: v for k, v in live_now.items() if v is not None and v != current[k]})
        pending = [label for old, new in ((running_config.task_config, config.task_config),
                                          (running_config.learner_config, config.learner_config),
                                          (running_config.train, config.train))
                   if type(old) is type(new) for label, is_live in forms.changed_fields(old, new) if not is_live]
        if pending or (config.task, config.learner) != (running_config.task, running_config.learner):
            st.warning(t("ui_controls.pending", reset=t("ui_controls.reset"),
                         settings=t("ui_controls.list_sep").join(pending) or t("ui_controls.task_or_learner")))

