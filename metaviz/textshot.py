"""Few-shot classification of a user's own sentences with a checkpoint meta-trained on text.

    result = classify(loaded, ["refund please", ...], ["refund", ...], ["where is my money"], reject_below=0.5)

The support sentences (a few per class) and the queries go through the model's tokenizer
(``metaviz.data.tokenizer``); the learner adapts on the support set (prototypes, or its inner steps) and
scores every query from the support set alone. Beside the predictions come the leave-one-out accuracy
on the support set (each support sentence classified from the others: an estimate of how well the
classes are separated that needs no labelled queries) and an honest note when the text is unlike the
model's meta-training data (Chinese text and a model meta-trained on English sentences).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from metaviz import tasks
from metaviz.data.tokenizer import cjk_fraction, encode_batch
from metaviz.messages import KeyedError, Note

NONE_OF_THESE = "none of these"
EXAMPLES = {  # what the Your Text page starts with: four intents of three sentences, and queries
    "en": ("balance: how much money is in my checking account\nbalance: what is my account balance\n"
           "balance: tell me my bank balance\nmusic: play some jazz music\nmusic: put on a song by the beatles\n"
           "music: i want to hear music\nweather: what's the weather tomorrow\nweather: will it rain today\n"
           "weather: is it going to be sunny\nalarm: set an alarm for 6 am\nalarm: wake me up at seven\n"
           "alarm: please set my alarm",
           "how much is left in my savings account\nplay a song please\nwill it be rainy tomorrow\n"
           "set alarm at 5\nwho won the football game"),
    "zh": ("余额：我的账户里还有多少钱\n余额：查一下我的银行余额\n余额：我的存款余额是多少\n音乐：放一首爵士乐\n"
           "音乐：我想听周杰伦的歌\n音乐：播放一些音乐\n天气：明天天气怎么样\n天气：今天会下雨吗\n天气：周末是晴天吗\n"
           "闹钟：定一个早上六点的闹钟\n闹钟：七点叫醒我\n闹钟：帮我设个闹钟",
           "我的储蓄账户还剩多少钱\n请放一首歌\n明天会下雨吗\n五点的闹钟\n昨晚的足球比赛谁赢了"),
}


class TextShotError(KeyedError):
    """The support set or the model cannot give a prediction (one class, a model that does not take text)."""


@dataclass(frozen=True)
class TextResult:
    classes: tuple[str, ...]
    probabilities: np.ndarray    # [Q, N]
    predicted: list[str]         # class name, or NONE_OF_THESE when below ``reject_below``
    loo_accuracy: float | None   # leave-one-out accuracy on the support set (None: no class has 2 sentences)
    loo_count: int               # support sentences it was measured on
    notes: list[Note]
    support_embedding: np.ndarray | None = None  # [S, D] the learner's features (None: no embedding)
    query_embedding: np.ndarray | None = None    # [Q, D]


def learner_for(loaded, n_classes: int):
    """The checkpoint's learner for ``n_classes``-way tasks, parameters loaded, on the CPU."""
    from metaviz import checkpoint

    if tasks.get(loaded.config.task).input_kind() != "tokens":
        raise TextShotError(f"the model was meta-trained on {loaded.config.task}, not on text: choose a text model "
                            "such as intents-clinc150", "err_text.not_text_model", task=loaded.config.task)
    if n_classes < 2:
        raise TextShotError(f"classification needs at least two classes with sentences; there are {n_classes}",
                            "err_text.too_few_classes", n=str(n_classes))
    task_config = loaded.config.task_config
    if hasattr(task_config, "n_way"):
        task_config = dataclasses.replace(task_config, n_way=n_classes)
    return checkpoint.build(loaded, "cpu", task_config)


def _probabilities(learner, sx: torch.Tensor, sy: torch.Tensor, qx: torch.Tensor,
                   temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / ``temperature``) [Q, N] of each query, from the support set alone."""
    params = {k: v.detach() for k, v in learner.params.items()}
    steps = getattr(learner.config, "inner_steps", 0) if learner.has_inner_loop else 0
    adapted = learner.adapt(params, sx, sy, steps=steps, first_order=True).params
    with torch.no_grad():
        logits = learner.predict({k: v.detach() for k, v in adapted.items()}, qx)
    return torch.softmax(logits.double() / temperature, -1).numpy()


def leave_one_out(learner, sx: torch.Tensor, sy: torch.Tensor) -> tuple[float | None, int]:
    """Accuracy of classifying each support sentence from the others (only where its class keeps another)."""
    counts = torch.bincount(sy, minlength=learner.task.out_dim)
    hits, used = 0, 0
    for i in range(len(sy)):
        if counts[sy[i]] < 2:
            continue
        keep = torch.arange(len(sy)) != i
        p = _probabilities(learner, sx[keep], sy[keep], sx[i:i + 1])
        hits += int(p[0].argmax() == int(sy[i]))
        used += 1
    return (hits / used if used else None), used


def familiarity(loaded, texts: Sequence[str]) -> list[Note]:
    """Notes when the text is unlike the model's meta-training data."""
    share = cjk_fraction(texts)
    if loaded.config.task == "intents" and share > 0.3:
        return [Note(f"{share:.0%} of the letters are Chinese (or other CJK) characters, but the model was "
                     "meta-trained on English sentences (CLINC150): its learned encoder and n-gram weights have "
                     "never seen such text, so it falls back mostly on the n-gram statistics of your own "
                     "sentences. Expect roughly what TF-IDF alone would give, and add more example sentences.",
                     "note_text.unfamiliar_script", share=f"{share:.0%}")]
    return []


