"""Operations on the desk: an emergency grouping cases; level, roles, tasks, status updates."""

__all__: list[str] = []
