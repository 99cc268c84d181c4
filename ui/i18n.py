"""Languages: every user-facing string comes from a catalogue, one JSON file per language.

``locales/<code>.json`` is a flat object, key -> text, such as ``"l1.title": "Learning to learn"``.
``t("l1.title")`` returns the text in the session's language; ``t("l1.trained", steps=200)`` fills
``{steps}`` placeholders with ``str.format`` (only when arguments are given, so a string without them may
hold LaTeX braces as they are; a string *with* arguments writes a literal brace as ``{{`` or ``}}``).

The language lives in ``st.session_state["mv.lang"]``. It is taken from the URL (``?lang=zh``) on a
session's first run (:func:`init_from_url`, called by ``app.py`` before ``st.navigation``, so that the
navigation is in that language too) and from the sidebar's selector afterwards, which writes it back
into the URL so that a copied link keeps it. A key missing from a catalogue falls back to English and
is logged once per language and key; a key missing from English too shows as the key itself.

A third language is one more file: :func:`languages` lists the files in ``locales/``, and each names
itself under ``language.name``.

Text that belongs to a plugin (a learner or a task family: one idea, one file) keeps its English in that file:
its ``title``, its module docstring (paper, idea, update rule) and the label and help of each config field
(:func:`metaviz.config.param`). Other catalogues translate it under keys derived from the code
(:func:`title_key`, :func:`doc_key`, :func:`field_key`, and :func:`option_key` for a field's string options),
which English does not repeat: :func:`plugin_text` returns the code's English in English and the translation
elsewhere.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
from pathlib import Path

import streamlit as st

LOCALES = Path(__file__).resolve().parents[1] / "locales"
DEFAULT = "en"
LANG = "mv.lang"                 # the session's language (the sidebar selector's key)
URL_READ = "mv.lang_url_read"    # set once the URL's ?lang= has been read
NAME_KEY = "language.name"       # each catalogue's own name for its language, shown in the selector

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, str]]] = {}   # code -> (file mtime, catalogue)
_reported: set[tuple[str, str]] = set()                # (language, key) pairs already logged as missing


def catalogue(code: str) -> dict[str, str]:
    """The catalogue of language ``code`` (read again when its file changes). ValueError for a file that is
    not a flat JSON object of strings, naming the file and the entry."""
    path = LOCALES / f"{code}.json"
    mtime = path.stat().st_mtime
    with _lock:
        cached = _cache.get(code)
        if cached and cached[0] == mtime:
            return cached[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a catalogue is one JSON object of key -> text")
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise ValueError(f"{path}: the value of {bad[0]!r} is not a string (every entry is key -> text)")
    with _lock:
        _cache[code] = (mtime, data)
    return data


def languages() -> list[str]:
    """Language codes with a catalogue, English first."""
    codes = sorted(p.stem for p in LOCALES.glob("*.json"))
    return [DEFAULT, *(c for c in codes if c != DEFAULT)]


def language_name(code: str) -> str:
    """A language's name in that language ("English", "简体中文")."""
    return catalogue(code).get(NAME_KEY, code)


def current() -> str:
    """The session's language (English when none is set or the one set has no catalogue)."""
    code = st.session_state.get(LANG, DEFAULT)
    return code if code in languages() else DEFAULT


def text(key: str, code: str) -> str:
    """The raw text of ``key`` in language ``code``, with the fallback to English (logged once)."""
    value = catalogue(code).get(key)
    if value is not None:
        return value
    with _lock:
        first = (code, key) not in _reported
        _reported.add((code, key))
    if first:
        _log.warning("no %r in locales/%s.json; %s", key, code,
                     "showing English" if code != DEFAULT else "showing the key")
    return catalogue(DEFAULT).get(key, key) if code != DEFAULT else key


def t(key: str, **fmt) -> str:
    """The text of ``key`` in the session's language, its ``{placeholders}`` filled from ``fmt``."""
    value = text(key, current())
    return value.format(**fmt) if fmt else value


def labels(keys: dict) -> dict:
    """``{option: t(key)}`` for a widget's ``{option: key}``, looked up now. Pass ``labels(...).__getitem__`` as
    its ``format_func``: a function that calls ``t`` later runs outside the script run in AppTest, and would
    then format in the default language."""
    return {option: t(key) for option, key in keys.items()}


