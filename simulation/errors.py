"""The one base exception of the simulation package."""

from __future__ import annotations

from incidents.source import Diagnostic

__all__ = ["SimulationError"]


class SimulationError(ValueError):
    """A scenario or its data cannot be used; `diagnostics` says where and why."""

    def __init__(self, diagnostics: list[Diagnostic] | str) -> None:
        if isinstance(diagnostics, str):
            self.diagnostics: list[Diagnostic] = []
            super().__init__(diagnostics)
        else:
            self.diagnostics = diagnostics
            super().__init__("\n".join(str(d) for d in diagnostics))
