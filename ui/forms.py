"""Widgets generated from config dataclasses (their fields carry :class:`metaviz.config.UI`)."""

from __future__ import annotations

import dataclasses
import math

import streamlit as st

from metaviz.config import UI, Config


def log_grid(lo: float, hi: float, value: float) -> list[float]:
    """1, 2, 5 steps per decade between ``lo`` and ``hi``, plus ``value``."""
    grid = {value}
    for exponent in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for mantissa in (1, 2, 5):
            v = float(f"{mantissa}e{exponent}")
            if lo <= v <= hi:
                grid.add(v)
    return sorted(grid)


def widget(ui: UI, value, key: str, disabled: bool = False):
    """One widget for one field; its state lives under ``key``."""
    label = ui.label + (" ⚡" if ui.live else "")
    help_text = ui.help + (" Changes apply to a running run at once." if ui.live else "")
    common = dict(key=key, help=help_text or None, disabled=disabled)
    if isinstance(value, bool):
        return st.toggle(label, **common)
    if ui.options is not None:
        return st.selectbox(label, ui.options, **common)
    if isinstance(value, str):
        return st.text_input(label, **common).strip()
    if ui.min is None or ui.max is None:
        return st.number_input(label, step=ui.step or (1 if isinstance(value, int) else 0.1), **common)
    if ui.log:
        return st.select_slider(label, options=log_grid(ui.min, ui.max, value), format_func=lambda v: f"{v:g}",
                                **common)
    if isinstance(value, int):
        lo, hi, step = int(ui.min), int(ui.max), int(ui.step or 1)
        if hi - lo <= 100:
            return st.slider(label, lo, hi, step=step, **common)
        return st.number_input(label, lo, hi, step=step, **common)
    return st.slider(label, float(ui.min), float(ui.max), step=float(ui.step or 0.1), **common)


def config_form(config: Config, key: str, disabled: bool = False, url: str | None = None) -> Config:
    """Widgets for every field of ``config``; returns the config they describe.

    ``url``: the field's prefix in shared links ("task", "learner", "train"), through which a link can
    lock a field (shown read-only) or hide it (not shown; its value stays). Values the fields' checks
    reject are reported and the previous config is kept.
    """
    from ui import share

    values = {}
    for field, ui in type(config).ui_fields():
        wkey = f"{key}.{field.name}"
        current = getattr(config, field.name)
        link_key = f"{url}.{field.name}" if url else None
        if link_key and share.hidden(link_key):
            continue
        if link_key and share.locked(link_key):
            st.session_state[wkey] = current  # a locked field always shows the experiment's value
        if wkey not in st.session_state:
            st.session_state[wkey] = current
        values[field.name] = widget(ui, current, wkey, disabled or bool(link_key and share.locked(link_key)))
    try:
        return dataclasses.replace(config, **values)
    except ValueError as error:
        st.error(f"{error}. Keeping the previous value.")
        return config


def changed_fields(old: Config, new: Config) -> list[tuple[str, bool]]:
    """(label, live) of each field that differs between two configs of the same class."""
    return [(ui.label, ui.live) for field, ui in type(old).ui_fields()
            if getattr(old, field.name) != getattr(new, field.name)]
