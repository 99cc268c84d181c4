"""Meta-train the checkpoints that ship with the app (metaviz/zoo/), with the benchmark's recipes.

    python scripts/train_zoo.py                       # both, one after the other
    python scripts/train_zoo.py --only protonet-omniglot --budget-s 480
    python scripts/train_zoo.py --only protonet-omniglot --seed 1 --budget-s 715 [--augment]  # one member
    python scripts/train_zoo.py --calibrate metaviz/zoo/protonet-omniglot.safetensors        # refit T, rescore
    python scripts/train_zoo.py --only protonet-omniglot --ensemble s0.safetensors s1.safetensors ... --val-tasks 20

The shipped ProtoNet (2026-12-03) is an ensemble of five, picked by meta-validation error: seeds 0, 1, 2 of
`--only protonet-omniglot --seed S --budget-s 1440 --wall-s 6000` (each stopped at its wall cap after 715 CPU
seconds on a shared 2-core machine: `--budget-s 715` gives the same budget) and seeds 0, 1 of
`--only protonet-omniglot --seed S --augment --budget-s 600 --wall-s 720` (593 and 600 CPU s), joined by
`--ensemble` (its temperature fitted with `--val-tasks 20`). The shipped MAML is the 480 CPU-second one of the
previous release.

Each model meta-trains on Omniglot's two minimal background sets only (never on
the 20 official one-shot runs, which come from other alphabets and are used
here only to score it), for a budget of CPU seconds on one torch thread, then
is scored on held-out classes and on the official runs; the scores go into the
checkpoint's metadata and are printed as a markdown table. Then the calibration temperature is
fitted on meta-validation tasks and stored, and the official runs are scored again through the
predict path (each test image on its own), with the ECE.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metaviz import bench, calibration, checkpoint  # noqa: E402

VAL_TASKS = 40      # meta-validation tasks the temperature is fitted on (20-way, 5 queries a class: 4,000 queries)
TEST_FRACTION = 0.1  # meta-test characters; 15% more are the meta-validation split the temperature is fitted on
MODELS = {  # zoo name -> (bench learner, setup whose recipe it follows, setups it is scored on)
    "protonet-omniglot": ("protonet", bench.ONESHOT, ["omniglot 5-way 1-shot", bench.ONESHOT]),
    "maml-omniglot": ("maml", "omniglot 5-way 1-shot", ["omniglot 5-way 1-shot"]),
}


def calibrate(path: Path, n_tasks: int = VAL_TASKS, copies: int | None = None) -> tuple[dict[str, float], np.ndarray]:
    """Fit the checkpoint's temperature on meta-validation tasks (20-way 1-shot, within one alphabet as
    the official runs are; never the runs), store it, and score the official runs through the predict
    path: error %, ECE with and without the temperature. ``copies``: the test-time copies to store
    (None: keep the checkpoint's). Returns the metrics it stored and the probabilities [400, 20] of the
    runs' test drawings (run by run)."""

    from metaviz.data import oneshot

    loaded = checkpoint.load(path)
    copies = loaded.copies if copies is None else copies
    # like the runs: unrotated characters of one alphabet (with split_by="alphabet", one never trained on)
    unrotated = dataclasses.replace(loaded.config.task_config, rotations=False, augment=False)
    val_config = dataclasses.replace(loaded.config, task_config=dataclasses.replace(unrotated, within_alphabet=True))
    try:
        logits, labels = bench.validation_logits(val_config, loaded.params, n_tasks, copies=copies)
    except ValueError as error:  # no alphabet with 20 validation classes: tasks across alphabets
        print(f"meta-validation across alphabets ({error})", flush=True)
        logits, labels = bench.validation_logits(dataclasses.replace(loaded.config, task_config=unrotated),
                                                 loaded.params, n_tasks, copies=copies)
    temperature = calibration.fit_temperature(logits, labels)
    runs = oneshot.load_runs(oneshot.find_runs())
    answers = np.concatenate([r.answers for r in runs])
    seen: list[np.ndarray] = []
    result = oneshot.score(runs, bench.oneshot_cost(loaded.config, loaded.params, temperature, seen, copies))
    probabilities = np.concatenate(seen)
    raw = calibration.softmax(np.log(np.clip(probabilities.astype(np.float64), 1e-30, None)), 1 / temperature)
    metrics = {**json.loads(loaded.metadata.get("metrics", "{}")),
               "official runs error % (each test image on its own)": result.mean,
               "official runs ECE": calibration.ece(probabilities, answers),
               "official runs ECE at T=1": calibration.ece(raw, answers),
               "meta-validation error %": 100 * float(np.mean(logits.argmax(1) != labels)),
               "meta-validation ECE": calibration.ece(calibration.softmax(logits, temperature), labels)}
    checkpoint.save(path, loaded.config, loaded.params, loaded.step, metrics, temperature=temperature, copies=copies)
    print(f"{path.name}: temperature {temperature:.4g}, {copies} test-time copies; " + "; ".join(
          f"{k} {v:.4g}" for k, v in metrics.items()),
          flush=True)
    return metrics, probabilities


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=list(MODELS), nargs="*", default=list(MODELS))
    parser.add_argument("--budget-s", type=float, default=480.0, help="CPU seconds of meta-training per model")
    parser.add_argument("--wall-s", type=float, default=None,
                        help="stop meta-training after this many wall seconds as well (a shared machine)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initialisation and the task sampler")
    parser.add_argument("--test-fraction", type=float, default=TEST_FRACTION,
                        help="characters of the minimal sets held out as meta-test classes")
    parser.add_argument("--augment", action="store_true",
                        help="warp the meta-training drawings (metaviz.data.augment: affine warps, stroke thickness)")
    parser.add_argument("--split-by", choices=("character", "alphabet"), default="character",
                        help="alphabet: the meta-validation split (where the temperature is fitted) is whole "
                             "alphabets never trained on, as the official runs' alphabets are")
    parser.add_argument("--out", type=Path, default=checkpoint.ZOO_DIR)
    parser.add_argument("--calibrate", type=Path, nargs="*", metavar="CHECKPOINT",
                        help="only fit the temperature of these checkpoints and score them (no training)")
    parser.add_argument("--ensemble", type=Path, nargs="*", metavar="CHECKPOINT",
                        help="no training: write these checkpoints (one recipe, other seeds) as one ensemble to "
                             "--out/<name>.safetensors, then fit its temperature and score it")
    parser.add_argument("--val-tasks", type=int, default=VAL_TASKS,
                        help="meta-validation tasks the temperature is fitted on (100 queries each)")
    parser.add_argument("--copies", type=int, default=None,
                        help="with --calibrate or --ensemble: test-time copies of each image to store and use")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.calibrate:
        for path in args.calibrate:
            calibrate(path, args.val_tasks, copies=args.copies)
        return 0
    if args.ensemble:
        parts = [checkpoint.load(p) for p in args.ensemble]
        recipes = {json.dumps(dataclasses.replace(p.config, seed=0, task_config=dataclasses.replace(
            p.config.task_config, augment=False)).to_dict(), sort_keys=True) for p in parts}
        if len(recipes) > 1:
            parser.error("--ensemble: the checkpoints must share one recipe and split (they may differ in seed and "
                         "in the training-time warps only)")
        metrics = {f"member {i} {k}": v for i, p in enumerate(parts)
                   for k, v in json.loads(p.metadata.get("metrics", "{}")).items()}
        path = checkpoint.save(args.out / f"{args.only[0]}{checkpoint.SUFFIX}", parts[0].config,
                               checkpoint.ensemble([p.params for p in parts]), sum(p.step for p in parts), metrics)
        calibrate(path, args.val_tasks, copies=args.copies or 0)
        return 0
    for name in args.only:
        learner, setup, scored_on = MODELS[name]
        wall = time.perf_counter()
        config = bench.run_config(learner, setup, seed=args.seed, device="cpu")
        config = dataclasses.replace(config, task_config=dataclasses.replace(
            config.task_config, test_fraction=args.test_fraction, augment=args.augment, split_by=args.split_by))
        run, seconds = bench.meta_train(config, args.budget_s, args.wall_s)
        rows = [row for s in scored_on for row in bench.score(name, s, run, seconds)]
        path = checkpoint.save(args.out / f"{name}{checkpoint.SUFFIX}", run.config, run.learner.state_numpy(),
                               run.step, {f"{r.setup} {r.metric}": r.value for r in rows})
        print(bench.table(rows))
        calibrate(path, args.val_tasks)
        print(f"{name}: {run.step} meta-iterations, {seconds:.0f} CPU s, {time.perf_counter() - wall:.0f} s wall "
              f"-> {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
              f"({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
