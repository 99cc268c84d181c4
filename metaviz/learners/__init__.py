"""Meta-learners. Each module here defines one :class:`MetaLearner`."""

from metaviz.learners.base import Adapted, MetaLearner
from metaviz.registry import Registry

__all__ = ["Adapted", "MetaLearner", "REGISTRY", "available", "get"]

REGISTRY = Registry(__name__, MetaLearner, "meta-learner")


def available(kind: str | None = None, inputs: str | None = None) -> list[str]:
    """Names of the registered meta-learners; with ``kind`` ("classification") and ``inputs`` ("features",
    "tokens"), only those that handle them."""
    return [n for n, cls in REGISTRY.classes.items()
            if (kind is None or kind in cls.kinds) and (inputs is None or inputs in cls.inputs)]


def get(name: str) -> type[MetaLearner]:
    return REGISTRY.get(name)
