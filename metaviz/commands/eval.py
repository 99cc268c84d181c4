"""``python -m metaviz eval``: score a method or a meta-trained model on a fixed benchmark.

    python -m metaviz eval omniglot-oneshot --method mhd              # the official baseline: 38.75%
    python -m metaviz eval omniglot-oneshot --checkpoint model.safetensors
    python -m metaviz eval omniglot-oneshot --run 3fa2c1d0            # a stored run's last checkpoint
    python -m metaviz eval meta-test --run 3fa2c1d0 [--tasks 200] [--inner-steps 10]

``omniglot-oneshot``: Lake et al.'s 20 runs of 20-way within-alphabet one-shot; a model adapts on
each run's 20 training drawings (labels 0..19, its own number of inner steps, first order) and
classifies each of the 20 test drawings on its own, exactly as ``python -m metaviz predict`` does
(``metaviz.bench.oneshot_cost``: no test drawing influences another's answer, as the protocol requires);
one line per run, then the mean error and the expected calibration error (15 bins) of the 400 answers'
probabilities, with the checkpoint's calibration temperature. ``--transductive`` adds, labelled as such,
the score when the 20 test drawings are embedded as one batch (BatchNorm then shares their statistics).
``meta-test``: held-out tasks of the model's own task distribution (its meta-test split), query
loss (and accuracy) after 0..S inner steps; for classes also the ECE (15 bins) of the meta-test answers: for
image classifiers each query classified as ``predict`` does, at T = 1, at the checkpoint's stored T, and at a T
fitted on as many meta-validation tasks; for other classes (text) after the learner's own inner steps, at T = 1 and
at the checkpoint's temperature
(``python -m metaviz eval meta-test --checkpoint metaviz/zoo/intents-clinc150.safetensors --tasks 600 --seed 12``).
``photos``: the photo model (``--backbone``, ``--weights``): each few-shot head's accuracy and ECE, with
T = 1 and with the temperature stored for it, on 5-way tasks of crops of photos that ship with
scikit-learn and scikit-image (``metaviz.photo_tasks``; fitted on other photos than these).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from metaviz.commands._progress import Bar


def load_model(args: argparse.Namespace):
    """The checkpoint named by --checkpoint or --run (the run's last checkpoint)."""
    from metaviz import checkpoint

    if args.run_id:
        from metaviz.store import Store, StoreError

        store = Store(args.home)
        found = store.last_checkpoint(store.resolve(args.run_id))
        if found is None:
            raise StoreError(f"run {args.run_id} has no checkpoint yet")
        print(f"run {store.resolve(args.run_id)}: checkpoint at step {found.step}", file=sys.stderr)
        return checkpoint.load(found.path)
    return checkpoint.load(args.checkpoint)


def oneshot_model(args: argparse.Namespace):
    """(learner, image size, device) of the model to score, or an exit status when it cannot be."""
    from metaviz import checkpoint
    from metaviz.device import resolve_device

    loaded = load_model(args)
    size = getattr(loaded.config.task_config, "size", None)
    n_way = getattr(loaded.config.task_config, "n_way", None)
    if size is None or n_way is None:
        print(f"error: the model was meta-trained on {loaded.config.task}; the one-shot benchmark needs an "
              "image classifier (task omniglot, or image-folder)", file=sys.stderr)
        return 2
    config = loaded.config
    if n_way != 20:  # metric learners take any N; a classifier head must have 20 outputs
        config = dataclasses.replace(config, task_config=dataclasses.replace(config.task_config, n_way=20))
    try:
        learner = checkpoint.build(dataclasses.replace(loaded, config=config), device=args.device)
    except checkpoint.CheckpointError as error:
        print(f"error: {error}. It was meta-trained {n_way}-way and the benchmark is 20-way: meta-train with "
              "task.n_way=20, or use a learner whose output does not depend on N (protonet, matching)",
              file=sys.stderr)
        return 2
    return loaded, learner, size, resolve_device(args.device)


def counted(cost, bar: Bar):
    """``cost`` that moves ``bar`` on by one after each run it scores."""
    def cost_and_advance(train, test):
        out = cost(train, test)
        bar.advance()
        return out
    return cost_and_advance


def oneshot(args: argparse.Namespace) -> int:
    import numpy as np

    from metaviz import calibration, checkpoint
    from metaviz.bench import oneshot_cost, transductive_cost
    from metaviz.data import oneshot as benchmark

    cost, model, seen = benchmark.mhd_cost, None, []
    if args.checkpoint or args.run_id:
        model = oneshot_model(args)
        if isinstance(model, int):
            return model
        loaded = model[0]
        cost = oneshot_cost(loaded.config, loaded.params, loaded.temperature, seen, loaded.copies)
    try:
        path = benchmark.find_runs(args.data, download=args.download)
        runs = benchmark.load_runs(path)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"runs from {path}", file=sys.stderr)  # --data is searched first, then the default places
    with Bar(len(runs), "one-shot runs") as bar:  # drawn on a terminal only
        result = benchmark.score(runs, counted(cost, bar))
    for one, error in zip(runs, result.errors):
        print(f"{one.name}: error {error:.2f}%")
    print(f"mean error: {result.mean:.2f}%")
    if model is not None:
        answers = np.concatenate([one.answers for one in runs])
        probabilities = np.concatenate(seen)
        untempered = calibration.softmax(np.log(np.clip(probabilities.astype(np.float64), 1e-30, None)),
                                         1 / loaded.temperature)  # softmax(T log p) undoes the temperature exactly
        print(f"calibration error (ECE, {calibration.N_BINS} bins, temperature {loaded.temperature:.4g}): "
              f"{calibration.ece(probabilities, answers):.4f}; at T = 1: {calibration.ece(untempered, answers):.4f}")
        if args.transductive and len(checkpoint.members(loaded.params)) > 1:
            print("transductive extra: not computed for an ensemble (it scores one network)")
        elif args.transductive:
            with Bar(len(runs), "transductive extra") as bar:
                extra = benchmark.score(runs, counted(transductive_cost(*model[1:]), bar))
            print(f"transductive extra, NOT the protocol's score (each run's 20 test images in one batch): "
                  f"mean error {extra.mean:.2f}%")
    return 0


