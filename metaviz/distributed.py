"""Meta-training on several processes (one per GPU, or several on the CPU) with ``torch.distributed``.

    torchrun --nproc-per-node 2 -m metaviz train --config run.json           # 2 GPUs (NCCL) or 2 CPU processes (gloo)
    torchrun --nnodes 2 --nproc-per-node 4 --rdzv-endpoint host:29500 -m metaviz train --config run.json

Idea: the tasks of a meta-batch are independent given the meta-parameters theta, so the
meta-gradient of a meta-batch of B tasks,

    g = 1/B sum_{i < B} grad_theta L_i(theta),

is a sum that splits across processes. Process r of R draws the *same* seeded batch as one
process would (``Run.batch_for_step``), keeps its contiguous slice of n_r tasks (tasks
``r*B//R`` to ``(r+1)*B//R``), computes the mean meta-gradient g_r of its slice with the learner's
own ``meta_grad`` (vmap or loop, second order or not), and one all-reduce gives

    g = sum_r n_r g_r / sum_r n_r

on every process, so every process takes the same optimizer step and the meta-parameters stay
identical without ever being broadcast: the result is that of one process with the same seed
and total meta-batch, up to the order of floating-point sums. The mean meta-loss is reduced in
the same all-reduce, Reptile's pseudo-gradient theta - mean_i phi_i is linear in the tasks and
reduces the same way, and evaluation on the held-out tasks is split and reduced likewise (each
curve is a mean over tasks). Nothing here is DistributedDataParallel: the model is tiny and
the work to split is the batch of inner loops, so one flat all-reduce per step is all it takes.

Only rank 0 records to the run store and prints; the other ranks follow the same events. A
Ctrl-C (torchrun passes SIGINT/SIGTERM to every worker) is agreed on with a one-number
all-reduce per meta-iteration, so every rank stops after the same step.

Devices: with CUDA each process takes the GPU of its ``LOCAL_RANK`` (``torch.cuda.set_device``,
so the run's ``"cuda"``/``"auto"`` device means that GPU) and the NCCL backend for CUDA tensors;
CPU tensors always use gloo. Without CUDA the processes share the CPU cores (torchrun sets
``OMP_NUM_THREADS=1`` per process).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.distributed as dist

from metaviz.events import Curves
from metaviz.tasks.base import Episode

TIMEOUT_S = float(os.environ.get("METAVIZ_DIST_TIMEOUT", 1800))  # how long a rank waits for the others


def bounds(n: int, world_size: int, rank: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous share ``[start, stop)`` of ``n`` items: sizes differ by at most one."""
    return rank * n // world_size, (rank + 1) * n // world_size


def shard(batch: Episode, world_size: int, rank: int) -> Episode:
    """Rank ``rank``'s tasks of ``batch`` ([T, ...] tensors -> [n_r, ...])."""
    start, stop = bounds(batch.n_tasks, world_size, rank)
    return Episode(*(t[start:stop] for t in batch))


