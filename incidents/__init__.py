"""The vocabulary of Muster: incidents, tiers, SLA targets, calendars, staff and parts."""

__all__: list[str] = []
