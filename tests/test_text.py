"""Few-shot text: the tokenizer, the text encoder, TF-IDF against scikit-learn, the intents and
sentences-file families, the ingestion of a user's file and the n-gram ProtoNet."""

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from metaviz.data import clinc150, texts, tokenizer
from metaviz.learners.ngram_protonet import NgramProtoConfig
from metaviz.learners.tfidf import TfidfConfig, ngram_cosines, ngram_prototypes, support_idf, term_counts, tfidf
from metaviz.models import TextEncoder, build_model
from metaviz.tasks.intents import Intents, IntentsConfig
from metaviz.train import RunConfig, TrainConfig, build_learner

SENTENCES = ["How do I get a refund?", "book me a flight to Paris", "what's the weather like",
             "set an alarm for 7am", "Transfer $50 to   savings", "我想订一张去北京的机票"]


def test_ngrams_are_scikit_learns_char_wb_2_to_4():
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).build_analyzer()
    data = clinc150.load()
    sample = [t for intent in data.intents[:40] for t in data.utterances["test"][intent][:3]] + SENTENCES[:5]
    for text in sample + ["i", "a bc defg"]:
        assert sorted(tokenizer.ngrams(text)) == sorted(analyzer(text)), text
    chinese = tokenizer.ngrams(SENTENCES[5])
    assert "机票" in chinese and "北" in chinese  # CJK: character n-grams and each character on its own


def test_encoding_is_deterministic_padded_and_bounded():
    ids = tokenizer.encode_batch(SENTENCES)
    assert ids.dtype == torch.long and ids.shape == (6, tokenizer.MAX_TOKENS)
    assert torch.equal(ids, tokenizer.encode_batch(SENTENCES))
    # CRC-32 of "123456789" is 0xCBF43926 (its published check value): the same ids on every machine
    assert tokenizer.token_id("123456789") == 1 + 0xCBF43926 % (tokenizer.BUCKETS - 1)
    mask = tokenizer.padding_mask(ids)
    assert mask[0].sum() == len(tokenizer.ngrams(SENTENCES[0])) and not mask[0, -1]
    assert 0 < int(ids.max()) < tokenizer.BUCKETS
    long = tokenizer.encode_batch(["word " * 500])
    assert long.shape == (1, tokenizer.MAX_TOKENS) and bool(tokenizer.padding_mask(long).all())
    assert tokenizer.cjk_fraction(SENTENCES[:5]) == 0 and tokenizer.cjk_fraction(SENTENCES[5:]) == 1


def test_tfidf_matches_scikit_learn_fitted_on_the_support_set():
    support, queries = SENTENCES[:5], ["a refund for my flight", "weather alarm", "nothing alike here"]
    ids_s, ids_q = tokenizer.encode_batch(support), tokenizer.encode_batch(queries)
    grams = {g for t in support + queries for g in tokenizer.ngrams(t)}
    assert len({tokenizer.token_id(g) for g in grams}) == len(grams)  # no hash collision among these n-grams
    counts_s = term_counts(ids_s, tokenizer.BUCKETS).double()
    idf = support_idf(counts_s)
    ours = (tfidf(term_counts(ids_q, tokenizer.BUCKETS).double(), idf) @ tfidf(counts_s, idf).T).numpy()
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit(support)
    reference = (vectorizer.transform(queries) @ vectorizer.transform(support).T).toarray()
    np.testing.assert_allclose(ours, reference, atol=1e-10)
    # the prototype paths (sorted ids, no [B, V] matrix) give the same idf, prototypes and cosines
    labels = torch.tensor([0, 1, 1, 2, 0])
    idf_sparse, prototypes = ngram_prototypes(ids_s, labels, 3, tokenizer.BUCKETS)
    torch.testing.assert_close(idf_sparse.double(), idf)
    dense = torch.stack([tfidf(counts_s, idf)[labels == k].sum(0) for k in range(3)])
    dense = torch.nn.functional.normalize(dense, dim=-1)
    torch.testing.assert_close(prototypes.double(), dense, atol=1e-6, rtol=0)
    expected = tfidf(term_counts(ids_q, tokenizer.BUCKETS).double(), idf) @ dense.T
    torch.testing.assert_close(ngram_cosines(ids_q, idf_sparse, prototypes).double(), expected, atol=1e-6, rtol=0)


