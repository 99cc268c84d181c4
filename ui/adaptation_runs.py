"""The runs behind the Adaptation page: the session run's checkpoints as the page holds them (or a small default
run), learners it did not train meta-trained briefly, cached analyses and the meta-overfitting pair's workers.

Parameters come from the worker's snapshot checkpoints, held until the page's Refresh, never from the training
thread's live tensors; analyses are cached by the parameters' fingerprint. The caches show no spinner of their
own: a spinner around each call says what is computed in the session's language (only when it takes a while).
"""

from __future__ import annotations

import streamlit as st

from metaviz.analysis import adaptation as an
from metaviz.worker import Snapshot, Worker
from ui import progressive, state
from ui.i18n import t
from ui.worker import session_worker

BRIEF_STEPS = 100
HELD = "adapt.record"  # the checkpoints the page holds until Refresh
STAGES = "adapt.stages"  # analyses computed in stages (first version at once): the last stage of each, by inputs


@st.cache_resource(show_spinner=False, max_entries=4)
def _default_record(seed: int) -> an.RunRecord:
    return an.quick_run(an.default_config(seed))


@st.cache_resource(show_spinner=False, max_entries=32)
def _brief(config, name: str) -> dict:
    return an.brief_train(config, name, BRIEF_STEPS)


@st.cache_data(show_spinner=False, max_entries=32)
def _measure(fn: str, key: str, config, _states, **kw):  # ``key`` (the parameters' fingerprint) stands for _states
    return getattr(an, fn)(config, _states, **kw)


def measure_stages(fn: str, config, states, draw, text, **kw):
    """``metaviz.analysis.adaptation.<fn>(config, states, **kw)``, a stream of stages: its first version is drawn
    at once (``draw(result)``; the final one is the page's to draw), then refined with a progress bar
    (``text(stage)``) and Cancel. The last stage the page saw is held for the session (the final one, or the
    last complete one when cancelled): returns it."""
    key = (fn, an.fingerprint(states), config, tuple(sorted(kw.items())))
    held = st.session_state.setdefault(STAGES, {})
    if key not in held:
        progressive.follow(getattr(an, fn)(config, states, **kw), lambda stage: stage,
                           lambda stage: None if stage.final else draw(stage.result),
                           lambda stage: held.update({key: stage}), text, f"adapt.cancel.{fn}", quiet_s=0.0)
    return held[key]


def forget_stages() -> None:
    """Refresh: the held stages go, so that a cancelled analysis is computed again in full."""
    st.session_state.pop(STAGES, None)


def brief(config, name: str) -> dict:
    """Learner ``name`` meta-trained for ``BRIEF_STEPS`` iterations on ``config``'s tasks (cached)."""
    with st.spinner(t("pg_adapt.spinner_brief", n=BRIEF_STEPS)):
        return _brief(config, name)


def measure(fn: str, config, states, **kw):
    """``metaviz.analysis.adaptation.<fn>(config, states, **kw)``, cached by the parameters' fingerprint."""
    with st.spinner(t("pg_adapt.spinner_measure")):
        return _measure(fn, an.fingerprint(states), config, states, **kw)


def held_record(refresh: bool) -> tuple[an.RunRecord | None, an.RunRecord]:
    """The session run's checkpoints as read now (None without a run) and as the page holds them: read again on
    ``refresh`` or when the run changed; the default run's when the session has none."""
    fresh, held = an.record_from_snapshot(session_worker().snapshot()), st.session_state.get(HELD)
    if fresh is not None and (refresh or held is None or not an.same_run(held, fresh)):
        st.session_state[HELD] = held = fresh
    if fresh is None:
        with st.spinner(t("pg_adapt.spinner_default")):
            held = _default_record(state.seed())
    return fresh, held


@st.cache_resource(scope="session", on_release=lambda pair: [w.close() for w in pair], show_spinner=False)
def pair_workers() -> tuple[Worker, Worker]:
    """The two background runs of the meta-overfitting comparison, owned by this browser session."""
    return Worker(), Worker()


def pair_label(snap: Snapshot) -> str:
    """One run of the pair: its number of distinct meta-training tasks and its progress."""
    total = snap.config.train.n_steps
    if distinct := snap.config.train.distinct_tasks:
        return t("pg_adapt.pair_label", n=distinct, step=snap.step, total=total)
    return t("pg_adapt.pair_unlimited", step=snap.step, total=total)
