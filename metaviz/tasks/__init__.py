"""Task families. Each module here defines one :class:`TaskDistribution`."""

from metaviz.registry import Registry
from metaviz.tasks.base import Episode, TaskBatch, TaskDistribution

__all__ = ["Episode", "TaskBatch", "TaskDistribution", "REGISTRY", "available", "get"]

REGISTRY = Registry(__name__, TaskDistribution, "task family")


def available() -> list[str]:
    """Names of the registered task families."""
    return REGISTRY.names()


def get(name: str) -> type[TaskDistribution]:
    return REGISTRY.get(name)
