"""Embedding Space: where a meta-learner puts the points of one task, before and after meta-training."""

import streamlit as st

from metaviz import learners, tasks
from metaviz.analysis import embedding as emb
from metaviz.checkpoint import zoo
from metaviz.figures.embedding import accuracy_figure, class_color, clicked, embedding_figure, thumbnails
from ui import forms, state
from ui.router import ensure_router
from ui.run_view import memo
from ui.worker import session_worker

ensure_router()
CHART, SHIPPED = "embedding.chart", "protonet-omniglot"
quick = st.cache_resource(emb.quick_run, max_entries=4,
                          show_spinner="Meta-training a small ProtoNet to look at (about 10 s on a CPU, once)…")
shipped = st.cache_resource(emb.zoo_run, max_entries=2, show_spinner="Loading the shipped checkpoint…")


@st.cache_data(show_spinner="Running t-SNE on this checkpoint…", max_entries=64)
def tsne(key: str, index: int, _frames, _view):
    return emb.tsne_frame(_frames, index, _view)


st.title("Embedding Space")
st.markdown("A metric-based meta-learner maps every input to a point in R^D; a class's **prototype** is the mean "
            "of its support points and a query gets the class of the nearest prototype. Meta-training should pull "
            "each class together and push classes apart, *for classes it never saw*. Other learners are shown by "
            "their **penultimate features** (the network without its last layer).")

snap = session_worker().snapshot()
session = emb.snapshot_checkpoints(snap)
if snap.config is not None and session is None:
    st.info(f"This session's run trains on {snap.config.task}, not a classification task: it has no classes to draw.")
sources = {"run": "this session's run"} if session else {}
if SHIPPED in zoo() and emb.omniglot_available():
    sources["zoo"] = "the shipped ProtoNet (Omniglot)"
sources["quick"] = "a quick ProtoNet run, trained now"
source = st.radio("Parameters of", list(sources), format_func=sources.get, horizontal=True, key="embedding.source")
if source == "run":
    config, checkpoints = session
else:
    loaded = shipped(SHIPPED) if source == "zoo" else quick(emb.quick_config(seed=state.seed()))
    config, checkpoints = loaded.config, loaded.checkpoints
st.caption(f"{config.learner} on {config.task}: {len(checkpoints)} checkpoints, meta-iterations 0 to "
           f"{checkpoints[-1][0]}. Move any control to load newer checkpoints of a run that is still training.")

families = [n for n in tasks.available() if tasks.get(n).kind == "classification"]
c1, c2, c3 = st.columns(3)
family = c1.selectbox("Task family", families, index=families.index(config.task), key=f"embedding.{source}.family")
split = c2.segmented_control("Classes", ["train", "val", "test"], default="test", required=True,
                             key="embedding.split", format_func={"train": "meta-train", "val": "meta-validation",
                                                                 "test": "meta-test (never trained on)"}.get)
task_seed = c3.number_input("Task seed", 0, 1_000_000, 0, key="embedding.task_seed", help="Another task, same setup.")
with st.expander("Task settings (N-way, K-shot, queries…)"):
    base = config.task_config if family == config.task else tasks.get(family).Config()
    task_config = forms.config_form(base, f"embedding.{source}.task.{family}")
learner_cls = learners.get(config.learner)
p1, p2, p3 = st.columns(3)
method = p1.segmented_control("Projection", ["pca", "tsne"], default="pca", required=True, key="embedding.method",
                              format_func={"pca": "PCA", "tsne": "t-SNE (on request, slower)"}.get)
plane = p2.segmented_control("PCA plane", ["fixed", "aligned"], default="fixed", required=True, key="embedding.plane",
                             format_func={"fixed": "one for all checkpoints", "aligned": "per checkpoint, aligned"}.get,
                             help="One plane fitted on the last checkpoint, or each checkpoint's own plane rotated "
                                  "(Procrustes) onto its neighbour's: either way points do not jump between frames.")
layer = "embedding" if learner_cls.has_embedding else "penultimate"
if learner_cls.has_embedding:
    layer = p3.segmented_control("Features", ["embedding", "penultimate"], default="embedding", required=True,
                                 key="embedding.layer")
adapted = learner_cls.has_inner_loop and p3.toggle("After the inner loop", key="embedding.adapted",
                                                   help="Features of the adapted network (MAML moves its body).")

view = emb.TaskView(family, task_config, split, int(task_seed))
key = (source, config, tuple(s for s, _ in checkpoints), view, plane, layer, adapted)
try:
    with st.spinner("Embedding the task at every checkpoint…"):
        features = st.session_state.setdefault("mv.embedding.features", {})  # per checkpoint: new ones only
        if len(features) > 256:
            features.clear()
        frames = memo("embedding", key, lambda: emb.embedding_frames(config, checkpoints, view, plane, layer, adapted,
                                                                     cache=features))
except (ValueError, FileNotFoundError) as error:
    st.error(str(error))
    st.stop()

steps = frames.steps
step = st.select_slider("Checkpoint (meta-iteration)", steps, value=steps[-1]) if len(steps) > 1 else steps[0]
index = steps.index(step)
result = frames.frames[index] if method == "pca" else tsne(repr(key), index, frames, view)
selected = clicked(st.session_state.get(CHART), len(result.coords))
for column, (label, value, explain) in zip(st.columns(4), result.scores(config.learner)):
    column.metric(label, f"{value:.0%}", help=explain)

left, right = st.columns([2.3, 1], gap="medium")
ranges = (frames.x_range, frames.y_range) if method == "pca" else (None, None)
left.plotly_chart(embedding_figure(result, *ranges, selected=selected), key=CHART, on_select="rerun",
                  selection_mode="points")
with right:
    if selected is None:
        st.info("Hover over a point for its class and nearest prototype; **click** one to see its image here.")
    else:
        label, near, names = int(result.labels[selected]), int(result.nearest[selected]), result.class_names
        st.markdown(f"A **{result.roles[selected]}** of class **{names[label]}**; its nearest prototype in R^D is "
                    f"**{names[near]}**'s.")
        if result.image(selected) is not None:
            st.image(thumbnails(result.image(selected)[None], class_color(label)), caption="this point",
                     width="content")
        for k, what in [(label, "its class (the prototype is the mean of their features)")] + (
                [(near, "the class of the nearest prototype")] if near != label else []):
            if result.support_images(k) is not None:
                st.caption(f"Support of {what}:")
                st.image(thumbnails(result.support_images(k), class_color(k)), width="content")
st.caption(f"{'PCA' if method == 'pca' else 't-SNE'} of the {frames.layer} features; {len(steps)} checkpoints in "
           f"{frames.seconds:.1f} s. The coloured regions apply the nearest-prototype rule *between projected "
           "points*; in R^D the dropped directions count too, so a point may sit in one colour and belong to another: "
           "compare the first two scores.")
if method == "tsne":
    st.caption("t-SNE keeps who is near whom, not distances: the gaps between clusters and the clusters' sizes in "
               "its picture mean nothing, and a prototype is placed as one more point, not as the mean of its class.")
st.plotly_chart(accuracy_figure(frames, current=step), key="embedding.accuracy")
