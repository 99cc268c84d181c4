"""Train: pick a task family and a meta-learner, then watch meta-training live."""

import dataclasses

import streamlit as st

from metaviz import learners, tasks
from ui import code, controls, forms, run_view, share, state
from ui.i18n import t, title
from ui.live import SLOW_REFRESH_SECONDS, live_panel
from ui.router import ensure_router
from ui.worker import session_worker

ensure_router()
KIND_KEYS = {"regression": "pg_train.regression", "classification": "pg_train.classification",
             "reinforcement": "pg_train.reinforcement"}
INPUT_KEYS = {"tokens": "pg_train.input_tokens", "features": "pg_train.input_features"}


def kind(name: str) -> str:
    return t(KIND_KEYS[name]) if name in KIND_KEYS else name


def why_not(learner_cls, task_cls) -> str:
    """A learner this task family cannot run, and the reason: the kind of problem it solves, or else the kind
    of input it reads (text learners on image tasks do classification too: their inputs differ)."""
    if task_cls.kind not in learner_cls.kinds:
        return t("pg_train.only", learner=title(learner_cls), kinds=t("pg_train.and").join(
            kind(k) for k in sorted(learner_cls.kinds)))
    return t("pg_train.inputs_only", learner=title(learner_cls), given=t(INPUT_KEYS[task_cls.input_kind()]),
             inputs=t("pg_train.and").join(t(INPUT_KEYS[k]) for k in sorted(learner_cls.inputs)))


st.title(t("pg_train.title"))
worker = session_worker()
snap = worker.snapshot()
config = state.run_config()

setup, live = st.columns([1.2, 2.6], gap="large")
with live:  # drawn first (the setup only reads widgets): the status and the loss chart, a light figure, come first
    later = run_view.training_panels(worker, snap)
with setup:
    controls.buttons(worker, config)

    # option labels looked up now, not by a format_func called later (AppTest calls it outside the run)
    families = {n: title(tasks.get(n)) for n in tasks.available()}
    task_name = st.selectbox(t("pg_train.family"), list(families), index=list(families).index(config.task),
                             format_func=families.__getitem__, disabled=share.locked("task"))
    task_cls = tasks.get(task_name)
    names = learners.available(task_cls.kind, task_cls.input_kind())
    offered = {n: title(learners.get(n)) for n in names}
    learner_name = st.selectbox(t("pg_train.learner"), names, format_func=offered.__getitem__,
                                index=names.index(config.learner) if config.learner in names else 0,
                                disabled=share.locked("learner"))
    learner_cls = learners.get(learner_name)
    others = [n for n in learners.available() if n not in names]
    if others:
        st.caption(t("pg_train.not_offered", kind=kind(task_cls.kind), learners=t("pg_train.sep").join(
            why_not(learners.get(n), task_cls) for n in others)))
    with st.expander(t("pg_train.task_settings")):
        task_config = forms.config_form(config.task_config if config.task == task_name else task_cls.Config(),
                                        f"task.{task_name}", url="task")
    with st.expander(t("pg_train.learner_settings"), expanded=True):
        learner_config = forms.config_form(
            config.learner_config if config.learner == learner_name else learner_cls.Config(),
            f"learner.{learner_name}", url="learner")
    with st.expander(t("pg_train.train_settings")):
        train_config = forms.config_form(config.train, "train", url="train")
    config = dataclasses.replace(config, task=task_name, learner=learner_name, task_config=task_config,
                                 learner_config=learner_config, train=train_config,
                                 test_task_config=config.test_task_config if config.task == task_name else None)
    state.set_run_config(config)
    share.sync(state.with_globals(config))
    with st.expander(t("pg_train.share"), icon=":material/share:"):
        imported = share.panel(state.with_globals(config))
        if imported is not None:
            share.adopt(imported)
            st.rerun()

    controls.apply_changes(worker, snap, config)


with live:
    live_panel(worker, run_view.adaptation, drawn=snap, interval=SLOW_REFRESH_SECONDS, follows=False, later=later)
    if snap.config is None:
        run_view.task_preview(config)
    code.explain(learner_cls)
    code.explain(task_cls)
