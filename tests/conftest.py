"""Shared test settings."""

import torch

# The suite's networks are tiny: one torch thread is faster than two on a 2-core machine, and keeps
# timings steady when other processes (the browser tests' server and Chromium) share the cores.
torch.set_num_threads(1)
