"""The issue's check: a 2-way task of photo crops (china.jpg vs flower.jpg, 3 support + 6 query crops each).

    nice -n 10 python scripts/bench_photos.py [--seeds 5]

For each seed (different crops): each photo head on EfficientNet-Lite0 (calibrated with the stored T, and
T = 1) and, for contrast, the shipped Omniglot ProtoNet through ``metaviz.fewshot`` exactly as the Your Data
page runs it. Prints accuracy and the mean / largest max-probability of right and wrong answers.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from metaviz import backbones, fewshot, photo_heads, photo_tasks, photoshot  # noqa: E402
from metaviz.data import uploads  # noqa: E402


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def summary(name: str, p: np.ndarray, y: np.ndarray) -> str:
    right = p.argmax(1) == y
    conf = p.max(1)
    wrong = f"wrong answers' max-probability mean {conf[~right].mean():.4f}, max {conf[~right].max():.5f}" \
        if (~right).any() else "no wrong answers"
    return f"{name}: accuracy {right.mean():.3f} ({right.sum()}/{len(y)}); right answers' max-probability mean " \
           f"{conf[right].mean():.4f}; {wrong}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = backbones.load()
    omniglot = fewshot.load_model("protonet-omniglot")
    spec = uploads.preprocessing_for(omniglot.config)
    results: dict[str, list] = {}
    for seed in range(args.seeds):
        rng = np.random.default_rng(100 + seed)
        crops = {c: photo_tasks.random_crops(photo_tasks.source_photo(c), 9, rng) for c in ("china", "flower")}
        s_img = crops["china"][:3] + crops["flower"][:3]
        q_img = crops["china"][3:] + crops["flower"][3:]
        sy, qy = np.repeat([0, 1], 3), np.repeat([0, 1], 6)
        s_emb, q_emb = photoshot.embed(s_img, net=net), photoshot.embed(q_img, net=net)
        for head in photo_heads.HEADS:
            for label, t in (("calibrated", None), ("T = 1", 1.0)):
                p = photoshot.classify_embedded(s_emb, sy, q_emb, ("china", "flower"), head, t, net=net)
                results.setdefault(f"Lite0 + {head} ({label})", []).append((p.probabilities, qy))
        support = uploads.ingest_classes({c: [(f"{c}{i}.png", png(a)) for i, a in enumerate(v[:3])]
                                          for c, v in crops.items()}, spec)
        queries = uploads.ingest_queries([(f"q{i}.png", png(a)) for i, a in enumerate(q_img)], spec)
        r = fewshot.run(omniglot.config, omniglot.params, support, queries, temperature=omniglot.temperature)
        results.setdefault("Omniglot ProtoNet (calibrated)", []).append((r.prediction.probabilities, qy))
        shifts = np.concatenate([s_emb.shift, q_emb.shift])
        print(f"seed {seed}: BatchNorm shift of the photo crops {shifts.min():.2f} to {shifts.max():.2f}; Omniglot "
              f"familiarity verdict: {r.familiarity.verdict}", flush=True)
    for name, runs in results.items():
        print(summary(f"{name}, {args.seeds} tasks", np.concatenate([p for p, _ in runs]),
                      np.concatenate([y for _, y in runs])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