def test_text_encoder_pools_by_sum_over_the_square_root_of_the_count():
    bag = build_model((16,), 8, hidden=12, layers=1, seed=0, vocab_size=tokenizer.BUCKETS).body[0]
    rows = bag.embed.weight
    one, four = bag(torch.tensor([[7, 0, 0, 0]])), bag(torch.tensor([[7, 7, 7, 7]]))
    torch.testing.assert_close(four, 2 * one)  # 4 rows / sqrt(4), not their mean
    torch.testing.assert_close(bag(torch.tensor([[7, 9, 0]])), (rows[7] + rows[9])[None] / 2 ** 0.5)


def test_text_encoder_ignores_padding_and_token_order():
    net = build_model((16,), 8, hidden=12, layers=1, seed=0, vocab_size=tokenizer.BUCKETS)
    assert isinstance(net, TextEncoder)
    ids = torch.tensor([[5, 9, 70000 % tokenizer.BUCKETS, 0, 0, 0]])
    shuffled = torch.tensor([[0, 70000 % tokenizer.BUCKETS, 0, 5, 0, 9]])
    torch.testing.assert_close(net(ids), net(shuffled))
    torch.testing.assert_close(net(ids), net(torch.cat([ids, torch.zeros(1, 10, dtype=torch.long)], 1)))
    assert not torch.allclose(net(ids), net(torch.tensor([[5, 9, 0, 0, 0, 0]])))


def test_intents_split_by_domain_keeps_domains_and_utterances_apart():
    task = Intents(IntentsConfig(oos_queries=3))
    data, pool = clinc150.load(), task.pool
    domains = {s: {data.domain_of[pool.names[c]] for c in pool.splits[s]} for s in ("train", "val", "test")}
    assert domains == {"train": {"banking", "credit_cards", "home", "auto_and_commute", "work", "small_talk", "meta"},
                       "val": {"utility"}, "test": {"travel", "kitchen_and_dining"}}
    assert [pool.count(c) for c in pool.splits["test"]] == [30] * 30       # meta-test: the test utterances
    assert {pool.count(c) for c in pool.splits["train"]} == {120}           # meta-train: train + validation
    batch = task.sample(4, torch.Generator().manual_seed(0), "test")
    assert batch.truth["oos_x"].shape == (4, 3, tokenizer.MAX_TOKENS)
    oos = {tuple(r) for r in tokenizer.encode_batch(data.oos["test"]).tolist()}
    assert all(tuple(r) in oos for r in batch.truth["oos_x"].reshape(-1, tokenizer.MAX_TOKENS).tolist())
    by_intent = Intents(IntentsConfig(split_by="intent")).pool
    assert len({data.domain_of[by_intent.names[c]] for c in by_intent.splits["test"]}) > 5
    with pytest.raises(ValueError, match="unknown domain 'cooking'"):
        IntentsConfig(test_domains="cooking")
    with pytest.raises(ValueError, match="share \\['travel'\\]"):
        IntentsConfig(train_domains="banking,travel")


def test_tfidf_baseline_is_strong_and_its_logistic_head_is_scikit_learns():
    from sklearn.linear_model import LogisticRegression

    config = RunConfig(task="intents", learner="tfidf", train=TrainConfig(hidden=8))
    batch = Intents().sample(10, torch.Generator().manual_seed(3), "test").episode
    assert build_learner(config).evaluate(batch, 0).accuracy[0] > 0.85  # 5-way 5-shot on unseen domains
    logistic = build_learner(dataclasses.replace(config, learner_config=TfidfConfig(head="logistic", C=10.0)))
    ep = batch.task(0)
    ours = logistic.predict(logistic.adapt(logistic.params, ep.support_x, ep.support_y).params, ep.query_x)
    counts = term_counts(ep.support_x, tokenizer.BUCKETS)
    idf = support_idf(counts)
    model = LogisticRegression(C=10.0, max_iter=1000).fit(tfidf(counts, idf).numpy(), ep.support_y.numpy())
    reference = model.predict_log_proba(tfidf(term_counts(ep.query_x, tokenizer.BUCKETS), idf).numpy())
    np.testing.assert_allclose(ours.numpy(), reference, atol=1e-4)


