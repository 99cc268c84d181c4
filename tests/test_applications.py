"""Lesson 10's map of applications: every application names a real lab page or none, in both languages, and the
treemap colours each tile by whether a lab shows it."""

from __future__ import annotations

import ast
from pathlib import Path

from metaviz.figures.applications import DESCRIBED, SHOWN, applications_figure
from ui import i18n

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages/learn/10_applications.py"


def literal(name: str):
    tree = ast.parse(PAGE.read_text(encoding="utf-8"))
    return next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                and any(getattr(target, "id", None) == name for target in node.targets))


def test_every_application_has_words_in_both_languages_and_a_registered_lab_or_none():
    applications, pages = literal("APPLICATIONS"), literal("PAGES")
    app = (ROOT / "app.py").read_text(encoding="utf-8")
    assert len({area for area, _, _ in applications}) == 6  # the seed's six areas
    for area, name, page in applications:
        for code in i18n.languages():
            words = i18n.catalogue(code)
            assert words.get(area, "").strip() and words.get(name, "").strip(), (code, name)
        if page is not None:
            assert page in pages and (ROOT / page).is_file() and f'"{page}"' in app
    assert any(page is None for *_, page in applications) and any(page for *_, page in applications)


def test_the_map_puts_each_application_under_its_area_coloured_by_whether_it_is_shown():
    rows = [("vision", "characters", "Train"), ("vision", "rare species", None), ("language", "intents", "Text")]
    trace = applications_figure(rows, text=dict(root="root", shown="on {page}")).data[0]
    assert trace.labels == ("root", "vision", "language", "characters", "rare species", "intents")
    parents = dict(zip(trace.labels, trace.parents))
    assert parents["characters"] == parents["rare species"] == "area/vision" and parents["vision"] == "root"
    assert list(trace.marker.colors[3:]) == [SHOWN, DESCRIBED, SHOWN]
    assert trace.customdata[3] == "on Train" and trace.customdata[4] == "only described"
    assert set(trace.ids) >= {"area/vision", "area/language"} and len(set(trace.ids)) == len(trace.ids)
