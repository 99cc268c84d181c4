"""A webcam as a third way to bring examples (``st.camera_input``), as in Teachable Machine: hold up an object,
take a picture, add it to its class; repeat; then take pictures to classify.

A picture is a JPEG the browser sends; it goes through the same ingestion as an uploaded file
(``uploads.example_from_bytes``: the size limit, only the image decoders, the pixel limit, the reasons named),
and is kept, like every upload, in the session's memory only. The browser asks once for the camera; a user who
says no (or has no camera) sees the browser's own message in the widget and can still upload or draw.
"""

from __future__ import annotations

import streamlit as st

from metaviz.data import uploads
from metaviz.data.uploads import Preprocessing
from ui import examples
from ui.i18n import said, t


def camera_panel(spec: Preprocessing) -> None:
    f = examples.files()
    left, right = st.columns([1.3, 1], gap="large")
    with left:
        shot = st.camera_input(t("ui_camera.take"), key=f"own.camera.{f.widget}", help=t("ui_camera.take_help"))
    with right:
        names = list(f.classes)
        name = st.text_input(t("ui_camera.class"), value=names[-1] if names else "", key=f"own.camera_class.{f.widget}",
                             placeholder=t("ui_examples.class_name_example"), help=t("ui_camera.class_help"))
        add, query = st.columns(2)
        to_class = add.button(t("ui_canvas.add"), key="own.camera_add", icon=":material/add:", width="stretch",
                              disabled=shot is None)
        as_query = query.button(t("ui_canvas.query"), key="own.camera_query", icon=":material/help:",
                                width="stretch", disabled=shot is None)
        st.caption(t("ui_camera.how"))
    if shot is None or not (to_class or as_query):
        return
    data = shot.getvalue()
    file = f"camera-{f.photos + 1}.jpg"
    try:
        uploads.example_from_bytes(file, data, spec)  # too big, not an image, too many pixels: said here, now
    except ValueError as error:
        st.error(t("ui_camera.unusable", file=file, reason=said(error)))
        return
    if as_query:
        examples.add_queries([(file, data)])
    elif name.strip():
        examples.add_class(name, [(file, data)])
    else:
        st.error(t("ui_examples.name_first"))
        return
    f.photos += 1
    st.rerun()
