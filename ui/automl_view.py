"""The AutoML lab's views of one search, live (the AutoML page) or stored (the Runs page): its status, the best
validation loss against random and grid search at equal compute, the learned hyperparameters per layer, DARTS's
architecture weights per edge and the derived cell, and the final choices retrained and scored on the test split.
Each view takes an :class:`~metaviz.automl.worker.AutoMLSnapshot` and a ``key`` prefix for its charts."""

from __future__ import annotations

import numpy as np
import streamlit as st

from metaviz import automl
from metaviz.automl.search import BASELINES
from metaviz.automl.space import SPACES
from metaviz.automl.worker import FIELDS, curve
from metaviz.figures.automl import alpha_figure, cell_figure, hyperparameter_figure, result_figure, search_figure
from ui import status
from ui.i18n import t

METHOD_KEYS = {"unrolled": "pg_automl.method.unrolled", "implicit": "pg_automl.method.implicit",
               "random_search": "pg_automl.method.random_search", "grid_search": "pg_automl.method.grid_search",
               "darts": "pg_automl.method.darts", "random_nas": "pg_automl.method.random_nas"}
WORDS = {"idle": "pg_automl.idle", "queued": "pg_automl.queued", "running": "pg_automl.running",
         "stepping": "pg_automl.running", "paused": "pg_automl.paused", "done": "pg_automl.done",
         "stopped": "pg_automl.stopped", "error": "pg_automl.error"}


def method_name(name: str) -> str:
    return t(METHOD_KEYS[name]) if name in METHOD_KEYS else name


def searches(snap) -> list[tuple[str, tuple, object]]:
    """(label, outer steps, final result) of the method and each of its baselines, in that order."""
    kind = automl.get(snap.config.method).kind
    out = [(method_name(snap.config.method), snap.steps, snap.result)]
    for who, name in BASELINES[kind].items():
        events, result = (getattr(snap, f) for f in FIELDS[who])
        out.append((t("pg_automl.equal", method=method_name(name)), events, result))
    return out


def status_row(snap) -> None:
    compute = snap.steps[-1].compute_steps if snap.steps else 0
    if snap.status in WORDS:
        st.caption(t(WORDS[snap.status], step=len(snap.steps), compute=compute))
    else:  # a stored run's status (interrupted, ...)
        st.caption(status.label(snap.status))
    if snap.status == "error":
        st.error(snap.message)
    if snap.problem:
        st.warning(snap.problem)


def search_view(snap, key: str = "automl") -> None:
    if not snap.steps:
        return
    curves = {name: curve(events) for name, events, _ in searches(snap)}
    st.plotly_chart(search_figure(curves, dict(title=t("pg_automl.search_title"), x=t("pg_automl.compute"),
                                               y=t("pg_automl.val_loss"))), key=f"{key}-search")
    finished = [(name, result) for name, _, result in searches(snap) if result is not None]
    if snap.result is not None and len(finished) > 1:
        accuracy = snap.result.test_accuracy is not None
        rows = [(name, result.test_accuracy if accuracy else result.test_loss) for name, result in finished]
        st.plotly_chart(result_figure(rows, dict(title=t("pg_automl.result_title"), y=t(
            "pg_automl.test_accuracy" if accuracy else "pg_automl.test_loss"))), key=f"{key}-result")


def hyper_view(snap, key: str = "automl") -> None:
    if not snap.steps:
        return
    steps = [e.step for e in snap.steps]
    h = [e.hyperparameters for e in snap.steps]
    if np.asarray(h[0]["weight_decay"]).size > 1 or np.ndim(h[0].get("lr", 0)) == 2:  # per layer
        lr = np.stack([np.asarray(x["lr"]).mean(0) for x in h]) if "lr" in h[0] else None
        wd = np.stack([x["weight_decay"] for x in h])
        layers = [f"{t('pg_automl.layer')} {i + 1}" for i in range(wd.shape[1])]
    else:  # one trial's shared learning rate and weight decay
        lr, wd = np.stack([x["lr"] for x in h]), np.stack([x["weight_decay"] for x in h])
        layers = [t("pg_automl.trial")]
    st.plotly_chart(hyperparameter_figure(steps, lr, wd, layers, dict(
        title=t("pg_automl.hyper_title"), lr=t("pg_automl.lr"), wd=t("pg_automl.wd"), x=t("pg_automl.outer")),
        uirevision=f"{key}-h"), key=f"{key}-hyper")


def arch_view(snap, key: str = "automl") -> None:
    config = snap.config.method_config
    ops = SPACES[getattr(config, "space", "vector")]
    if snap.steps and snap.config.method == "darts":
        alpha = snap.steps[-1].hyperparameters["alpha"]
        st.plotly_chart(alpha_figure(alpha, config.nodes, dict(
            title=t("pg_automl.alpha_title", step=snap.steps[-1].step), x=t("pg_automl.edge"),
            y=t("pg_automl.weight")), uirevision=f"{key}-a", ops=ops), key=f"{key}-alpha")
    if snap.result is not None and "choice" in snap.result.hyperparameters:
        st.plotly_chart(cell_figure(snap.result.hyperparameters["choice"], config.nodes,
                                    dict(title=t("pg_automl.cell_title"), input=t("pg_automl.input")), ops=ops),
                        key=f"{key}-cell")


def detail_view(snap, key: str = "automl") -> None:
    """The method's own view: architecture weights and cell for an architecture search, else hyperparameters."""
    if automl.get(snap.config.method).kind == "architecture":
        arch_view(snap, key)
    else:
        hyper_view(snap, key)


def stored(snap, key: str = "runs") -> None:
    """A stored search, on the Runs page: every view once, and what each search chose."""
    status_row(snap)
    left, right = st.columns(2)
    with left:
        search_view(snap, key)
    with right:
        detail_view(snap, key)
    for name, _, result in searches(snap):
        if result is not None:
            st.caption(t("pg_automl.chose", method=name))
            st.json(result.hyperparameters, expanded=False)
