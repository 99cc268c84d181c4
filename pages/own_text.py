"""Your Text: type a few example sentences for each of your own intents, then queries, and watch a model
meta-trained on other intents classify them from your examples alone."""

import pandas as pd
import streamlit as st

from metaviz import checkpoint, textshot
from metaviz.data import texts
from metaviz.figures.embedding import embedding_figure
from metaviz.figures.fewshot import probability_figure
from ui import words
from ui.i18n import current, labels, said, t
from ui.router import ensure_router

ensure_router()
LANGUAGES = {"en": "pg_text.example_en", "zh": "pg_text.example_zh"}  # example set -> label key


@st.cache_resource(show_spinner=False, max_entries=2)
def model(name: str):
    return checkpoint.load(textshot.text_models()[name])


@st.cache_data(show_spinner=False, max_entries=16)
def classify(name: str, support: tuple, labels_: tuple, queries: tuple, reject: float | None):
    return textshot.classify(model(name), list(support), list(labels_), list(queries), reject)


st.title(t("pg_text.title"))
st.markdown(t("pg_text.intro"))
models = textshot.text_models()
if not models:
    st.warning(t("pg_text.no_model"))
    st.stop()
name = st.selectbox(t("pg_text.model"), list(models), key="text.model")
st.caption(t("pg_text.model_caption", learner=model(name).config.learner, task=model(name).config.task))

example = st.segmented_control(t("pg_text.example"), list(LANGUAGES), format_func=labels(LANGUAGES).__getitem__,
                               default="zh" if current() == "zh" else "en", required=True, key="text.example")
left, right = st.columns(2)
support_text = left.text_area(t("pg_text.support"), textshot.EXAMPLES[example][0], height=300,
                              key=f"text.support.{example}", help=t("pg_text.support_help"))
query_text = right.text_area(t("pg_text.queries"), textshot.EXAMPLES[example][1], height=200,
                             key=f"text.queries.{example}", help=t("pg_text.queries_help"))
reject = right.slider(t("pg_text.reject"), 0.0, 0.95, 0.0, 0.05, key="text.reject", help=t("pg_text.reject_help"))

rows = texts.read_labelled_lines(support_text)
for bad in rows.rejected:
    st.warning(t("pg_text.bad_line", line=bad.line, reason=t(bad.key, **bad.params) if bad.key else bad.reason))
queries = [q.strip() for q in query_text.splitlines() if q.strip()]
counts = rows.counts()
st.caption(t("pg_text.counts", classes=len(counts), sentences=len(rows.texts)))
if len(counts) < 2:
    st.info(t("pg_text.need_two"))
    st.stop()
try:
    result = classify(name, tuple(rows.texts), tuple(rows.labels), tuple(queries), reject or None)
except ValueError as error:
    st.error(said(error))
    st.stop()

for note in result.notes:
    st.warning(said(note))
st.metric(t("pg_text.loo"), t("pg_text.na") if result.loo_accuracy is None else f"{result.loo_accuracy:.0%}",
          help=t("pg_text.loo_help", n=result.loo_count))
if queries:
    st.subheader(t("pg_text.predictions"))
    none = t("pg_text.none_of_these")
    st.dataframe(pd.DataFrame({
        t("pg_text.col_query"): queries,
        t("pg_text.col_predicted"): [none if p == textshot.NONE_OF_THESE else p for p in result.predicted],
        t("pg_text.col_probability"): [f"{p.max():.0%}" for p in result.probabilities]}),
        hide_index=True, key="text.table")
    st.plotly_chart(probability_figure(result.classes, result.probabilities, queries,
                                       text=dict(title=t("fig_fewshot.title"))), key="text.probabilities")
plane = textshot.embedding_plane(result, rows.labels)
if plane is not None:
    st.markdown(t("pg_text.embedding"))
    st.plotly_chart(embedding_figure(plane, height=440, text=words.embedding()), key="text.embedding")
