"""AutoML as meta-learning: the bi-level loop one level up.

The outer loop of MAML learns an initialisation from validation (query) losses of inner training runs.
Learn instead the inner run's *hyperparameters* (learning rates, weight decay: :mod:`.methods.unrolled`,
:mod:`.methods.implicit`) or its *architecture* (DARTS: :mod:`.methods.darts`) and the same loop is
gradient-based AutoML. Random and grid search (:mod:`.methods.random_search`, ...) are the baselines at
equal compute, counted in inner training steps. Each method is one file of :mod:`.methods`.
"""

from metaviz.automl.methods.base import SearchMethod
from metaviz.registry import Registry

__all__ = ["REGISTRY", "SearchMethod", "available", "get"]

REGISTRY = Registry("metaviz.automl.methods", SearchMethod, "AutoML method")


def available(kind: str | None = None) -> list[str]:
    """Names of the registered methods; with ``kind`` ("hyperparameters" or "architecture") only those."""
    return [n for n, cls in REGISTRY.classes.items() if kind is None or cls.kind == kind]


def get(name: str) -> type[SearchMethod]:
    return REGISTRY.get(name)
