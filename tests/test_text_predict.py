"""Text predictions from files: ``python -m metaviz predict`` with a text checkpoint, and metaviz.textshot."""

import json
import subprocess
import sys

import numpy as np
import pytest

from metaviz import checkpoint, textshot
from metaviz.tasks.intents import IntentsConfig
from metaviz.train import RunConfig, TrainConfig, build_learner

SUPPORT = """text,label
how much money is in my checking account,balance
what is my account balance,balance
tell me my bank balance,balance
play some jazz music,music
put on a song by the beatles,music
i want to hear music,music
what's the weather tomorrow,weather
will it rain today,weather
is it going to be sunny,weather
set an alarm for 6 am,alarm
wake me up at seven,alarm
,alarm
please set my alarm,alarm
"""
QUERIES = "how much is in my savings account balance\nplay a song please\nwill it be rainy tomorrow\nset alarm at 5\n"


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    """An n-gram ProtoNet checkpoint before meta-training: its n-gram part is TF-IDF, enough to be sensible."""
    config = RunConfig(task="intents", learner="ngram_protonet", task_config=IntentsConfig(),
                       train=TrainConfig(hidden=16))
    path = tmp_path_factory.mktemp("model") / "text.safetensors"
    return checkpoint.save(path, config, build_learner(config).state_numpy(), 0)


def test_four_intents_from_three_sentences_each(text_model):
    loaded = checkpoint.load(text_model)
    rows = [line.split(",") for line in SUPPORT.strip().splitlines()[1:] if not line.startswith(",")]
    result = textshot.classify(loaded, [r[0] for r in rows], [r[1] for r in rows], QUERIES.strip().split("\n"))
    assert result.classes == ("balance", "music", "weather", "alarm")
    assert result.predicted == ["balance", "music", "weather", "alarm"]
    np.testing.assert_allclose(result.probabilities.sum(1), 1.0)
    assert result.loo_count == 13 - 1 and 0.5 <= result.loo_accuracy <= 1
    assert result.support_embedding.shape[0] == 12 and not result.notes
    rejected = textshot.classify(loaded, [r[0] for r in rows], [r[1] for r in rows], ["zebra"], reject_below=0.99,
                                 loo=False)
    assert rejected.predicted == [textshot.NONE_OF_THESE] and rejected.loo_accuracy is None
    chinese = textshot.classify(loaded, ["我的余额是多少", "账户里有多少钱", "放一首歌", "我想听音乐"],
                                ["余额", "余额", "音乐", "音乐"], ["播放音乐"], loo=False)
    assert chinese.predicted == ["音乐"] and "Chinese" in chinese.notes[0]
    with pytest.raises(textshot.TextShotError, match="at least two classes"):
        textshot.classify(loaded, ["a", "b"], ["x", "x"], ["c"])


def test_the_command_line_prints_one_json_line_per_query_and_names_bad_rows(text_model, tmp_path):
    (tmp_path / "support.csv").write_text(SUPPORT, encoding="utf-8")
    (tmp_path / "queries.txt").write_text(QUERIES, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "metaviz", "predict", "--model", str(text_model), "--support",
                          str(tmp_path / "support.csv"), "--query", str(tmp_path / "queries.txt"),
                          "--reject-below", "0.2"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0] == {"rejected": f"{tmp_path / 'support.csv'}:13", "line": 13, "reason": "empty text",
                        "set": "support"}
    predictions = lines[1:]
    assert [p["text"] for p in predictions] == QUERIES.strip().split("\n")
    assert [p["predicted"] for p in predictions] == ["balance", "music", "weather", "alarm"]
    assert all(set(p["probabilities"]) == {"balance", "music", "weather", "alarm"} for p in predictions)
    assert "leave-one-out accuracy" in out.stderr
    bad = subprocess.run([sys.executable, "-m", "metaviz", "predict", "--model", str(text_model), "--support",
                          str(tmp_path / "queries.txt"), "--query", str(tmp_path / "queries.txt")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "'text' and a 'label' column" in bad.stderr


def test_probabilities_use_the_checkpoints_calibration_temperature(text_model, tmp_path):
    loaded = checkpoint.load(text_model)
    hot = checkpoint.load(checkpoint.save(tmp_path / "hot.safetensors", loaded.config, loaded.params, 0,
                                          temperature=2.0))
    support, labels = ["play some jazz", "put on a song", "will it rain", "is it sunny"], ["m", "m", "w", "w"]
    plain = textshot.classify(loaded, support, labels, ["play a song"], loo=False).probabilities
    warm = textshot.classify(hot, support, labels, ["play a song"], loo=False).probabilities
    logits = np.log(plain)  # softmax(z) -> log gives z up to a constant per row
    expected = np.exp(logits / 2.0) / np.exp(logits / 2.0).sum(1, keepdims=True)
    np.testing.assert_allclose(warm, expected, atol=1e-9)
    assert warm.max() < plain.max()
