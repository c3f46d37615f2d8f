"""The one base exception of the playbooks package."""

from __future__ import annotations

from incidents.source import DiagnosticError

__all__ = ["PlaybookError", "InvalidTrigger"]


class PlaybookError(DiagnosticError):
    """A playbook cannot be used; `diagnostics` says where and why, one line each."""


class InvalidTrigger(PlaybookError):
    """A trigger the case's current state does not accept (never a silent no-op)."""
