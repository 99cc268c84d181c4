"""Meta-RL: reinforcement-learning tasks meta-trained live; trajectories on a held-out goal before and after
policy-gradient steps beside the pretrained baseline, and a bandit trial's regret beside UCB1 and Thompson."""

import dataclasses

import streamlit as st

from metaviz import learners, tasks
from metaviz.analysis.rl import bandit_trial, trajectories
from metaviz.figures.rl import bandit_figure, trajectory_figure
from metaviz.train import RunConfig, TrainConfig
from ui import code, controls, forms, run_view, state, words
from ui.i18n import current, t, title
from ui.live import SLOW_REFRESH_SECONDS, live_panel
from ui.router import ensure_router
from ui.worker import session_worker

ensure_router()
N_BANDITS = 50
START = RunConfig(task="navigation", learner="maml_rl",
                  train=TrainConfig(meta_batch=20, hidden=64, n_steps=500, eval_every=10, n_eval_tasks=20,
                                    eval_steps=3))


st.title(t("pg_rl.title"))
st.markdown(t("pg_rl.intro"))
worker = session_worker()
snap = worker.snapshot()
config = state.run_config()
rl_families = [n for n in tasks.available() if tasks.get(n).kind == "reinforcement"]
if config.task not in rl_families:
    config = START

setup, live = st.columns([1.2, 2.6], gap="large")
with live:  # drawn first (the setup only reads widgets): the status and the loss chart, a light figure, come first
    later = run_view.training_panels(worker, snap)
with setup:
    controls.buttons(worker, config)
    families = {n: title(tasks.get(n)) for n in rl_families}
    task_name = st.selectbox(t("pg_rl.family"), rl_families, index=rl_families.index(config.task),
                             format_func=families.__getitem__, key="rl.family")
    names = learners.available("reinforcement")
    offered = {n: title(learners.get(n)) for n in names}
    learner_name = st.selectbox(t("pg_rl.learner"), names, format_func=offered.__getitem__, key="rl.learner",
                                index=names.index(config.learner) if config.learner in names else 0)
    task_cls, learner_cls = tasks.get(task_name), learners.get(learner_name)
    with st.expander(t("pg_rl.task_settings")):
        task_config = forms.config_form(config.task_config if config.task == task_name else task_cls.Config(),
                                        f"rl.task.{task_name}")
    with st.expander(t("pg_rl.learner_settings"), expanded=True):
        learner_config = forms.config_form(
            config.learner_config if config.learner == learner_name else learner_cls.Config(),
            f"rl.learner.{learner_name}")
    with st.expander(t("pg_rl.train_settings")):
        train_config = forms.config_form(config.train, "rl.train")
    config = dataclasses.replace(config, task=task_name, learner=learner_name, task_config=task_config,
                                 learner_config=learner_config, train=train_config, test_task_config=None)
    state.set_run_config(config)
    controls.apply_changes(worker, snap, config)


def behaviour(snap) -> None:
    """Trajectories on a held-out goal (navigation) or a bandit trial against UCB1 and Thompson sampling."""
    ckpt = snap.checkpoint
    if ckpt is None or ckpt.config.task not in rl_families:
        st.info(t("pg_rl.press_start"))
        return
    cfg = ckpt.config
    if cfg.task == "navigation":
        states = {cfg.learner: ckpt.learner}
        if ckpt.baseline is not None:
            states[learners.get(cfg.learner).baseline_learner] = ckpt.baseline
        result = run_view.memo("rl-paths", (cfg, ckpt.step, state.task_seed(), current()),
                               lambda: trajectories(cfg, states, state.task_seed(), steps=3))
        names = {n: title(learners.get(n)) for n in result.paths}
        st.plotly_chart(trajectory_figure(result, words.rl_paths(), names), key="rl-paths")
        st.caption(t("pg_rl.paths_caption", step=ckpt.step))
    else:
        result = run_view.memo("rl-bandit", (cfg, ckpt.step, state.task_seed(), current()),
                               lambda: bandit_trial(cfg, ckpt.learner, N_BANDITS, state.task_seed()))
        names = {n: title(learners.get(n)) for n in result.regret if n in learners.available()}
        st.plotly_chart(bandit_figure(result, N_BANDITS, words.rl_bandit(), names), key="rl-bandit")
        st.caption(t("pg_rl.bandit_caption", step=ckpt.step))


with live:
    if st.button(t("pg_rl.new_goal"), key="rl-new-task", icon=":material/casino:"):
        state.next_task_seed()
    live_panel(worker, behaviour, drawn=snap, interval=SLOW_REFRESH_SECONDS, follows=False, later=later)
    code.explain(learner_cls)
    code.explain(task_cls)
