"""Train: pick a task family and a meta-learner, then watch meta-training live."""

import dataclasses

import streamlit as st

from metaviz import learners, tasks
from metaviz.train import TrainConfig
from ui import code, forms, run_view, state
from ui.live import live_panel
from ui.worker import session_worker

st.title("Train a meta-learner")
worker = session_worker()
snap = worker.snapshot()
config = state.run_config()

setup, live = st.columns([1.2, 2.6], gap="large")
with setup:
    task_name = st.selectbox("Task family", tasks.available(), index=tasks.available().index(config.task),
                             format_func=lambda n: tasks.get(n).title or n)
    task_cls = tasks.get(task_name)
    names = learners.available(task_cls.kind)
    learner_name = st.selectbox("Meta-learner", names, format_func=lambda n: learners.get(n).title or n,
                                index=names.index(config.learner) if config.learner in names else 0)
    learner_cls = learners.get(learner_name)
    with st.expander("Task settings"):
        task_config = forms.config_form(config.task_config if config.task == task_name else task_cls.Config(),
                                        f"task.{task_name}")
    with st.expander("Meta-learner settings", expanded=True):
        learner_config = forms.config_form(
            config.learner_config if config.learner == learner_name else learner_cls.Config(),
            f"learner.{learner_name}")
    with st.expander("Training settings"):
        train_config = forms.config_form(config.train if isinstance(config.train, TrainConfig) else TrainConfig(),
                                         "train")
    config = dataclasses.replace(config, task=task_name, learner=learner_name, task_config=task_config,
                                 learner_config=learner_config, train=train_config)
    state.set_run_config(config)

    running_config = snap.config if snap.active else None
    if running_config is not None:  # live settings apply now; the rest wait for a new run
        live_now = dict(meta_lr=config.train.meta_lr, inner_lr=getattr(config.learner_config, "inner_lr", None))
        current = dict(meta_lr=running_config.train.meta_lr,
                       inner_lr=getattr(running_config.learner_config, "inner_lr", None))
        if live_now != current and (task_name, learner_name) == (running_config.task, running_config.learner):
            worker.set(**{k: v for k, v in live_now.items() if v is not None and v != current[k]})
        pending = [label for old, new in ((running_config.task_config, config.task_config),
                                          (running_config.learner_config, config.learner_config),
                                          (running_config.train, config.train))
                   if type(old) is type(new) for label, is_live in forms.changed_fields(old, new) if not is_live]
        if pending or (task_name, learner_name) != (running_config.task, running_config.learner):
            st.warning("Changed settings apply after **Reset**: " + (", ".join(pending) or "task or learner"))

    c1, c2 = st.columns(2)
    c3, c4 = st.columns(2)
    resume = snap.status == "paused"
    if c1.button("Resume" if resume else "Start", type="primary", disabled=snap.live, width="stretch",
                 icon=":material/play_arrow:", key="start",
                 help="Resume the paused run." if resume else "Start a new run with these settings."):
        worker.resume() if resume else worker.start(state.with_globals(config))
    if c2.button("Pause", disabled=snap.status != "running", help="Pause; applies now.", key="pause",
                 icon=":material/pause:", width="stretch"):
        worker.pause()
    if c3.button("Step", help="One meta-iteration, then pause (starts a paused run if none).", key="step",
                 icon=":material/skip_next:", width="stretch", disabled=snap.live and snap.status != "running"):
        if not snap.active:
            worker.start(state.with_globals(config), paused=True)
        worker.step()
    if c4.button("Reset", help="Forget the run; new settings apply to the next Start.", key="reset",
                 icon=":material/restart_alt:", width="stretch"):
        worker.stop()
    if any(st.session_state.get(k) for k in ("start", "pause", "step", "reset")):
        worker.sync(snap.version)
        st.rerun()

with live:
    steps = st.slider("Inner steps to draw", 1, 20, 10, key="mv.draw_steps")

    def render(s):
        run_view.status_row(s)
        run_view.curves(s)
        st.subheader("Adaptation on a held-out task")
        if st.button("Draw a new held-out task", key="new-task"):
            state.next_task_seed()
        run_view.adaptation(s, steps)

    live_panel(worker, render)
    code.explain(learner_cls)
    code.explain(task_cls)
