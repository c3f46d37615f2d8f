"""Sizing: the cheapest staffing and stock that meet SLA targets, with stated confidence."""

__all__: list[str] = []
