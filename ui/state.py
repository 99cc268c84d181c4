"""Session keys. Experiment settings live in plain (non-widget) keys, so they survive
page switches, which drop the state of widgets that are not on screen."""

from __future__ import annotations

import dataclasses

import streamlit as st

from metaviz.train import RunConfig

RUN_CONFIG = "mv.run_config"
SEED = "mv.seed"
DEVICE = "mv.device"
TASK_SEED = "mv.task_seed"


def run_config() -> RunConfig:
    """The experiment being set up on the Train page (not necessarily the one running)."""
    if RUN_CONFIG not in st.session_state:
        st.session_state[RUN_CONFIG] = RunConfig()
    return st.session_state[RUN_CONFIG]


def set_run_config(config: RunConfig) -> None:
    st.session_state[RUN_CONFIG] = config


def seed() -> int:
    return int(st.session_state.get(SEED, 0))


def device() -> str:
    return st.session_state.get(DEVICE, "auto")


def with_globals(config: RunConfig) -> RunConfig:
    """The config with the sidebar's seed and device filled in."""
    return dataclasses.replace(config, seed=seed(), device=device())


def task_seed() -> int:
    return int(st.session_state.get(TASK_SEED, 0))


def next_task_seed() -> None:
    st.session_state[TASK_SEED] = task_seed() + 1


PRESENT = "present"  # the query parameter of presenter mode (ui.presenter)


def presenting() -> bool:
    """Whether the page is shown in presenter mode (``?present=1``)."""
    return st.query_params.get(PRESENT) == "1"
