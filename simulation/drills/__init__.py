"""Tabletop drills: the model under a team's decisions, their record, script and replay."""

__all__: list[str] = []
