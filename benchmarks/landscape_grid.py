"""Time a 41 x 41 loss-landscape grid: batched over grid points (vmap) against point by point.

    python benchmarks/landscape_grid.py [--device cpu|cuda|all] [--conv-points 32] [--threads N]

Each row evaluates MAML's meta-loss (query loss after one inner SGD step, averaged over a fixed set of
tasks) at the points of a 41 x 41 grid on a plane of two filter-normalized random directions, with
:class:`metaviz.analysis.landscape.Evaluator`: "batched" is the page's path (``torch.func.vmap`` over
batches of grid points, ``auto_chunk`` points at a time), "point by point" the reference loop (one
point at a time in Python, tasks batched the way the learner batches them). Both run in the same
process, on the same plane and tasks, after a warm-up; the ratio is point-by-point time / batched time.

On the CPU, one Conv4 point costs about 0.2 s per task, so the whole grid point by point would take
minutes: both strategies are then timed on ``--conv-points`` grid points spread over the grid and
scaled to 1,681 (the "timed" column says so). Every other row times the whole grid.

Results on this project's development machine (2 CPU cores shared with other jobs, load average 7
while it ran, no GPU; torch 2.13.0 CPU, 1 torch thread, as the app uses on 2 cores; 2026-11-26),
``python benchmarks/landscape_grid.py --threads 1``, three runs (the spread is the machine's load):

| workload | device | timed | batched (vmap) | point by point | ratio |
|---|---|---|---|---|---|
| sine MLP, MAML K=10, 1 step, 8 tasks | cpu | 1681 of 1681 points | 0.65-1.08 s | 12.5-21.2 s | **18x-22x** |
| Omniglot Conv4, MAML 5-way 1-shot, 1 step, 4 tasks | cpu | 32 points, scaled | 616-856 s | 678-716 s | 0.8x-1.1x |

So on the CPU, batching grid points is what makes an MLP's grid interactive (about a second), while a
Conv4 grid costs the same either way (its convolutions already fill the core; the engine loops over
its tasks on the CPU for the same reason), so there ``strategy="auto"`` loops, which also saves the
~15 MiB a batched point holds. A 41 x 41 Conv4 grid takes about ten minutes on this CPU: the page
draws it coarse to fine (``metaviz.analysis.coarse_to_fine``: a 5 x 5 grid first). No GPU was lent to this session:
the CUDA rows are still to be measured (``--device cuda``).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from metaviz.analysis.landscape import Evaluator, LandscapeConfig, default_run_config, make_plane
from metaviz.data.omniglot import SHARED_DIR
from metaviz.learners.maml import MAMLConfig
from metaviz.train import RunConfig, TrainConfig

RESOLUTION = 41


def workloads(device: str) -> dict[str, tuple[RunConfig, LandscapeConfig]]:
    rows = {"sine MLP, MAML K=10, 1 step, 8 tasks": (default_run_config(), LandscapeConfig("random", n_tasks=8))}
    if (SHARED_DIR / "images_background_small1.zip").is_file():
        omniglot = RunConfig(task="omniglot", learner="maml", learner_config=MAMLConfig(inner_lr=0.4),
                             train=TrainConfig(baseline=False), device=device)
        rows["Omniglot Conv4, MAML 5-way 1-shot, 1 step, 4 tasks"] = (omniglot, LandscapeConfig("random", n_tasks=4))
    else:
        print(f"Omniglot's minimal sets are not in {SHARED_DIR}: no Conv4 row")
    return rows


def grid() -> np.ndarray:
    axis = np.linspace(-1, 1, RESOLUTION)
    b, a = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], 1)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(evaluator: Evaluator, plane, coords: np.ndarray, strategy: str) -> tuple[float, np.ndarray]:
    evaluator.strategy = strategy
    evaluator.at_coords(plane, coords[:2])  # warm-up (the first torch.func call pays a one-off cost)
    sync(evaluator.device)
    start = time.perf_counter()
    values = evaluator.at_coords(plane, coords)
    sync(evaluator.device)
    return time.perf_counter() - start, values


def run_row(name: str, config: RunConfig, lconfig: LandscapeConfig, device: str, conv_points: int) -> str:
    config = dataclasses.replace(config, device=device)
    evaluator = Evaluator(config, lconfig, device)
    plane = make_plane(evaluator.learner, [(0, evaluator.learner.state_numpy())], None, lconfig)
    coords = grid()
    has_conv = any(isinstance(m, torch.nn.Conv2d) for m in evaluator.learner.net.modules())
    subset = has_conv and device == "cpu"
    if subset:  # spread over the grid, so the loss values (and any NaN paths) are representative
        coords = coords[np.linspace(0, len(coords) - 1, conv_points).round().astype(int)]
    batched, a = timed(evaluator, plane, coords, "vmap")
    looped, b = timed(evaluator, plane, coords, "loop")
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)  # the same numbers, or the timing means nothing
    scale = RESOLUTION**2 / len(coords)
    timed_text = f"{len(coords)} points, scaled" if subset else f"{len(coords)} of {RESOLUTION**2} points"
    return (f"| {name} | {device} | {timed_text} | {batched * scale:.2f} s | {looped * scale:.1f} s | "
            f"{looped / batched:.1f}x |  (batches of {evaluator.chunk})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="all", choices=("cpu", "cuda", "all"))
    parser.add_argument("--conv-points", type=int, default=32, help="grid points timed for Conv4 on the CPU")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    if "cuda" in devices and not torch.cuda.is_available():
        print("CUDA is not available here: CPU only")
        devices.remove("cuda")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s)\n")
    print("| workload | device | timed | batched | point by point | ratio |\n|---|---|---|---|---|---|")
    for device in devices:
        for name, (config, lconfig) in workloads(device).items():
            print(run_row(name, config, lconfig, device, args.conv_points), flush=True)


if __name__ == "__main__":
    main()