def meta_test(args: argparse.Namespace) -> int:
    import torch

    from metaviz import checkpoint

    if not (args.checkpoint or args.run_id):
        print("error: meta-test scores a model: give --checkpoint PATH or --run RUN_ID", file=sys.stderr)
        return 2
    loaded = load_model(args)
    learner = checkpoint.build(loaded, device=args.device)
    own = getattr(learner.config, "inner_steps", 0)
    steps = own if args.inner_steps is None else args.inner_steps
    batch = learner.task.sample(args.tasks, torch.Generator().manual_seed(args.seed), "test").episode
    curves = learner.evaluate(batch.to(learner.device), steps)
    print(f"{loaded.config.learner} on {args.tasks} meta-test tasks of {loaded.config.task} (seed {args.seed}), "
          f"meta-trained for {loaded.step} steps; it adapts with {own} inner steps")
    named = learner.task.metric_words()
    for k in range(len(curves.loss)):
        accuracy = "" if curves.accuracy is None else f"  accuracy {curves.accuracy[k]:.4f}"
        print(f"after {k:2d} inner steps: {named} {curves.loss[k]:.6g}{accuracy}")
    if learner.task.kind == "classification" and getattr(loaded.config.task_config, "size", None):  # images
        calibration_report(loaded, args)
    elif learner.task.has_accuracy:
        from metaviz import calibration
        from metaviz.bench import query_logits

        logits, labels = query_logits(learner, batch.to(learner.device), own)
        print(f"calibration error (ECE, {calibration.N_BINS} bins) after {own} inner steps: "
              f"{calibration.ece(calibration.softmax(logits), labels):.4f} at T = 1, "
              f"{calibration.ece(calibration.softmax(logits, loaded.temperature), labels):.4f} at the checkpoint's "
              f"temperature {loaded.temperature:.4g}")
    return 0


