"""The sidebar every page shares: device badge, device choice and the global seed."""

from __future__ import annotations

import streamlit as st

from metaviz.device import available_devices, device_label, leave_a_core_free
from ui import i18n, state

leave_a_core_free()  # training shares this machine with the web server (and often the browser)


def sidebar() -> None:
    with st.sidebar:
        i18n.selector()
        choices = ["auto", *available_devices()]
        st.selectbox("Device", choices, key=state.DEVICE,
                     help="auto picks CUDA, then Apple MPS, then the CPU. Applies to runs started from now.")
        label = device_label(state.device())
        kind = label.split(":")[0]
        st.badge(label, icon={"cuda": ":material/bolt:", "mps": ":material/bolt:"}.get(kind, ":material/memory:"),
                 color="green" if kind != "cpu" else "blue")
        st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key=state.SEED,
                        help="Seeds task sampling and network initialisation: same seed, same run.")
        st.caption("MetaViz: meta-learning, live.")
