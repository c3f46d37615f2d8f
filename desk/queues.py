"""Queues and selections: which cases a coordinator looks at, and acts on in bulk.

A queue is a standing question ("mine", "breaching within 30 minutes", "unassigned", "VIP",
"escalated"); a selection narrows it by operation, tier, pool, playbook, level, state, batch,
region or text (`batch=B2026-0117 region=华东`), and is what a bulk action applies to. Rows
are plain text for the screens and the commands: the next deadline as a coordinator reads it
("acknowledge 14:20") and how long is left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from desk.case.projection import CaseView
from desk.clock import when_text
from desk.errors import DeskError
from desk.projection import SOON_MINUTES, DeskModel

__all__ = ["QUEUES", "Selection", "CaseRow", "select", "case_row", "parse_filter",
           "countdown", "urgency", "FILTER_KEYS"]

QUEUES: dict[str, str] = {
    "all": "all open cases",
    "mine": "mine (cases I own)",
    "breaching": f"breaching within {SOON_MINUTES:.0f} min",
    "unassigned": "nobody owns them",
    "vip": "VIP customers",
    "escalated": "above the front line",
    "closed": "closed cases",
}
FILTER_KEYS = ("operation", "tier", "pool", "playbook", "level", "state", "batch", "region",
               "owner", "kind")


@dataclass(frozen=True)
class Selection:
    """A queue narrowed by filters; empty filters match everything."""

    queue: str = "all"
    operation: str | None = None
    tier: str | None = None
    pool: str | None = None
    playbook: str | None = None
    level: str | None = None
    state: str | None = None
    batch: str | None = None
    region: str | None = None
    owner: str | None = None
    kind: str | None = None
    text: str = ""

    def describe(self) -> str:
        parts = [QUEUES.get(self.queue, self.queue)]
        parts += [f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                  if f.name in FILTER_KEYS and getattr(self, f.name) is not None]
        if self.text:
            parts.append(f"'{self.text}'")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One case as a line of text cells."""

    id: str
    tier: str
    customer: str
    state: str
    level: str
    owner: str
    next: str
    left: str
    urgency: str
    """late, urgent (within 30 min), soon (within 2 h) or ''."""
    batch: str
    region: str
    operation: str
    version: int


def urgency(view: CaseView) -> tuple[float, str]:
    """The case's most pressing due minute and what it is (an SLA or escalation deadline, an
    owed message); (inf, '') when nothing is due."""
    best, what = math.inf, ""
    for key, due in view.case.timers.items():
        kind, _, name = key.partition(":")
        if kind in ("sla", "esc") and due < best:
            best, what = due, name if kind == "sla" else f"escalates ({name})"
    for owed in view.owed:
        if owed.due < best:
            best, what = owed.due, f"{owed.obligation} owed"
    return best, what


def select(model: DeskModel, selection: Selection, *, me: str, now: float) -> list[CaseView]:
    """The cases a selection names, most pressing first."""
    s = selection
    if s.queue not in QUEUES:
        raise DeskError(model.where, f"unknown queue {s.queue!r}; queues: {', '.join(QUEUES)}")
    views = model.cases.values() if s.operation is None else \
        [model.cases[c] for c in sorted(model.operation(s.operation).cases)]
    text = s.text.casefold()
    out = []
    for v in views:
        if (s.queue == "closed") != v.closed:
            continue
        if s.queue == "mine" and v.owner != me:
            continue
        if s.queue == "unassigned" and v.owner:
            continue
        if s.queue == "vip" and v.incident.tier.value != "VIP":
            continue
        if s.queue == "escalated" and v.case.level == 0:
            continue
        if s.queue == "breaching" and urgency(v)[0] > now + SOON_MINUTES:
            continue
        inc = v.incident
        if (s.tier is not None and inc.tier.value.casefold() != s.tier.casefold()
                or s.pool is not None and v.pool != s.pool
                or s.playbook is not None and v.book.name != s.playbook
                or s.level is not None and v.level != s.level
                or s.state is not None and v.state != s.state
                or s.batch is not None and inc.batch != s.batch
                or s.region is not None and inc.region != s.region
                or s.owner is not None and v.owner != s.owner
                or s.kind is not None and inc.kind != s.kind):
            continue
        if text and not any(text in f.casefold() for f in (inc.id, inc.customer, inc.batch,
                                                             inc.region, inc.product, v.owner)):
            continue
        out.append(v)
    out.sort(key=lambda v: (urgency(v)[0], v.id))
    return out


def parse_filter(text: str, base: Selection, where: str) -> Selection:
    """`key=value` words narrow `base`; other words search ids, customers, batches."""
    changes: dict[str, str | None] = {}
    words = []
    for word in text.split():
        key, eq, value = word.partition("=")
        if eq and key in FILTER_KEYS:
            changes[key] = value or None
        elif eq:
            raise DeskError(where, f"unknown filter {key!r}; filters: {', '.join(FILTER_KEYS)}")
        else:
            words.append(word)
    return replace(base, text=" ".join(words), **changes)  # type: ignore[arg-type]


def countdown(minutes_left: float) -> str:
    """'12m', '3h05', '2d04', or '-7m' when it is past."""
    if math.isinf(minutes_left):
        return ""
    sign = "-" if minutes_left < 0 else ""
    m = int(abs(minutes_left) // 1)
    if m < 60:
        return f"{sign}{m}m"
    if m < 1440:
        return f"{sign}{m // 60}h{m % 60:02d}"
    return f"{sign}{m // 1440}d{(m % 1440) // 60:02d}"


def case_row(view: CaseView, now: float) -> CaseRow:
    due, what = urgency(view)
    left = due - now
    if math.isinf(due):
        nxt, level = "", ""
    else:
        nxt = f"{what} {when_text(due, now, view.book.zone)}"
        level = "late" if left < 0 else "urgent" if left <= SOON_MINUTES else \
            "soon" if left <= 120 else ""
    inc = view.incident
    return CaseRow(inc.id, inc.tier.value, inc.customer, view.state, view.level, view.owner,
                   nxt, countdown(left), level, inc.batch, inc.region, view.operation or "",
                   view.version)