def calibration_report(loaded, args: argparse.Namespace) -> None:
    """ECE (15 bins) of the meta-test answers, each query classified as ``predict`` does, at T = 1, at the
    checkpoint's stored T, and at a T fitted here on as many meta-*validation* tasks (never the test ones)."""
    from metaviz import bench, calibration

    config = loaded.config.task_config
    shape = dict(n_tasks=args.tasks, seed=args.seed, n_way=config.n_way, k_shot=config.k_shot)
    val_logits, val_labels = bench.validation_logits(loaded.config, loaded.params, split="val", **shape)
    logits, labels = bench.validation_logits(loaded.config, loaded.params, split="test", **shape)
    fitted = calibration.fit_temperature(val_logits, val_labels)
    stored = loaded.temperature

    def ece(t: float) -> str:
        return f"{calibration.ece(calibration.softmax(logits, t), labels):.4f}"

    print(f"calibration over {len(labels)} meta-test answers ({config.n_way}-way {config.k_shot}-shot, each query "
          f"with the support set only, as predict does; accuracy {float((logits.argmax(1) == labels).mean()):.4f}): "
          f"ECE ({calibration.N_BINS} bins) {ece(1.0)} at T = 1, {ece(stored)} at the stored T = {stored:.4g}, "
          f"{ece(fitted)} at T = {fitted:.4g} fitted on {len(val_labels)} meta-validation answers "
          f"(validation ECE {calibration.ece(calibration.softmax(val_logits), val_labels):.4f} at T = 1, "
          f"{calibration.ece(calibration.softmax(val_logits, fitted), val_labels):.4f} fitted)")


def run(args: argparse.Namespace) -> int:
    from metaviz.checkpoint import CheckpointError
    from metaviz.store import StoreError

    if args.checkpoint and args.run_id:
        print("error: give --checkpoint or --run, not both", file=sys.stderr)
        return 2
    if args.benchmark == "photos":
        from metaviz.commands import _photos

        return _photos.evaluate(args)
    try:
        return oneshot(args) if args.benchmark == "omniglot-oneshot" else meta_test(args)
    except (CheckpointError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="score a method or a meta-trained model on a fixed benchmark")
    parser.add_argument("benchmark", choices=["omniglot-oneshot", "meta-test", "photos"],
                        help="omniglot-oneshot: the official 20 runs of 20-way one-shot (Lake et al. 2015); "
                             "meta-test: held-out tasks of the model's own task distribution; photos: the "
                             "pretrained photo model's heads, accuracy and calibration")
    parser.add_argument("--method", choices=["mhd"], default="mhd",
                        help="mhd: the Modified Hausdorff Distance baseline of the official demo (when no model "
                             "is given)")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="folder with all_runs.zip or its extracted run01/ ... run20/ (default: "
                             "$METAVIZ_DATA, ../shared/data/omniglot beside the repository, "
                             "~/.cache/metaviz/omniglot)")
    parser.add_argument("--download", action="store_true",
                        help="download all_runs.zip from the official repository when it is not found")
    parser.add_argument("--checkpoint", metavar="PATH", default=None,
                        help="a meta-trained model (a metaviz safetensors checkpoint) to score instead of --method")
    parser.add_argument("--run", dest="run_id", metavar="RUN_ID", default=None,
                        help="score a stored run's last checkpoint")
    parser.add_argument("--home", metavar="DIR", help="the run store's data folder (with --run)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (the --transductive extra)")
    parser.add_argument("--transductive", action="store_true",
                        help="omniglot-oneshot: also print the transductive score (test images embedded together; "
                             "not the protocol's), labelled as such")
    parser.add_argument("--tasks", type=int, default=100, help="meta-test: held-out tasks to average over")
    parser.add_argument("--inner-steps", type=int, default=None,
                        help="meta-test: draw the curve to this many inner steps (default: the learner's own)")
    parser.add_argument("--seed", type=int, default=0, help="meta-test: seed of the held-out tasks")
    parser.add_argument("--backbone", default=None, help="photos: the backbone (default efficientnet_lite0)")
    parser.add_argument("--weights", default=None, metavar="PATH", help="photos: a local weights file")
    parser.set_defaults(run=run)
