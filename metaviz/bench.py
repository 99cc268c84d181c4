"""Accuracy benchmark: every learner on every setup it supports, within a compute budget.

    python -m metaviz bench accuracy --budget-s 3600 --device cpu --json results.json

Each learner meta-trains once per *training job* and is then scored on held-out
tasks: query accuracy on the meta-test classes for classification, query MSE
after 1 and 10 inner steps for regression, and, for learners that classify
images, the error on Omniglot's official 20 one-shot runs (meta-training uses
the minimal background sets only; the runs come from other alphabets).

How each learner is meta-trained follows its paper's recipe (``recipe``):
metric learners read one large episode per step (Prototypical Networks: 60-way
with rotated characters as extra classes, Snell et al. 2017) and, since their
predictions do not depend on N, one Omniglot model answers both the 5-way and
the 20-way setups and the official runs. Learners with an N-way output head
(MAML and its relatives, the sequence model, the CNP) train one model per N on
a few tasks per step, with the MAML paper's inner step size of 0.4 for one
step on Omniglot (and on the 8x8 digits).

Text (CLINC150 intents, split by domain: meta-test on travel and kitchen_and_dining): 5- and 10-way, 1-
and 5-shot, scored on 600 meta-test tasks with a 95% interval; then with 5 out-of-scope queries per task,
a "none of these" threshold tuned on meta-validation tasks, the in-scope accuracy and the out-of-scope
recall (``text_rows``). TF-IDF (``tfidf``) takes part as the strong non-meta baseline.

Budget: ``budget_s`` is shared by the training jobs in proportion to their
family's weight (Omniglot jobs weigh ``OMNIGLOT_WEIGHT`` times a sine or digits
job). On the CPU it counts CPU seconds of this process (``time.process_time``),
so the results do not depend on what else the machine is doing; on a GPU it
counts wall seconds.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from metaviz import learners, tasks
from metaviz.events import DivergedEvent
from metaviz.learners.base import MetaLearner
from metaviz.train import Run, RunConfig, TrainConfig, build_learner, train

SETUPS: dict[str, Callable[[], tuple[str, object]]] = {
    "sine K=5": lambda: ("sinusoid", tasks.get("sinusoid").Config(k_shot=5)),
    "sine K=10": lambda: ("sinusoid", tasks.get("sinusoid").Config(k_shot=10)),
    "digits 5-way 1-shot": lambda: ("digits", tasks.get("digits").Config(n_way=5, k_shot=1)),
    "digits 5-way 5-shot": lambda: ("digits", tasks.get("digits").Config(n_way=5, k_shot=5)),
    "omniglot 5-way 1-shot": lambda: ("omniglot", tasks.get("omniglot").Config(n_way=5, k_shot=1)),
    "omniglot 20-way 1-shot": lambda: ("omniglot", tasks.get("omniglot").Config(n_way=20, k_shot=1)),
    **{f"intents {n}-way {k}-shot": (lambda n=n, k=k: ("intents", tasks.get("intents").Config(n_way=n, k_shot=k)))
       for n in (5, 10) for k in (1, 5)},
}
ONESHOT = "omniglot 20-way 1-shot"  # also scored on the official 20 runs
VARIANTS = {"fomaml": ("maml", {"first_order": True})}  # bench names that are a learner with a setting
OMNIGLOT_WEIGHT = 6.0
EVAL_TASKS = {"regression": 100, "classification": 100}
TEXT_EVAL_TASKS = 600  # text setups: mean and 95% interval over this many meta-test tasks
OOS_QUERIES = 5        # out-of-scope queries per text task in the "with out-of-scope" rows
METRIC_FAMILY_WAY = 60  # ProtoNet's training way on Omniglot (with rotations, so the val split has enough)


@dataclass(frozen=True)
class Recipe:
    """How one learner meta-trains for one setup."""

    task_config: object
    learner_overrides: dict = field(default_factory=dict)
    meta_batch: int = 16
    meta_lr: float = 1e-3
    hidden: int = 40


@dataclass(frozen=True)
class BenchRow:
    learner: str
    setup: str
    metric: str        # "accuracy" (meta-test classes), "mse@1", "mse@10", "oneshot error %", text: "oos ..."
    value: float
    train_seconds: float  # CPU seconds on the CPU, wall seconds on a GPU
    meta_iterations: int
    device: str
    ci95: float | None = None  # half-width of the 95% interval over tasks, where measured


def base_learner(name: str) -> tuple[str, dict]:
    """A bench name -> (registered learner, config overrides): "fomaml" is MAML, first order."""
    return VARIANTS.get(name, (name, {}))


@functools.cache  # recipe() asks for every (learner, setup) pair; the answer depends on the names only
def any_way(name: str, task_name: str) -> bool:
    """Whether the learner's parameters do not depend on N, so one model answers every N-way setup."""
    learner, overrides = base_learner(name)
    shapes = []
    for n_way in (5, 7):
        task_config = dataclasses.replace(tasks.get(task_name).Config(), n_way=n_way)
        config = RunConfig(task=task_name, learner=learner, task_config=task_config,
                           learner_config=learners.get(learner).Config(**overrides), train=TrainConfig(hidden=8))
        shapes.append({k: tuple(v.shape) for k, v in build_learner(config).params.items() if v.numel()})
    return shapes[0] == shapes[1]


