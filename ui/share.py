"""Teacher mode: the experiment in the URL, and controls a link can lock or hide.

A link such as

    /train?task=omniglot&learner=protonet&task.n_way=20&train.meta_batch=4&seed=3&lock=learner,train.*&hide=task.*

opens the Train page with that experiment, with the learner picker and every
training setting read-only and the task settings hidden. Only values that
differ from the defaults go into the URL, so links stay short. Field keys are
``task.<field>``, ``learner.<field>`` and ``train.<field>`` (the names in the
config dataclasses); ``lock`` and ``hide`` take comma-separated keys, where
``train.*`` means every training field and ``task`` / ``learner`` the pickers.
Locks live in the session once read, so they hold on every page of the visit
even after the URL changes.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from collections.abc import Mapping
from urllib.parse import urlencode

import streamlit as st

from metaviz import learners, tasks
from metaviz.messages import KeyedError
from metaviz.train import SEED_MAX, RunConfig
from ui import state
from ui.i18n import said, t

SECTIONS = {"task": "task_config", "learner": "learner_config", "train": "train"}  # URL prefix -> RunConfig field
KEPT = ("lang", "present", "plan")  # the session's language and presenter mode (ui.presenter)
CONTROL = ("lock", "hide", *KEPT)  # query parameters that are not part of the experiment
LOCK, HIDE, READ, ADOPT = "mv.lock", "mv.hide", "mv.url_read", "mv.adopt"


def encode(config: RunConfig) -> dict[str, str]:
    """Query parameters for ``config``: task, learner, seed and each field that is not at its default."""
    out = {"task": config.task, "learner": config.learner}
    if config.seed:
        out["seed"] = str(config.seed)
    for prefix, attr in SECTIONS.items():
        value = getattr(config, attr)
        default = type(value)()
        for field in dataclasses.fields(value):
            if getattr(value, field.name) != getattr(default, field.name):
                out[f"{prefix}.{field.name}"] = str(getattr(value, field.name))
    return out


def decode(params: Mapping[str, str]) -> RunConfig:
    """The RunConfig that ``params`` describe; ValueError naming the key for anything unusable (with a
    catalogue key where this module wrote the message: :mod:`metaviz.messages`)."""
    task = params.get("task", RunConfig.task)
    learner = params.get("learner", RunConfig.learner)
    if task not in tasks.available():
        raise KeyedError(f"task={task!r} is not a task family; choose one of {tasks.available()}",
                         "ui_share.bad_task", task=repr(task), choices=str(tasks.available()))
    if learner not in learners.available():
        raise KeyedError(f"learner={learner!r} is not a meta-learner; choose one of {learners.available()}",
                         "ui_share.bad_learner", learner=repr(learner), choices=str(learners.available()))
    sections: dict[str, dict[str, str]] = {p: {} for p in SECTIONS}
    for key, value in params.items():
        prefix, _, name = key.partition(".")
        if prefix in SECTIONS and name:
            sections[prefix][name] = value
    base = RunConfig(task=task, learner=learner)
    try:
        seed = int(params.get("seed", 0))
    except ValueError:
        raise KeyedError(f"seed={params['seed']!r} is not a whole number", "ui_share.bad_seed",
                         seed=repr(params["seed"])) from None
    if not 0 <= seed <= SEED_MAX:
        raise KeyedError(f"seed={seed} must be a whole number from 0 to {SEED_MAX}", "sec.seed_range",
                         seed=str(seed), max=str(SEED_MAX))
    parts = {attr: type(getattr(base, attr)).from_dict(sections[p]) for p, attr in SECTIONS.items()}
    return dataclasses.replace(base, seed=seed, **parts)


def _keys(value: str | None) -> tuple[str, ...]:
    return tuple(k.strip() for k in (value or "").split(",") if k.strip())


def adopt(config: RunConfig) -> None:
    """Switch the session to ``config`` (an imported experiment) from the next run on."""
    st.session_state[ADOPT] = config


def _apply(config: RunConfig) -> None:
    # before any widget of this run exists: widget keys may still be written
    for key in [k for k in st.session_state if str(k).split(".")[0] in SECTIONS]:
        del st.session_state[key]  # the forms then start from the new config's values
    state.set_run_config(config)
    st.session_state[state.SEED] = config.seed


def restore() -> None:
    """Call before the sidebar: on a session's first run, take the experiment, locks and hidden controls
    from the URL; later, switch to an experiment that ``adopt`` queued."""
    if ADOPT in st.session_state:
        _apply(st.session_state.pop(ADOPT))
    if st.session_state.get(READ):
        return
    st.session_state[READ] = True
    params = {k: st.query_params[k] for k in st.query_params}
    st.session_state[LOCK], st.session_state[HIDE] = _keys(params.get("lock")), _keys(params.get("hide"))
    if not set(params) - set(CONTROL):
        return
    try:
        config = decode(params)
    except ValueError as error:
        st.toast(t("ui_share.link_failed", error=said(error)), icon=":material/link_off:")
        return
    _apply(config)


def _matches(key: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def locked(key: str) -> bool:
    """Whether the control for ``key`` (for example "learner" or "train.meta_lr") is read-only."""
    return _matches(key, st.session_state.get(LOCK, ()))


def hidden(key: str) -> bool:
    return _matches(key, st.session_state.get(HIDE, ()))


def sync(config: RunConfig) -> None:
    """Write ``config`` (and the locks in force) into the URL, so that the address bar is a link to it."""
    params = encode(config)
    for name, keys in (("lock", st.session_state.get(LOCK, ())), ("hide", st.session_state.get(HIDE, ()))):
        if keys:
            params[name] = ",".join(keys)
    for name in KEPT:  # the language and presenter mode stay as they are
        if name in st.query_params:
            params[name] = st.query_params[name]
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def export_json(config: RunConfig) -> str:
    return json.dumps(config.to_dict(), indent=2)


def import_json(data: bytes) -> RunConfig:
    """A RunConfig from an exported experiment file; ValueError with the reason otherwise."""
    if len(data) > 100_000:
        raise KeyedError("an experiment file is a few kB of JSON; this one is too large", "ui_share.too_large")
    try:
        return RunConfig.from_dict(json.loads(data))
    except (ValueError, KeyError, TypeError, RecursionError) as error:  # RecursionError: "[[[[..." nested deep
        raise KeyedError(f"not a MetaViz experiment file: {error}", "ui_share.not_experiment",
                         error=str(error)) from None


def panel(config: RunConfig) -> RunConfig | None:
    """"Share" controls: a link to this experiment with chosen controls locked or hidden, and export
    and import as JSON. Returns an imported config to switch to, if any."""
    keys = ["task", "learner", *(f"{p}.{f.name}" for p, attr in SECTIONS.items()
                                 for f, _ in type(getattr(config, attr)).ui_fields())]
    lock = st.multiselect(t("ui_share.lock"), keys, default=[k for k in keys if locked(k)], key="share.lock",
                          help=t("ui_share.lock_help"))
    hide = st.multiselect(t("ui_share.hide"), keys, default=[k for k in keys if hidden(k)], key="share.hide")
    params = encode(config) | ({"lock": ",".join(lock)} if lock else {}) | ({"hide": ",".join(hide)} if hide else {})
    base = (st.context.url or "").split("?")[0]

    st.code(f"{base}?{urlencode(params, safe=',*')}", language=None, wrap_lines=True)
    st.download_button(t("ui_share.export"), export_json(config), mime="application/json",
                       file_name=f"{config.learner}-{config.task}.json", icon=":material/download:")
    upload = st.file_uploader(t("ui_share.import"), type=["json"], key="share.import")
    if upload is not None and st.session_state.get("share.imported") != upload.file_id:
        st.session_state["share.imported"] = upload.file_id
        try:
            return import_json(upload.getvalue())
        except ValueError as error:
            st.error(said(error))
    return None
