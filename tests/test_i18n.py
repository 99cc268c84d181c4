"""Languages: the catalogues, the lookup with its fallback, the URL and the sidebar selector."""

import ast
import inspect
import json
import logging
import re
import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metaviz import automl, learners, tasks
from metaviz.analysis.landscape import LandscapeConfig
from metaviz.analysis.toy import ToyConfig
from metaviz.config import Config
from metaviz.train import TrainConfig
from ui import i18n

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
KEY = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
# code whose user-facing text must come from the catalogues: the router, every shared widget and every page
CONVERTED = [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "pages").rglob("*.py"))]
TEXT_CALLS = {"title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "toast",
              "button", "slider", "select_slider", "selectbox", "radio", "multiselect", "number_input", "metric",
              "page_link", "toggle", "checkbox", "text_input", "spinner", "expander", "tabs", "latex"}


def code_files() -> list[Path]:
    """Where catalogue keys are written: the app, and the engine's errors that carry a key (metaviz.messages)."""
    return [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "pages").rglob("*.py")),
            *sorted((ROOT / "metaviz").rglob("*.py"))]


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


# ---- text that belongs to plugins: keys derived from the code ------------------------------------------------

PAGE_CONFIGS = (TrainConfig, LandscapeConfig, ToyConfig,  # configs that pages show as widgets, besides plugins'
                *(automl.get(name).Config for name in automl.available()))  # the AutoML methods' (checked ranges)
EXPLAINED = (LandscapeConfig, ToyConfig)                    # classes besides plugins that pages show in code.explain
DERIVED = ("title.", "doc.", "field.", "option.")          # the prefixes of derived keys


def plugins() -> list[type]:
    return [*learners.REGISTRY.classes.values(), *tasks.REGISTRY.classes.values()]


def config_classes() -> set[type]:
    return {cls.Config for cls in plugins()} | set(PAGE_CONFIGS)


def field_texts(cls) -> dict[str, tuple[str, str, tuple]]:
    """A config class's fields as it declares or inherits them: name -> (label, help, options)."""
    return {f.name: (ui.label, ui.help, ui.options or ()) for f, ui in cls.ui_fields()}


def owner(cls, key: str) -> type:
    """The class a field key names (field.<Owner>.<name>), found among ``cls``'s bases."""
    return next(c for c in cls.__mro__ if c.__name__ == key.split(".")[1])


def derived_english() -> dict[str, str]:
    """Every derived key -> the English the code holds for it: each plugin's title and docstring, the docstrings
    of the other classes pages explain, and each shown config field's label, non-empty help and string options
    (as the class the key is named after declares them)."""
    out: dict[str, str] = {}
    for cls in plugins():
        out[i18n.title_key(cls)] = cls.title or cls.name
    for cls in [*plugins(), *EXPLAINED]:
        out[i18n.doc_key(cls)] = inspect.getdoc(cls) or ""
    for cls in config_classes():
        for name in field_texts(cls):
            key = i18n.field_key(cls, name)
            label, help_text, options = field_texts(owner(cls, key))[name]
            out[key] = label
            if help_text:
                out[key + ".help"] = help_text
            for option in options:
                if isinstance(option, str):
                    out[i18n.option_key(cls, name, option)] = option
    return out


def test_the_derived_keys_cover_every_config_class_with_widgets():
    """A config class with widget fields (metaviz.config.param) is a plugin's or listed in PAGE_CONFIGS (or a
    base of one), so that its keys are in the set the catalogue test asks for."""

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    covered = {base for cls in config_classes() for base in cls.__mro__}
    missed = [c.__qualname__ for c in subclasses(Config) if c.ui_fields() and c.__module__.startswith("metaviz.")
              and c not in covered]
    assert not missed, f"config classes with widgets that the derived keys leave out (add to PAGE_CONFIGS): {missed}"
    keys = derived_english()
    assert keys["field.InnerLoopConfig.inner_lr"] == "Inner learning rate (alpha)"
    assert keys[i18n.title_key(learners.get("maml"))] == "MAML / FOMAML"
    assert "field.MAMLConfig.inner_lr" not in keys  # an inherited field has one key, its declaring class's


def test_each_field_key_stands_for_one_text():
    """A field's key must lead to its own label, help and options: a subclass that declares a field again with
    other text (Reptile's inner steps) needs a key of its own, or its translation would be its base's."""
    shared = []
    for cls in config_classes():
        for name, texts in field_texts(cls).items():
            key = i18n.field_key(cls, name)
            if texts != field_texts(owner(cls, key))[name]:
                shared.append(f"{cls.__name__}.{name} -> {key}")
    assert not shared, f"fields whose key names a base class that declares them with other text: {sorted(shared)}"


def test_english_holds_no_derived_key():
    """The code holds the English of plugin text (one idea, one file): en.json does not repeat it."""
    assert not [k for k in i18n.catalogue("en") if k.startswith(DERIVED)]


@pytest.mark.parametrize("code", i18n.languages())
def test_every_catalogue_has_every_english_key_and_no_other(code):
    """English has the keys the code writes out; every other catalogue has those and every derived key (titles,
    docstrings, field labels and helps, string options), and no derived key whose class, field or option has
    gone (a stale translation)."""
    expected = set(i18n.catalogue("en")) | (set(derived_english()) if code != i18n.DEFAULT else set())
    actual = set(i18n.catalogue(code))
    missing, extra = sorted(expected - actual), sorted(actual - expected)
    assert not missing and not extra, f"locales/{code}.json lacks {missing} and has keys no code uses: {extra}"


