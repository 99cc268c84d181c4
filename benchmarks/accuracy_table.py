"""Merge `python -m metaviz bench accuracy --json` files into one markdown table (learners x metrics).

    python benchmarks/accuracy_table.py docs/bench/accuracy-cpu-*.json

Later files replace earlier rows of the same (learner, setup, metric), so a rerun of some setups
can be merged over a full run.
"""

from __future__ import annotations

import json
import sys

COLUMNS = [("sine K=5", "mse@1"), ("sine K=5", "mse@10"), ("sine K=10", "mse@1"), ("sine K=10", "mse@10"),
           ("digits 5-way 1-shot", "accuracy"), ("digits 5-way 5-shot", "accuracy"),
           ("omniglot 5-way 1-shot", "accuracy"), ("omniglot 20-way 1-shot", "accuracy"),
           ("omniglot 20-way 1-shot", "oneshot error %")]
HEADERS = ["sine K=5 MSE@1", "@10", "sine K=10 MSE@1", "@10", "digits 5w1s", "digits 5w5s", "omniglot 5w1s",
           "omniglot 20w1s", "official runs error %", "omniglot iterations"]


def main(paths: list[str]) -> str:
    rows = {}
    for path in paths:
        for r in json.load(open(path)):
            rows[(r["learner"], r["setup"], r["metric"])] = r
    learners = list(dict.fromkeys(k[0] for k in rows))
    lines = ["| learner | " + " | ".join(HEADERS) + " |", "|---" * (len(HEADERS) + 1) + "|"]
    for learner in learners:
        cells = []
        for setup, metric in COLUMNS:
            r = rows.get((learner, setup, metric))
            if r is None:
                cells.append("")
            elif metric == "accuracy":
                cells.append(f"{100 * r['value']:.1f}%")
            else:
                cells.append("diverges" if r["value"] != r["value"] or r["value"] > 1e6 else f"{r['value']:.2f}")
        its = rows.get((learner, "omniglot 20-way 1-shot", "accuracy"))
        cells.append(str(its["meta_iterations"]) if its else "")
        lines.append(f"| {learner} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(sys.argv[1:]))
