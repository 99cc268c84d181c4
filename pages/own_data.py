"""Your Data: bring a few examples of your own classes, by upload or drawing, and watch a meta-learner
adapt to them."""

import streamlit as st

from metaviz import learners
from metaviz.data import uploads
from metaviz.figures.embedding import embedding_figure
from metaviz.figures.fewshot import inner_loop_figure, probability_figure
from ui import canvas, examples
from ui.router import ensure_router

ensure_router()

st.title("Your own data")
st.markdown("A meta-learner has learned *how to learn* from a few examples. Give it a task it has never seen: "
            "a few images of each of your classes (the **support set**), then new images to classify (the "
            "**queries**). A model meta-trained on Omniglot recognizes a symbol you draw from one drawing.")

with st.expander("Limits on what you bring"):
    st.markdown("\n".join(f"- {line}" for line in uploads.LIMITS.lines())
                + "\n\nYour files stay in this browser session's memory and are gone when you close the tab.")
model = examples.model_picker()
if model is None:
    st.stop()
try:
    spec = uploads.preprocessing_for(model.config)
except ValueError as error:
    st.error(str(error))
    st.stop()
st.caption(f"Model: {model.label}. Images are turned into {spec.describe()}.")

# one or the other, not tabs: a canvas first drawn in a hidden tab stays zero-sized in the browser
mode = st.segmented_control("Bring examples", ["Upload images", "Draw symbols"], default="Upload images",
                            key="own.mode")
if mode == "Draw symbols":
    canvas.drawing_panel(spec)
else:
    examples.uploaders()

support, queries = examples.support_set(spec), examples.query_set(spec)
examples.problems(support, queries)
if examples.files().version and st.button("Clear everything", key="own.clear", icon=":material/delete:"):
    st.session_state.pop(examples.FILES)
    st.rerun()

st.subheader(f"Support set: {len(support.names)} classes, {len(support)} examples")
st.caption("Above: your image. Below: what the model sees"
           + (" (ink = 1, drawn white)." if spec.ink else "."))
examples.support_grid(support)
if queries.examples:
    st.subheader(f"Queries: {len(queries.examples)}")
    examples.query_grid(queries)
if len(support.names) < 2:
    st.info("Add at least two classes with an image each to start (upload, or draw a few symbols).")
    st.stop()

steps = None
if learners.get(model.config.learner).has_inner_loop:
    trained = int(getattr(model.config.learner_config, "inner_steps", 1))
    steps = st.slider("Inner steps on your support set", 0, 20, trained, key="own.steps",
                      help=f"Gradient steps from the meta-learned start; it was meta-trained with {trained}.")
try:
    result = examples.results(model, spec, support, queries, steps)
except ValueError as error:  # more classes than the model's head, a mismatched checkpoint ...
    st.error(str(error))
    st.stop()

fam = result.familiarity
if fam.verdict in ("unlike", "some"):
    st.warning(fam.message)
    st.page_link("pages/train.py", label="Meta-train on your own image folder", icon=":material/model_training:")
elif fam.verdict == "familiar":
    st.success(fam.message)
else:
    st.info(fam.message)

loo = result.loo
st.metric("Leave-one-out accuracy on your support set", "n/a" if loo.scored.sum() == 0 else f"{loo.accuracy:.0%}",
          help="Each example is held out in turn; the model adapts to the others and classifies it.")
st.caption(loo.message)

if result.embedding is not None:
    st.markdown("**The embedding space**: your images and each class's prototype (the mean of its support "
                "points), projected on the plane of the two main directions. A query gets the class of the "
                "nearest prototype; the colours show that rule in the plane.")
    st.plotly_chart(embedding_figure(result.embedding, height=440), key="own.embedding")

p = result.prediction
if p is None:
    st.info("Add query images (upload or draw) to see predictions.")
    st.stop()
st.subheader("Predictions")
names = [e.name for e in queries.examples]
for row in range(0, len(names), 4):
    for column, i in zip(st.columns(4), range(row, min(row + 4, len(names)))):
        e, k = queries.examples[i], int(p.predicted[i])
        column.image([e.preview, examples.model_view(e.image)], width=64, clamp=True)
        column.markdown(f"`{e.name}`: **{p.classes[k]}** ({p.probabilities[i, k]:.0%})")
st.plotly_chart(probability_figure(p.classes, p.probabilities, names), key="own.probabilities")
if p.steps is not None:
    st.markdown(f"**The inner loop**: {result.steps} gradient step(s) on your support set, from the meta-learned "
                "start (step 0). Drag the slider or press Play.")
    st.plotly_chart(inner_loop_figure(p.classes, p.steps, names, p.support_loss), key="own.inner_loop")
