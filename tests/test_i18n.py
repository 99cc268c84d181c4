"""Languages: the catalogues, the lookup with its fallback, the URL and the sidebar selector."""

import ast
import json
import logging
import re
import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import i18n

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
KEY = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
# code whose user-facing text must come from the catalogues (the lead adds the other pages as they are converted)
CONVERTED = [ROOT / "ui" / "i18n.py", ROOT / "ui" / "lesson.py", *sorted((ROOT / "pages" / "learn").glob("*.py"))]
TEXT_CALLS = {"title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "toast",
              "button", "slider", "select_slider", "selectbox", "radio", "multiselect", "number_input", "metric",
              "page_link", "toggle", "checkbox", "text_input", "spinner", "expander", "tabs", "latex"}


def code_files() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "pages").rglob("*.py"))]


def string_constants(path: Path) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def placeholders(text: str) -> set[str] | None:
    """The {fields} of a format string, or None for text that str.format cannot read (LaTeX braces), which
    is then never formatted."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError:
        return None


@pytest.fixture
def locales(tmp_path, monkeypatch):
    """An empty locales folder in place of the app's."""
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    monkeypatch.setattr(i18n, "_cache", {})
    monkeypatch.setattr(i18n, "_reported", set())
    return tmp_path


def write(folder: Path, code: str, data) -> None:
    (folder / f"{code}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


# ---- the catalogues --------------------------------------------------------------------------------------

def test_the_app_has_english_first_and_chinese():
    assert i18n.languages()[:1] == ["en"] and "zh" in i18n.languages()
    assert i18n.language_name("zh") == "简体中文"


@pytest.mark.parametrize("code", i18n.languages())
def test_every_catalogue_has_every_english_key_and_no_other(code):
    assert set(i18n.catalogue(code)) == set(i18n.catalogue("en"))


@pytest.mark.parametrize("code", i18n.languages())
def test_placeholders_match_english(code):
    english, other = i18n.catalogue("en"), i18n.catalogue(code)
    wrong = {k: (placeholders(v), placeholders(other[k])) for k, v in english.items()
             if placeholders(v) != placeholders(other.get(k, v))}
    assert not wrong, f"placeholders differ from English in locales/{code}.json: {wrong}"


@pytest.mark.parametrize("code", i18n.languages()[1:])
def test_no_entry_is_left_untranslated_by_accident(code):
    """Outside English a text identical to the English one is allowed only when it has hardly any words (names
    such as MAML, symbols, formulas): a copied English sentence is a missing translation."""
    english, other = i18n.catalogue("en"), i18n.catalogue(code)
    same = [k for k, v in english.items()
            if other[k] == v and len(re.findall(r"\b[a-z]{3,}\b", re.sub(r"\$[^$]*\$|\\[a-zA-Z]+", "", v))) > 2]
    assert not same, f"copied from English in locales/{code}.json: {same}"


def test_every_key_the_code_uses_exists_and_every_key_is_used():
    """Keys are written out in the code (t("l1.title"), lesson.header(..., "l1.title", ...)), so a scan of its
    string constants finds them all: any constant shaped like a key in a catalogue namespace must exist, and
    every catalogue key must appear."""
    catalogue = i18n.catalogue("en")
    namespaces = {k.split(".")[0] for k in catalogue}
    constants = set().union(*(string_constants(p) for p in code_files()))
    used = {c for c in constants if KEY.fullmatch(c) and c.split(".")[0] in namespaces}
    assert not used - set(catalogue), f"keys used in the code but missing from the catalogues: {used - set(catalogue)}"
    assert not set(catalogue) - constants, f"keys no code uses: {sorted(set(catalogue) - constants)}"


@pytest.mark.parametrize("path", CONVERTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_hard_coded_user_facing_text(path):
    """Widgets and text elements get their words from the catalogues: no string literal with letters as their
    label or body (f-strings may only join catalogue texts with punctuation)."""

    def wordy(node) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return bool(re.search(r"[^\W\d_]", node.value))
        if isinstance(node, ast.JoinedStr):
            return any(wordy(v) for v in node.values if isinstance(v, ast.Constant))
        return False

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        logger = isinstance(getattr(node, "func", None), ast.Attribute) and isinstance(node.func.value, ast.Name) \
            and node.func.value.id in ("_log", "logger", "logging")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TEXT_CALLS \
                and not logger:
            first = [] if node.func.attr == "page_link" else node.args[:1]  # page_link's first is the page
            args = first + [k.value for k in node.keywords if k.arg in ("label", "help", "caption", "text")]
            found += [f"line {node.lineno}: {ast.unparse(a)}" for a in args if wordy(a)]
    assert not found, f"hard-coded text in {path.name}: {found}"


# ---- the lookup -------------------------------------------------------------------------------------------

def test_a_third_language_is_one_more_file(locales):
    write(locales, "en", {"language.name": "English", "a.b": "Hello {name}"})
    write(locales, "fr", {"language.name": "Français", "a.b": "Bonjour {name}"})
    assert i18n.languages() == ["en", "fr"]
    assert i18n.language_name("fr") == "Français"
    assert i18n.text("a.b", "fr").format(name="Ada") == "Bonjour Ada"


def test_a_missing_key_falls_back_to_english_and_is_logged_once(locales, caplog):
    write(locales, "en", {"a.b": "only in English", "a.c": "both"})
    write(locales, "zh", {"a.c": "两者"})
    with caplog.at_level(logging.WARNING, logger="ui.i18n"):
        assert i18n.text("a.b", "zh") == "only in English"
        assert i18n.text("a.b", "zh") == "only in English"
        assert i18n.text("a.c", "zh") == "两者"
        assert i18n.text("nowhere", "en") == "nowhere"
    messages = [r.getMessage() for r in caplog.records]
    assert sum("'a.b'" in m and "zh" in m for m in messages) == 1
    assert sum("'nowhere'" in m for m in messages) == 1


def test_a_broken_catalogue_says_which_file_and_why(locales):
    (locales / "en.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"en\.json: not valid JSON"):
        i18n.catalogue("en")
    write(locales, "en", {"a.b": 3})
    with pytest.raises(ValueError, match=r"the value of 'a\.b' is not a string"):
        i18n.catalogue("en")


def test_a_changed_catalogue_file_is_read_again(locales):
    write(locales, "en", {"a.b": "first"})
    assert i18n.text("a.b", "en") == "first"
    write(locales, "en", {"a.b": "second"})
    path = locales / "en.json"
    stat = path.stat()
    import os
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a new modification time
    assert i18n.text("a.b", "en") == "second"


# ---- in the app -------------------------------------------------------------------------------------------

def test_the_url_sets_the_language_and_the_selector_changes_it_and_the_url():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "zh"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    selector = at.sidebar.selectbox(key=i18n.LANG)
    assert selector.value == "zh" and selector.label == i18n.catalogue("zh")["i18n.label"]
    selector.set_value("en")
    at.run()
    assert at.sidebar.selectbox(key=i18n.LANG).label == "Language"
    assert at.query_params["lang"] == "en"  # a copied link keeps the language
    at.query_params["lang"] = "zh"           # read on a session's first run only
    at.run()
    assert at.sidebar.selectbox(key=i18n.LANG).value == "en"


def test_an_unknown_language_in_the_url_says_so_and_keeps_english():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "xx"
    at.run()
    assert not at.exception
    assert any("'xx'" in toast.value and "en, zh" in toast.value for toast in at.toast)
    assert at.sidebar.selectbox(key=i18n.LANG).value == "en"
