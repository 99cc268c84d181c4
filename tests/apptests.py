"""What the AppTests of several pages share: the app, waiting for a live page, a session with a finished run."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from metaviz.train import RunConfig

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_page(page: str, lang: str | None = None, timeout: float = 120) -> AppTest:
    """A fresh session through ``app.py`` showing ``page`` (in language ``lang`` when given), with no exception."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if lang is not None:
        at.session_state["mv.lang"] = lang
    at.run()
    if page != "pages/home.py":
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_lesson(page: str, lang: str, budget: dict | None = None, **params) -> AppTest:
    """A fresh session through ``app.py`` in language ``lang`` (from the URL, with ``params`` there too) showing
    ``page``, with the session keys ``budget`` set first; no exception and no error."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    for key, value in (budget or {}).items():
        at.session_state[key] = value
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def wait_for(at: AppTest, predicate, timeout: float = 30.0) -> None:
    """Rerun ``at`` (as the live panel's timer would) until ``predicate(at)`` holds; no exception meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if predicate(at):
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached")


def train_in_session(config: RunConfig, timeout: float = 240) -> AppTest:
    """An AppTest session whose worker has finished a short run of ``config`` (started from the Train page)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["mv.run_config"] = config
    at.switch_page("pages/train.py")
    at.run()
    at.button(key="start").click()
    at.run()
    deadline = time.monotonic() + 90
    while not run_done(at, config.train.n_steps):
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.3)
        at.run()
    return at


def run_done(at: AppTest, n_steps: int) -> bool:
    """The Train page shows the run finished: all its meta-iterations *and* the "done" badge. The counter
    reaches the last step before that step's evaluation and final checkpoint are published, so a page opened
    on the counter alone may miss them."""
    return (any(m.label == "Meta-iterations" and m.value.startswith(f"{n_steps} ") for m in at.metric)
            and any("badge[done]" in m.value for m in at.markdown))