def title_key(cls) -> str:
    """``title.learners.maml``: the catalogue key of a plugin class's ``title``."""
    return "title." + cls.__module__.removeprefix("metaviz.")


def doc_key(cls) -> str:
    """``doc.learners.maml``: the catalogue key of a plugin's docstring (its module docstring)."""
    return "doc." + cls.__module__.removeprefix("metaviz.")


def field_key(config_cls, name: str) -> str:
    """``field.InnerLoopConfig.inner_lr``: the key of a config field's label (``+ ".help"`` for its help), named
    after the first class (from the base down) that declares the field with the same label, help and options, so
    that an inherited field, or one declared again only for another default or range, is translated once, and one
    declared again with other text (Reptile's inner steps) has its own key."""
    def text(cls):
        ui = next(f.metadata.get("ui") for f in dataclasses.fields(cls) if f.name == name)
        return None if ui is None else (ui.label, ui.help, ui.options)

    mine = text(config_cls)
    owner = next(c for c in reversed(config_cls.__mro__)
                 if name in vars(c).get("__annotations__", {}) and text(c) == mine)
    return f"field.{owner.__name__}.{name}"


def plugin_text(key: str, english: str) -> str:
    """``english`` (the code's own text) in English; the catalogue's translation under ``key`` in another
    language, or ``english`` when that catalogue lacks it (logged once)."""
    return plugin_text_in(current(), key, english)


def plugin_text_in(code: str, key: str, english: str) -> str:
    """:func:`plugin_text` in language ``code`` rather than the session's."""
    if code == DEFAULT or not english:
        return english
    value = catalogue(code).get(key)
    if value is None:
        with _lock:
            first = (code, key) not in _reported
            _reported.add((code, key))
        if first:
            _log.warning("no %r in locales/%s.json; showing English", key, code)
        return english
    return value


def option_key(config_cls, name: str, value) -> str:
    """``option.LandscapeConfig.bias.zero``: the key of one option of a config field's selectbox (``UI.options``),
    named after the class that declares the field, as :func:`field_key` does."""
    return "option." + field_key(config_cls, name).removeprefix("field.") + f".{value}"


def option_text(config_cls, name: str, value, code: str | None = None) -> str:
    """One option of a config field in language ``code`` (the session's by default): a string option through
    :func:`plugin_text` (the code's value in English), any other (a number) as it is."""
    if not isinstance(value, str):
        return str(value)
    return plugin_text_in(current() if code is None else code, option_key(config_cls, name, value), value)


def said(message) -> str:
    """An engine error or note in the session's language: the catalogue text of its key when it has one
    (``metaviz.messages``), else its English."""
    key = getattr(message, "key", None)
    return t(key, **message.params) if key else str(message)


_MARKDOWN = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark


def literal(text) -> str:
    """``text`` from a file, an upload or a URL (a class, file or run name) made safe to put into markdown:
    shown exactly as written, never read as markdown, math or HTML (newlines become spaces)."""
    flat = " ".join(str(text).splitlines()).replace("\x00", "")
    return _MARKDOWN.sub(r"\\\1", flat)  # CommonMark: a backslash before any ASCII punctuation shows it as is


def title(cls) -> str:
    """A learner's or task family's title in the session's language (its name when it has no title)."""
    return plugin_text(title_key(cls), getattr(cls, "title", "") or cls.name)


def init_from_url() -> None:
    """On a session's first run, take the language from the URL's ``?lang=`` (call before ``st.navigation``)."""
    if st.session_state.get(URL_READ):
        return
    st.session_state[URL_READ] = True
    wanted = st.query_params.get("lang")
    if wanted is None:
        return
    if wanted in languages():
        st.session_state[LANG] = wanted
    else:
        st.toast(t("i18n.unknown", lang=wanted, choices=", ".join(languages())), icon=":material/translate:")


def _to_url() -> None:
    st.query_params["lang"] = st.session_state[LANG]


def selector() -> None:
    """The language selector (in the sidebar). A change also goes into the URL, so links keep it."""
    if st.session_state.get(LANG) not in languages():
        st.session_state[LANG] = DEFAULT
    st.selectbox(t("i18n.label"), languages(), key=LANG, format_func=language_name, on_change=_to_url)
