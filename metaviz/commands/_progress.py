"""A tqdm-style progress bar for the long CLI jobs (bench, eval, automl), drawn only on a terminal.

On a terminal the bar is one line on stderr redrawn in place (carriage return): the share done, a bar, the
count, elapsed time, the rate and the ETA when the total is known, and the job's latest message. Anywhere
else (a pipe, a log file, CI) it draws nothing: redraws would fill a log with carriage returns. The jobs'
own log lines (a benchmark's rows, AutoML's scores) are not the bar's: on a terminal they appear in the
bar's message, elsewhere they are printed as lines, as before. ``train`` has its own bar with live metrics
(``commands/train.py``). No dependency: the few lines below are all a bar needs.
"""

from __future__ import annotations

import sys
import time


class Bar:
    """``with Bar(total, "label") as bar: bar.advance(); bar.log("a line")``; ``total`` None: no share or ETA."""

    WIDTH = 24
    EVERY_S = 0.1  # a terminal is redrawn at most ten times a second

    def __init__(self, total: int | None = None, label: str = "", stream=None):
        self.total, self.label, self.stream = total, label, stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done, self.message, self.began, self.drawn = 0, "", time.monotonic(), 0.0

    def __enter__(self) -> Bar:
        self.draw(force=True)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, n: int = 1, message: str | None = None) -> None:
        self.update(self.done + n, message)

    def update(self, done: int, message: str | None = None, total: int | None = None) -> None:
        self.done = done
        self.total = self.total if total is None else total
        if message is not None:
            self.message = message
        self.draw(force=self.total is not None and done >= self.total)

    def log(self, line: str) -> None:
        """A job's log line: the bar's message on a terminal, a printed line elsewhere."""
        if self.tty:
            self.message = line
            self.draw(force=True)
        else:
            print(line, file=self.stream, flush=True)

    def line(self) -> str:
        elapsed = time.monotonic() - self.began
        clock = time.strftime("%H:%M:%S", time.gmtime(elapsed))
        head = f"{self.label}: " if self.label else ""
        if not self.total:
            return f"{head}{self.done} done, {clock} {self.message}".rstrip()
        share = min(self.done / self.total, 1.0)
        filled = int(round(share * self.WIDTH))
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = time.strftime("%H:%M:%S", time.gmtime((self.total - self.done) / rate)) if rate > 0 else "--:--:--"
        return (f"{head}{share:4.0%} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} "
                f"{clock} ETA {eta} {self.message}").rstrip()

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.tty or (not force and now - self.drawn < self.EVERY_S):
            return
        self.stream.write("\r" + self.line() + "\033[K")
        self.stream.flush()
        self.drawn = now

    def close(self) -> None:
        """End the bar's line on a terminal (nothing elsewhere)."""
        if self.tty:
            self.draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
            self.tty = False  # closed: a late log line is printed, not drawn
