"""Speed: meta-training tasks per second, the engine against the per-task loop other libraries use.

    python -m metaviz bench speed --device cpu|cuda --json PATH [--quick]

learn2learn and higher meta-train one task at a time: for each task of the meta-batch, adapt with
``torch.autograd.grad`` (``create_graph=True`` for the second-order meta-gradient), take the query
loss, ``backward()``, accumulate, and average. :func:`loop_meta_grad` is that loop, written plainly
here so that it shares no code with the engine. The engine is the learner's own ``meta_grad``, with
the strategy it resolves to on the device (``MetaLearner.resolved_strategy``: ``vmap`` over tasks on
accelerators and for MLPs, its own autograd loop for conv nets on the CPU).

Workloads (the MAML paper's, Finn et al. 2017):

* ``sine``: MLP 1-40-40-1, K = 10 support and 10 query points, one inner step (alpha = 0.01),
  meta-batch 25;
* ``omniglot``: Conv4 (64 filters, BatchNorm), 28 x 28 inputs, 5-way 1-shot with 15 queries per
  class, 5 inner steps (alpha = 0.4), meta-batch 32. The images are random (:class:`RandomImages`):
  speed does not depend on what they show, and the benchmark needs no data.

Each in first and second order, each with ``loop`` and ``engine``, all in one process on one device,
on the same batch, after a warm-up. A row's columns:

* ``tasks_per_s``: meta-batch / seconds per meta-gradient (mean over the timed calls);
* ``speedup_vs_loop``: tasks_per_s / the loop's, same workload and order (1 for the loop);
* ``peak_mib``: on CUDA the allocator's peak (``torch.cuda.max_memory_allocated``) during one
  meta-gradient; on the CPU the peak resident set (VmHWM) of a fresh child process that builds and
  runs only that row's meta-gradient, less its resident set before the row (``base_mib``: Python and
  torch). Both include the learner and the batch; the CPU figure also counts library code that the
  row touches for the first time, so compare rows rather than devices;
* ``grad_rel_err``: |g_engine - g_loop| / |g_loop| for the same learner and workload in float64 on a
  small meta-batch (``check_tasks``) on the same device: the speed is only worth something if the
  meta-gradient is the same (0 on the loop rows, the reference).

The analyses are timed too: the loss-landscape grid (41 x 41 points of the meta-loss on a plane of
two random directions, as the Landscape page evaluates it, ``metaviz.analysis.landscape``) and the
embedding projections (PCA and t-SNE of one 20-way 5-shot task, ``metaviz.analysis.embedding``).
A Conv4 grid takes minutes on the CPU, so there a few grid points spread over the grid are timed and
scaled to the whole grid (``points_timed`` says how many).

Timing: both implementations are warmed up, then take turns in three rounds of about a second each
(so a change in the machine's load cannot decide their ratio); the device is synchronized only at
the ends of those blocks. A Conv4 meta-batch on the CPU takes seconds, so there each is timed on one
call. ``--quick`` shrinks the Omniglot workload (Conv4-16, one inner step, meta-batch 4), the timings
and the embedding task (5-way), for the tests. What is timed is the meta-gradient; a training step
adds Adam's update and one read of the loss. The command gives torch all CPU cores but one, as the
app does.

Measured on this project's development machine (2 CPU cores shared with other jobs, load average
3.5 to 3.8 while it ran, no GPU; torch 2.13.0 CPU, 1 thread; 2026-11-26), first / second order:
sine 6.0x / 6.3x the loop (3,086 / 1,449 tasks/s against 516 / 231), float64 gradients equal to
2e-16; Omniglot-shaped Conv4 1.4x / 1.0x (both loop there, 1.6 to 2.5 tasks/s); a 41 x 41 sine grid
0.35 s; a Conv4 grid about 18 minutes (timed on 8 points); PCA of a 20-way 5-shot task 0.7 s and
t-SNE 4 s. ``benchmarks/gpu_speed.sh`` runs the GPU benchmark; no GPU was lent to measure it yet.
"""

from __future__ import annotations

