"""The one base exception of the playbooks package."""

from __future__ import annotations

from incidents.source import Diagnostic

__all__ = ["PlaybookError", "InvalidTrigger"]


class PlaybookError(ValueError):
    """A playbook cannot be used; `diagnostics` says where and why, one line each."""

    def __init__(self, diagnostics: list[Diagnostic] | str) -> None:
        if isinstance(diagnostics, str):
            self.diagnostics: list[Diagnostic] = []
            super().__init__(diagnostics)
        else:
            self.diagnostics = diagnostics
            super().__init__("\n".join(str(d) for d in diagnostics))


class InvalidTrigger(PlaybookError):
    """A trigger the case's current state does not accept (never a silent no-op)."""
