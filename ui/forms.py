"""Widgets generated from config dataclasses (their fields carry :class:`metaviz.config.UI`).

A field's label, help and string options are English in the code that declares it (one idea, one file); in
another language they come from the catalogue under keys derived from the declaring class and the field
(:func:`ui.i18n.field_key`, :func:`ui.i18n.option_key`).
"""

from __future__ import annotations

import dataclasses
import math

import streamlit as st

from metaviz.config import UI, Config
from ui import i18n
from ui.i18n import t


def log_grid(lo: float, hi: float, value: float) -> list[float]:
    """1, 2, 5 steps per decade between ``lo`` and ``hi``, plus ``value``."""
    grid = {value}
    for exponent in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for mantissa in (1, 2, 5):
            v = float(f"{mantissa}e{exponent}")
            if lo <= v <= hi:
                grid.add(v)
    return sorted(grid)


def widget(ui: UI, value, key: str, disabled: bool = False, config_cls: type[Config] | None = None,
           name: str = ""):
    """One widget for one field; its state lives under ``key``. With ``config_cls`` and the field's ``name``, its
    label, help and string options are shown in the session's language."""
    label, help_text, lang = ui.label, ui.help, i18n.current()
    if config_cls is not None:
        field = i18n.field_key(config_cls, name)
        label, help_text = i18n.plugin_text(field, ui.label), i18n.plugin_text(field + ".help", ui.help)

    def show(option) -> str:
        """A selectbox keeps the code's values and shows them translated, in the language it was drawn in (Streamlit
        may format an option again outside the script run, where the session's language cannot be read)."""
        return str(option) if config_cls is None else i18n.option_text(config_cls, name, option, lang)

    if ui.live:
        label += " ⚡"
        help_text = t("ui_forms.live_help", help=help_text).strip()
    common = dict(key=key, help=help_text or None, disabled=disabled)
    if isinstance(value, bool):
        return st.toggle(label, **common)
    if ui.options is not None:
        return st.selectbox(label, ui.options, format_func=show, **common)
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
        values[field.name] = widget(ui, current, wkey, disabled or bool(link_key and share.locked(link_key)),
                                   type(config), field.name)
    try:
        return dataclasses.replace(config, **values)
    except ValueError as error:
        st.error(t("ui_forms.invalid", error=error))
        return config


def changed_fields(old: Config, new: Config) -> list[tuple[str, bool]]:
    """(label in the session's language, live) of each field that differs between two configs of the same class."""
    return [(i18n.plugin_text(i18n.field_key(type(old), field.name), ui.label), ui.live)
            for field, ui in type(old).ui_fields() if getattr(old, field.name) != getattr(new, field.name)]
