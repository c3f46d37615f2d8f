"""From a real call or ticket log to a fitted, runnable scenario, and backtests of it."""

__all__: list[str] = []
