"""Shared helpers for runtime tests: build playbooks from text, make incidents, replay steps."""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone

from incidents.model import Incident
from incidents.source import parse_document
from playbooks.errors import PlaybookError
from playbooks.lint import semantic_diagnostics
from playbooks.loader import parse_playbook
from playbooks.schema import Playbook

__all__ = ["playbook_from_text", "incident", "EPOCH"]

EPOCH = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday, 00:00 UTC


def playbook_from_text(text: str) -> Playbook:
    """A validated playbook from YAML text; fails loudly on any lint error."""
    doc = parse_document(textwrap.dedent(text), "<test>")
    playbook, found = parse_playbook(doc)
    if playbook is None:
        raise PlaybookError(found)
    errors = [d for d in semantic_diagnostics(playbook, doc) if d.severity == "error"]
    if errors:
        raise PlaybookError(errors)
    return playbook


def incident(id: str = "C1", tier: str = "tier2", **kw: object) -> Incident:
    return Incident(id=id, kind=kw.pop("kind", "repair"), tier=tier,  # type: ignore[arg-type]
                    opened_at=kw.pop("opened_at", EPOCH), **kw)  # type: ignore[arg-type]
