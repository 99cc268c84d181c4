"""Can n-gram weights learned across tasks beat TF-IDF's support-set idf on new domains? (issue 23)

    nice -n 10 python scripts/text_weighting_experiment.py --steps 600

TF-IDF's idf comes from the 25 sentences of a 5-way 5-shot support set, which cannot know that "what is"
or "can you" say nothing about an intent. This script scores, on the bench's 600 meta-test tasks (travel,
kitchen_and_dining; the same tasks as ``python -m metaviz bench accuracy``'s text rows) and on 300
meta-validation tasks (utility), the cosine nearest-prototype head with:

- ``support idf``: the ``tfidf`` learner (smooth idf of the support set);
- ``support idf x corpus idf^p``: also times the idf over the meta-train domains' sentences (p = 0.5, 1);
- ``signature MLP``: weights ``softplus(MLP(stats_v))`` times the support idf, where ``stats_v`` are
  domain-free statistics of n-gram v (its support idf, corpus idf, the share of classes and of a class's
  sentences that contain it, its support frequency), in the spirit of Bao et al. (2020), *Few-shot Text
  Classification with Distributional Signatures*, ICLR. The MLP (225 numbers) is meta-trained on 10-way
  5-shot meta-train tasks and selected on meta-validation only; meta-test scores it once.

Prints one line per variant: meta-validation and meta-test accuracy (mean and 95% interval over tasks).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metaviz import bench, tasks  # noqa: E402
from metaviz.learners.tfidf import ngram_cosines, ngram_prototypes, sorted_terms, sparse_idf  # noqa: E402
from metaviz.tasks.intents import IntentsConfig  # noqa: E402

V = 1 << 16


def document_frequency(ids: torch.Tensor) -> torch.Tensor:
    """Sentences [S, L] -> in how many each n-gram bucket occurs [V]."""
    ordered, first, _ = sorted_terms(ids)
    return torch.zeros(V).scatter_add(0, ordered.flatten(), first.flatten().float())


def statistics(support_x: torch.Tensor, support_y: torch.Tensor, n_way: int, corpus: torch.Tensor) -> torch.Tensor:
    """The signature of every n-gram bucket in one task [V, 5], each feature in [0, 1]."""
    ordered, first, _ = sorted_terms(support_x)
    per_class = torch.zeros(n_way * V).scatter_add(0, (support_y[:, None] * V + ordered).flatten(),
                                                  first.flatten().float()).reshape(n_way, V)
    n = support_x.shape[0]
    return torch.stack([sparse_idf(support_x, V) / (math.log(1 + n) + 1), corpus, (per_class > 0).sum(0) / n_way,
                        per_class.max(0).values * n_way / n, per_class.sum(0) / n], -1)


class Signature(torch.nn.Module):
    def __init__(self, corpus: torch.Tensor):
        super().__init__()
        self.corpus = corpus
        self.mlp = torch.nn.Sequential(torch.nn.Linear(5, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
        torch.nn.init.zeros_(self.mlp[2].weight)  # starts as softplus(b) times the support idf: plain TF-IDF
        self.scale = torch.nn.Parameter(torch.tensor(10.0))

    def forward(self, support_x, support_y, query_x, n_way):
        stats = statistics(support_x, support_y, n_way, self.corpus)                              # [V, 5]
        present = (stats[:, 0] > 0).nonzero()[:, 0]  # only n-grams of the support set weigh anything
        weights = torch.zeros(V).index_put((present,), F.softplus(self.mlp(stats[present]))[:, 0])  # [V]
        idf, prototypes = ngram_prototypes(support_x, support_y, n_way, V, weights)
        return self.scale * ngram_cosines(query_x, idf, prototypes)                               # [Q, N]


def accuracy(scores, batch) -> tuple[float, float]:
    per_task = []
    with torch.no_grad():
        for i in range(batch.n_tasks):
            e = batch.task(i)
            right = scores(e.support_x, e.support_y, e.query_x, 5).argmax(-1) == e.query_y
            per_task.append(float(right.float().mean()))
    mean, ci = bench.mean_ci(per_task)
    return 100 * mean, 100 * ci


def shown(score: tuple[float, float]) -> str:
    return f"{score[0]:.1f} ± {score[1]:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=600, help="meta-training steps of the signature MLP")
    parser.add_argument("--val-every", type=int, default=100)
    parser.add_argument("--signature-only", action="store_true", help="skip the fixed weightings")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    family = tasks.get("intents")(IntentsConfig(n_way=5, k_shot=5))
    pool = family.pool
    train_classes = set(pool.splits["train"])
    corpus_x = pool.inputs[[i for i, y in enumerate(pool.labels.tolist()) if y in train_classes]]
    df = document_frequency(corpus_x)
    corpus_idf = torch.log((1 + len(corpus_x)) / (1 + df)) + 1                 # unseen n-grams: the largest idf
    val = family.sample(300, torch.Generator().manual_seed(11), "val").episode
    test = family.sample(bench.TEXT_EVAL_TASKS, torch.Generator().manual_seed(7), "test").episode  # the bench's

    def fixed(power: float):
        def scores(sx, sy, qx, n):
            idf, prototypes = ngram_prototypes(sx, sy, n, V, corpus_idf ** power)
            return ngram_cosines(qx, idf, prototypes)
        return scores

    for name, power in () if args.signature_only else (("support idf (tfidf)", 0.0),
                                                        ("support idf x corpus idf^0.5", 0.5),
                                                        ("support idf x corpus idf", 1.0)):
        print(f"{name}: val {shown(accuracy(fixed(power), val))}, "
              f"test {shown(accuracy(fixed(power), test))}", flush=True)

    model = Signature(torch.log1p(df) / math.log1p(len(corpus_x)))
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    train_family = tasks.get("intents")(IntentsConfig(n_way=10, k_shot=5, n_query=5))
    generator = torch.Generator().manual_seed(1)
    best = (accuracy(model, val)[0], 0, {k: v.clone() for k, v in model.state_dict().items()})
    start, cpu = time.perf_counter(), time.process_time()
    for step in range(1, args.steps + 1):
        batch = train_family.sample(4, generator, "train").episode
        loss = sum(F.cross_entropy(model(e.support_x, e.support_y, e.query_x, 10), e.query_y)
                   for e in (batch.task(i) for i in range(batch.n_tasks))) / batch.n_tasks
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % args.val_every == 0:
            score = accuracy(model, val)[0]
            print(f"  step {step}: loss {float(loss.detach()):.3f}, val {score:.1f}", flush=True)
            if score > best[0]:
                best = (score, step, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[2])
    print(f"signature MLP (best of val at step {best[1]}; {time.perf_counter() - start:.0f} s wall, "
          f"{time.process_time() - cpu:.0f} CPU s): val {shown(accuracy(model, val))}, "
          f"test {shown(accuracy(model, test))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
