"""Your Data: bring a few examples of your own classes, by upload or drawing, and watch a meta-learner
adapt to them."""

import streamlit as st

from metaviz import learners
from metaviz.data import uploads
from metaviz.figures.embedding import embedding_figure
from metaviz.figures.fewshot import inner_loop_figure, probability_figure
from ui import camera, canvas, empty, examples, photos, words
from ui.i18n import labels, said, t
from ui.router import ensure_router

ensure_router()
# segmented control option -> key
MODES = {"upload": "pg_own.mode_upload", "draw": "pg_own.mode_draw", "camera": "pg_own.mode_camera"}

st.title(t("pg_own.title"))
st.markdown(t("pg_own.intro"))

with st.expander(t("pg_own.limits")):
    st.markdown("\n".join(f"- {line}" for line in examples.limit_lines()) + "\n\n" + t("pg_own.privacy"))
model = examples.model_picker(examples.image_kind(st.session_state.get("own.mode")))
if model is None:
    st.stop()
try:
    spec = photos.SPEC if model.key == photos.PHOTOS else uploads.preprocessing_for(model.config)
except ValueError as error:
    st.error(said(error))
    st.stop()
st.caption(t("pg_own.model", model=model.label, spec=examples.describe(spec, model.config)))

# one or the other, not tabs: a canvas first drawn in a hidden tab stays zero-sized in the browser
mode = st.segmented_control(t("pg_own.mode"), list(MODES), format_func=labels(MODES).__getitem__, default="upload",
                            key="own.mode")
if mode == "draw":
    canvas.drawing_panel(spec)
elif mode == "camera":
    camera.camera_panel(spec)
else:
    examples.uploaders()

support, queries = examples.support_set(spec), examples.query_set(spec)
examples.problems(support, queries)
if examples.files().version and st.button(t("pg_own.clear"), key="own.clear", icon=":material/delete:"):
    st.session_state.pop(examples.FILES)
    st.rerun()

st.subheader(t("pg_own.support", classes=len(support.names), examples=len(support)))
st.caption(t("pg_own.views_ink") if spec.ink else t("pg_own.views"))
examples.support_grid(support)
if queries.examples:
    st.subheader(t("pg_own.queries", n=len(queries.examples)))
    examples.query_grid(queries)
if len(support.names) < 2:
    st.info(t("pg_own.need_two"))
    empty.draw(t("pg_speed.empty_own_title"), t("pg_speed.empty_own"))
    st.stop()
if model.key == photos.PHOTOS:
    photos.render(support, queries)
    st.stop()

steps = None
if learners.get(model.config.learner).has_inner_loop:
    trained = int(getattr(model.config.learner_config, "inner_steps", 1))
    steps = st.slider(t("pg_own.steps"), 0, 20, trained, key="own.steps", help=t("pg_own.steps_help", n=trained))
try:
    result = examples.results(model, spec, support, queries, steps)
except ValueError as error:  # more classes than the model's head, a mismatched checkpoint ...
    st.error(said(error))
    st.stop()

fam = result.familiarity
names = [e.name for v in support.classes.values() for e in v] + [e.name for e in queries.examples]
message = examples.familiarity_message(fam, model.config, names)
if fam.verdict in ("unlike", "some"):
    st.warning(message)
    st.page_link("pages/train.py", label=t("pg_own.train_own"), icon=":material/model_training:")
elif fam.verdict == "familiar":
    st.success(message)
else:
    st.info(message)

loo = result.loo
st.metric(t("pg_own.loo"), t("pg_own.na") if loo.scored.sum() == 0 else f"{loo.accuracy:.0%}",
          help=t("pg_own.loo_help"))
st.caption(examples.loo_message(loo, support))
photos.model_reliability(loo, support.arrays()[1], model.temperature)

if result.embedding is not None:
    st.markdown(t("pg_own.embedding"))
    st.plotly_chart(embedding_figure(result.embedding, height=440, text=words.embedding()), key="own.embedding")

p = result.prediction
if p is None:
    st.info(t("pg_own.no_queries"))
    st.stop()
st.subheader(t("pg_own.predictions"))
names = [e.name for e in queries.examples]
examples.prediction_grid(queries, p.classes, p.predicted, p.probabilities)
st.plotly_chart(probability_figure(p.classes, p.probabilities, names, text=dict(title=t("fig_fewshot.title"))),
                key="own.probabilities")
if p.steps is not None:
    st.markdown(t("pg_own.inner_loop", steps=result.steps))
    st.plotly_chart(inner_loop_figure(p.classes, p.steps, names, p.support_loss, text=dict(
        title=t("fig_fewshot.steps_title"), step=t("fig_fewshot.step"), loss=t("fig_fewshot.loss"),
        play=t("fig_fewshot.play"))), key="own.inner_loop")