import dataclasses
import datetime
import gc
import json
import math
import multiprocessing as mp
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from metaviz.bench_landscape import extra_timings
from metaviz.config import Config
from metaviz.device import device_label, leave_a_core_free, resolve_device
from metaviz.functional import Params, flatten
from metaviz.learners.maml import MAML, MAMLConfig
from metaviz.models import MLP, Conv4
from metaviz.tasks.base import Episode, TaskBatch, TaskDistribution
from metaviz.tasks.sinusoid import Sinusoid, SinusoidConfig

WORKLOADS = ("sine", "omniglot")
ORDERS = ("first", "second")
IMPLS = ("loop", "engine")
GRID = 41  # landscape grid points per axis


# ---- workloads ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImagesConfig(Config):
    n_way: int = 5
    k_shot: int = 1
    n_query: int = 15
    size: int = 28


class RandomImages(TaskDistribution):
    """Omniglot-shaped N-way K-shot episodes of uniform random images (timing only: content does not matter).

    support_x [T, N*K, 1, size, size], support_y [T, N*K] (labels 0..N-1); query_x [T, N*Q, ...]."""

    name = ""  # not registered: not a task anyone should learn
    kind = "classification"
    Config = ImagesConfig

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (1, self.config.size, self.config.size)

    @property
    def out_dim(self) -> int:
        return self.config.n_way

    def sample(self, n_tasks: int, generator: torch.Generator, split: str = "train") -> TaskBatch:
        c = self.config

        def part(per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
            x = torch.rand(n_tasks, c.n_way * per_class, *self.in_shape, generator=generator)
            y = torch.arange(c.n_way).repeat_interleave(per_class).expand(n_tasks, -1).clone()
            return x, y

        return TaskBatch(Episode(*part(c.k_shot), *part(c.n_query)), {})


@dataclass(frozen=True)
class Workload:
    """One benchmark setting: MAML with ``inner_steps`` SGD steps of ``inner_lr`` on ``meta_batch`` tasks."""

    name: str            # "sine" or "omniglot"
    meta_batch: int
    inner_steps: int
    inner_lr: float
    hidden: int          # the MLP's hidden units or Conv4's filters
    check_tasks: int     # tasks in the float64 gradient check
    landscape_tasks: int  # tasks averaged in the landscape's meta-loss

    @property
    def label(self) -> str:
        if self.name == "sine":
            net = f"MLP 1-{self.hidden}-{self.hidden}-1, K=10"
        else:
            net = f"Conv4-{self.hidden}, 28x28, 5-way 1-shot, 15 queries"
        steps = f"{self.inner_steps} inner step{'s' * (self.inner_steps != 1)}"
        return f"{self.name}: {net}, {steps}, meta-batch {self.meta_batch}"


def workload(name: str, quick: bool = False) -> Workload:
    """The issue's settings, or with ``quick`` a small Omniglot-shaped one (Conv4-16, one inner step,
    meta-batch 4) that runs in seconds on a CPU. The sine workload is cheap enough to stay as it is."""
    if name == "sine":
        return Workload("sine", 25, 1, 0.01, 40, 4, 8)
    if name == "omniglot":
        if quick:
            return Workload("omniglot", 4, 1, 0.4, 16, 2, 2)
        return Workload("omniglot", 32, 5, 0.4, 64, 2, 4)
    raise ValueError(f"unknown workload {name!r}: choose from {WORKLOADS}")


def make_task(w: Workload) -> TaskDistribution:
    if w.name == "sine":
        return Sinusoid(SinusoidConfig(k_shot=10, n_query=10))
    return RandomImages()


def make_learner(w: Workload, order: str, device: torch.device | str, dtype: torch.dtype = torch.float32,
                 strategy: str = "auto", max_chunk: int = 0) -> MAML:
    """MAML for ``w`` (first or second ``order``), initialised from seed 0 whatever the global RNG's state."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = MLP(1, 1, w.hidden, 2) if w.name == "sine" else Conv4((1, 28, 28), 5, hidden=w.hidden)
    config = MAMLConfig(inner_lr=w.inner_lr, inner_steps=w.inner_steps, first_order=order == "first")
    learner = MAML(config, make_task(w), net.to(dtype), device, strategy=strategy)
    learner.max_chunk = max_chunk
    return learner


def make_batch(learner: MAML, n_tasks: int, seed: int = 0) -> Episode:
    """``n_tasks`` tasks on the learner's device, in its dtype."""
    dtype = next(iter(learner.params.values())).dtype
    batch = learner.task.sample(n_tasks, torch.Generator().manual_seed(seed)).episode
    return batch.to(learner.device, dtype)


# ---- the reference: one task at a time, as learn2learn and higher do ---------------------------------------
def loop_meta_grad(net: nn.Module, params: Params, batch: Episode, loss_fn: Callable, steps: int, lr: float,
                   first_order: bool) -> tuple[Params, torch.Tensor]:
    """Mean over tasks of grad_theta L_Q(theta_i'), theta_i' = ``steps`` SGD steps on task i's support loss.

    For each task: adapt with ``torch.autograd.grad`` (``create_graph`` keeps the graph of the inner
    gradients for the second-order term; first order treats them as constants), compute the query
    loss at the adapted weights, ``backward()`` into the leaves' ``.grad``; at the end divide by the
    number of tasks. Returns (gradients by name, mean query loss)."""
    leaves = {k: v.detach().requires_grad_() for k, v in params.items()}
    total_loss = torch.zeros((), device=batch.support_x.device, dtype=batch.support_x.dtype)
    for i in range(batch.n_tasks):
        support_x, support_y, query_x, query_y = batch.task(i)
        fast = leaves
        for _ in range(steps):
            loss = loss_fn(functional_call(net, fast, (support_x,)), support_y)
            grads = torch.autograd.grad(loss, list(fast.values()), create_graph=not first_order)
            fast = {k: w - lr * g for (k, w), g in zip(fast.items(), grads)}
        query = loss_fn(functional_call(net, fast, (query_x,)), query_y)
        query.backward()
        total_loss += query.detach()
    n = batch.n_tasks
    return {k: v.grad / n for k, v in leaves.items()}, total_loss / n


def row_function(w: Workload, order: str, impl: str, device: torch.device | str,
                 n_tasks: int | None = None) -> Callable[[Episode | None], tuple[Params, torch.Tensor]]:
    """``fn(batch=None)``: one meta-gradient of ``impl`` for ``w`` and ``order`` on a fixed batch of
    ``n_tasks`` (default: the meta-batch) tasks, or on the batch given. ``fn.learner`` and ``fn.batch``
    are the learner and the batch."""
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, not {impl!r}")
    learner = make_learner(w, order, device)
    batch = make_batch(learner, n_tasks or w.meta_batch)

    def fn(on: Episode | None = None) -> tuple[Params, torch.Tensor]:
        on = batch if on is None else on
        if impl == "engine":
            return learner.meta_grad(on)
        return loop_meta_grad(learner.net, learner.params, on, learner.task.loss, w.inner_steps, w.inner_lr,
                              order == "first")

    fn.learner, fn.batch = learner, batch
    return fn


def grad_rel_err(w: Workload, order: str, device: torch.device | str, max_chunk: int = 0) -> float:
    """|g_engine - g_loop| / |g_loop| in float64 on ``w.check_tasks`` tasks on ``device``."""
    learner = make_learner(w, order, device, torch.float64, max_chunk=max_chunk)
    batch = make_batch(learner, w.check_tasks, seed=1)
    engine, _ = learner.meta_grad(batch)
    loop, _ = loop_meta_grad(learner.net, learner.params, batch, learner.task.loss, w.inner_steps, w.inner_lr,
                             order == "first")
    reference = flatten(loop)
    return float((flatten(engine) - reference).norm() / reference.norm())


# ---- timing and memory ------------------------------------------------------------------------------------
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_seconds(fns: dict[str, Callable[[], object]], device: torch.device, target_s: float,
                        rounds: int, max_calls: int) -> dict[str, tuple[float, int]]:
    """Mean seconds per call of each of ``fns``, timed in ``rounds`` rounds that take turns (a, b, a, b, ...),
    so that a change in the machine's load between them does not decide their ratio. In each round each
    function runs for ``target_s / rounds`` seconds (at least one call, at most ``max_calls`` in all);
    the device is synchronized only at the ends of those blocks, so a GPU's queue stays full.
    Returns name -> (seconds per call, calls)."""
    spent = {name: 0.0 for name in fns}
    calls = {name: 0 for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            sync(device)
            start, n = time.perf_counter(), 0
            while n == 0 or (time.perf_counter() - start < target_s / rounds and calls[name] + n < max_calls):
                fn()
                n += 1
            sync(device)
            spent[name] += time.perf_counter() - start
            calls[name] += n
    return {name: (spent[name] / calls[name], calls[name]) for name in fns}


def cuda_peak_mib(fn: Callable[[], object], device: torch.device) -> float:
    """Peak of CUDA's allocator during one ``fn()`` (what is already allocated included), MiB."""
    sync(device)
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    sync(device)
    return torch.cuda.max_memory_allocated(device) / 2**20


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def _rss_child(spec: tuple[str, bool, str, str], threads: int, out) -> None:
    """In a fresh process: the resident set before the row and its peak (VmHWM) after one meta-gradient, MiB.
    VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec."""
    torch.set_num_threads(threads)
    name, quick, order, impl = spec
    base = _status_mib("VmRSS")
    row_function(workload(name, quick), order, impl, "cpu")()
    out.put((base, _status_mib("VmHWM")))


def cpu_peaks_mib(specs: Sequence[tuple[str, bool, str, str]]) -> list[tuple[float, float]]:
    """(base, peak) resident set in MiB of each row ``(workload, quick, order, impl)``, each from a fresh child
    process that runs only that row (NaN without /proc, that is off Linux).

    Fresh processes, because one process that runs the rows in turn keeps memory from the earlier ones
    (measured: a Conv4 row after a vmapped sine row peaked 70 MiB higher than alone, with ``malloc_trim``
    and a reset high-water mark in between). The children are forked from a server process that has
    imported this module and done nothing else (multiprocessing's "forkserver"), so each starts in well
    under a second instead of importing torch anew; not forked from this process, which would hand them
    its own resident pages. Several run at once, as many as there are cores: a peak resident set is per
    process, so they do not disturb each other's."""
    if not os.path.exists("/proc/self/status"):
        return [(math.nan, math.nan)] * len(specs)
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
    else:
        ctx = mp.get_context("spawn")
    results: list[tuple[float, float] | None] = [None] * len(specs)
    pending = list(enumerate(specs))
    running: list[tuple[int, object, object]] = []
    while pending or running:
        while pending and len(running) < max(2, os.cpu_count() or 1):
            i, spec = pending.pop(0)
            out = ctx.Queue()
            proc = ctx.Process(target=_rss_child, args=(spec, torch.get_num_threads(), out))
            proc.start()
            running.append((i, proc, out))
        i, proc, out = running.pop(0)
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"the child process measuring the memory of {specs[i]} failed "
                               f"(exit code {proc.exitcode})")
        results[i] = out.get(timeout=60)  # a tiny tuple: it is in the pipe before the child exits
    return results


# ---- rows -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    workload: str
    order: str
    impl: str
    label: str               # the workload in words
    meta_batch: int
    strategy: str            # what ran: "loop" (the reference), or the engine's "vmap" / "loop"
    tasks_per_s: float
    speedup_vs_loop: float
    peak_mib: float
    grad_rel_err: float      # engine against the loop in float64 (0 for the loop itself)
    ms_per_meta_grad: float
    calls: int               # timed meta-gradients
    base_mib: float | None   # CPU: resident set before the row (runtime and torch)


@dataclass(frozen=True)
class Timing:
    """One analysis: ``seconds`` for the whole of it (scaled from ``points_timed`` of ``points`` grid points)."""

    analysis: str
    workload: str
    seconds: float
    points: int
    points_timed: int
    strategy: str
    cpu_seconds: float | None = None  # this process's CPU time for the same work (1 thread: the time on an idle core)


@dataclass(frozen=True)
class SpeedResult:
    device: str
    torch: str
    date: str
    threads: int
    load_average: tuple[float, float, float] | None
    quick: bool
    rows: tuple[Row, ...]
    analyses: tuple[Timing, ...]

    def to_dict(self) -> dict:
        return {"device": self.device, "torch": self.torch, "date": self.date, "threads": self.threads,
                "load_average": self.load_average, "quick": self.quick, "python": platform.python_version(),
                "rows": [dataclasses.asdict(r) for r in self.rows],
                "analyses": [dataclasses.asdict(t) for t in self.analyses]}


def time_rows(w: Workload, device: torch.device, quick: bool, orders: Sequence[str] = ORDERS,
              progress: Callable[[str], None] = lambda _: None) -> list[Row]:
    """Loop and engine rows of ``w`` for each order (peak memory left NaN on the CPU: see :func:`run_bench`).

    Timing: 3 s per implementation in 3 interleaved rounds (0.3 s, 1 round with ``quick``); a Conv4
    meta-batch on the CPU takes seconds, so there each implementation is timed on one call."""
    cuda = device.type == "cuda"
    slow = w.name == "omniglot" and not cuda
    target_s, rounds = (0.0, 1) if slow else (0.3, 1) if quick else (3.0, 3)
    rows = []
    for order in orders:
        error = grad_rel_err(w, order, device)
        fns = {impl: row_function(w, order, impl, device) for impl in IMPLS}
        for fn in fns.values():
            # the whole batch on a GPU (allocator, kernels); two tasks on the CPU, where a Conv4 meta-batch
            # takes seconds and the one-off costs do not depend on the batch size
            fn(None if cuda else Episode(*(t[:2] for t in fn.batch)))
        timed = interleaved_seconds(fns, device, target_s, rounds, 10_000)
        peaks = {impl: cuda_peak_mib(fn, device) if cuda else math.nan for impl, fn in fns.items()}
        loop_rate = w.meta_batch / timed["loop"][0]
        for impl, fn in fns.items():
            seconds, calls = timed[impl]
            rate = w.meta_batch / seconds
            strategy = fn.learner.resolved_strategy() if impl == "engine" else "loop"
            rows.append(Row(w.name, order, impl, w.label, w.meta_batch, strategy, rate, rate / loop_rate,
                            peaks[impl], error if impl == "engine" else 0.0, seconds * 1e3, calls, None))
            progress(f"{w.name} {order} {impl}: {rate:,.1f} tasks/s ({calls} calls)")
        del fns
    return rows


def time_landscape(w: Workload, device: torch.device, max_points: int | None = None) -> Timing:
    """A 41 x 41 grid of MAML's meta-loss (one inner step, ``w.landscape_tasks`` tasks) on a plane of two
    filter-normalized random directions, evaluated as the Landscape page does (``Evaluator.at_coords``:
    batches of ``auto_chunk`` grid points under vmap, or one point at a time where the learner loops)."""
    from metaviz.analysis.landscape import evaluate
    from metaviz.bench_landscape import grid_coords, grid_function, seconds

    at, strategy, chunk, _ = grid_function(w, device)
    points = torch.as_tensor(grid_coords(max_points), dtype=torch.float32, device=device)
    evaluate(at, points[:2], strategy, chunk)  # warm-up
    (elapsed, cpu), _ = seconds(lambda: evaluate(at, points, strategy, chunk), device)
    return Timing(f"landscape {GRID}x{GRID}", f"{w.name}: MAML 1 inner step, {w.landscape_tasks} tasks",
                  elapsed * GRID**2 / len(points), GRID**2, len(points),
                  f"vmap, batches of {chunk} points" if strategy == "vmap" else "one point at a time",
                  cpu * GRID**2 / len(points))


def time_embedding(device: torch.device, n_way: int = 20) -> list[Timing]:
    """The Embedding page's work for one frame of an N-way 5-shot task (5 queries per class, random 28 x 28
    images, ProtoNet's Conv4-64 embedding): features and a PCA plane, then t-SNE of the same points
    (220 for 20-way)."""
    from metaviz.analysis.embedding import project, task_features, tsne
    from metaviz.learners.protonet import MetricConfig, ProtoNet

    task = RandomImages(ImagesConfig(n_way=n_way, k_shot=5, n_query=5))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = Conv4(task.in_shape, 64, hidden=64)
    learner = ProtoNet(MetricConfig(embedding_dim=64), task, net, device)
    params = learner.state_numpy()
    episode = task.sample(1, torch.Generator().manual_seed(3)).episode.task(0)
    task_features(learner, params, episode)  # warm-up
    start = time.perf_counter()
    frame = task_features(learner, params, episode)
    coords, _ = project([frame])
    pca_s = time.perf_counter() - start
    start = time.perf_counter()
    tsne(frame.points, coords[0])
    tsne_s = time.perf_counter() - start
    what = f"{n_way}-way 5-shot, 5 queries per class ({len(frame.points)} points), Conv4-64"
    return [Timing("embedding: features + PCA", what, pca_s, 1, 1, str(device)),
            Timing("embedding: t-SNE", what, tsne_s, 1, 1, "cpu (scikit-learn)")]


def oversized_batch(device: str = "cuda", meta_batch: int = 1024, quick: bool = False) -> dict:
    """Second-order MAML on a meta-batch of ``meta_batch`` Omniglot-shaped tasks, more than one vmap can hold
    on a GPU (about 0.3 GB a task): the engine halves its chunk of tasks after each out-of-memory error until
    the chunk fits, and keeps that size. Returns the chunk it settled on, the seconds of the first call (with
    the failed tries) and of a second one, and the relative difference of the meta-gradient from a run in
    fixed chunks of half that size (float32 rounding only)."""
    dev = resolve_device(device)
    w = dataclasses.replace(workload("omniglot", quick), meta_batch=meta_batch)
    learner = make_learner(w, "second", dev)
    batch = make_batch(learner, meta_batch)
    seconds = []
    for _ in range(2):
        sync(dev)
        start = time.perf_counter()
        grads, _ = learner.meta_grad(batch)
        sync(dev)
        seconds.append(time.perf_counter() - start)
    chunk = getattr(learner, "_fit_chunk", 0) or meta_batch
    other = make_learner(w, "second", dev, max_chunk=max(1, chunk // 2))
    reference, _ = other.meta_grad(batch)
    error = float((flatten(grads) - flatten(reference)).norm() / flatten(reference).norm())
    return {"device": device_label(str(dev)), "meta_batch": meta_batch, "strategy": learner.resolved_strategy(),
            "chunk": chunk, "first_call_s": seconds[0], "second_call_s": seconds[1],
            "tasks_per_s": meta_batch / seconds[1], "rel_diff_vs_half_chunks": error}


def load_average() -> tuple[float, float, float] | None:
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        return None


def time_env_rollouts() -> list[Timing]:
    """20 tasks x 20 rollouts x 20 steps of 2-D navigation: the batched torch environment against a loop over
    gymnasium environments doing the same steps (on the CPU: the loop is Python and numpy either way)."""
    from metaviz.gym_tasks import rollout_seconds
    from metaviz.tasks.navigation import Navigation2D, looped_navigation

    batched, loop, error = rollout_seconds(Navigation2D(), looped_navigation())
    how = f"{loop / batched:.0f}x faster than the gymnasium loop ({loop:.3f} s); rewards agree to {error:.0e}"
    return [Timing("rollouts, batched torch env", "navigation 20x20x20", batched, 1, 1, how),
            Timing("rollouts, gymnasium loop", "navigation 20x20x20", loop, 1, 1, "reference")]


def run_bench(device: str = "auto", quick: bool = False, workloads: Sequence[str] = WORKLOADS,
              orders: Sequence[str] = ORDERS, progress: Callable[[str], None] = lambda _: None,
              landscape_only: bool = False) -> SpeedResult:
    """Every row of ``workloads`` x ``orders`` x (loop, engine) and the analyses' timings on ``device``
    (``landscape_only``: the landscape's timings alone)."""
    dev = resolve_device(device)
    load = load_average()
    rows: list[Row] = []
    for name in () if landscape_only else workloads:
        rows += time_rows(workload(name, quick), dev, quick, orders, progress)
    if dev.type != "cuda" and rows:
        progress("peak memory: a fresh child process runs each row once")
        peaks = cpu_peaks_mib([(r.workload, quick, r.order, r.impl) for r in rows])
        rows = [dataclasses.replace(r, base_mib=base, peak_mib=peak - base) for r, (base, peak) in zip(rows, peaks)]
    analyses = []
    for name in workloads:
        conv_on_cpu = name == "omniglot" and dev.type != "cuda"
        points = (2 if quick else 8) if conv_on_cpu else None
        page = time_landscape(workload(name, quick), dev, points)
        stop = 5 if quick and conv_on_cpu else 11 if conv_on_cpu else GRID
        analyses += [page, *extra_timings(workload(name, quick), dev, points, page.workload, page.seconds, stop)]
        for timing in analyses[analyses.index(page):]:
            progress(f"{timing.analysis} {name}: {timing.seconds:.2f} s ({timing.strategy})")
    if not landscape_only:
        analyses += time_embedding(dev, 5 if quick else 20)
        analyses += time_env_rollouts()
        progress(f"{analyses[-1].analysis}: {analyses[-1].seconds:.3f} s ({analyses[-1].strategy})")
    return SpeedResult(device_label(str(dev)), torch.__version__, datetime.date.today().isoformat(),
                       torch.get_num_threads(), load, quick, tuple(rows), tuple(analyses))


def table(result: SpeedResult) -> str:
    """The rows and the analyses as markdown tables, with the device, torch version and date."""
    load = "" if result.load_average is None else f", load average {result.load_average[0]:.1f}"
    lines = [f"{result.device}, torch {result.torch}, {result.threads} CPU thread(s){load}, {result.date}"
             + (" (quick)" if result.quick else ""), "",
             "| workload | order | impl | strategy | tasks/s | vs loop | peak MiB | grad rel err |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result.rows:
        error = "reference" if r.impl == "loop" else f"{r.grad_rel_err:.1e}"
        lines.append(f"| {r.label} | {r.order} | {r.impl} | {r.strategy} | {r.tasks_per_s:,.1f} | "
                     f"{r.speedup_vs_loop:.2f}x | {r.peak_mib:,.0f} | {error} |")
    bases = [r.base_mib for r in result.rows if r.base_mib is not None and math.isfinite(r.base_mib)]
    if bases:
        lines += ["", f"Peak MiB: the peak resident set of a child process that runs only that row, less its "
                  f"resident set before it ({min(bases):.0f} MiB: Python and torch)."]
    elif result.device.startswith("cuda"):
        lines += ["", "Peak MiB: CUDA's allocator peak (torch.cuda.max_memory_allocated) during one meta-gradient."]
    lines += ["", "| analysis | workload | seconds | CPU s | timed | how |", "|---|---|---|---|---|---|"]
    for t in result.analyses:
        timed = "all" if t.points_timed == t.points else f"{t.points_timed} of {t.points} points, scaled"
        cpu = "" if t.cpu_seconds is None else f"{t.cpu_seconds:.2f}"
        lines.append(f"| {t.analysis} | {t.workload} | {t.seconds:.2f} | {cpu} | {timed} | {t.strategy} |")
    return "\n".join(lines)


def command(args) -> int:
    """``python -m metaviz bench speed``: run, print the tables, write the JSON.

    torch gets all CPU cores but one, as in the app (``device.leave_a_core_free``): on a shared machine
    a thread waiting for a busy core slowed small ops several-fold (here, 2 threads on 2 loaded cores:
    the loop 5x and t-SNE 6x slower than with one)."""
    from metaviz.commands._progress import Bar

    leave_a_core_free()
    with Bar(label="bench speed") as bar:  # a bar on a terminal; the timing lines as a log elsewhere
        result = run_bench(args.device, args.quick, progress=bar.log,
                           landscape_only=getattr(args, "landscape_only", False))
    print(table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result.to_dict(), f, indent=2)
    return 0
