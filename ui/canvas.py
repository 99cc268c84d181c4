"""A drawing canvas for new symbols and queries (``streamlit-drawable-canvas``).

Draw one example, name its class, and add it; draw another of the same or of a new class; then draw
a query. A drawing goes through the same ingestion as an uploaded file (``uploads.drawing_png``).
The pen is sized for Omniglot: its characters are drawn in a 105-pixel box with strokes about 3 to 4
pixels wide, so a 210-pixel canvas gets a pen of 8 (wider strokes look unlike the training data).
"""

from __future__ import annotations

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from metaviz.data import uploads
from metaviz.data.uploads import Preprocessing
from ui import examples
from ui.i18n import said, t

SIZE = 210
PEN = 8


def drawing_panel(spec: Preprocessing) -> None:
    f = examples.files()
    left, right = st.columns([1, 1.4], gap="large")
    with left:
        drawn = st_canvas(stroke_width=PEN, stroke_color="#000000", background_color="#ffffff", height=SIZE,
                          width=SIZE, drawing_mode="freedraw", display_toolbar=True, key=f"own.canvas.{f.widget}")
    with right:
        names = list(f.classes)
        name = st.text_input(t("ui_canvas.class"), value=names[-1] if names else t("ui_canvas.first_class"),
                             key=f"own.draw_class.{f.widget}", help=t("ui_canvas.class_help"))
        add, query = st.columns(2)
        to_class = add.button(t("ui_canvas.add"), key="own.draw_add", icon=":material/add:", width="stretch")
        as_query = query.button(t("ui_canvas.query"), key="own.draw_query", icon=":material/help:", width="stretch")
        st.caption(t("ui_canvas.how"))
    if not (to_class or as_query):
        return
    image = None if drawn is None else drawn.image_data
    if image is None:
        st.error(t("ui_canvas.empty"))
        return
    try:
        uploads.example_from_drawing("drawing", image, spec)  # refuses an empty canvas, says why
    except ValueError as error:
        st.error(t("ui_canvas.unusable", reason=said(error)))
        return
    f.drawings += 1
    item = [(f"drawing-{f.drawings}.png", uploads.drawing_png(image))]
    if as_query:
        examples.add_queries(item)
    elif name.strip():
        examples.add_class(name, item)
    else:
        st.error(t("ui_canvas.name_first"))
        return
    st.rerun()
