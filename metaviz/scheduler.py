"""Share one machine among many sessions: at most N training jobs at once, a FIFO queue, per-session limits.

    METAVIZ_MAX_JOBS=2 METAVIZ_MAX_STEPS=5000 METAVIZ_MAX_SECONDS=600 streamlit run app.py

Every :class:`metaviz.worker.Worker` (one per browser session) asks the process-wide
:func:`default_scheduler` for a *slot* before it trains and gives the slot back when its run
pauses, finishes, fails, is reset or the session ends. Without a free slot the worker's status is
"queued" and its snapshot's ``queue_position`` says how many sessions are ahead of it, plus one
(1: next); slots are granted in the order they were asked for.

A paused run gives its slot back: a class pauses to look at the plots for minutes, and a held
slot would make everyone else wait on nobody. Pressing Resume (or Step) joins the queue again
at its end. The run itself (parameters, optimizer, and on a GPU its memory) stays in the worker,
so a paused run still counts against GPU memory; METAVIZ_MAX_JOBS bounds the compute, not the
number of open sessions.

``METAVIZ_MAX_JOBS`` (default: 1 with a GPU; on the CPU half the cores, at least 2 and at most 4):
on a GPU, concurrent jobs share its memory, so too many fail with out-of-memory, and they share
its compute, so each slows down anyway; one at a time is the safe default for the small
networks here (raise it for a large GPU). On the CPU each job already uses several threads, all
the training threads of one app process share one Python interpreter lock, and more jobs only
slice the same cores thinner (oversubscribed cores were measured several times slower, see
:func:`metaviz.device.leave_a_core_free`); at least 2 so one long run never blocks a small
machine. 0 means no limit. The limit is per app *process*: with several processes behind a
proxy (docs/classroom.md), the machine runs up to processes x METAVIZ_MAX_JOBS jobs.

``METAVIZ_MAX_STEPS`` and ``METAVIZ_MAX_SECONDS`` (default 0: none) bound what one session may
train, over all its runs: meta-iterations, and seconds spent training (queued and paused time
not counted). When one is reached the run stops with status "limited" and a message saying
which limit and how to go on; its parameters stay for the analysis pages and it is saved in the
run store as stopped, so it can be continued from the command line.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from metaviz.messages import run_message


def _env_number(name: str, kind: type, default):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a {'whole ' if kind is int else ''}number; set it to 0 (no limit) "
                         f"or a positive {'integer' if kind is int else 'number'}") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} is negative; set it to 0 (no limit) or a positive number")
    return value


def default_max_jobs() -> int:
    """``METAVIZ_MAX_JOBS``, else 1 with a GPU (CUDA or MPS), else half the CPU cores, at least 2, at most 4."""
    configured = _env_number("METAVIZ_MAX_JOBS", int, None)
    if configured is not None:
        return configured
    import torch

    mps = getattr(torch.backends, "mps", None)
    if torch.cuda.is_available() or (mps is not None and mps.is_available()):
        return 1
    return max(2, min(4, (os.cpu_count() or 2) // 2))


@dataclass(frozen=True)
class Limits:
    """What one session may train in total (0: no limit), set by the operator."""

    max_steps: int = 0
    max_seconds: float = 0.0

    @classmethod
    def from_env(cls) -> Limits:
        return cls(_env_number("METAVIZ_MAX_STEPS", int, 0), _env_number("METAVIZ_MAX_SECONDS", float, 0.0))

    def reached(self, steps: int, seconds: float) -> str:
        """Why a session that has trained ``steps`` meta-iterations for ``seconds`` must stop, or ""."""
        if self.max_steps and steps >= self.max_steps:
            return run_message("msg_run.limit_steps", steps=f"{self.max_steps:,}")
        if self.max_seconds and seconds >= self.max_seconds:
            return run_message("msg_run.limit_seconds", seconds=f"{self.max_seconds:g}")
        return ""


class Ticket:
    """One request for a slot. ``wake`` is called (from whichever thread changed the queue, never under the
    scheduler's lock) when the ticket is granted or its place in the queue changes; ``alive`` says whether
    its owner still exists (a dead owner's ticket is dropped)."""

    _ids = itertools.count(1)

    def __init__(self, wake: Callable[[], None] | None, alive: Callable[[], bool] | None):
        self.id = next(self._ids)
        self.wake, self.alive = wake, alive

    def __repr__(self) -> str:
        return f"Ticket({self.id})"


class Scheduler:
    """At most ``max_jobs`` granted tickets (0: no limit); the rest wait first come, first served."""

    def __init__(self, max_jobs: int):
        if max_jobs < 0:
            raise ValueError("max_jobs must be 0 (no limit) or positive")
        self.max_jobs = max_jobs
        self._lock = threading.Lock()
        self._granted: set[Ticket] = set()
        self._waiting: deque[Ticket] = deque()

    def request(self, wake: Callable[[], None] | None = None, alive: Callable[[], bool] | None = None) -> Ticket:
        """A new ticket: granted at once when a slot is free (and nobody waits), else queued."""
        ticket = Ticket(wake, alive)
        with self._lock:
            self._waiting.append(ticket)
            woken = self._rebalance()
        self._wake(woken, ticket)
        return ticket

    def release(self, ticket: Ticket | None) -> None:
        """Give the slot back, or leave the queue; a ticket released twice (or None) is ignored."""
        if ticket is None:
            return
        with self._lock:
            if ticket in self._granted:
                self._granted.discard(ticket)
            elif ticket in self._waiting:
                self._waiting.remove(ticket)
            else:
                return
            woken = self._rebalance()
        self._wake(woken)

    def position(self, ticket: Ticket) -> int:
        """0 when ``ticket`` holds a slot, k >= 1 when it is k-th in the queue, -1 when released."""
        with self._lock:
            if ticket in self._granted:
                return 0
            try:
                return self._waiting.index(ticket) + 1
            except ValueError:
                return -1

    def granted(self, ticket: Ticket) -> bool:
        return self.position(ticket) == 0

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._granted)

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def _rebalance(self) -> list[Ticket]:
        """(Under the lock.) Drop dead owners' tickets and grant free slots in order; returns the tickets to
        wake: the newly granted and every waiting one (its position may have changed)."""
        dead = [t for t in (*self._granted, *self._waiting) if t.alive is not None and not t.alive()]
        for t in dead:
            self._granted.discard(t)
            if t in self._waiting:
                self._waiting.remove(t)
        newly = []
        while self._waiting and (self.max_jobs == 0 or len(self._granted) < self.max_jobs):
            newly.append(self._waiting.popleft())
            self._granted.add(newly[-1])
        return [*newly, *self._waiting]

    @staticmethod
    def _wake(tickets: list[Ticket], skip: Ticket | None = None) -> None:
        for t in tickets:
            if t is not skip and t.wake is not None:
                t.wake()


_DEFAULT: Scheduler | None = None
_DEFAULT_LOCK = threading.Lock()


def default_scheduler() -> Scheduler:
    """The scheduler every worker of this process shares (``METAVIZ_MAX_JOBS`` read on first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Scheduler(default_max_jobs())
        return _DEFAULT
