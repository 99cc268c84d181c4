"""``python -m metaviz predict --model photos``: few-shot on photos with a pretrained ImageNet backbone.

Not a command of its own (the leading underscore keeps it out of the command list): ``predict`` hands
``--model photos`` here. The images are taken in by ``metaviz.data.uploads`` with the photo preprocessing
(RGB, shorter side 256, centre crop 224), embedded by the frozen backbone (``--backbone``, ``--weights``)
and classified by a head on the features (``--head``), with the temperature fitted for that backbone and
head (``metaviz/zoo/photos.json``). Output: the same JSON lines as for the other image models.
"""

from __future__ import annotations

import argparse
import json
import sys


def run(args: argparse.Namespace) -> int:
    from metaviz import backbones, photoshot
    from metaviz.commands.predict import print_rejected, print_support
    from metaviz.data import uploads

    name = args.backbone or backbones.DEFAULT
    try:
        net = backbones.load(name, args.weights)
        support = uploads.ingest_support(args.support, photoshot.PREPROCESSING)
        queries = uploads.ingest_queries(args.query, photoshot.PREPROCESSING)
    except (backbones.WeightsUnavailable, uploads.UploadError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_rejected(support, queries)
    spec = backbones.get(name)
    print(f"model: {spec.title} ({spec.source}), frozen, with the {args.head} head; images: "
          f"{photoshot.PREPROCESSING.describe()}", file=sys.stderr)
    print_support(support.counts())
    if not queries.examples:
        print("error: no usable query images", file=sys.stderr)
        return 2
    try:
        x, y, q = photoshot.arrays(support, queries)
        s_emb = photoshot.embed(x, name, net=net)
        q_emb = photoshot.embed(q, name, net=net)
        p = photoshot.classify_embedded(s_emb, y, q_emb, support.names, head=args.head, net=net,
                                        **({"steps": args.steps} if args.steps is not None and
                                           args.head == "finetune" else {}))
    except (uploads.UploadError, ValueError) as error:  # fewer than two classes, an empty support set, ...
        print(f"error: {error}", file=sys.stderr)
        return 2
    for example, probs, k in zip(queries.examples, p.probabilities, p.predicted):
        print(json.dumps({"file": example.name, "predicted": p.classes[int(k)],
                          "probabilities": {c: round(float(v), 6) for c, v in zip(p.classes, probs)}}))
    print(f"calibration temperature {p.temperature:.3g} (fitted for {name} + {args.head}; 1 means none stored)",
          file=sys.stderr)
    accuracy, count = photoshot.leave_one_out(s_emb, y, args.head, net=net)
    print("leave-one-out accuracy on the support set: " + (f"{accuracy:.0%} ({count} photos)" if accuracy is not None
          else "not measurable (every class has a single photo)"), file=sys.stderr)
    names = [e.name for v in support.classes.values() for e in v] + [e.name for e in queries.examples]
    print(photoshot.familiarity(s_emb + q_emb, names).message, file=sys.stderr)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from metaviz import backbones, photo_heads

    parser.add_argument("--backbone", choices=list(backbones.BACKBONES), default=None,
                        help=f"--model photos: the pretrained backbone (default {backbones.DEFAULT}, which works "
                        "offline; the others need their torchvision weights file)")
    parser.add_argument("--weights", default=None, metavar="PATH",
                        help="--model photos: a local weights file for the backbone (a state dict, read with "
                        "torch.load(weights_only=True))")
    parser.add_argument("--head", choices=list(photo_heads.HEADS), default="prototype",
                        help="--model photos: the few-shot head on the features (default prototype)")


def evaluate(args: argparse.Namespace) -> int:
    """``python -m metaviz eval photos``: accuracy and ECE (T = 1 and the stored T) of each head on the
    meta-test photo tasks (:mod:`metaviz.photo_tasks`)."""
    from metaviz import backbones, calibration, photo_heads, photo_tasks, photoshot

    name = args.backbone or backbones.DEFAULT
    try:
        net = backbones.load(name, args.weights)
        splits = {split: photo_tasks.split_scores(split, name, net, args.tasks, {"finetune": max(1, args.tasks // 5)})
                  for split in ("hard-test", "test")}
    except (backbones.WeightsUnavailable, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{backbones.get(name).title}, frozen: 5-way 3-shot tasks (6 queries per class) of crops of the meta-test "
          f"photos ({', '.join(photo_tasks.TEST)}); the stored temperature T was fitted on the hard crops of other "
          f"photos (scripts/calibrate_photos.py)")
    for split, scores in splits.items():
        print(f"{split} ({'small grey jittered crops' if split == 'hard-test' else 'large colour crops'}):")
        for head in photo_heads.HEADS:
            s = scores[head]
            t = photoshot.temperature(name, head)
            before = calibration.ece(calibration.softmax(s.logits), s.labels)
            after = calibration.ece(calibration.softmax(s.logits, t), s.labels)
            print(f"{head}: accuracy {s.accuracy:.4f} over {len(s.labels)} answers ({len(s.labels) // 30} tasks); "
                  f"ECE ({calibration.N_BINS} bins) {before:.4f} at T = 1, {after:.4f} at the stored T = {t:.4g}")
    return 0