class Group:
    """This process's place in a ``torch.distributed`` process group, and the collectives training needs."""

    def __init__(self, rank: int, world_size: int, local_rank: int = 0):
        self.rank, self.world_size, self.local_rank = rank, world_size, local_rank
        self.control_device = torch.device("cpu")  # small control tensors (flags) go through gloo

    @property
    def leader(self) -> bool:
        """Rank 0: the process that records to the store and prints."""
        return self.rank == 0

    def shard(self, batch: Episode) -> Episode:
        return shard(batch, self.world_size, self.rank)

    def weighted_mean(self, tensors: Sequence[torch.Tensor], n: int) -> list[torch.Tensor]:
        """Given this rank's means over its ``n`` items, the means over all ranks' items:
        ``sum_r n_r x_r / sum_r n_r``, for every tensor, in one all-reduce of a flat buffer."""
        if not tensors:
            return []
        like = tensors[0]
        flat = torch.cat([t.detach().reshape(-1).to(like.device, like.dtype) * n for t in tensors]
                         + [torch.tensor([float(n)], device=like.device, dtype=like.dtype)])
        dist.all_reduce(flat)
        total = flat[-1]
        out, start = [], 0
        for t in tensors:
            out.append((flat[start:start + t.numel()] / total).reshape(t.shape).to(t.dtype))
            start += t.numel()
        return out

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on any (call it at the same point on every rank)."""
        value = torch.tensor([1.0 if flag else 0.0], device=self.control_device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def barrier(self) -> None:
        dist.barrier()

    def close(self) -> None:
        """Leave the group together: a rank that tore its group down while another still used it (rank 0
        writes the final record after the last step, the others return at once) aborted in CI with
        "terminate called without an active exception"."""
        if dist.is_initialized():
            try:
                dist.barrier()
            except RuntimeError:  # a peer is gone already: torchrun is stopping every rank anyway
                pass
            dist.destroy_process_group()

    def __enter__(self) -> Group:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def world_size_from_env() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def init_from_env() -> Group | None:
    """Join the process group torchrun describes (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
    ``MASTER_PORT``); None when there is only one process. With CUDA, this process's GPU is its local rank's
    (so call this before building a run), and NCCL carries CUDA tensors; gloo carries CPU tensors."""
    world_size = world_size_from_env()
    if world_size <= 1:
        return None
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise RuntimeError(f"WORLD_SIZE is {world_size} but {', '.join(missing)} is not set: launch several "
                           "processes with torchrun (torchrun --nproc-per-node 2 -m metaviz train ...)")
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", 0))
    backend = "gloo"
    if torch.cuda.is_available() and dist.is_nccl_available():
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"local rank {local_rank} has no GPU: this machine has {torch.cuda.device_count()}; "
                               "start at most that many processes per node (--nproc-per-node)")
        torch.cuda.set_device(local_rank)
        backend = "cpu:gloo,cuda:nccl"
    if not dist.is_initialized():
        dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=TIMEOUT_S))
    return Group(rank, world_size, local_rank)


def distribute(run, group: Group):
    """Make ``run`` (a :class:`metaviz.train.Run`) train as one of ``group``'s processes: its batches are
    this rank's slice of each step's seeded batch, its learners' meta-gradients and evaluations are
    averaged over all ranks. ``train(run, n)`` then runs unchanged. Returns ``run``.

    The hooks wrap methods of these instances (never the classes), around whatever ``meta_grad`` and
    ``evaluate`` the learner has: a learner that overrides ``meta_grad`` (Reptile) is covered, and so
    is a baseline whose ``outer_step`` only measures (``meta_trains`` False, no ``meta_grad``): its
    reported loss is averaged."""
    if getattr(run, "_distributed", None) is not None:
        raise RuntimeError("this run is already distributed")
    meta_batch = run.config.train.meta_batch
    if meta_batch < group.world_size:
        raise ValueError(f"the meta-batch ({meta_batch} tasks) is smaller than the number of processes "
                         f"({group.world_size}): every process needs at least one task; raise train.meta_batch "
                         "or start fewer processes")
    check_in_step(run, group)
    draw = run.batch_for_step
    run.batch_for_step = lambda step: group.shard(draw(step))
    for learner in filter(None, (run.learner, run.baseline)):
        _wrap_learner(learner, group)
    run._distributed = group
    return run


def _wrap_learner(learner, group: Group) -> None:
    meta_grad, evaluate, outer_step = learner.meta_grad, learner.evaluate, learner.outer_step

    def distributed_meta_grad(batch: Episode):
        grads, loss = meta_grad(batch)
        keys = list(grads)  # the parameters' order, the same on every rank
        *reduced, mean_loss = group.weighted_mean([*(grads[k] for k in keys), loss], batch.n_tasks)
        return dict(zip(keys, reduced)), mean_loss

    def distributed_evaluate(batch: Episode, steps: int) -> Curves:
        local = group.shard(batch)
        if local.n_tasks:
            curves = evaluate(local, steps)
        else:  # fewer held-out tasks than processes: this rank adds nothing (weight 0)
            zeros = np.zeros(steps + 1)
            curves = Curves(zeros, None if learner.task.kind == "regression" else zeros)
        # numpy curves: reduced as float64 on the CPU, through gloo
        parts = [torch.as_tensor(np.asarray(curves.loss, np.float64))]
        if curves.accuracy is not None:
            parts.append(torch.as_tensor(np.asarray(curves.accuracy, np.float64)))
        reduced = [t.numpy() for t in group.weighted_mean(parts, local.n_tasks)]
        return Curves(reduced[0], reduced[1] if len(reduced) > 1 else None)

    def measured_outer_step(batch: Episode, optimizer) -> dict[str, float]:
        out = outer_step(batch, optimizer)
        (loss,) = group.weighted_mean([torch.tensor([out["loss"]], dtype=torch.float64)], batch.n_tasks)
        return {**out, "loss": float(loss)}

    learner.meta_grad = distributed_meta_grad
    learner.evaluate = distributed_evaluate
    if not learner.meta_trains:
        learner.outer_step = measured_outer_step


def check_in_step(run, group: Group) -> None:
    """Raise on every rank unless all ranks hold the same step and the same parameters (same config and
    seed, or the same checkpoint): the all-reduced updates keep equal parameters equal, nothing else."""
    params = [run.learner.params] + ([run.baseline.params] if run.baseline is not None else [])
    checksum = float(sum(v.detach().double().sum().item() + v.detach().double().abs().sum().item()
                         for p in params for v in p.values()))
    mine = (run.step, run.config.seed, run.config.train.meta_batch, checksum)
    everyone: list = [None] * group.world_size
    dist.all_gather_object(everyone, mine)
    first = everyone[0]
    # the checksum with a tolerance: the same numbers summed on another GPU model may round differently
    if any(e[:3] != first[:3] or abs(e[3] - first[3]) > 1e-6 * max(1.0, abs(first[3])) for e in everyone):
        raise RuntimeError("the processes do not start from the same run (step, parameter checksum, seed, "
                           f"meta-batch per rank: {everyone}); start every rank with the same config, or resume "
                           "from a checkpoint they can all read")


class Follower:
    """What a rank other than 0 holds in place of a :class:`metaviz.recorder.Recorder`: rank 0 writes
    the run to the store; the others record nothing."""

    id = ""
    closed = False

    def record(self, event) -> None:
        pass

    def close(self, *args, **kwargs) -> None:
        self.closed = True


def follower_resume(store, run_id: str, n_steps: int | None, device: str | None):
    """A rank other than 0 rebuilds the run rank 0 resumed (after it claimed the run: call after a barrier),
    from the same last checkpoint, read-only: ``(Follower(), run)``."""
    from metaviz.recorder import restore

    found = store.last_checkpoint(store.resolve(run_id))
    if found is None:
        raise RuntimeError(f"run {run_id} has no checkpoint this process can read in {store.home}: every node "
                           "needs the same data folder (METAVIZ_HOME) to resume a distributed run")
    return Follower(), restore(found, n_steps=n_steps, device=device)
