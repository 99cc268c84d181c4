"""Fit the photo heads' calibration temperatures and write ``metaviz/zoo/photos.json``.

    nice -n 10 python scripts/calibrate_photos.py [--tasks 200] [--finetune-tasks 40] [--backbone efficientnet_lite0]

For each backbone whose weights are on this machine and each head (:mod:`metaviz.photo_heads`): 5-way
3-shot tasks with 6 queries per class, built from crops of bundled photos (:mod:`metaviz.photo_tasks`:
meta-validation photos for fitting T, disjoint meta-test photos for reporting). T minimises the NLL of the
validation answers (:func:`metaviz.calibration.fit_temperature`; a T at the bound of the search means the
NLL has no minimum, and T = 1 is kept); ECE (15 bins) and accuracy are measured
on the test answers with T = 1 and with the fitted T. Needs scikit-image (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from metaviz import backbones, calibration, photo_heads, photo_tasks, photoshot  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--finetune-tasks", type=int, default=40)
    parser.add_argument("--backbone", action="append", default=None)
    parser.add_argument("--out", default=str(photoshot.CALIBRATION_FILE))
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = {"data": "5-way 3-shot tasks, 6 queries per class, from random crops of bundled photos "
                   f"(metaviz.photo_tasks); T fitted on validation photos {', '.join(photo_tasks.VALIDATION)}; "
                   f"ECE on test photos {', '.join(photo_tasks.TEST)}",
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    names = args.backbone or [k for k, v in backbones.available().items() if v is None]
    for name in names:
        net = backbones.load(name)
        start = time.time()
        results = {}
        splits = {split: photo_tasks.split_scores(split, name, net, args.tasks, {"finetune": args.finetune_tasks})
                  for split in ("validation", "test")}
        for head in photo_heads.HEADS:
            val, test = splits["validation"][head], splits["test"][head]
            fitted = calibration.fit_temperature(val.logits, val.labels)
            # at a bound of the search the validation NLL has no minimum inside it (nearly every validation
            # answer right: the NLL keeps falling as T -> 0): there is no temperature to fit, keep T = 1
            at_bound = not calibration.T_RANGE[0] * 1.05 < fitted < calibration.T_RANGE[1] / 1.05
            t = 1.0 if at_bound else fitted
            results[head] = {
                "temperature": round(t, 6), "fitted": round(fitted, 6), "kept_one": at_bound,
                "validation_accuracy": round(val.accuracy, 4),
                "validation_answers": len(val.labels), "test_answers": len(test.labels),
                "test_accuracy": round(test.accuracy, 4),
                "ece_before": round(calibration.ece(calibration.softmax(test.logits), test.labels), 4),
                "ece_after": round(calibration.ece(calibration.softmax(test.logits, t), test.labels), 4),
                "nll_before": round(calibration.nll(test.logits, test.labels), 4),
                "nll_after": round(calibration.nll(test.logits, test.labels, t), 4)}
            print(name, head, results[head], flush=True)
        results["seconds"] = round(time.time() - start, 1)
        out[name] = results
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
