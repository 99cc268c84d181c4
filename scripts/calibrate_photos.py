"""Fit the photo heads' calibration temperatures and write ``metaviz/zoo/photos.json``.

    OMP_NUM_THREADS=1 nice -n 19 python scripts/calibrate_photos.py [--tasks 200] [--finetune-tasks 40]

For each backbone whose weights are on this machine and each head (:mod:`metaviz.photo_heads`): 5-way
3-shot tasks with 6 queries per class, built from crops of bundled photos (:mod:`metaviz.photo_tasks`).
T minimises the NLL of the answers on the *hard* meta-validation tasks (small, grey, jittered crops, where
the heads make mistakes: :func:`metaviz.calibration.fit_temperature`); the easy crop tasks are nearly all
right, so their NLL has no minimum. ECE (15 bins), NLL and accuracy are measured with T = 1 and the fitted
T on the held-out hard meta-test tasks (other photos) and on the easy meta-test tasks. The fitted T is
shipped when it lowers the ECE on the hard meta-test tasks and is not at a bound of the search; otherwise
T = 1. Needs scikit-image (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from metaviz import backbones, calibration, drawing_check, photo_heads, photo_tasks, photoshot  # noqa: E402


def drawing_reference(per_photo: int = 6) -> dict:
    """:func:`metaviz.drawing_check.reference` on random crops of every bundled photo (both splits)."""
    import numpy as np

    rng = np.random.default_rng(0)
    crops = [c for name in photo_tasks.VALIDATION + photo_tasks.TEST
             for c in photo_tasks.random_crops(photo_tasks.source_photo(name), per_photo, rng)]
    return {**drawing_check.reference(photoshot.as_inputs(crops)), "of": f"{per_photo} random crops of each "
            "bundled photo (metaviz.photo_tasks), as preprocessed for the backbone"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--finetune-tasks", type=int, default=40)
    parser.add_argument("--backbone", action="append", default=None)
    parser.add_argument("--out", default=str(photoshot.CALIBRATION_FILE))
    parser.add_argument("--no-easy", action="store_true", help="skip the easy meta-test tasks (a loaded machine)")
    parser.add_argument("--drawing-check-only", action="store_true",
                        help="only (re)measure the drawing check on the bundled photos and update --out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    check = drawing_reference()
    if args.drawing_check_only:
        stored = json.loads(Path(args.out).read_text(encoding="utf-8"))
        Path(args.out).write_text(json.dumps({**stored, "drawing_check": check}, indent=1) + "\n", encoding="utf-8")
        print(check)
        return 0
    out = {"data": "5-way 3-shot tasks, 6 queries per class, from crops of bundled photos (metaviz.photo_tasks); "
                   "T fitted on the hard-validation tasks (small grey jittered crops) of the photos "
                   f"{', '.join(photo_tasks.VALIDATION)}; ECE before/after on the hard-test tasks of the photos "
                   f"{', '.join(photo_tasks.TEST)} (and, under 'easy', on their easy crop tasks)",
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    names = args.backbone or [k for k, v in backbones.available().items() if v is None]
    for name in names:
        net = backbones.load(name)
        start = time.time()
        results = {}
        splits = {split: photo_tasks.split_scores(split, name, net, args.tasks, {"finetune": args.finetune_tasks})
                  for split in ("hard-validation", "hard-test") + (() if args.no_easy else ("test",))}
        for head in photo_heads.HEADS:
            val, test = splits["hard-validation"][head], splits["hard-test"][head]
            fitted = calibration.fit_temperature(val.logits, val.labels)
            # at a bound of the search the validation NLL has no minimum inside it: no temperature to fit
            at_bound = not calibration.T_RANGE[0] * 1.05 < fitted < calibration.T_RANGE[1] / 1.05
            ece_one = calibration.ece(calibration.softmax(test.logits), test.labels)
            ece_fitted = calibration.ece(calibration.softmax(test.logits, fitted), test.labels)
            t = fitted if not at_bound and ece_fitted < ece_one else 1.0
            results[head] = {
                "temperature": round(t, 6), "fitted": round(fitted, 6), "kept_one": t == 1.0,
                "fitted_on": "hard-validation", "validation_accuracy": round(val.accuracy, 4),
                "validation_answers": len(val.labels), "test_answers": len(test.labels),
                "test_accuracy": round(test.accuracy, 4),
                "ece_before": round(ece_one, 4), "ece_after": round(
                    calibration.ece(calibration.softmax(test.logits, t), test.labels), 4),
                "ece_at_fitted": round(ece_fitted, 4),
                "nll_before": round(calibration.nll(test.logits, test.labels), 4),
                "nll_after": round(calibration.nll(test.logits, test.labels, t), 4)}
            if "test" in splits:
                easy = splits["test"][head]
                results[head]["easy"] = {
                    "test_answers": len(easy.labels), "test_accuracy": round(easy.accuracy, 4),
                    "ece_before": round(calibration.ece(calibration.softmax(easy.logits), easy.labels), 4),
                    "ece_after": round(calibration.ece(calibration.softmax(easy.logits, t), easy.labels), 4)}
            print(name, head, results[head], flush=True)
        results["seconds"] = round(time.time() - start, 1)
        out[name] = results
    out["drawing_check"] = check
    out["drawing_check"] = check
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
