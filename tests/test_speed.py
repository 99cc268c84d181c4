"""The speed benchmark (metaviz/speed.py) and the engine's chunked vmap (MetaLearner.max_chunk)."""

import contextlib
import io
import json
import math

import numpy as np
import pytest
import torch

from metaviz import speed
from metaviz.__main__ import main
from metaviz.functional import flatten, unflatten
from metaviz.learners.anil import ANIL, ANILConfig
from metaviz.learners.base import in_chunks
from metaviz.learners.maml import MAML, MAMLConfig
from metaviz.learners.metasgd import MetaSGD, MetaSGDConfig
from metaviz.learners.protonet import MetricConfig, ProtoNet
from metaviz.learners.reptile import Reptile, ReptileConfig
from metaviz.models import MLP
from metaviz.tasks.blobs import Blobs
from metaviz.tasks.sinusoid import Sinusoid, SinusoidConfig


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    """``python -m metaviz bench speed --device cpu --quick --json PATH``, run once: (JSON, printed table)."""
    path = tmp_path_factory.mktemp("speed") / "speed.json"
    threads = torch.get_num_threads()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = main(["bench", "speed", "--device", "cpu", "--json", str(path), "--quick"])
    finally:
        torch.set_num_threads(threads)  # the command takes all cores but one, as the app does
    assert status == 0
    return json.loads(path.read_text()), out.getvalue()


def test_quick_bench_reports_every_row_and_column(quick_bench):
    result, printed = quick_bench
    rows = result["rows"]
    assert {(r["workload"], r["order"], r["impl"]) for r in rows} == {
        (w, o, i) for w in speed.WORKLOADS for o in speed.ORDERS for i in speed.IMPLS}
    assert len(rows) == 8
    for r in rows:
        for key in ("tasks_per_s", "speedup_vs_loop", "peak_mib", "grad_rel_err"):
            assert isinstance(r[key], float) and math.isfinite(r[key]), (key, r)
        assert r["tasks_per_s"] > 0 and r["calls"] >= 1
        # the peak resident set of a child process above what it held before the row (runtime and torch)
        assert r["peak_mib"] > 0 and r["base_mib"] > 50
        assert r["label"] in printed
    for w in speed.WORKLOADS:
        for o in speed.ORDERS:
            loop, engine = (next(r for r in rows if (r["workload"], r["order"], r["impl"]) == (w, o, i))
                            for i in speed.IMPLS)
            assert loop["speedup_vs_loop"] == 1.0 and loop["grad_rel_err"] == 0.0
            assert engine["speedup_vs_loop"] == pytest.approx(engine["tasks_per_s"] / loop["tasks_per_s"])
            assert engine["grad_rel_err"] < 1e-12  # float64: the same meta-gradient up to rounding
    strategies = {r["workload"]: r["strategy"] for r in rows if r["impl"] == "engine"}
    assert strategies == {"sine": "vmap", "omniglot": "loop"}  # the engine's CPU rule: loop over conv nets
    assert result["device"].startswith("cpu") and result["torch"] == torch.__version__ and result["date"]

    analyses = {(a["analysis"], a["workload"].split(":")[0]): a for a in result["analyses"]}
    for w in speed.WORKLOADS:
        grid = analyses[("landscape 41x41", w)]
        assert grid["points"] == 41 * 41 and 1 <= grid["points_timed"] <= grid["points"] and grid["seconds"] > 0
    assert analyses[("landscape 41x41", "sine")]["points_timed"] == 41 * 41  # the MLP grid is timed whole
    for w, tasks in (("sine", 8), ("omniglot", 2)):  # coarse to fine: the first task's 5 x 5 first, then the mean
        preview = analyses[(f"landscape coarse to fine: first 5x5, task 0 of {tasks} (a preview)", w)]
        exact = analyses[("landscape coarse to fine: first 5x5", w)]
        assert preview["points"] == exact["points"] == 25
        assert result["analyses"].index(preview) < result["analyses"].index(exact)
    assert ("landscape 41x41, task_loss with its graph (before)", "omniglot") in analyses
    kinds = {a["analysis"] for a in result["analyses"]}
    assert {"embedding: features + PCA", "embedding: t-SNE", "rollouts, batched torch env",
            "rollouts, gymnasium loop"} <= kinds
    assert all(a["seconds"] > 0 for a in result["analyses"])
    assert printed.count("| landscape 41x41 |") == 2 and "| embedding: t-SNE |" in printed


def test_loop_reference_matches_finite_differences():
    # the reference the engine is compared with is itself checked against central differences (float64)
    task = Sinusoid(SinusoidConfig(k_shot=4, n_query=5))
    torch.manual_seed(0)
    net = MLP(1, 1, hidden=4, layers=1).double()
    params = {k: v.detach() for k, v in net.named_parameters()}
    batch = task.sample(2, torch.Generator().manual_seed(0)).episode.to("cpu", torch.float64)
    grads, loss = speed.loop_meta_grad(net, params, batch, task.loss, 2, 0.05, first_order=False)
    theta = flatten(params)

    def meta_loss(vector):
        theta_ = unflatten(vector, params)
        total = 0.0
        for i in range(batch.n_tasks):  # the inner loop written out with torch.func, another code path
            sx, sy, qx, qy = batch.task(i)
            p = theta_
            for _ in range(2):
                g = torch.func.grad(lambda q, x=sx, y=sy: task.loss(torch.func.functional_call(net, q, (x,)), y))(p)
                p = {k: p[k] - 0.05 * g[k] for k in p}
            total = total + task.loss(torch.func.functional_call(net, p, (qx,)), qy)
        return total / batch.n_tasks

    eps = 1e-6
    numeric = torch.stack([(meta_loss(theta + eps * e) - meta_loss(theta - eps * e)) / (2 * eps)
                           for e in torch.eye(theta.numel(), dtype=torch.float64)])
    assert torch.allclose(flatten(grads), numeric, rtol=1e-6, atol=1e-9)
    assert torch.isclose(loss, meta_loss(theta), rtol=1e-12)


