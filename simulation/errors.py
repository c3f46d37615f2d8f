"""The one base exception of the simulation package."""

from __future__ import annotations

from incidents.source import DiagnosticError

__all__ = ["SimulationError"]


class SimulationError(DiagnosticError):
    """A scenario or its data cannot be used; `diagnostics` says where and why."""

