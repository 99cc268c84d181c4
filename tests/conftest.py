"""Shared test settings."""

import os
import sys
import tempfile

import pytest
import torch

# The suite's networks are tiny: one torch thread is faster than two on a 2-core machine, and keeps
# timings steady when other processes (the browser tests' server and Chromium) share the cores.
torch.set_num_threads(1)

# The app saves every run to its run store; tests (and the browser tests' server, which inherits the
# environment) write to a throwaway folder, never to the user's ~/.local/share/metaviz.
os.environ.setdefault("METAVIZ_HOME", tempfile.mkdtemp(prefix="metaviz-tests-"))
# No training-slot limit unless a test sets one (tests/test_scheduler.py builds its own schedulers).
os.environ.setdefault("METAVIZ_MAX_JOBS", "0")


@pytest.fixture(autouse=True)
def fresh_session_workers():
    """AppTest reuses one session id across tests, so session-scoped resources (the training worker)
    would carry one test's run into the next: release them after each test."""
    yield
    if "streamlit" in sys.modules:
        from streamlit.runtime.caching.cache_resource_api import clear_session_cache

        clear_session_cache("test session id")  # AppTest's fixed id; releasing closes the workers
