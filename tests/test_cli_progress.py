"""The CLI's progress bar: drawn in place on a terminal (a pseudo-terminal and a StringIO that says it is one),
nothing at all when the stream is not a terminal, while the jobs' own log lines stay lines there."""

import io
import os
import select

from metaviz.commands._progress import Bar
from metaviz.commands.eval import counted


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_terminal_no_bar_but_the_log_lines_stay():
    out = io.StringIO()
    with Bar(4, "job", stream=out) as bar:
        for _ in range(4):
            bar.advance(message="working")
        bar.log("row 1: 3.2 s")
    assert out.getvalue() == "row 1: 3.2 s\n"  # no carriage return, no bar


def test_a_terminal_gets_a_bar_redrawn_in_place_with_the_count_and_the_share():
    out = Terminal()
    with Bar(4, "job", stream=out) as bar:
        bar.update(2, "half")
        bar.EVERY_S = 0.0  # every update redrawn, so that the half-way state is on screen
        bar.update(2, "half")
        bar.log("a log line")
        bar.advance(2)
    text = out.getvalue()
    frames = text.split("\r")[1:]
    assert frames[0].startswith("job:   0% [....") and "0/4" in frames[0]
    assert any("50% [############............] 2/4" in f and "half" in f for f in frames)
    assert "a log line" in frames[-2] or "a log line" in frames[-1]
    assert "100% [" + "#" * 24 + "] 4/4" in frames[-1] and text.endswith("\n") and text.count("\n") == 1


def test_the_bar_on_a_pseudo_terminal():
    master, slave = os.openpty()
    try:
        with open(slave, "w", closefd=False) as stream:
            with Bar(3, "runs", stream=stream) as bar:
                bar.advance(3)
        seen = ""
        while select.select([master], [], [], 0.5)[0]:  # everything the bar wrote, in the chunks the pty gives
            seen += os.read(master, 4096).decode()
    finally:
        os.close(master)
        os.close(slave)
    assert "\r" in seen and "3/3" in seen and "100%" in seen


def test_a_bar_without_a_total_counts_and_shows_the_latest_message():
    out = Terminal()
    with Bar(label="bench", stream=out) as bar:
        bar.log("landscape 41x41 sine: 3.2 s")
    assert "bench: 0 done" in out.getvalue() and "landscape 41x41 sine: 3.2 s" in out.getvalue()


def test_the_one_shot_cost_moves_the_bar_once_per_run_and_returns_the_costs():
    bar = Bar(2, stream=io.StringIO())
    cost = counted(lambda train, test: [[len(train), len(test)]], bar)
    assert cost([1, 2], [3]) == [[2, 1]] and bar.done == 1
    cost([], [])
    assert bar.done == 2
