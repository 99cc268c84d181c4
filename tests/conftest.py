"""Shared test settings."""

import os
import tempfile

import torch

# The suite's networks are tiny: one torch thread is faster than two on a 2-core machine, and keeps
# timings steady when other processes (the browser tests' server and Chromium) share the cores.
torch.set_num_threads(1)

# The app saves every run to its run store; tests (and the browser tests' server, which inherits the
# environment) write to a throwaway folder, never to the user's ~/.local/share/metaviz.
os.environ.setdefault("METAVIZ_HOME", tempfile.mkdtemp(prefix="metaviz-tests-"))
