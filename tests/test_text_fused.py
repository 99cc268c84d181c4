"""The shipped text model's scores: the n-gram ProtoNet fuses a learned encoder's cosines with support-fitted
TF-IDF cosines whose n-gram weights come from the meta-train sentences only."""

import pytest
import torch

from metaviz.data import tokenizer
from metaviz.learners.ngram_protonet import NgramProtoConfig
from metaviz.learners.tfidf import corpus_idf, support_idf, term_counts, tfidf
from metaviz.tasks.intents import Intents, IntentsConfig
from metaviz.train import Run, RunConfig, TrainConfig, build_learner

V = tokenizer.BUCKETS


@pytest.fixture(scope="module")
def episode():
    return Intents(IntentsConfig(n_way=3, k_shot=2, n_query=2)).sample(1, torch.Generator().manual_seed(5),
                                                                      "test").episode.task(0)


def fused(power: float = 0.0, scales=(1.0, 10.0)):
    config = RunConfig(task="intents", learner="ngram_protonet", task_config=IntentsConfig(n_way=3, k_shot=2),
                       train=TrainConfig(hidden=16), learner_config=NgramProtoConfig(corpus_idf_power=power))
    learner = build_learner(config)
    with torch.no_grad():
        learner.params["scales"].copy_(torch.tensor(scales))
    return learner


def logits(learner, e, queries=None):
    params = {k: v.detach() for k, v in learner.params.items()}
    with torch.no_grad():
        adapted = learner.adapt(params, e.support_x, e.support_y).params
        return learner.predict(adapted, e.query_x if queries is None else queries)


def test_encoder_weight_zero_reproduces_tfidf_exactly(episode):
    baseline = build_learner(RunConfig(task="intents", learner="tfidf", task_config=IntentsConfig(n_way=3, k_shot=2),
                                       train=TrainConfig(hidden=16)))
    torch.testing.assert_close(logits(fused(scales=(0.0, 10.0)), episode), logits(baseline, episode),
                               atol=0, rtol=0)


def test_fused_score_equals_a_dense_loop_reference(episode):
    learner = fused(scales=(2.5, 7.0))
    weights = torch.rand(V, generator=torch.Generator().manual_seed(0)) + 0.5
    with torch.no_grad():
        learner.params["ngram_log_weight"].copy_(weights.log())
    ours = logits(learner, episode).double()
    sx, sy = episode.support_x, episode.support_y
    counts = term_counts(sx, V).double()
    u = support_idf(counts) * weights.double()                             # support idf times the weights
    z_s = torch.nn.functional.normalize(learner.embed(learner.params, sx).detach().double(), dim=-1)
    expected = torch.zeros(len(episode.query_x), 3, dtype=torch.float64)
    for q, ids in enumerate(episode.query_x):
        g = tfidf(term_counts(ids[None], V).double(), u)[0]
        z = torch.nn.functional.normalize(learner.embed(learner.params, ids[None]).detach().double()[0], dim=0)
        for k in range(3):
            t_k = torch.nn.functional.normalize(tfidf(counts[sy == k], u).sum(0), dim=0)
            c_k = torch.nn.functional.normalize(z_s[sy == k].sum(0), dim=0)
            expected[q, k] = 2.5 * (z @ c_k) + 7.0 * (g @ t_k)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)


def test_a_querys_scores_do_not_depend_on_the_other_queries(episode):
    learner = fused(scales=(3.0, 10.0))
    together = logits(learner, episode)
    alone = torch.cat([logits(learner, episode, q[None]) for q in episode.query_x])
    torch.testing.assert_close(together, alone, atol=1e-6, rtol=0)


def test_tfidf_is_fitted_on_the_support_set_only(episode):
    learner = fused(power=0.0)
    weights = torch.rand(V, generator=torch.Generator().manual_seed(1)) + 0.5
    with torch.no_grad():
        learner.params["ngram_log_weight"].copy_(weights.log())
    params = {k: v.detach() for k, v in learner.params.items()}
    summary = learner.adapt(params, episode.support_x, episode.support_y).params
    expected = support_idf(term_counts(episode.support_x, V)) * weights     # the support set's idf, weighted
    torch.testing.assert_close(summary["idf"][0], expected, atol=1e-6, rtol=1e-6)
    query_only = sorted(set(episode.query_x.flatten().tolist()) - set(episode.support_x.flatten().tolist()) - {0})
    assert query_only and summary["idf"][0, query_only].abs().sum() == 0  # n-grams only queries have weigh nothing


def test_ngram_weights_come_from_the_meta_train_sentences_and_stay_fixed():
    config = RunConfig(task="intents", learner="ngram_protonet", seed=0,
                       task_config=IntentsConfig(n_way=3, k_shot=2, n_query=2),
                       train=TrainConfig(hidden=16, meta_batch=2, n_eval_tasks=1, eval_steps=0, baseline=False),
                       learner_config=NgramProtoConfig(corpus_idf_power=0.5))
    run = Run(config)
    task = run.learner.task
    pool = task.pool
    corpus = task.meta_train_inputs()
    held_out = torch.isin(pool.labels, torch.tensor(pool.splits["val"] + pool.splits["test"]))
    assert len(corpus) == int((~held_out).sum())  # every meta-train sentence, none of validation or test
    expected = 0.5 * corpus_idf(corpus, V).log()
    torch.testing.assert_close(run.learner.params["ngram_log_weight"].detach(), expected)
    grads, _ = run.learner.meta_grad(run.task.sample(2, torch.Generator().manual_seed(0)).episode)
    assert grads["ngram_log_weight"].abs().sum() == 0 and grads["scales"].abs().sum() > 0
    assert all(p is not run.learner.params["ngram_log_weight"] for g in run.optimizer.param_groups for p in g["params"])


def test_corpus_idf_is_scikit_learns_smooth_idf():
    ids = tokenizer.encode_batch(["book a flight", "book a table", "a refund"])
    df = (term_counts(ids, V) > 0).sum(0)
    torch.testing.assert_close(corpus_idf(ids, V), torch.log(torch.tensor(4.0) / (1 + df)) + 1)
