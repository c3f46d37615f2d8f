"""From a real ticket event log to a demand profile and a runnable scenario."""

__all__: list[str] = []
