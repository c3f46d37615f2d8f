"""A real operation as plain data, for turning it into a drill (simulation/drills/from_live.py).

The desk cannot import the simulation (layers point down), so it hands over plain data: the
operation's playbook (name and text), when it began and ended, every case (when it was opened,
its tier, kind, customer, batch, region, product) and the key events of the response (levels
declared, handoffs, status updates, tasks, notes, bulk actions), each with its time, who did
it and what it said. The simulation side writes the scenario; the front end glues the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from desk.clock import instant
from desk.operation.events import ROLES, UPDATE_KINDS
from desk.projection import DeskModel

__all__ = ["operation_source"]


def operation_source(model: DeskModel, op_id: str, now: datetime) -> dict[str, Any]:
    op = model.operation(op_id)
    views = [model.cases[c] for c in sorted(op.cases)]
    end = op.closed_at if op.closed_at is not None else None
    events: list[dict[str, Any]] = []
    for at, source, target, reason, who in op.levels:
        events.append({"at": instant(at).isoformat(), "kind": "level", "by": who,
                       "level": target, "from": source, "text": reason})
    for h in op.role_history:
        if h.since > op.opened_at:
            events.append({"at": instant(h.since).isoformat(), "kind": "role", "by": h.actor,
                           "role": h.role, "person": h.person,
                           "text": f"{ROLES[h.role]}: {h.person}" + (f"; {h.summary}"
                                                                    if h.summary else "")})
    for u in op.updates:
        body = u.fields.get("text") or "; ".join(
            f"{k}: {v}" for k, v in u.fields.items() if v and k != "text")
        events.append({"at": instant(u.at).isoformat(), "kind": "update", "by": u.actor,
                       "update": u.kind, "audience": UPDATE_KINDS[u.kind][0], "text": body})
    for t in op.tasks.values():
        events.append({"at": instant(t.added_at).isoformat(), "kind": "task", "by": t.added_by,
                       "text": f"{t.title} ({t.owner})"})
    for at, who, text in op.notes:
        events.append({"at": instant(at).isoformat(), "kind": "note", "by": who, "text": text})
    for b in model.bulk.values():
        if b.operation == op_id:
            events.append({"at": b.at.isoformat(), "kind": "bulk", "by": b.actor,
                           "action": b.kind, "text": f"{b.kind} {b.cases} cases: {b.detail}"})
    events.sort(key=lambda e: e["at"])
    return {
        "id": op.id, "title": op.title, "summary": op.summary, "team": op.lead,
        "playbook": op.book.name, "playbook_text": op.book.text,
        "start": instant(min([op.opened_at] + [v.opened for v in views])).isoformat(),
        "end": (instant(end) if end is not None else now).isoformat(),
        "cases": [{"id": v.id, "opened": v.incident.opened_at.isoformat(),
                   "tier": v.incident.tier.value, "kind": v.incident.kind,
                   "customer": v.incident.customer, "batch": v.incident.batch,
                   "region": v.incident.region, "product": v.incident.product,
                   "sku": v.incident.sku} for v in views],
        "events": events,
    }