def recipe(name: str, setup: str) -> Recipe:
    """The meta-training recipe of learner ``name`` for ``setup`` (see the module docstring)."""
    task_name, task_config = SETUPS[setup]()
    learner, overrides = base_learner(name)
    fields = {f.name for f in dataclasses.fields(learners.get(learner).Config)}
    if task_name == "sinusoid":
        return Recipe(task_config, overrides, meta_batch=25, meta_lr=1e-2)
    if task_name == "intents":  # metric learners: 10-way 5-shot episodes answer every N and K
        if any_way(name, task_name):
            task_config = dataclasses.replace(task_config, n_way=10, k_shot=5, n_query=10)
        elif "inner_lr" in fields:
            overrides = {"inner_lr": 0.1, **overrides}
        return Recipe(task_config, overrides, meta_batch=4, meta_lr=1e-3, hidden=256)
    if task_name != "digits" and any_way(name, task_name):  # metric learners: one big episode per step
        way = METRIC_FAMILY_WAY if learner == "protonet" else 20
        train_config = dataclasses.replace(task_config, n_way=way, rotations=way > 30)
        return Recipe(train_config, overrides, meta_batch=1, hidden=64)
    if "inner_lr" in fields and learner != "reptile":
        overrides = {"inner_lr": 0.4, **overrides}
    if "init_lr" in fields:
        overrides = {"init_lr": 0.4, **overrides}
    if learner == "reptile":
        overrides = {"inner_lr": 0.1, **overrides}
    if task_name == "digits":
        return Recipe(task_config, overrides, meta_batch=8, meta_lr=3e-3, hidden=32)
    return Recipe(task_config, overrides, meta_batch=4 if task_config.n_way <= 5 else 2, hidden=64)


def run_config(name: str, setup: str, seed: int = 0, device: str = "auto") -> RunConfig:
    learner, _ = base_learner(name)
    r = recipe(name, setup)
    task_name = SETUPS[setup]()[0]
    return RunConfig(task=task_name, learner=learner, task_config=r.task_config,
                     learner_config=learners.get(learner).Config(**r.learner_overrides), seed=seed, device=device,
                     train=TrainConfig(n_steps=1_000_000, eval_every=10_000, n_eval_tasks=1, eval_steps=0,
                                       meta_batch=r.meta_batch, meta_lr=r.meta_lr, hidden=r.hidden, baseline=False))


def meta_train(config: RunConfig, seconds: float, wall_s: float | None = None) -> tuple[Run, float]:
    """Meta-train for ``seconds`` of budget (CPU time on the CPU, wall time on a GPU), and at most
    ``wall_s`` wall seconds when given (a shared machine can stretch CPU seconds far apart)."""
    run = Run(config)
    clock = time.process_time if run.device.type == "cpu" else time.perf_counter
    start, wall = clock(), time.perf_counter()
    if run.learner.meta_trains:
        for event in train(run, 1_000_000):
            if isinstance(event, DivergedEvent) or clock() - start > seconds:
                break
            if wall_s is not None and time.perf_counter() - wall > wall_s:
                break
    return run, clock() - start


