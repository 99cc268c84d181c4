"""'How it works' panels: a learner's or task's docstring, and its source."""

from __future__ import annotations

import inspect

import streamlit as st

from ui import i18n
from ui.i18n import t


def explain(cls, label: str | None = None, expanded: bool = False) -> None:
    """The class's docstring (paper, idea, update rule) and, on request, its source file. The docstring is English
    in the code; another language shows the catalogue's translation under :func:`ui.i18n.doc_key`."""
    if label is None:
        named = getattr(cls, "title", "") or getattr(cls, "name", "")
        label = t("ui_code.how", title=i18n.title(cls) if named else cls.__name__)
    with st.expander(label, expanded=expanded):
        st.markdown(_as_markdown(i18n.plugin_text(i18n.doc_key(cls), inspect.getdoc(cls) or "")))
        if st.toggle(t("ui_code.show_code"), key=f"code.{cls.__module__}"):
            st.code(inspect.getsource(inspect.getmodule(cls)), language="python")


def _as_markdown(doc: str) -> str:
    """Indented blocks (update rules) become code blocks; the rest is markdown."""
    out, block = [], []
    for line in doc.splitlines():
        if line.startswith("    "):
            block.append(line[4:])
            continue
        if block:
            out += ["```text", *block, "```"]
            block = []
        out.append(line)
    if block:
        out += ["```text", *block, "```"]
    return "\n".join(out)
