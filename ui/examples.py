"""The Your Data page's state and widgets: the files a session keeps, the uploaders, the example grids
and the model picker.

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

from metaviz import checkpoint, fewshot
from metaviz.data import uploads
from metaviz.data.uploads import LIMITS, Preprocessing, QuerySet, SupportSet
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

    def size(self) -> int:
        return (sum(len(d) for v in self.classes.values() for _, d in v) + sum(len(d) for _, d in self.zips)
                + sum(len(d) for _, d in self.queries))

    def room_for(self, new: int) -> bool:
        """Whether ``new`` more bytes fit the session's limit; says why not on the page."""
        if self.size() + new > LIMITS.max_stored_bytes:
            st.error(f"That would keep more than {LIMITS.max_stored_bytes / 1e6:g} MB of files in this session: "
                     "remove some first (Clear everything).")
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
        out = uploads.ingest_queries(f.queries, spec)
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
        st.markdown("**One class at a time**")
        name = st.text_input("Class name", key=f"own.class_name.{f.widget}", placeholder="for example: cat")
        chosen = st.file_uploader("Its images", type=IMAGE_TYPES, accept_multiple_files=True,
                                  max_upload_size=mb, key=f"own.class_files.{f.widget}")
        if st.button("Add class", key="own.add_class", icon=":material/add:", disabled=not chosen):
            if name.strip():
                add_class(name, _read(chosen))
                st.rerun()
            st.error("Give the class a name first.")
    with by_zip:
        st.markdown("**Or one zip**, one folder of images per class")
        archive = st.file_uploader("Zip of class folders", type=["zip"], key=f"own.zip.{f.widget}",
                                   max_upload_size=LIMITS.max_archive_bytes // 1_000_000)
        if archive is not None and f.room_for(archive.size):
            f.zips.append((archive.name, archive.getvalue()))
            f.changed()
            st.rerun()
    queries = st.file_uploader("Query images to classify (images, or zips of images)", type=IMAGE_TYPES + ["zip"],
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
        if st.button("", key=key, icon=":material/close:", help=f"Remove {example.name}"):
            files().removed.add((cls, example.name))
            files().changed(clear_widgets=False)
            st.rerun()


def support_grid(support: SupportSet) -> None:
    """Each class: its count, then its images (the original above, what the model sees below)."""
    for c, (name, examples) in enumerate(support.classes.items()):
        st.markdown(f"**{name}**: {len(examples)} example{'s' if len(examples) != 1 else ''}")
        shown = examples[:SHOWN_PER_CLASS]
        columns = st.columns(max(8, len(shown[:8])))
        for i, e in enumerate(shown):
            _cell(columns[i % 8], e, f"own.rm.{c}.{i}", name)
        if len(examples) > len(shown):
            st.caption(f"and {len(examples) - len(shown)} more")


def query_grid(queries: QuerySet) -> None:
    columns = st.columns(8)
    for i, e in enumerate(queries.examples[:SHOWN_PER_CLASS]):
        _cell(columns[i % 8], e, f"own.rmq.{i}", "")


def problems(support: SupportSet, queries: QuerySet) -> None:
    """Files that were not used, each with its reason, and notes (ignored files)."""
    rejected = list(support.rejected) + list(queries.rejected)
    if rejected:
        st.warning(f"{len(rejected)} file(s) not used: " + "; ".join(str(r) for r in rejected[:3])
                   + (" ..." if len(rejected) > 3 else ""))
        with st.expander("Every file that was not used, and why"):
            st.markdown("\n".join(f"- `{r.file}`: {r.reason}" for r in rejected))
    for note in dict.fromkeys(support.notes + queries.notes):
        st.caption(note)


# ---- the model ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Model:
    key: str      # what the parameters are, for caching results
    label: str
    config: object
    params: dict


ZOO_TITLES = {"protonet-omniglot": "Prototypical Network, Omniglot (ships with the app)",
              "maml-omniglot": "MAML, Omniglot (ships with the app)"}


@st.cache_resource(show_spinner=False)
def _zoo(name: str):
    return checkpoint.load(checkpoint.zoo()[name])


def model_picker() -> Model | None:
    """A shipped checkpoint, this session's run from the Train page, or an uploaded checkpoint."""
    snap = session_worker().snapshot()
    zoo = sorted(checkpoint.zoo(), key=lambda n: (not n.startswith("protonet"), n))  # ProtoNet first: any N
    options = zoo + (["session"] if snap.checkpoint is not None else []) + ["upload"]
    labels = {**ZOO_TITLES, "upload": "Upload a checkpoint (.safetensors)"}
    if snap.checkpoint is not None:
        ck = snap.checkpoint
        labels["session"] = f"This session's run: {ck.config.learner} on {ck.config.task}, step {ck.step}"
    choice = st.selectbox("Meta-trained model", options, format_func=lambda o: labels.get(o, o), key="own.model")
    if snap.checkpoint is None:
        st.caption("Train a model on the Train page and it is offered here too.")
    if choice == "session":
        ck = snap.checkpoint
        return Model(f"session:{id(ck)}", labels["session"], ck.config, ck.learner)
    if choice == "upload":
        up = st.file_uploader("Checkpoint", type=["safetensors"], key="own.checkpoint",
                              help="Saved by metaviz (the Train page's export or metaviz.checkpoint.save). It is "
                                   "read as plain tensors: nothing in it can run.")
        if up is None:
            return None
        data = up.getvalue()
        try:
            loaded = checkpoint.load(data)
        except checkpoint.CheckpointError as error:
            st.error(f"{up.name}: {error}")
            return None
        return Model(f"upload:{hashlib.sha1(data).hexdigest()}", up.name, loaded.config, loaded.params)
    loaded = _zoo(choice)
    return Model(f"zoo:{choice}:{loaded.step}", labels.get(choice, choice), loaded.config, loaded.params)


def results(model: Model, spec: Preprocessing, support: SupportSet, queries: QuerySet,
            steps: int | None) -> fewshot.FewShotResult:
    """Adapt, predict, leave-one-out and the familiarity check, computed once per change."""
    key = (model.key, files().version, spec, steps)
    cached = st.session_state.get("own.result")
    if cached is None or cached[0] != key:
        with st.spinner("Adapting to your examples..."):
            cached = (key, fewshot.run(model.config, model.params, support, queries, steps))
        st.session_state["own.result"] = cached
    return cached[1]
