"""The sidebar every page shares: device badge, device choice and the global seed."""

from __future__ import annotations

import streamlit as st

from metaviz.device import available_devices, device_label, leave_a_core_free
from ui import i18n, presenter, state
from ui.i18n import t

leave_a_core_free()  # training shares this machine with the web server (and often the browser)


def device_badge(label: str) -> str:
    """The engine's device label (``cpu: 2 threads``, ``cuda: NVIDIA H100``) in the session's language: the
    CPU's thread count is worded here, GPU names stay as they are."""
    kind, _, rest = label.partition(":")
    threads = rest.split()[0] if kind == "cpu" and rest.split() and rest.split()[0].isdigit() else None
    if threads is None:
        return label
    return t("ui_sidebar.cpu_one") if threads == "1" else t("ui_sidebar.cpu_threads", n=threads)


def sidebar() -> None:
    with st.sidebar:
        i18n.selector()
        # option labels are looked up now: a format_func reading the session's language later (AppTest calls
        # it outside the script run) would not find it
        shown = {"auto": t("ui_sidebar.auto")} | {d: d for d in available_devices()}
        st.selectbox(t("ui_sidebar.device"), list(shown), key=state.DEVICE, format_func=shown.__getitem__,
                     help=t("ui_sidebar.device_help"))
        label = device_label(state.device())
        kind = label.split(":")[0]
        st.badge(device_badge(label),
                 icon={"cuda": ":material/bolt:", "mps": ":material/bolt:"}.get(kind, ":material/memory:"),
                 color="green" if kind != "cpu" else "blue")
        st.number_input(t("ui_sidebar.seed"), min_value=0, max_value=2**31 - 1, step=1, key=state.SEED,
                        help=t("ui_sidebar.seed_help"))
        presenter.switch()
        st.caption(t("ui_sidebar.tagline"))
