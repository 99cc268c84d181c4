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
"""

from __future__ import annotations

import json
import logging
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
