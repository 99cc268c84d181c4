"""Calibration: temperature scaling and the expected calibration error (ECE).

Paper: Guo, Pleiss, Sun and Weinberger (2017), *On Calibration of Modern Neural
Networks*, ICML.

Idea: a classifier is calibrated when, of the answers it gives with confidence
p, a fraction p is right. Meta-trained few-shot models are often over- or
under-confident on new tasks; one scalar fixes much of it. Temperature scaling
divides the logits z by T > 0 before the softmax, which changes no prediction
(the argmax is the same) but sharpens (T < 1) or flattens (T > 1) the
probabilities. T is fitted by minimising the negative log-likelihood on held-out
*meta-validation* tasks (never on the tasks it is scored on):

    p_T(y | x) = softmax(z(x) / T)_y,    T* = argmin_T  - mean_i log p_T(y_i | x_i)

ECE (15 equal-width bins B_1..B_15 of the confidence c_i = max_k p_ik):

    ECE = sum_b |B_b| / n * | acc(B_b) - conf(B_b) |

with acc(B_b) the fraction of right answers in bin b and conf(B_b) their mean
confidence. :func:`reliability` gives the per-bin numbers a reliability diagram draws.

Log-probabilities work as logits here: log softmax(z) = z - logsumexp(z) differs
from z by a per-row constant, which the softmax ignores, so a temperature fitted
on log-probabilities is the temperature of the logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

N_BINS = 15
T_RANGE = (0.01, 100.0)  # temperatures searched (log scale)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / T) along the last axis, [..., N] -> [..., N], stable for large logits."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``labels`` [n] under softmax(logits [n, N] / T)."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    m = z.max(-1, keepdims=True)
    log_norm = (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))[:, 0]
    return float(np.mean(log_norm - z[np.arange(len(z)), np.asarray(labels, dtype=np.int64)]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """T* minimising :func:`nll` over ``T_RANGE`` (a bounded 1-D search on log T; the NLL is
    convex in 1/T, so the minimum is unique)."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if logits.ndim != 2 or len(logits) != len(labels) or len(labels) == 0:
        raise ValueError(f"fit_temperature needs logits [n, N] and labels [n]; got {logits.shape} and {labels.shape}")
    lo, hi = np.log(T_RANGE[0]), np.log(T_RANGE[1])
    found = minimize_scalar(lambda log_t: nll(logits, labels, np.exp(log_t)), bounds=(lo, hi), method="bounded",
                            options={"xatol": 1e-6})
    return float(np.exp(found.x))


@dataclass(frozen=True)
class Reliability:
    """Per-bin numbers of a reliability diagram: ``edges`` [B + 1], and per bin ``count`` [B],
    ``confidence`` [B] (mean max-probability) and ``accuracy`` [B] (NaN in empty bins)."""

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    @property
    def ece(self) -> float:
        filled = self.count > 0
        n = self.count.sum()
        return float(np.sum(self.count[filled] / n * np.abs(self.accuracy[filled] - self.confidence[filled])))


def reliability(probabilities: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> Reliability:
    """Bin the confidences max_k p_ik of ``probabilities`` [n, N] into ``n_bins`` equal-width bins
    (b - 1) / B < c <= b / B (a confidence of 0 goes into the first)."""
    p = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    confidence, correct = p.max(-1), (p.argmax(-1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(which, confidence, n_bins) / count
        acc = np.bincount(which, correct, n_bins) / count
    return Reliability(edges, count, conf, acc)


def ece(probabilities: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> float:
    """Expected calibration error with ``n_bins`` equal-width confidence bins (see the module docstring)."""
    return reliability(probabilities, labels, n_bins).ece
