"""The SimPy world: staff, stock, timers, arrivals, world events, policies and the event log."""

__all__: list[str] = []