def test_ngram_protonet_vmap_meta_gradient_equals_the_loop():
    config = RunConfig(task="intents", learner="ngram_protonet", train=TrainConfig(hidden=16),
                       learner_config=NgramProtoConfig(learn_ngram_weights=True))
    learner = build_learner(config)
    batch = Intents(IntentsConfig(k_shot=2, n_query=2)).sample(3, torch.Generator().manual_seed(1)).episode
    learner.strategy = "loop"
    loop, loss_loop = learner.meta_grad(batch)
    learner.strategy = "vmap"
    vmapped, loss_vmap = learner.meta_grad(batch)
    torch.testing.assert_close(loss_vmap, loss_loop)
    for k in loop:
        torch.testing.assert_close(vmapped[k], loop[k], atol=1e-6, rtol=1e-4)
    assert loop["ngram_log_weight"].abs().sum() > 0 and loop["scales"].abs().sum() > 0


def test_a_sentences_file_keeps_valid_rows_and_names_bad_ones(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_bytes(b"text,label\nhello there,greet\n,greet\nbye now,\ncheers,bye\n"
                     + b"caf\xe9 au lait,drink\n" + ("x" * 1001 + ",long\n").encode())
    rows = texts.read_sentences(path)
    assert rows.texts == ["hello there", "cheers"] and rows.labels == ["greet", "bye"] and rows.lines == [2, 5]
    reasons = {r.line: r.reason for r in rows.rejected}
    assert set(reasons) == {3, 4, 6, 7} and reasons[3] == "empty text" and reasons[4] == "no label"
    assert "UTF-8" in reasons[6] and "longer than 1,000" in reasons[7]
    jsonl = texts.read_sentences(b'{"text": "a", "label": "x"}\n[1]\n{"text": "b", "label": "y"}\nnot json\n',
                                 name="up.jsonl")
    assert jsonl.texts == ["a", "b"] and [r.line for r in jsonl.rejected] == [2, 4]
    queries = texts.read_sentences(b"first query\n\nsecond one\n", labelled=False)
    assert queries.texts == ["first query", "second one"] and queries.lines == [1, 3]
    with pytest.raises(texts.TextFileError, match="'text' and a 'label' column"):
        texts.read_sentences(b"sentence,class\na,b\n")
    with pytest.raises(texts.TextFileError, match="larger than"):
        texts.read_sentences(b"x" * 100, limits=texts.Limits(max_bytes=10))


@pytest.mark.parametrize("name", ["ngram_protonet", "anil"])
def test_the_embedding_page_views_text_runs(name):
    """The Embedding Space analysis on sentences: a metric learner's embedding, or a gradient learner's
    penultimate layer (the text encoder has a body and a head like the other backbones)."""
    from metaviz.analysis import embedding as emb

    config = RunConfig(task="intents", learner=name, train=TrainConfig(hidden=16))
    params = build_learner(config).state_numpy()
    view = emb.TaskView("intents", IntentsConfig(k_shot=2, n_query=3))  # the head's own 5-way
    frames = emb.embedding_frames(config, [(0, params)], view, grid=8, adapted=name == "anil")
    assert frames.frames[0].coords.shape == (5 * (2 + 3 + 1), 2)
    assert frames.layer == ("embedding" if name == "ngram_protonet" else "penultimate")
    assert 0 <= frames.frames[0].learner_accuracy <= 1


def test_clinc150_download_is_pinned_and_checks_the_shared_readmes_digests():
    """The URL online users fetch is the public repository's file at the commit the digests were taken from,
    and the SHA-256 the loader checks is the one the shared data's README states and its files have
    (nothing is downloaded here)."""
    from metaviz.data.omniglot import checksum

    readme = (clinc150.SHARED_DIR.parent / "README.md").read_text("utf-8")
    for name, remote in clinc150.FILES.items():
        assert remote.url == f"https://raw.githubusercontent.com/clinc/oos-eval/{clinc150.COMMIT}/data/{name}"
        assert remote.algorithm == "sha256" and f"{name} {remote.digest}" in readme
        assert checksum(clinc150.SHARED_DIR / name) == remote.digest
    assert clinc150.COMMIT.startswith("828f809")  # the commit the README names