def oneshot_cost(config: RunConfig, params: Mapping[str, np.ndarray], temperature: float = 1.0,
                 seen: list[np.ndarray] | None = None, copies: int = 0
                 ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A cost function for the official 20-run scorer, computed exactly as ``python -m metaviz predict``
    computes it (:func:`metaviz.fewshot.classify`): the model adapts to the 20 training images (labels
    0..19) and each test image is classified *on its own* against them (in a batch with the training
    images, never with the other test images), so no test image influences another's answer, as the
    protocol requires. The cost is minus the class probability; ``seen``, when given, collects each
    run's probabilities [20, 20] (softmax(logits / ``temperature``)), for the calibration error.
    ``params`` may be an ensemble and ``copies`` test-time copies (:func:`metaviz.fewshot.classify`)."""
    from metaviz import fewshot
    from metaviz.data.oneshot import to_tensor

    size = config.task_config.size

    def cost(train_images: np.ndarray, test_images: np.ndarray) -> np.ndarray:
        classes = [str(k) for k in range(len(train_images))]
        p = fewshot.classify(config, params, to_tensor(train_images, size).numpy(), np.arange(len(classes)),
                             to_tensor(test_images, size).numpy(), classes, temperature=temperature,
                             copies=copies).probabilities
        if seen is not None:
            seen.append(p)
        return -p

    return cost


def transductive_cost(learner: MetaLearner, size: int, device: torch.device | str = "cpu"
                      ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """NOT the protocol's score (a labelled extra): like :func:`oneshot_cost`, but the 20 test images
    go through the network as one batch, so BatchNorm normalises each with the statistics of the others
    (transductive: every test image influences every other's answer)."""
    from metaviz.data.oneshot import to_tensor

    steps = getattr(learner.config, "inner_steps", 0)

    def cost(train_images: np.ndarray, test_images: np.ndarray) -> np.ndarray:
        sx = to_tensor(train_images, size).to(device)
        qx = to_tensor(test_images, size).to(device)
        sy = torch.arange(len(sx), device=device)
        params = {k: v.detach() for k, v in learner.params.items()}
        adapted = learner.adapt(params, sx, sy, steps=steps, first_order=True).params
        with torch.no_grad():
            return (-learner.predict({k: v.detach() for k, v in adapted.items()}, qx)).cpu().numpy()

    return cost


def validation_logits(config: RunConfig, params: Mapping[str, np.ndarray], n_tasks: int = 40, seed: int = 0,
                      n_way: int = 20, k_shot: int = 1, split: str = "val",
                      copies: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits [n, N] and labels [n] of the queries of ``n_tasks`` N-way K-shot tasks drawn
    from the *meta-validation* split of the model's own task distribution (``split="test"``: its meta-test
    split), each query classified as :func:`oneshot_cost` does (``copies``: test-time copies): what
    :func:`metaviz.calibration.fit_temperature` is fitted on (never on the official runs)."""
    from metaviz import fewshot

    task_config = dataclasses.replace(config.task_config, n_way=n_way, k_shot=k_shot)
    batch = tasks.get(config.task)(task_config).sample(n_tasks, torch.Generator().manual_seed(seed), split).episode
    classes = [str(k) for k in range(n_way)]
    logs, labels = [], []
    for i in range(n_tasks):
        logs.append(fewshot.classify(config, params, batch.support_x[i].numpy(), batch.support_y[i].numpy(),
                                     batch.query_x[i].numpy(), classes, copies=copies).logits)
        labels.append(batch.query_y[i].numpy())
    return np.concatenate(logs), np.concatenate(labels)


def query_logits(learner: MetaLearner, batch, steps: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Every query's logits [T*Q, N] and label [T*Q] of an episode batch, each task adapted on its own support set
    (``steps`` inner steps, first order) and each query scored on its own: what calibration is fitted and scored on."""
    params = {k: v.detach() for k, v in learner.params.items()}
    logits, labels = [], []
    for i in range(batch.n_tasks):
        e = batch.task(i)
        adapted = learner.adapt(params, e.support_x, e.support_y, steps=steps, first_order=True).params
        with torch.no_grad():
            scores = learner.predict({k: v.detach() for k, v in adapted.items()}, e.query_x)   # [Q, N]
        logits.append(scores.double().cpu().numpy())
        labels.append(e.query_y.cpu().numpy())
    return np.concatenate(logits), np.concatenate(labels)


def learner_for(run: Run, task_config) -> MetaLearner:
    """The run's meta-trained learner, rebuilt for ``task_config`` (another N-way) when it differs."""
    if task_config == run.config.task_config:
        return run.learner
    learner = build_learner(dataclasses.replace(run.config, task_config=task_config), device=run.device)
    learner.load_numpy(run.learner.state_numpy())
    return learner


def score(name: str, setup: str, run: Run, seconds: float, seed: int = 0) -> list[BenchRow]:
    """Held-out metrics of a trained ``run`` on ``setup`` (whose N-way may differ from training's)."""
    task_name, task_config = SETUPS[setup]()
    test_task = tasks.get(task_name)(task_config)
    learner = learner_for(run, task_config)
    if test_task.input_kind() == "tokens":
        return text_rows(name, setup, learner, task_config, run, seconds, seed)
    own = getattr(learner.config, "inner_steps", 0)
    regression = test_task.kind == "regression"
    test = test_task.sample(EVAL_TASKS[test_task.kind], torch.Generator().manual_seed(seed + 7), "test")
    curves = learner.evaluate(test.episode.to(run.device), 10 if regression else own)
    row = dict(learner=name, setup=setup, train_seconds=round(seconds, 1), meta_iterations=run.step,
               device=run.device.type)
    if curves.accuracy is not None:
        rows = [BenchRow(metric="accuracy", value=float(curves.accuracy[own]), **row)]
    else:
        rows = [BenchRow(metric="mse@1", value=float(curves.loss[1]), **row),
                BenchRow(metric="mse@10", value=float(curves.loss[10]), **row)]
    if setup == ONESHOT:
        from metaviz.data import oneshot

        runs = oneshot.load_runs(oneshot.find_runs())
        cost = oneshot_cost(run.config, run.learner.state_numpy())
        rows.append(BenchRow(metric="oneshot error %", value=oneshot.score(runs, cost).mean, **row))
    return rows


def _with_oos(learner: MetaLearner, batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per task, from its support set alone: whether each in-scope query is right [T, Q], the best class
    probability of each in-scope query [T, Q] and of each out-of-scope query [T, O]."""
    ep, oos = batch.episode, batch.truth.get("oos_x")
    steps = getattr(learner.config, "inner_steps", 0) if learner.has_inner_loop else 0
    right, best_in, best_oos = [], [], []
    params = {k: v.detach() for k, v in learner.params.items()}
    for i in range(ep.n_tasks):
        task = ep.task(i)
        adapted = {k: v.detach() for k, v in learner.adapt(params, task.support_x, task.support_y, steps=steps,
                                                           first_order=True).params.items()}
        with torch.no_grad():
            p = torch.softmax(learner.predict(adapted, task.query_x), -1)
            right.append((p.argmax(-1) == task.query_y).numpy())
            best_in.append(p.max(-1).values.numpy())
            if oos is not None:
                best_oos.append(torch.softmax(learner.predict(adapted, oos[i]), -1).max(-1).values.numpy())
    return np.array(right), np.array(best_in), np.array(best_oos) if best_oos else np.zeros((ep.n_tasks, 0))


def mean_ci(per_task: np.ndarray) -> tuple[float, float]:
    """Mean over tasks and the half-width of its normal 95% interval."""
    per_task = np.asarray(per_task, dtype=float)
    return float(per_task.mean()), float(1.96 * per_task.std(ddof=1) / np.sqrt(len(per_task)))


def text_rows(name: str, setup: str, learner: MetaLearner, task_config, run: Run, seconds: float,
              seed: int = 0) -> list[BenchRow]:
    """Text setups: accuracy over TEXT_EVAL_TASKS meta-test tasks with its 95% interval; then, with
    OOS_QUERIES out-of-scope queries per task, the "none of these" threshold on the best probability that
    maximises (in-scope accuracy + out-of-scope recall) / 2 on 200 meta-validation tasks, and on the test
    tasks: in-scope accuracy where a rejected query counts as wrong, and out-of-scope recall."""
    row = dict(learner=name, setup=setup, train_seconds=round(seconds, 1), meta_iterations=run.step,
               device=run.device.type)
    oos_config = dataclasses.replace(task_config, oos_queries=OOS_QUERIES)
    family = tasks.get(SETUPS[setup]()[0])
    test = family(oos_config).sample(TEXT_EVAL_TASKS, torch.Generator().manual_seed(seed + 7), "test")
    right, best_in, best_oos = _with_oos(learner, test)
    accuracy, ci = mean_ci(right.mean(1))
    v_right, v_in, v_oos = _with_oos(learner, family(oos_config).sample(
        200, torch.Generator().manual_seed(seed + 8), "val"))
    grid = np.linspace(0.0, 1.0, 101)
    balanced = [((v_right & (v_in >= p)).mean() + (v_oos < p).mean()) / 2 for p in grid]
    threshold = float(grid[int(np.argmax(balanced))])
    in_scope, in_ci = mean_ci((right & (best_in >= threshold)).mean(1))
    recall, recall_ci = mean_ci((best_oos < threshold).mean(1))
    return [BenchRow(metric="accuracy", value=accuracy, ci95=ci, **row),
            BenchRow(metric=f"accuracy with oos (reject below {threshold:.2f})", value=in_scope, ci95=in_ci, **row),
            BenchRow(metric="oos recall", value=recall, ci95=recall_ci, **row)]


def bench_accuracy(budget_s: float, device: str = "auto", only_learners: list[str] | None = None,
                   only_setups: list[str] | None = None, seed: int = 0,
                   progress: Callable[[str], None] | None = None, unit_s: float | None = None) -> list[BenchRow]:
    """Rows for every (learner, setup) pair; ``unit_s`` (instead of sharing ``budget_s``) gives each
    training job that many seconds times its weight, so that the learners can be split over processes."""
    names = only_learners or [*learners.available(), *VARIANTS]
    pairs = [(n, s) for s in (only_setups or list(SETUPS)) for n in names
             if tasks.get(SETUPS[s]()[0]).kind in learners.get(base_learner(n)[0]).kinds
             and tasks.get(SETUPS[s]()[0]).input_kind() in learners.get(base_learner(n)[0]).inputs]
    jobs: dict[tuple, list[tuple[str, str]]] = {}  # one training job per distinct run config
    for n, s in pairs:
        jobs.setdefault((n, repr(run_config(n, s, seed, device))), []).append((n, s))

    def weight(job_pairs):
        return OMNIGLOT_WEIGHT if job_pairs[0][1].startswith("omniglot") else 1.0

    unit = unit_s if unit_s is not None else budget_s / max(sum(weight(p) for p in jobs.values()), 1e-9)
    rows = []
    for job_pairs in jobs.values():
        n, s = job_pairs[0]
        run, seconds = meta_train(run_config(n, s, seed, device), unit * weight(job_pairs))
        for n, s in job_pairs:
            rows += score(n, s, run, seconds, seed)
            if progress:
                progress(table([r for r in rows if (r.learner, r.setup) == (n, s)], header=False))
    return rows


def table(rows: list[BenchRow], header: bool = True) -> str:
    lines = ["| learner | setup | metric | value | train s | meta-iterations | device |",
             "|---|---|---|---|---|---|---|"] if header else []
    lines += [f"| {r.learner} | {r.setup} | {r.metric} | {r.value:.3f}"
              f"{'' if r.ci95 is None else f' ± {r.ci95:.3f}'} | {r.train_seconds} | {r.meta_iterations} | "
              f"{r.device} |" for r in rows]
    return "\n".join(lines)


def as_dicts(rows: list[BenchRow]) -> list[dict]:
    return [dataclasses.asdict(r) for r in rows]
