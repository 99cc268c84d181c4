"""Embedding Space: where a meta-learner puts the points of one task, before and after meta-training."""

import streamlit as st

from metaviz import learners, tasks
from metaviz.analysis import embedding as emb
from metaviz.analysis.stages import stages
from metaviz.checkpoint import zoo
from metaviz.figures.embedding import accuracy_figure, class_color, clicked, embedding_figure, thumbnails
from ui import forms, progressive, state, words
from ui.i18n import labels, t, title
from ui.router import ensure_router
from ui.run_view import memo
from ui.worker import session_worker

ensure_router()
CHART, SHIPPED = "embedding.chart", "protonet-omniglot"
TSNE_HELD = "mv.embedding.tsne"  # t-SNE stages by (inputs, checkpoint): the result, or PCA's when cancelled
SPLIT_KEYS = {"train": "pg_embedding.split_train", "val": "pg_embedding.split_val", "test": "pg_embedding.split_test"}
METHOD_KEYS = {"pca": "pg_embedding.method_pca", "tsne": "pg_embedding.method_tsne"}
PLANE_KEYS = {"fixed": "pg_embedding.plane_fixed", "aligned": "pg_embedding.plane_aligned"}
LAYER_KEYS = {"embedding": "pg_embedding.layer_embedding", "penultimate": "pg_embedding.layer_penultimate"}
quick = st.cache_resource(emb.quick_run, max_entries=4, show_spinner=t("pg_embedding.spinner_quick"))
shipped = st.cache_resource(emb.zoo_run, max_entries=2, show_spinner=t("pg_embedding.spinner_shipped"))


@st.cache_data(show_spinner=t("pg_embedding.spinner_tsne"), max_entries=64)
def tsne(key: str, index: int, _frames, _view):
    return emb.tsne_frame(_frames, index, _view)


st.title(t("pg_embedding.title"))
st.markdown(t("pg_embedding.intro"))

snap = session_worker().snapshot()
session = emb.snapshot_checkpoints(snap)
if snap.config is not None and session is None:
    st.info(t("pg_embedding.not_classification", task=title(tasks.get(snap.config.task))))
sources = {"run": t("pg_embedding.source_run")} if session else {}
if SHIPPED in zoo() and emb.omniglot_available():
    sources["zoo"] = t("pg_embedding.source_zoo")
sources["quick"] = t("pg_embedding.source_quick")
source = st.radio(t("pg_embedding.source"), list(sources), format_func=sources.get, horizontal=True,
                  key="embedding.source")
if source == "run":
    config, checkpoints = session
else:
    loaded = shipped(SHIPPED) if source == "zoo" else quick(emb.quick_config(seed=state.seed()))
    config, checkpoints = loaded.config, loaded.checkpoints
st.caption(t("pg_embedding.parameters", learner=config.learner, task=config.task, n=len(checkpoints),
             last=checkpoints[-1][0]))

families = [n for n in tasks.available() if tasks.get(n).kind == "classification"]
c1, c2, c3 = st.columns(3)
family_names = {n: title(tasks.get(n)) for n in families}  # labels looked up now, not by a later format_func
family = c1.selectbox(t("pg_embedding.family"), families, index=families.index(config.task),
                      key=f"embedding.{source}.family", format_func=family_names.__getitem__)
split = c2.segmented_control(t("pg_embedding.split"), list(SPLIT_KEYS), default="test", required=True,
                             key="embedding.split", format_func=labels(SPLIT_KEYS).__getitem__)
task_seed = c3.number_input(t("pg_embedding.task_seed"), 0, 1_000_000, 0, key="embedding.task_seed",
                            help=t("pg_embedding.task_seed_help"))
with st.expander(t("pg_embedding.task_settings")):
    base = config.task_config if family == config.task else tasks.get(family).Config()
    task_config = forms.config_form(base, f"embedding.{source}.task.{family}")
learner_cls = learners.get(config.learner)
p1, p2, p3 = st.columns(3)
method = p1.segmented_control(t("pg_embedding.method"), list(METHOD_KEYS), default="pca", required=True,
                              key="embedding.method", format_func=labels(METHOD_KEYS).__getitem__)
plane = p2.segmented_control(t("pg_embedding.plane"), list(PLANE_KEYS), default="fixed", required=True,
                             key="embedding.plane", format_func=labels(PLANE_KEYS).__getitem__,
                             help=t("pg_embedding.plane_help"))
