"""The Your Data page's state and widgets: the files a session keeps, the uploaders, the example grids
and the model picker, and the engine's words (limits, preprocessing, errors, leave-one-out, familiarity) in
the reader's language.

Everything a user brings lives in ``st.session_state`` only, as the bytes they sent: nothing is
written to disk, and it is dropped when the session ends. The preprocessed examples are derived from
those bytes for the chosen model (``metaviz.data.uploads``), so switching to a model with another
input size takes the same files in again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from metaviz import checkpoint, fewshot, photo_results, photoshot, tasks, textshot
from metaviz.data import uploads
from metaviz.data.uploads import LIMITS, Preprocessing, QuerySet, Rejected, SupportSet
from ui.i18n import literal, said, t, title
from ui.worker import session_worker

FILES = "own.files"
CACHE = "own.cache"
IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp"]
SHOWN_PER_CLASS = 16


@dataclass
class Files:
    """What this session brought: class-by-class files and drawings, zips of class folders, queries,
    and the examples the user removed. ``version`` changes with every edit; ``widget`` gives the
    uploaders and the canvas fresh keys (an empty widget) after each addition."""

    classes: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)
    zips: list[tuple[str, bytes]] = field(default_factory=list)
    queries: list[tuple[str, bytes]] = field(default_factory=list)
    removed: set[tuple[str, str]] = field(default_factory=set)
    version: int = 0
    widget: int = 0
    drawings: int = 0
    photos: int = 0  # webcam pictures taken (ui.camera names them camera-1.jpg, camera-2.jpg, ...)

    def size(self) -> int:
        return (sum(len(d) for v in self.classes.values() for _, d in v) + sum(len(d) for _, d in self.zips)
                + sum(len(d) for _, d in self.queries))

    def room_for(self, new: int) -> bool:
        """Whether ``new`` more bytes fit the session's limit; says why not on the page."""
        if self.size() + new > LIMITS.max_stored_bytes:
            st.error(t("ui_examples.too_much", mb=f"{LIMITS.max_stored_bytes / 1e6:g}"))
            return False
        return True

    def changed(self, clear_widgets: bool = True) -> None:
        self.version += 1
        if clear_widgets:
            self.widget += 1


def files() -> Files:
    if FILES not in st.session_state:
        st.session_state[FILES] = Files()
    return st.session_state[FILES]


def add_class(name: str, items: list[tuple[str, bytes]]) -> None:
    f = files()
    if f.room_for(sum(len(d) for _, d in items)):
        f.classes.setdefault(" ".join(name.split()), []).extend(items)
        f.changed()


def add_queries(items: list[tuple[str, bytes]]) -> None:
    f = files()
    if f.room_for(sum(len(d) for _, d in items)):
        f.queries.extend(items)
        f.changed()


def _cached(kind: str, spec: Preprocessing, build):
    """Derived sets are rebuilt only when the files or the preprocessing change."""
    cache = st.session_state.setdefault(CACHE, {})
    key = (kind, files().version, spec)
    if cache.get(kind, (None,))[0] != key:
        cache[kind] = (key, build())
    return cache[kind][1]


def support_set(spec: Preprocessing) -> SupportSet:
    f = files()

    def build() -> SupportSet:
        out = uploads.ingest_classes(f.classes, spec).merged(uploads.ingest_any_support(f.zips, spec))
        for cls, name in f.removed:
            kept = [i for i, e in enumerate(out.classes.get(cls, ())) if e.name == name]
            if kept:
                out = out.without(cls, kept[0])
        return out

    return _cached("support", spec, build)


def query_set(spec: Preprocessing) -> QuerySet:
    f = files()

    def build() -> QuerySet:
        out = uploads.ingest_queries(f.queries, spec, label=t("ui_examples.uploaded_files"))
        hidden = {name for cls, name in f.removed if cls == ""}
        return QuerySet(tuple(e for e in out.examples if e.name not in hidden), out.rejected, out.notes)

    return _cached("queries", spec, build)


# ---- uploaders ---------------------------------------------------------------------------------------

def _read(uploaded) -> list[tuple[str, bytes]]:
    return [(u.name, u.getvalue()) for u in (uploaded or [])]


