"""The desk's records out: JSON (everything), CSV (cases, or the timeline), Markdown.

Exports read the projection, so they say exactly what the desks show: every case with its
playbook state, level, owner, milestones and breaches; every operation with its levels,
roles, updates and tasks; the timeline with who did what and when. Times are ISO 8601 with
their offset (JSON, CSV) or local to the playbook's calendar (Markdown). Text is written as
it is (UTF-8, Chinese as Chinese).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from desk.case.projection import CaseView
from desk.clock import instant, local_text
from desk.errors import DeskError
from desk.operation.events import ROLES, UPDATE_KINDS
from desk.operation.projection import OperationView
from desk.projection import DeskModel

__all__ = ["FORMATS", "CASE_COLUMNS", "export", "case_record", "operation_record"]

FORMATS = ("json", "csv", "md")
CASE_COLUMNS = ("id", "opened", "tier", "kind", "customer", "batch", "region", "product",
                "operation", "playbook", "state", "level", "owner", "acknowledged",
                "acknowledge_on_time", "breaches", "owed", "sent", "closed", "resolution",
                "version")


def _iso(minute: float | None) -> str | None:
    return None if minute is None else instant(minute).isoformat(timespec="seconds")


def case_record(view: CaseView) -> dict[str, Any]:
    inc = view.incident
    ack = view.met.get("acknowledge")
    return {
        "id": inc.id, "opened": inc.opened_at.isoformat(), "tier": inc.tier.value,
        "kind": inc.kind, "customer": inc.customer, "batch": inc.batch, "region": inc.region,
        "product": inc.product, "operation": view.operation or "", "playbook": view.book.ref,
        "state": view.state, "level": view.level, "owner": view.owner,
        "acknowledged": _iso(ack.at) if ack else None,
        "acknowledge_on_time": None if ack is None else ack.on_time,
        "breaches": sorted(view.breaches), "owed": [o.obligation for o in view.owed],
        "sent": [s.obligation for s in view.sent], "closed": _iso(view.closed_at),
        "resolution": view.resolution, "version": view.version,
        "milestones": {k: {"due": _iso(m.due), "at": _iso(m.at), "on_time": m.on_time}
                       for k, m in view.met.items()},
        "notes": [{"at": _iso(at), "by": who, "text": text} for at, who, text in view.notes],
        "problems": list(view.problems),
    }


def operation_record(op: OperationView) -> dict[str, Any]:
    return {
        "id": op.id, "title": op.title, "playbook": op.book.ref, "opened": _iso(op.opened_at),
        "closed": _iso(op.closed_at), "closing": op.closing, "summary": op.summary,
        "level": op.level_name, "cases": sorted(op.cases),
        "levels": [{"at": _iso(at), "from": a, "to": b, "reason": r, "by": who}
                   for at, a, b, r, who in op.levels],
        "roles": [{"role": h.role, "person": h.person, "since": _iso(h.since),
                   "until": _iso(h.until), "summary": h.summary} for h in op.role_history],
        "updates": [{"kind": u.kind, "at": _iso(u.at), "by": u.actor, "due": _iso(u.due),
                     **u.fields} for u in op.updates],
        "tasks": [{"id": t.id, "title": t.title, "owner": t.owner, "due": _iso(t.due),
                   "case": t.case, "done": _iso(t.done_at), "note": t.note}
                  for t in op.tasks.values()],
        "owed": [{"obligation": o.obligation, "audience": o.audience, "due": _iso(o.due)}
                 for o in op.owed],
        "notes": [{"at": _iso(at), "by": who, "text": text} for at, who, text in op.notes],
        "problems": list(op.problems),
    }


def export(model: DeskModel, fmt: str, *, operation: str | None = None,
           what: str = "cases") -> str:
    """The desk (or one operation) as text in `fmt`: json, csv (`what`: cases or timeline)
    or md."""
    if fmt not in FORMATS:
        raise DeskError(model.where, f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if what not in ("cases", "timeline"):
        raise DeskError(model.where, f"unknown export {what!r}; cases or timeline")
    ops = [model.operation(operation)] if operation else list(model.operations.values())
    views = model.cases_of(operation, closed=True)
    entries = [e for e in model.timeline if operation is None or e.operation == operation]
    if fmt == "json":
        return json.dumps({
            "retention_days": model.settings.retention_days,
            "position": model.position,
            "operations": [operation_record(op) for op in ops],
            "cases": [case_record(v) for v in views],
            "timeline": [{"seq": e.gseq, "at": e.at.isoformat(), "by": e.actor,
                          "subject": e.subject, "operation": e.operation, "kind": e.kind,
                          "text": e.text} for e in entries],
            "samples": model.settings.samples,
            "problems": model.problems,
        }, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        if what == "timeline":
            writer.writerow(("seq", "at", "by", "subject", "operation", "kind", "text"))
            for e in entries:
                writer.writerow((e.gseq, e.at.isoformat(), e.actor, e.subject,
                                 e.operation or "", e.kind, e.text))
        else:
            writer.writerow(CASE_COLUMNS)
            for v in views:
                rec = case_record(v)
                writer.writerow([_cell(rec[c]) for c in CASE_COLUMNS])
        return out.getvalue()
    return _markdown(model, ops, views, entries)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _markdown(model: DeskModel, ops: list[OperationView], views: list[CaseView],
              entries: list[Any]) -> str:
    def md(text: object) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["# Live desk export", ""]
    for op in ops:
        zone = op.book.zone
        lines += [f"## Operation {md(op.id)}: {md(op.title)}", "",
                  f"- playbook: {md(op.book.name)}; level: {md(op.level_label)}",
                  f"- opened {local_text(instant(op.opened_at), zone, date=True)}"
                  + (f", closed {local_text(instant(op.closed_at), zone, date=True)}: "
                     f"{md(op.closing)}" if op.closed_at is not None else " (running)"),
                  "- roles: " + (", ".join(f"{ROLES[r]} {md(h.person)}"
                                           for r, h in op.roles.items()) or "none"),
                  f"- cases: {len(op.cases)}; updates sent: "
                  + ", ".join(f"{UPDATE_KINDS[k][1]} {sum(u.kind == k for u in op.updates)}"
                              for k in UPDATE_KINDS), ""]
    lines += ["## Cases", "", "| case | tier | customer | state | level | owner | breaches |",
              "|---|---|---|---|---|---|---|"]
    for v in views:
        lines.append(f"| {md(v.id)} | {v.incident.tier.value} | {md(v.incident.customer)} | "
                     f"{md(v.state)} | {md(v.level)} | {md(v.owner)} | "
                     f"{md(', '.join(sorted(v.breaches)))} |")
    lines += ["", "## Timeline", "", "| time | by | subject | what |", "|---|---|---|---|"]
    for e in entries:
        lines.append(f"| {e.at.isoformat(timespec='seconds')} | {md(e.actor)} | "
                     f"{md(e.subject)} | {md(e.text)} |")
    return "\n".join(lines) + "\n"