@pytest.mark.parametrize("code", i18n.languages())
def test_placeholders_match_english(code):
    """(Derived keys have no placeholders: plugin_text never formats, so their braces, LaTeX included, stay.)"""
    english, other = i18n.catalogue("en"), i18n.catalogue(code)
    wrong = {k: (placeholders(v), placeholders(other[k])) for k, v in english.items()
             if placeholders(v) != placeholders(other.get(k, v))}
    assert not wrong, f"placeholders differ from English in locales/{code}.json: {wrong}"


@pytest.mark.parametrize("code", i18n.languages()[1:])
def test_no_entry_is_left_untranslated_by_accident(code):
    """Outside English a text identical to the English one is allowed only when it has hardly any words (names
    such as MAML, symbols, formulas): a copied English sentence is a missing translation. The English of a
    derived key is the code's."""
    english, other = {**i18n.catalogue("en"), **derived_english()}, i18n.catalogue(code)
    same = [k for k, v in english.items()
            if other.get(k) == v and len(re.findall(r"\b[a-z]{3,}\b", re.sub(r"\$[^$]*\$|\\[a-zA-Z]+", "", v))) > 2]
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


def test_plugin_text_is_the_codes_english_or_its_translation_as_it_is(locales, caplog):
    """Derived keys: English is the code's text; another language's catalogue text is returned unformatted
    (braces stay, as in docstrings); a missing translation shows the English and is logged once."""
    write(locales, "en", {"language.name": "English"})
    write(locales, "zh", {"field.A.b": "乙 {x}", "option.TrainConfig.strategy.loop": "循环"})
    assert i18n.plugin_text_in("en", "field.A.b", "B {x}") == "B {x}"
    assert i18n.plugin_text_in("zh", "field.A.b", "B {x}") == "乙 {x}"
    with caplog.at_level(logging.WARNING, logger="ui.i18n"):
        assert i18n.plugin_text_in("zh", "field.A.c", "C") == "C"
        assert i18n.plugin_text_in("zh", "field.A.c", "C") == "C"
    assert sum("'field.A.c'" in r.getMessage() for r in caplog.records) == 1
    assert i18n.option_text(TrainConfig, "strategy", "loop", "zh") == "循环"
    assert i18n.option_text(TrainConfig, "strategy", "loop", "en") == "loop"
    assert i18n.option_text(learners.get("sequence").Config, "width", 32, "zh") == "32"  # numbers stay


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


def open_train(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[i18n.LANG] = lang
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_train_pages_generated_widgets_and_how_it_works_are_in_the_sessions_language():
    """The widgets generated from config fields show the catalogue's labels, helps and options in Chinese and the
    code's in English; the 'How it works' expander names the learner by its translated title. A choice made in
    one language survives a switch to another (a selectbox keeps the code's values, not the shown text)."""
    zh, maml = i18n.catalogue("zh"), learners.get("maml")
    inner_lr = dict((f.name, ui) for f, ui in maml.Config.ui_fields())["inner_lr"]
    key = i18n.field_key(maml.Config, "inner_lr")
    expected = {"zh": (zh[key], zh[key + ".help"], [zh[i18n.option_key(TrainConfig, "strategy", o)]
                                                     for o in ("auto", "vmap", "loop")], zh[i18n.title_key(maml)]),
                "en": (inner_lr.label, inner_lr.help, ["auto", "vmap", "loop"], maml.title)}
    assert expected["zh"][0] != expected["en"][0] and expected["zh"][2] != expected["en"][2]
    at = open_train("zh")
    for lang, (label, help_text, options, title) in expected.items():
        slider = at.select_slider(key="learner.maml.inner_lr")  # a learning rate: a log-scale select_slider
        assert slider.label == label + " ⚡"  # a live field
        assert slider.help == i18n.text("ui_forms.live_help", lang).format(help=help_text)
        assert at.selectbox(key="train.strategy").options == options
        assert i18n.text("ui_code.how", lang).format(title=title) in [e.label for e in at.expander]
        assert i18n.text("ui_code.show_code", lang) in [toggle.label for toggle in at.toggle]
        if lang == "zh":  # choose an option in Chinese, then switch to English
            at.selectbox(key="train.strategy").set_value("loop")
            at.run()
            at.sidebar.selectbox(key=i18n.LANG).set_value("en")
            at.run()
            assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="train.strategy").value == "loop"
    assert at.session_state["mv.run_config"].train.strategy == "loop"


def test_a_rejected_value_is_reported_in_the_sessions_language():
    """x_min at x_max breaks CurveConfig's check: the form says so in Chinese and keeps the previous value."""
    at = open_train("zh")
    at.slider(key="task.sinusoid.x_min").set_value(5.0)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(e.startswith("SinusoidConfig: x_min must be below x_max")
               and e.endswith(i18n.catalogue("zh")["ui_forms.invalid"].removeprefix("{error}")) for e in errors), errors
    assert at.session_state["mv.run_config"].task_config.x_min == -5.0
