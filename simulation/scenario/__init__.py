"""The scenario language: its models, cross-checks, loading, and historical arrivals."""

__all__: list[str] = []
