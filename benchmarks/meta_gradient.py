"""Time and memory of one MAML meta-gradient: vmap over tasks against the per-task loop.

    python benchmarks/meta_gradient.py [--device cpu|cuda] [--reps 5] [--quick]

Both strategies run in the same process on the same batch; each row's ratio is
loop time / vmap time. Peak memory: CUDA's allocator peak on a GPU; on the CPU
the peak resident set (VmHWM) of a fresh child process that runs only that row
(it includes the Python runtime, so compare rows, not absolute numbers).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from dataclasses import dataclass

import torch

from metaviz.config import Config
from metaviz.learners.maml import MAML, MAMLConfig
from metaviz.models import MLP, Conv4
from metaviz.tasks.base import Episode, TaskBatch, TaskDistribution
from metaviz.tasks.sinusoid import Sinusoid


@dataclass(frozen=True)
class ImagesConfig(Config):
    n_way: int = 5
    k_shot: int = 1
    n_query: int = 15


class RandomImages(TaskDistribution):
    """Omniglot-shaped episodes of random 28x28 images (timing only: content does not matter)."""

    name = ""  # not registered
    kind = "classification"
    Config = ImagesConfig
    in_shape = (1, 28, 28)
    out_dim = 5

    def sample(self, n_tasks, generator, split="train"):
        c = self.config

        def part(per_class):
            x = torch.rand(n_tasks, c.n_way * per_class, 1, 28, 28, generator=generator)
            y = torch.arange(c.n_way).repeat_interleave(per_class).expand(n_tasks, -1).clone()
            return x, y

        return TaskBatch(Episode(*part(c.k_shot), *part(c.n_query)), {})


WORKLOADS = {  # name: (task, network, inner steps, inner lr, first order, meta-batch)
    "sine MLP, K=10, 1 step, 2nd order": (Sinusoid, lambda: MLP(1, 1, 40, 2), 1, 0.01, False, 25),
    "Conv4 5-way 1-shot, 5 steps, 1st order": (RandomImages, lambda: Conv4((1, 28, 28), 5), 5, 0.4, True, 32),
    "Conv4 5-way 1-shot, 5 steps, 2nd order": (RandomImages, lambda: Conv4((1, 28, 28), 5), 5, 0.4, False, 32),
}


def setup(name: str, device: str, strategy: str, meta_batch: int | None):
    task_cls, net, steps, lr, first_order, batch_size = WORKLOADS[name]
    torch.manual_seed(0)
    task = task_cls()
    learner = MAML(MAMLConfig(inner_lr=lr, inner_steps=steps, first_order=first_order), task, net(), device,
                   strategy=strategy)
    batch = task.sample(meta_batch or batch_size, torch.Generator().manual_seed(0)).episode.to(device)
    return learner, batch


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed(learner, batch, device: str, reps: int) -> float:
    learner.meta_grad(batch)  # warm-up
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        learner.meta_grad(batch)
    sync(device)
    return (time.perf_counter() - start) / reps


def peak_rss_child(name, device, strategy, meta_batch, out):
    learner, batch = setup(name, device, strategy, meta_batch)
    learner.meta_grad(batch)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    out.put(int(hwm.split()[1]) / 1024)  # MiB


def peak_memory(name, device, strategy, meta_batch) -> float:
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        learner, batch = setup(name, device, strategy, meta_batch)
        learner.meta_grad(batch)
        return torch.cuda.max_memory_allocated() / 2**20
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=peak_rss_child, args=(name, device, strategy, meta_batch, out))
    proc.start()
    value = out.get()
    proc.join()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--meta-batch", type=int, default=None, help="override every workload's meta-batch")
    args = parser.parse_args()
    print(f"device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print("| workload | meta-batch | loop ms | vmap ms | loop/vmap | loop peak MiB | vmap peak MiB |")
    print("|---|---|---|---|---|---|---|")
    for name in WORKLOADS:
        times, memory = {}, {}
        for strategy in ("loop", "vmap"):
            learner, batch = setup(name, args.device, strategy, args.meta_batch)
            reps = args.reps if "sine" not in name else args.reps * 10
            times[strategy] = timed(learner, batch, args.device, reps)
            memory[strategy] = peak_memory(name, args.device, strategy, args.meta_batch)
        print(f"| {name} | {batch.n_tasks} | {times['loop'] * 1e3:.1f} | {times['vmap'] * 1e3:.1f} | "
              f"{times['loop'] / times['vmap']:.2f} | {memory['loop']:.0f} | {memory['vmap']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
