"""The desk's own settings, kept as events in the database: retention, quality samples drawn.

Retention: the industry service standard keeps service records at least 3 years. The store is
append-only and never deletes; the retention period says how long a record must stay at
least, so nothing younger is ever archived away (`muster live retention` shows what is past
it: exported and backed up, such records may be archived with the database they are in).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from incidents.store import Pending, StoredEvent

from desk.errors import DeskError

__all__ = ["SETTINGS_STREAM", "SETTINGS_KIND", "MIN_RETENTION_DAYS", "Settings",
           "settings_pending", "retention_pending"]

SETTINGS_STREAM = "desk"
SETTINGS_KIND = "live-desk"
MIN_RETENTION_DAYS = 1096
"""Three years, the standard's minimum for service records (2 x 365 + 366)."""
MAX_RETENTION_DAYS = 36600


@dataclass
class Settings:
    retention_days: int = MIN_RETENTION_DAYS
    started: bool = False
    """Whether the settings stream exists (written with a desk's first event)."""
    samples: list[dict[str, Any]] = field(default_factory=list)
    """Quality samples drawn (month, seed, share, cases, who)."""

    def apply(self, event: StoredEvent) -> str | None:
        p = event.payload
        if event.kind == "header":
            self.started = True
            self.retention_days = int(p.get("retention_days", MIN_RETENTION_DAYS))
            return None
        if event.kind == "retention":
            self.retention_days = int(p["days"])
            return f"retention set to {self.retention_days} days"
        if event.kind == "sample":
            self.samples.append({**p, "by": event.actor or ""})
            return (f"quality sample of {p.get('month')}: {len(p.get('cases', []))} of "
                    f"{p.get('closed')} closed cases (seed {p.get('seed')})")
        return None


def settings_pending(actor: str) -> Pending:
    """The desk's settings stream, started once (whoever opens the database first)."""
    return Pending(SETTINGS_STREAM, "header", {"format": 1,
                                              "retention_days": MIN_RETENTION_DAYS},
                   key="desk:settings", actor=actor, stream_kind=SETTINGS_KIND)


def retention_pending(days: int, actor: str, where: str) -> Pending:
    if isinstance(days, bool) or not isinstance(days, int) \
            or not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise DeskError(where, f"retention must be {MIN_RETENTION_DAYS} to "
                               f"{MAX_RETENTION_DAYS} days (records are kept at least 3 "
                               f"years: industry service standard), got {days!r}")
    return Pending(SETTINGS_STREAM, "retention", {"days": days}, actor=actor)
