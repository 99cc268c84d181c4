"""The Your Text page and lesson 8 in AppTest, with the shipped text model."""

from __future__ import annotations

import pytest
from apptests import open_page

from metaviz import textshot
from ui import i18n

pytestmark = pytest.mark.skipif("intents-clinc150" not in textshot.text_models(),
                                reason="the shipped text model is not installed")


def test_four_typed_intents_get_sensible_predictions_with_probabilities():
    at = open_page("pages/own_text.py")
    table = at.dataframe[0].value
    assert list(table.iloc[:4, 1]) == ["balance", "music", "weather", "alarm"]
    assert all(0 < float(p.rstrip("%")) <= 100 for p in table.iloc[:, 2])
    assert at.metric[0].value.endswith("%") and not at.warning  # English meets an English-trained model: no note
    at.slider(key="text.reject").set_value(0.95)
    at.run()
    assert "none of these" in list(at.dataframe[0].value.iloc[:, 1])
    at.text_area(key="text.support.en").set_value("balance: what is my balance\nno label here\nmusic: play a song")
    at.run()
    assert any("Line 2 is left out" in w.value for w in at.warning)
    assert not at.exception


def test_chinese_text_gets_an_honest_note_in_chinese():
    at = open_page("pages/own_text.py", lang="zh")
    assert any("英文句子" in w.value for w in at.warning)  # the note: an English-trained model meets Chinese
    assert list(at.dataframe[0].value.iloc[:4, 1]) == ["余额", "音乐", "天气", "闹钟"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_train_page_says_text_learners_read_text_not_that_they_classify_only(lang):
    """On an image task, TF-IDF is left out because it reads text, not because of the kind of problem
    (both classify): the caption names the inputs, in either language."""
    strings = i18n.catalogue(lang)
    at = open_page("pages/train.py", lang=lang)
    family = next(s for s in at.selectbox if s.label == strings["pg_train.family"])
    family.set_value("omniglot")
    at.run()
    caption = next(c.value for c in at.caption if c.value.startswith(strings["pg_train.not_offered"].split("{")[0]))
    tfidf = next(part for part in caption.split(strings["pg_train.sep"]) if "TF-IDF" in part)
    assert strings["pg_train.input_tokens"] in tfidf and strings["pg_train.input_features"] in tfidf
    assert strings["pg_train.only"].split("{")[1].split("}")[1] not in tfidf  # not "(does ... only)"
    assert not at.exception