def uploaders() -> None:
    """Class by class (a name and its files), one zip of class folders, and query images."""
    f, mb = files(), LIMITS.max_file_bytes // 1_000_000
    by_class, by_zip = st.columns(2, gap="large")
    with by_class:
        st.markdown(t("ui_examples.by_class"))
        name = st.text_input(t("ui_examples.class_name"), key=f"own.class_name.{f.widget}",
                             placeholder=t("ui_examples.class_name_example"))
        chosen = st.file_uploader(t("ui_examples.class_files"), type=IMAGE_TYPES, accept_multiple_files=True,
                                  max_upload_size=mb, key=f"own.class_files.{f.widget}")
        if st.button(t("ui_examples.add_class"), key="own.add_class", icon=":material/add:", disabled=not chosen):
            if name.strip():
                add_class(name, _read(chosen))
                st.rerun()
            st.error(t("ui_examples.name_first"))
    with by_zip:
        st.markdown(t("ui_examples.by_zip"))
        archive = st.file_uploader(t("ui_examples.zip"), type=["zip"], key=f"own.zip.{f.widget}",
                                   max_upload_size=LIMITS.max_archive_bytes // 1_000_000)
        if archive is not None and f.room_for(archive.size):
            f.zips.append((archive.name, archive.getvalue()))
            f.changed()
            st.rerun()
    queries = st.file_uploader(t("ui_examples.queries"), type=IMAGE_TYPES + ["zip"],
                               accept_multiple_files=True, key=f"own.queries.{f.widget}",
                               max_upload_size=LIMITS.max_archive_bytes // 1_000_000)
    if queries:
        add_queries(_read(queries))
        st.rerun()


# ---- showing examples --------------------------------------------------------------------------------

def model_view(image: np.ndarray) -> np.ndarray:
    """An example as the model sees it, [C, S, S] in [0, 1] -> [S, S] or [S, S, 3] (ink = 1 is white)."""
    return image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)


def _cell(column, example, key: str, cls: str) -> None:
    with column:
        st.image(example.preview, width=64)
        st.image(model_view(example.image), width=64, clamp=True)
        if st.button("", key=key, icon=":material/close:", help=t("ui_examples.remove", name=example.name)):
            files().removed.add((cls, example.name))
            files().changed(clear_widgets=False)
            st.rerun()


def support_grid(support: SupportSet) -> None:
    """Each class: its count, then its images (the original above, what the model sees below)."""
    for c, (name, examples) in enumerate(support.classes.items()):
        st.markdown(t("ui_examples.count_one", name=literal(name)) if len(examples) == 1
                    else t("ui_examples.count", name=literal(name), n=len(examples)))
        shown = examples[:SHOWN_PER_CLASS]
        columns = st.columns(max(8, len(shown[:8])))
        for i, e in enumerate(shown):
            _cell(columns[i % 8], e, f"own.rm.{c}.{i}", name)
        if len(examples) > len(shown):
            st.caption(t("ui_examples.more", n=len(examples) - len(shown)))


def query_grid(queries: QuerySet) -> None:
    columns = st.columns(8)
    for i, e in enumerate(queries.examples[:SHOWN_PER_CLASS]):
        _cell(columns[i % 8], e, f"own.rmq.{i}", "")


def prediction_grid(queries: QuerySet, classes, predicted: np.ndarray, probabilities: np.ndarray) -> None:
    """Each query, as given and as the model sees it, with its predicted class and that class's probability."""
    for row in range(0, len(queries.examples), 4):
        for column, i in zip(st.columns(4), range(row, min(row + 4, len(queries.examples)))):
            e, k = queries.examples[i], int(predicted[i])
            column.image([e.preview, model_view(e.image)], width=64, clamp=True)
            column.markdown(f"{literal(e.name)}: **{literal(classes[k])}** ({probabilities[i, k]:.0%})")


def image_kind(mode: str | None) -> str | None:
    """"photos" or "drawings": what this session's images look like (webcam pictures are photos), None before
    any; from a small colour view of the files (``photo_results.image_kind``), once per change of the files."""
    if mode == "camera":
        return "photos"
    f = files()
    cache = st.session_state.setdefault(CACHE, {})
    if cache.get("kind", (None,))[0] != f.version:
        probe = Preprocessing(32, 3, ink=False, source="probe")
        support = uploads.ingest_classes(f.classes, probe).merged(uploads.ingest_any_support(f.zips, probe))
        images = [e.image for v in support.classes.values() for e in v]
        images += [e.image for e in uploads.ingest_queries(f.queries, probe).examples]
        cache["kind"] = (f.version, photo_results.image_kind(np.stack(images) if images else np.zeros((0, 3, 32, 32))))
    return cache["kind"][1]


def problems(support: SupportSet, queries: QuerySet) -> None:
    """Files that were not used, each with its reason, and notes (ignored files)."""
    rejected = list(support.rejected) + list(queries.rejected)
    if rejected:
        shown = "; ".join(f"{literal(r.file)}: {literal(reason(r))}" for r in rejected[:3])
        shown += " ..." if len(rejected) > 3 else ""
        st.warning(t("ui_examples.not_used", n=len(rejected), files=shown))
        with st.expander(t("ui_examples.not_used_all")):
            st.markdown("\n".join(f"- {literal(r.file)}: {literal(reason(r))}" for r in rejected))
    for note in dict.fromkeys(support.notes + queries.notes):
        st.caption(said(note))


# ---- the model ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Model:
    key: str      # what the parameters are, for caching results
    label: str
    config: object
    params: dict
    temperature: float = 1.0  # the checkpoint's calibration (metaviz.calibration); 1 for a session's model
    copies: int = 0           # the checkpoint's test-time copies (metaviz.fewshot.classify); 0 for a session's model


ZOO_TITLES = {"protonet-omniglot": "ui_examples.zoo_protonet", "maml-omniglot": "ui_examples.zoo_maml"}  # keys


@st.cache_resource(show_spinner=False)
def _zoo(name: str):
    return checkpoint.load(checkpoint.zoo()[name])


@st.cache_resource(show_spinner=False)
def _image_zoo() -> tuple[str, ...]:
    """The shipped checkpoints that take images (the text ones belong to the Your Text page)."""
    text = set(textshot.text_models())
    return tuple(name for name in checkpoint.zoo() if name not in text)


def _chosen() -> None:
    st.session_state["own.model_chosen"] = True  # from now on the page no longer picks the model for the user


def model_picker(kind: str | None = None) -> Model | None:
    """The photo model, a shipped checkpoint, this session's run from the Train page, or an uploaded checkpoint.
    Until the user picks one, the picker follows the images: the photo model for photos (``kind``), the first
    Omniglot model for drawings."""
    snap = session_worker().snapshot()
    zoo = sorted(_image_zoo(), key=lambda n: (not n.startswith("protonet"), n))  # ProtoNet first: any N
    options = [photoshot.MODEL_NAME] + zoo + (["session"] if snap.checkpoint is not None else []) + ["upload"]
    labels = {**{name: t("ui_photos.for_drawings", model=t(key)) for name, key in ZOO_TITLES.items()},
              photoshot.MODEL_NAME: t("ui_photos.model"), "upload": t("ui_examples.upload_model")}
    if snap.checkpoint is not None:
        ck = snap.checkpoint
        labels["session"] = t("ui_examples.session_model", learner=ck.config.learner, task=ck.config.task,
                              step=ck.step)
    suggested = photoshot.MODEL_NAME if kind == "photos" or not zoo else zoo[0]
    if not st.session_state.get("own.model_chosen") or st.session_state.get("own.model") not in options:
        st.session_state["own.model"] = suggested
    choice = st.selectbox(t("ui_examples.model"), options, format_func=lambda o: labels.get(o, o), key="own.model",
                          on_change=_chosen, help=t("ui_photos.model_help"))
    if kind is not None and not st.session_state.get("own.model_chosen"):
        st.caption(t("ui_photos.suggested_photos" if kind == "photos" else "ui_photos.suggested_drawings"))
    if choice == photoshot.MODEL_NAME:
        return Model(photoshot.MODEL_NAME, labels[choice], None, {})
    if snap.checkpoint is None:
        st.caption(t("ui_examples.train_hint"))
    if choice == "session":
        ck = snap.checkpoint
        return Model(f"session:{id(ck)}", labels["session"], ck.config, ck.learner)
    if choice == "upload":
        up = st.file_uploader(t("ui_examples.checkpoint"), type=["safetensors"], key="own.checkpoint",
                              help=t("ui_examples.checkpoint_help"))
        if up is None:
            return None
        data = up.getvalue()
        try:
            loaded = checkpoint.load(data)
        except checkpoint.CheckpointError as error:
            st.error(f"{up.name}: {said(error)}")
            return None
        return Model(f"upload:{hashlib.sha1(data).hexdigest()}", up.name, loaded.config, loaded.params,
                     loaded.temperature, loaded.copies)
    loaded = _zoo(choice)
    return Model(f"zoo:{choice}:{loaded.step}:{loaded.temperature}", labels.get(choice, choice), loaded.config,
                 loaded.params, loaded.temperature, loaded.copies)


def results(model: Model, spec: Preprocessing, support: SupportSet, queries: QuerySet,
            steps: int | None) -> fewshot.FewShotResult:
    """Adapt, predict, leave-one-out and the familiarity check, computed once per change."""
    key = (model.key, files().version, spec, steps)
    cached = st.session_state.get("own.result")
    if cached is None or cached[0] != key:
        with st.spinner(t("ui_examples.adapting")):
            cached = (key, fewshot.run(model.config, model.params, support, queries, steps, model.temperature,
                                       model.copies))
        st.session_state["own.result"] = cached
    return cached[1]


# ---- the engine's words in the reader's language -----------------------------------------------------

def reason(rejected: Rejected) -> str:
    """Why a file was not used, in the session's language."""
    return t(rejected.key, **rejected.params) if rejected.key else rejected.reason


def limit_lines() -> list[str]:
    """The limits on what a user brings (``uploads.LIMITS``), in words."""
    mb, lim = 1_000_000, LIMITS
    return [t("ui_examples.limit_sizes", file=f"{lim.max_file_bytes / mb:g}", zip=f"{lim.max_archive_bytes / mb:g}"),
            t("ui_examples.limit_counts", files=lim.max_files, classes=lim.max_classes),
            t("ui_examples.limit_pixels", image=f"{lim.max_image_pixels / 1e6:g}",
              upload=f"{lim.max_total_pixels / 1e6:g}"),
            t("ui_examples.limit_zip", entries=f"{lim.max_zip_entries:,}", mb=f"{lim.max_zip_bytes / mb:g}"),
            t("ui_examples.limit_session", mb=f"{lim.max_stored_bytes / mb:g}")]


def source(config) -> str:
    """What a model was meta-trained on, in words (``Preprocessing.source`` in the session's language)."""
    if config is None:  # the photo model
        return t("ui_photos.source")
    if config.task == "omniglot":
        return t("ui_examples.source_omniglot")
    if config.task == "image-folder":
        return t("ui_examples.source_folder", path=config.task_config.path)
    if config.task == "digits":
        return t("ui_examples.source_digits")
    return title(tasks.get(config.task))


def describe(spec: Preprocessing, config) -> str:
    """What images are turned into for this model (``Preprocessing.describe`` in the session's language)."""
    return t("ui_examples.describe", size=spec.size,
             colour=t("ui_examples.rgb") if spec.channels == 3 else t("ui_examples.greyscale"),
             ink=t("ui_examples.ink") if spec.ink else "", source=source(config))


def loo_message(loo: fewshot.LeaveOneOut, support: SupportSet) -> str:
    """The leave-one-out result in a sentence (``LeaveOneOut.message`` in the session's language)."""
    if not loo.scored.any():
        return t("ui_examples.loo_none")
    counts = list(support.counts().values())
    held, eligible = int(loo.scored.sum()), sum(c for c in counts if c >= 2)
    text = t("ui_examples.loo", accuracy=f"{loo.accuracy:.0%}", right=int(loo.correct.sum()), held=held,
             chance=f"{1 / len(counts):.0%}")
    if held < eligible:
        text += t("ui_examples.loo_capped", held=held, eligible=eligible)
    skipped = [name for name, c in zip(support.names, counts) if c < 2]
    if skipped:
        text += t("ui_examples.loo_skipped", classes=", ".join(skipped))
    return text + t("ui_examples.loo_end")


def familiarity_message(fam: fewshot.Familiarity, config, names: list[str]) -> str:
    """Whether the images look like the model's meta-training data (``Familiarity.message`` in the session's
    language). ``names``: the images' names, support then queries, as ``fewshot.run`` checked them."""
    if fam.verdict == "unknown":
        return t("ui_examples.fam_unknown", error=fam.error)
    m, k = len(fam.values), int(fam.outside.sum())
    what = t("ui_examples.fam_what", source=source(config))
    if m == 0:
        return t("ui_examples.fam_none")
    if k == 0:
        return t("ui_examples.fam_ok", what=what)
    which = [names[i] for i in np.flatnonzero(fam.outside)[:5]] if len(names) == m else []
    listed = t("ui_examples.fam_listed", names=", ".join(which) + (", ..." if k > len(which) else "")) if which else ""
    mean = fam.values[fam.outside].mean(0)
    detail = t("ui_examples.fam_detail", mean=f"{mean[0]:.2f}", grey=f"{mean[1]:.0%}",
               low=f"{max(fam.low[0], 0):.2f}", high=f"{fam.high[0]:.2f}", grey_low=f"{max(fam.low[1], 0):.0%}",
               grey_high=f"{fam.high[1]:.0%}")
    advice = t("ui_examples.fam_advice") if 2 * k >= m else t("ui_examples.fam_check")
    return t("ui_examples.fam_unlike", k=k, m=m, listed=listed, what=what, detail=detail, advice=advice)
