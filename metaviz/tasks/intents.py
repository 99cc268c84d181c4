"""Intents (CLINC150): few-shot text classification, new intents from a few sentences each.

Larson et al. (2019), *An Evaluation Dataset for Intent Classification and Out-of-Scope Prediction*,
EMNLP-IJCNLP. CLINC150 has 150 intents of a voice assistant ("transfer", "book_flight", "measurement
conversion") in 10 domains, 150 user utterances each, and utterances that belong to no intent at all
(out of scope). A task is an N-way K-shot problem over intents never seen in meta-training: K example
sentences of each of N intents, then new sentences to label (Bao et al. 2020 and Geng et al. 2019 set this
protocol on intent and news data).

Splits are disjoint sets of intents. **By domain** (the default, fixed for the shipped model and its
reported numbers): meta-train on banking, credit_cards, home, auto_and_commute, work, small_talk and meta,
meta-validate on utility, meta-test on travel and kitchen_and_dining; test intents then come from topics
never seen at all (domain shift). **By intent**: intents of every domain are shuffled into the three
splits, the easier case. Meta-training intents draw from their train and validation utterances (120
each); meta-validation and meta-test intents from their 30 test utterances, as the issue's TF-IDF
reference (91.8% 5-way 5-shot) was measured.

Inputs are token ids of hashed character n-grams (``metaviz.data.tokenizer``), [L] per sentence, 0-padded.
With out-of-scope queries on, each task also carries ``truth["oos_x"]`` [T, O, L]: sentences that belong
to none of the task's intents, for a "none of these" answer scored apart from the N-way accuracy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from metaviz.config import param
from metaviz.data import clinc150
from metaviz.data.tokenizer import BUCKETS, MAX_TOKENS, encode_batch
from metaviz.tasks.base import SPLITS, ClassPool, EpisodeConfig, PoolTasks, TaskBatch

TRAIN_DOMAINS = "banking,credit_cards,home,auto_and_commute,work,small_talk,meta"


class TextTasks(PoolTasks):
    """N-way K-shot classification of sentences (no ``name``: a base for the text families)."""

    vocab_size = BUCKETS

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (MAX_TOKENS,)

    def meta_train_inputs(self) -> torch.Tensor:
        """Token ids [M, L] of every sentence of the meta-train classes: what n-gram statistics learned across
        tasks may come from (never the validation or test classes' sentences)."""
        pool = self.pool
        return pool.inputs[torch.isin(pool.labels, torch.tensor(pool.splits["train"], dtype=pool.labels.dtype))]


def domain_list(text: str, field: str, known: tuple[str, ...]) -> tuple[str, ...]:
    names = tuple(d.strip() for d in text.split(",") if d.strip())
    unknown = [d for d in names if d not in known]
    if unknown:
        raise ValueError(f"{field}: unknown domain {unknown[0]!r}; the domains are {', '.join(known)}")
    return names


@dataclass(frozen=True)
class IntentsConfig(EpisodeConfig):
    n_way: int = param(5, "N-way (classes per task)", min=2, max=30, step=1)
    k_shot: int = param(5, "K-shot (examples per class)", min=1, max=25, step=1)
    n_query: int = param(5, "Queries per class", min=1, max=25, step=1)
    split_by: str = param("domain", "Split by", options=("domain", "intent"),
                          help="domain: meta-test intents come from domains never seen in meta-training.")
    train_domains: str = param(TRAIN_DOMAINS, "Meta-train domains", help="Comma-separated; used when split by domain.")
    val_domains: str = param("utility", "Meta-validation domains")
    test_domains: str = param("travel,kitchen_and_dining", "Meta-test domains")
    test_fraction: float = param(0.2, "Test fraction (split by intent)", min=0.05, max=0.5, step=0.05)
    val_fraction: float = param(0.1, "Validation fraction (split by intent)", min=0.05, max=0.5, step=0.05)
    oos_queries: int = param(0, "Out-of-scope queries per task", min=0, max=50, step=1,
                             help="Sentences of none of the task's intents, scored apart ('none of these').")
    split_seed: int = param(0, "Split seed", min=0, max=1_000_000, step=1, help="Used when split by intent.")
    data_dir: str = param("", "Data folder", help="Folder with data_full.json and domains.json; empty: "
                          "$METAVIZ_DATA, the shared data, the cache.")

    def __post_init__(self):
        super().__post_init__()
        if self.split_by == "domain":
            sets = {}
            for field, text in (("train_domains", self.train_domains), ("val_domains", self.val_domains),
                                ("test_domains", self.test_domains)):
                sets[field] = set(domain_list(text, field, tuple(DOMAINS)))
                if not sets[field]:
                    raise ValueError(f"IntentsConfig: {field} is empty")
            for other in ("val_domains", "test_domains"):
                if sets["train_domains"] & sets[other]:
                    raise ValueError(f"IntentsConfig: train_domains and {other} share "
                                     f"{sorted(sets['train_domains'] & sets[other])}: meta-test on unseen domains")


DOMAINS = ("banking", "credit_cards", "kitchen_and_dining", "home", "auto_and_commute", "travel", "utility", "work",
           "small_talk", "meta")


@dataclass(frozen=True, eq=False)
class IntentPool:
    pool: ClassPool
    oos: dict[str, torch.Tensor]  # split -> out-of-scope ids [M, L]


@functools.lru_cache(maxsize=4)
def build_pool(split_by: str, train_domains: str, val_domains: str, test_domains: str, test_fraction: float,
               val_fraction: float, split_seed: int, data_dir: str) -> IntentPool:
    data = clinc150.load(data_dir)
    if split_by == "domain":
        chosen = {s: [i for d in domain_list(text, s, tuple(data.domains)) for i in data.domains[d]]
                  for s, text in (("train", train_domains), ("val", val_domains), ("test", test_domains))}
    else:
        order = torch.randperm(len(data.intents), generator=torch.Generator().manual_seed(split_seed)).tolist()
        n_test, n_val = round(test_fraction * len(order)), round(val_fraction * len(order))
        names = [data.intents[i] for i in order]
        chosen = {"test": names[:n_test], "val": names[n_test:n_test + n_val], "train": names[n_test + n_val:]}
    texts, labels, names, splits = [], [], [], {}
    for split in SPLITS:
        ids = []
        for intent in chosen[split]:
            parts = ("train", "val") if split == "train" else ("test",)
            sentences = [t for p in parts for t in data.utterances[p][intent]]
            ids.append(len(names))
            texts += sentences
            labels += [len(names)] * len(sentences)
            names.append(intent)
        splits[split] = tuple(ids)
    oos = {"train": encode_batch(data.oos["train"]), "val": encode_batch(data.oos["val"]),
           "test": encode_batch(data.oos["test"])}
    groups = tuple(data.domain_of[n] for n in names)
    return IntentPool(ClassPool(encode_batch(texts), torch.tensor(labels), tuple(names), splits, groups), oos)


class Intents(TextTasks):
    __doc__ = __doc__
    name = "intents"
    title = "Intents (CLINC150, few-shot text)"
    Config = IntentsConfig

    @property
    def data(self) -> IntentPool:
        c = self.config
        return build_pool(c.split_by, c.train_domains, c.val_domains, c.test_domains, c.test_fraction,
                          c.val_fraction, c.split_seed, c.data_dir)

    @property
    def pool(self) -> ClassPool:
        return self.data.pool

    def sample(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> TaskBatch:
        """support_x [T, N*K, L] int64 token ids, support_y [T, N*K]; truth["classes"] [T, N] intent ids and,
        with out-of-scope queries, truth["oos_x"] [T, O, L]."""
        batch = super().sample(n_tasks, generator, split)
        c = self.config
        if not c.oos_queries:
            return batch
        oos = self.data.oos[split]
        pick = torch.stack([torch.randperm(len(oos), generator=generator)[:c.oos_queries] for _ in range(n_tasks)])
        return TaskBatch(batch.episode, {**batch.truth, "oos_x": oos[pick]})
