"""Analyses that answer at once with a cheap version and then fill it in: a stream of stages.

A *stage* is one complete, labelled version of an analysis's result: the first is cheap (PCA before
t-SNE, two shot counts before all of them, the first seeds before every seed), each next one replaces it,
and the last is the result the one-shot call returns. :func:`stages` runs the steps in order and yields a
:class:`Stage` after each, so a page draws the first at once, shows the progress between them, and keeps
the last complete one when the user cancels (``ui/progressive.follow`` consumes the stream; closing the
generator skips the steps not yet run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


class Progressed:
    """What a progress bar reads from a stream's item: ``done`` of ``total`` (fields of the dataclass below)."""

    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total

    @property
    def final(self) -> bool:
        return self.done == self.total


@dataclass(frozen=True)
class Stage(Progressed):
    """``result`` after ``done`` of ``total`` steps (``label``: what this version holds, for the page)."""

    result: Any
    done: int
    total: int
    label: str = ""


def stages(*steps: tuple[str, Callable[[Any], Any]]) -> Iterator[Stage]:
    """Run ``(label, step)`` pairs in order; ``step(previous result or None)`` returns the next, better result.
    Yields a :class:`Stage` after each step."""
    result = None
    for done, (label, step) in enumerate(steps, 1):
        result = step(result)
        yield Stage(result, done, len(steps), label)
