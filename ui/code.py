"""'How it works' panels: a learner's or task's docstring, and its source."""

from __future__ import annotations

import inspect

import streamlit as st


def explain(cls, label: str | None = None, expanded: bool = False) -> None:
    """The class's docstring (paper, idea, update rule) and, on request, its source file."""
    with st.expander(label or f"How {getattr(cls, 'title', '') or cls.__name__} works", expanded=expanded):
        st.markdown(_as_markdown(inspect.getdoc(cls) or ""))
        if st.toggle("Show code", key=f"code.{cls.__module__}"):
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