@pytest.mark.parametrize("order", speed.ORDERS)
def test_vmapped_engine_matches_the_loop_for_conv4_with_batchnorm(order):
    # what the engine does on a GPU, here forced on the CPU: Conv4 (BatchNorm) second and first order, in chunks
    w = speed.workload("omniglot", quick=True)
    learner = speed.make_learner(w, order, "cpu", torch.float64, strategy="vmap", max_chunk=2)
    batch = speed.make_batch(learner, 3, seed=1)
    engine, engine_loss = learner.meta_grad(batch)
    loop, loop_loss = speed.loop_meta_grad(learner.net, learner.params, batch, learner.task.loss, w.inner_steps,
                                           w.inner_lr, order == "first")
    assert torch.allclose(flatten(engine), flatten(loop), rtol=1e-9, atol=1e-12)
    assert torch.isclose(engine_loss, loop_loss, rtol=1e-12)


def learners_to_chunk():
    sine = Sinusoid(SinusoidConfig(k_shot=5, n_query=6))
    blobs = Blobs()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        nets = [MLP(1, 1, 8, 2).double() for _ in range(4)] + [MLP(2, 6, 8, 2).double()]
    return {
        "maml": (MAML(MAMLConfig(inner_lr=0.05, inner_steps=2), sine, nets[0], strategy="vmap"), sine),
        "metasgd": (MetaSGD(MetaSGDConfig(init_lr=0.05, inner_steps=2), sine, nets[1], strategy="vmap"), sine),
        "anil": (ANIL(ANILConfig(inner_lr=0.05, inner_steps=2), sine, nets[2], strategy="vmap"), sine),
        "reptile": (Reptile(ReptileConfig(), sine, nets[3], strategy="vmap"), sine),
        "protonet": (ProtoNet(MetricConfig(embedding_dim=6), blobs, nets[4], strategy="vmap"), blobs),
    }


@pytest.mark.parametrize("name", ["maml", "metasgd", "anil", "protonet", "reptile"])
def test_chunked_vmap_equals_unchunked(name):
    learner, task = learners_to_chunk()[name]
    batch = task.sample(5, torch.Generator().manual_seed(2)).episode.to("cpu", torch.float64)
    calls = []
    task_loss = learner.task_loss
    learner.task_loss = lambda p, e: calls.append(e.support_x.shape) or task_loss(p, e)  # counts vmapped calls

    results = {}
    for chunk in (0, 2, 5, 9):
        learner.max_chunk = chunk
        calls.clear()
        grads, loss = learner.meta_grad(batch)
        curves = learner.evaluate(batch, 2)
        results[chunk] = (flatten(grads), loss, curves)
        if name != "reptile":  # Reptile's meta_grad trains each task with its own inner loop, not task_loss
            assert len(calls) == (3 if chunk == 2 else 1)  # pieces of 2, 2 and 1 tasks, or one vmap
    g0, l0, c0 = results[0]
    for chunk in (2, 5, 9):
        g, loss, c = results[chunk]
        assert torch.allclose(g, g0, rtol=1e-12, atol=1e-14), chunk
        assert torch.isclose(loss, l0, rtol=1e-12)
        np.testing.assert_allclose(c.loss, c0.loss, rtol=1e-12)
        if c0.accuracy is not None:
            np.testing.assert_array_equal(c.accuracy, c0.accuracy)
    assert g0.abs().max() > 0


def test_in_chunks_halves_a_piece_that_runs_out_of_memory():
    tried = []

    def fn(start, stop):  # as if more than 3 tasks did not fit
        tried.append((start, stop))
        if stop - start > 3:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return list(range(start, stop))

    outs, size = in_chunks(fn, 10, 0, retry_oom=True)
    assert [i for piece in outs for i in piece] == list(range(10))  # every task once, in order
    assert size == 2  # 10 failed, 5 failed, 2 worked
    assert tried[:3] == [(0, 10), (0, 5), (0, 2)] and max(b - a for a, b in tried[2:]) == 2
    again, size_again = in_chunks(fn, 10, size, retry_oom=True)  # the remembered size: no failed try
    assert again == outs and size_again == 2 and len(tried) == 2 + 5 + 5  # 2 failed tries, 5 + 5 pieces
    with pytest.raises(torch.OutOfMemoryError):
        in_chunks(fn, 10, 0, retry_oom=False)  # on the CPU an out-of-memory error is not retried

    def never(start, stop):
        raise torch.OutOfMemoryError("even one task does not fit")

    with pytest.raises(torch.OutOfMemoryError):
        in_chunks(never, 4, 0, retry_oom=True)
    assert in_chunks(lambda a, b: (a, b), 7, 3) == ([(0, 3), (3, 6), (6, 7)], 3)


def test_unknown_workload_and_order_say_what_exists():
    with pytest.raises(ValueError, match="sine"):
        speed.workload("imagenet")
    with pytest.raises(ValueError, match="first"):
        speed.make_learner(speed.workload("sine"), "third", "cpu")