layer = "embedding" if learner_cls.has_embedding else "penultimate"
if learner_cls.has_embedding:
    layer = p3.segmented_control(t("pg_embedding.layer"), list(LAYER_KEYS), default="embedding", required=True,
                                 key="embedding.layer", format_func=labels(LAYER_KEYS).__getitem__)
adapted = learner_cls.has_inner_loop and p3.toggle(t("pg_embedding.adapted"), key="embedding.adapted",
                                                   help=t("pg_embedding.adapted_help"))

view = emb.TaskView(family, task_config, split, int(task_seed))
key = (source, config, tuple(s for s, _ in checkpoints), view, plane, layer, adapted)
try:
    with st.spinner(t("pg_embedding.embedding")):
        features = st.session_state.setdefault("mv.embedding.features", {})  # per checkpoint: new ones only
        if len(features) > 256:
            features.clear()
        frames = memo("embedding", key, lambda: emb.embedding_frames(config, checkpoints, view, plane, layer, adapted,
                                                                     cache=features))
except (ValueError, FileNotFoundError) as error:
    st.error(str(error))
    st.stop()

steps = frames.steps
step = st.select_slider(t("pg_embedding.checkpoint"), steps, value=steps[-1]) if len(steps) > 1 else steps[0]
index = steps.index(step)
result = frames.frames[index]
if method == "tsne":  # PCA's picture of the same points is on screen while t-SNE runs (cancellable)
    held = st.session_state.setdefault(TSNE_HELD, {})
    if len(held) > 64:
        held.clear()
    if (repr(key), index) not in held:
        def pca_first(stage):
            if stage.final:  # t-SNE's picture is drawn below, once
                return
            st.caption(t("pg_speed.tsne_first"))
            st.plotly_chart(embedding_figure(result, frames.x_range, frames.y_range, text=words.embedding()),
                            key=f"{CHART}.pca")

        progressive.follow(stages(("pca", lambda _: result), ("tsne", lambda _: tsne(repr(key), index, frames, view))),
                           lambda stage: stage, pca_first, lambda stage: held.update({(repr(key), index): stage}),
                           lambda stage: t("pg_speed.tsne_progress"), f"embedding.cancel.{index}", quiet_s=0.0)
    stage = held[repr(key), index]
    if not stage.final:  # cancelled: the PCA picture stays
        st.info(t("pg_speed.tsne_partial"))
        if st.button(t("pg_speed.tsne_again"), icon=":material/refresh:", key="embedding.tsne_again"):
            held.pop((repr(key), index))
            st.rerun()
    else:
        result = stage.result
    method = "tsne" if stage.final else "pca"
selected = clicked(st.session_state.get(CHART), len(result.coords))
for column, (label, value, explain) in zip(st.columns(4), words.scores(result, config.learner)):
    column.metric(label, f"{value:.0%}", help=explain)

left, right = st.columns([2.3, 1], gap="medium")
ranges = (frames.x_range, frames.y_range) if method == "pca" else (None, None)
left.plotly_chart(embedding_figure(result, *ranges, selected=selected, text=words.embedding()), key=CHART,
                  on_select="rerun", selection_mode="points")
with right:
    if selected is None:
        st.info(t("pg_embedding.hover"))
    else:
        label, near, names = int(result.labels[selected]), int(result.nearest[selected]), result.class_names
        st.markdown(t("pg_embedding.point", role=words.role(result.roles[selected]), label=names[label],
                      near=names[near]))
        if result.image(selected) is not None:
            st.image(thumbnails(result.image(selected)[None], class_color(label)), caption=t("pg_embedding.this_point"),
                     width="content")
        pairs = [(label, "pg_embedding.support_own"), (near, "pg_embedding.support_near")]
        for k, what in pairs[:1 + (near != label)]:
            if result.support_images(k) is not None:
                st.caption(t(what))
                st.image(thumbnails(result.support_images(k), class_color(k)), width="content")
st.caption(t("pg_embedding.caption", method="PCA" if method == "pca" else "t-SNE", layer=t(LAYER_KEYS[frames.layer]),
             n=len(steps), seconds=f"{frames.seconds:.1f}"))
if method == "tsne":
    st.caption(t("pg_embedding.tsne_caption"))
st.plotly_chart(accuracy_figure(frames, current=step, text=words.accuracy()), key="embedding.accuracy")
