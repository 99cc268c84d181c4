"""Stored runs side by side: a summary table, and the spread of one setup over several seeds.

One seed says little: meta-learning curves vary a lot with the initialisation and the tasks
drawn. Training the same setup with seeds s_1..s_R and reading, at each evaluation step t,

    mean_t = (1/R) sum_r v_{r,t},     std_t = sqrt( (1/(R-1)) sum_r (v_{r,t} - mean_t)^2 )

(the sample standard deviation, over the runs that have a value at t) tells whether a gap
between two learners is larger than the noise between seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from metaviz.store import History, RunRecord


def summary_rows(records: Sequence[RunRecord], finals: Mapping[str, Mapping[str, float]]) -> list[dict]:
    """One row per run for a table: identity, progress, final held-out metrics (``Store.finals``), cost."""
    rows = []
    for record in records:
        final = finals.get(record.id, {})
        rows.append({"run": record.id, "name": record.name, "learner": record.learner, "task": record.task,
                     "seed": record.seed, "status": record.status, "steps": f"{record.step}/{record.n_steps}",
                     "val loss": final.get("val_loss"), "val accuracy": final.get("val_accuracy"),
                     "baseline val loss": final.get("baseline_val_loss"),
                     "wall time (s)": round(record.wall_time, 1),
                     "peak memory (MiB)": None if record.peak_rss is None else round(record.peak_rss / 2**20),
                     "peak GPU memory (MiB)": None if record.peak_device is None else round(record.peak_device / 2**20),
                     "device": record.device})
    return rows


@dataclass(frozen=True)
class SeedSpread:
    """One evaluation metric of R runs on a shared step axis."""

    key: str
    steps: np.ndarray    # [S] union of the runs' evaluation steps
    values: np.ndarray   # [R, S] NaN where a run has no value at a step
    seeds: np.ndarray    # [R]
    mean: np.ndarray     # [S] over the runs with a value
    std: np.ndarray      # [S] sample standard deviation (NaN with fewer than two values)
    final: np.ndarray    # [R] each run's last finite value

    @property
    def final_mean(self) -> float:
        return float(np.nanmean(self.final)) if np.isfinite(self.final).any() else float("nan")

    @property
    def final_std(self) -> float:
        finite = self.final[np.isfinite(self.final)]
        return float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")


def seed_spread(histories: Sequence[History], seeds: Sequence[int], key: str = "val_loss") -> SeedSpread:
    """Align ``key`` of every history on the union of their evaluation steps; mean and sample std per step."""
    steps = np.unique(np.concatenate([h.evals.get("step", np.zeros(0)) for h in histories] or [np.zeros(0)]))
    values = np.full((len(histories), len(steps)), np.nan)
    final = np.full(len(histories), np.nan)
    for r, history in enumerate(histories):
        s, v = history.evals.get("step", np.zeros(0)), history.evals.get(key, np.zeros(0))
        if len(v):
            values[r, np.searchsorted(steps, s)] = v
            finite = v[np.isfinite(v)]
            final[r] = finite[-1] if finite.size else np.nan
    counts = np.isfinite(values).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, np.nansum(values, 0) / np.maximum(counts, 1), np.nan)
        squares = np.nansum((values - mean) ** 2, 0)
        std = np.where(counts > 1, np.sqrt(squares / np.maximum(counts - 1, 1)), np.nan)
    return SeedSpread(key, steps, values, np.asarray(seeds), mean, std, final)
