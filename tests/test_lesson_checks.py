"""Every lesson's self-checks: its own data (``CHECKS`` in its file), worded in every language, graded right for
the right option and wrong for every other, and answered on the page with the explanation revealed."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptests import open_page

from ui import i18n, lesson

ROOT = Path(__file__).resolve().parents[1]
PAGES = [path for path, *_ in lesson.LESSONS]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).stem)
def test_every_lesson_has_its_self_check_in_every_language(page):
    checks = lesson.checks_of(page)
    assert 1 <= len(checks) <= 2
    assert "lesson.self_check(__file__, CHECKS)" in (ROOT / page).read_text(encoding="utf-8")
    english = i18n.catalogue("en")
    for check in checks:
        assert len(check["options"]) >= 2 and 0 <= check["right"] < len(check["options"])
        keys = [check["question"], *check["options"], check["why"]]
        for code in i18n.languages():
            catalogue = i18n.catalogue(code)
            assert all(catalogue.get(k, "").strip() for k in keys), (code, keys)
            if code != "en":  # translated, not copied (the options may be numbers)
                assert catalogue[check["question"]] != english[check["question"]]
                assert catalogue[check["why"]] != english[check["why"]]
            options = [catalogue[k] for k in check["options"]]
            assert len(set(options)) == len(options), f"two options read the same in {code}: {options}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).stem)
def test_the_right_answer_is_graded_right_and_every_other_wrong(page):
    for check in lesson.checks_of(page):
        assert lesson.grade(check, None) is None
        assert lesson.grade(check, check["right"]) is True
        wrong = [i for i in range(len(check["options"])) if i != check["right"]]
        assert wrong and all(lesson.grade(check, i) is False for i in wrong)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_self_check_is_answered_on_the_page_and_explains_itself(lang):
    page = "pages/learn/02_tasks.py"
    (check,) = lesson.checks_of(page)
    words = i18n.catalogue(lang)
    at = open_page(page, lang=lang)
    radio = at.radio(key="learn-2-check-1")
    assert radio.label == words[check["question"]] and radio.value is None
    assert radio.options == [words[k] for k in check["options"]]  # shown in the catalogue's words
    assert not at.success and not at.warning  # nothing is revealed before an answer
    wrong = next(i for i in range(len(check["options"])) if i != check["right"])
    radio.set_value(wrong).run()
    assert not at.exception and not at.success
    assert words["lesson.check_wrong"] in at.warning[0].value and words[check["why"]] in at.warning[0].value
    at.radio(key="learn-2-check-1").set_value(check["right"]).run()
    assert not at.warning
    assert words["lesson.check_right"] in at.success[0].value and words[check["why"]] in at.success[0].value