def classify(loaded, support_texts: Sequence[str], support_labels: Sequence[str], query_texts: Sequence[str],
             reject_below: float | None = None, loo: bool = True) -> TextResult:
    """Predictions for ``query_texts`` from the labelled ``support_texts`` (see the module docstring)."""
    classes = tuple(dict.fromkeys(support_labels))
    learner = learner_for(loaded, len(classes))
    sx = encode_batch(support_texts)
    sy = torch.tensor([classes.index(y) for y in support_labels])
    qx = encode_batch(query_texts)
    probabilities = (_probabilities(learner, sx, sy, qx, loaded.temperature) if len(query_texts)
                     else np.zeros((0, len(classes))))
    predicted = [NONE_OF_THESE if reject_below is not None and p.max() < reject_below else classes[int(p.argmax())]
                 for p in probabilities]
    accuracy, used = leave_one_out(learner, sx, sy) if loo else (None, 0)
    support_z = query_z = None
    if learner.has_embedding:
        with torch.no_grad():
            embed = {k: v.detach() for k, v in learner.params.items()}
            support_z = learner.embed(embed, sx).double().numpy()
            query_z = learner.embed(embed, qx).double().numpy() if len(query_texts) else np.zeros((0, 0))
    return TextResult(classes, probabilities, predicted, accuracy, used,
                      familiarity(loaded, [*support_texts, *query_texts]), support_z, query_z)


def text_models() -> dict[str, object]:
    """The shipped checkpoints that take text: name -> path."""
    from metaviz import checkpoint

    out = {}
    for name, path in checkpoint.zoo().items():
        try:
            loaded = checkpoint.load(path)
        except checkpoint.CheckpointError:
            continue
        if loaded.config.task in tasks.available() and tasks.get(loaded.config.task).input_kind() == "tokens":
            out[name] = path
    return out


def embedding_plane(result: TextResult, support_labels: Sequence[str], grid: int = 80):
    """The support sentences, the queries (coloured by their prediction) and the class prototypes of the
    learner's embedding, on the top two principal components of the sentences (None without an embedding)."""
    from metaviz.analysis.embedding import (
        EmbeddingResult,
        class_means,
        decision_regions,
        fit_pca,
        nearest,
        padded_range,
    )

    if result.support_embedding is None:
        return None
    n = len(result.classes)
    y = np.array([result.classes.index(label) for label in support_labels])
    zs, zq = result.support_embedding, result.query_embedding.reshape(-1, result.support_embedding.shape[1])
    prototypes = class_means(zs, y, n)
    points = np.concatenate([zs, zq])
    pca = fit_pca(points)
    coords = pca.transform(np.concatenate([points, prototypes]))
    q_labels = result.probabilities.argmax(1) if len(zq) else np.zeros(0, np.int64)
    x_range, y_range = padded_range(coords[:, 0]), padded_range(coords[:, 1])
    return EmbeddingResult(coords, np.concatenate([y, q_labels, np.arange(n)]),
                           np.array(["support"] * len(zs) + ["query"] * len(zq) + ["prototype"] * n), result.classes,
                           np.concatenate([nearest(points, prototypes), np.arange(n)]),
                           decision_regions(coords[-n:], x_range, y_range, grid),
                           axis_titles=(f"PC 1 ({pca.explained[0]:.0%})", f"PC 2 ({pca.explained[1]:.0%})"))


@dataclass(frozen=True)
class Comparison:
    """Per-task query accuracy [T] of each learner on the same meta-test tasks."""

    learners: tuple[str, ...]
    accuracy: dict[str, np.ndarray]
    n_way: int
    model_found: bool  # False: the shipped model is missing and its untrained start stood in


def compare_on_meta_test(k_shot: int, n_tasks: int, seed: int = 0, model: str = "intents-clinc150") -> Comparison:
    """TF-IDF and the shipped n-gram ProtoNet on the same 5-way ``k_shot`` tasks of the meta-test domains."""
    from metaviz import checkpoint
    from metaviz.train import RunConfig, build_learner

    config = tasks.get("intents").Config(n_way=5, k_shot=k_shot, n_query=5)
    batch = tasks.get("intents")(config).sample(n_tasks, torch.Generator().manual_seed(seed), "test").episode
    path = checkpoint.zoo().get(model)
    if path is not None:
        meta = checkpoint.build(checkpoint.load(path), "cpu", config)
    else:
        meta = build_learner(RunConfig(task="intents", learner="ngram_protonet", task_config=config))
    out = {}
    for name, learner in (("tfidf", build_learner(RunConfig(task="intents", learner="tfidf", task_config=config))),
                          ("ngram_protonet", meta)):
        params = {k: v.detach() for k, v in learner.params.items()}
        with torch.no_grad():
            out[name] = learner.per_task(lambda p, e, lr=learner: lr.query_metrics(p, e)[1], params, batch).numpy()
    return Comparison(tuple(out), out, 5, path is not None)
