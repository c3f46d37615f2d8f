"""The SimPy world: staff, stock, timers, arrivals, world events, policies and the event log."""

__all__ = ["MODEL_VERSION"]

MODEL_VERSION = "2026.12.2"
"""What one seed produces: bumped whenever a change makes the same scenario and seed give a
different event log (so finished replications cached on disk by an older model are not
reused: sizing/cache.py keys them with it)."""
