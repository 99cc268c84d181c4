"""Analyses: pure functions from parameters and configs to small numpy results."""
