"""Plain text for the desk's screens: what is due next, an operation's panel, its tasks and
timeline. The screens put these strings into widgets; what they say is decided here, next to
the rules (times in the playbook's zone, countdowns, what counts as late or urgent).
"""

from __future__ import annotations

from dataclasses import dataclass

from desk.clock import instant, local_text, when_text
from desk.operation.events import ROLES, UPDATE_KINDS
from desk.projection import SOON_MINUTES, DeskModel, Due
from desk.queues import countdown

__all__ = ["DueRow", "due_rows", "operation_lines", "task_rows", "timeline_rows", "urgency_of",
           "updates_due", "DEFAULT_ZONE"]

DEFAULT_ZONE = "Asia/Shanghai"
"""Where times are shown when no playbook says (an empty desk)."""


@dataclass(frozen=True, slots=True)
class DueRow:
    key: str
    due: str
    left: str
    what: str
    subject: str
    tier: str
    owner: str
    urgency: str


def urgency_of(left: float) -> str:
    return "late" if left < 0 else "urgent" if left <= SOON_MINUTES else \
        "soon" if left <= 120 else ""


def _zone(model: DeskModel, d: Due) -> str:
    if d.case is not None and d.case in model.cases:
        return model.cases[d.case].book.zone
    if d.operation is not None and d.operation in model.operations:
        return model.operations[d.operation].book.zone
    return DEFAULT_ZONE


def due_rows(model: DeskModel, now: float, *, operation: str | None = None,
             limit: int = 100) -> list[DueRow]:
    """What is due next, soonest (most overdue) first: 'acknowledge due 14:20', '-7m'."""
    out = []
    for i, d in enumerate(model.due_next(operation=operation, limit=limit)):
        left = d.due - now
        subject = d.case or (f"op {d.operation}" if d.operation else "")
        out.append(DueRow(f"{i}:{subject}:{d.what}", when_text(d.due, now, _zone(model, d)),
                          countdown(left), d.what, subject, d.tier, d.owner, urgency_of(left)))
    return out


def operation_lines(model: DeskModel, op_id: str, now: float) -> list[tuple[str, str]]:
    """The operation's panel as (text, style) lines: title, level and why, the playbook's
    advice, roles, resources unlocked, updates owed on the cadence."""
    op = model.operation(op_id)
    zone = op.book.zone
    open_cases = len(model.cases_of(op_id))
    out = [(f"{op.id}: {op.title}", "bold"),
           (f"{op.book.name}; {open_cases} open of {len(op.cases)} cases"
            + ("; CLOSED" if op.closed else ""), "dim")]
    why = op.levels[-1][3] if op.levels else "not raised"
    out.append((f"level {op.level_label}: {why}", "bold red" if op.level else ""))
    for role, title in ROLES.items():
        holder = op.roles.get(role)
        since = f" since {local_text(instant(holder.since), zone)}" if holder else ""
        out.append((f"{title}: {holder.person if holder else '-'}{since}",
                    "" if holder else "dim"))
    for g in op.grants.values():
        ready = "" if g.available_at <= now else \
            f" from {local_text(instant(g.available_at), zone)}"
        out.append((f"+ {g.resource}" + (f" {g.pool}" if g.pool else "")
                    + (f" x{g.headcount}" if g.headcount else "")
                    + (f" {g.hours_per_day:g}h/day" if g.hours_per_day else "") + ready,
                    "green"))
    for kind in UPDATE_KINDS:
        due = op.update_due(kind)
        if due is not None:
            left = due - now
            out.append((f"{UPDATE_KINDS[kind][1]} owed {local_text(instant(due), zone)} "
                        f"({countdown(left)})", _style(urgency_of(left))))
    for owed in op.owed:
        left = owed.due - now
        out.append((f"{owed.obligation} ({owed.audience}) owed "
                    f"{local_text(instant(owed.due), zone)}", _style(urgency_of(left))))
    return out


def updates_due(model: DeskModel, op_id: str, now: float) -> list[tuple[str, str]]:
    """(key, prompt) of the status updates and level-change messages the operation owes now
    (their time has come): what the desk prompts for, once each (the key says which)."""
    op = model.operation(op_id)
    out = []
    for kind in UPDATE_KINDS:
        due = op.update_due(kind)
        if due is not None and due <= now:
            out.append((f"{op.id}:{kind}:{due:.0f}",
                        f"{UPDATE_KINDS[kind][1]} owed since "
                        f"{local_text(instant(due), op.book.zone)}: press u"))
    for owed in op.owed:
        if owed.due <= now:
            out.append((f"{op.id}:{owed.obligation}:{owed.due:.0f}",
                        f"{owed.obligation} ({owed.audience}) owed since "
                        f"{local_text(instant(owed.due), op.book.zone)}: press u"))
    return out


def _style(urgency: str) -> str:
    return {"late": "bold white on red", "urgent": "bold red", "soon": "yellow"}.get(urgency, "")


def task_rows(model: DeskModel, op_id: str, now: float) -> list[tuple[str, str, str, str, str]]:
    """(id, title, owner, due, urgency) of the operation's open tasks, soonest first."""
    op = model.operation(op_id)
    open_tasks = sorted((t for t in op.tasks.values() if t.done_at is None),
                        key=lambda t: (t.due is None, t.due or 0.0, t.id))
    return [(t.id, t.title, t.owner,
             "" if t.due is None else f"{local_text(instant(t.due), op.book.zone)} "
                                      f"({countdown(t.due - now)})",
             "" if t.due is None else urgency_of(t.due - now)) for t in open_tasks]


def timeline_rows(model: DeskModel, *, operation: str | None = None,
                  limit: int = 200) -> list[tuple[str, str, str, str]]:
    """(time, who, subject, what) of the latest events, newest first."""
    out = []
    zone = model.operations[operation].book.zone if operation in model.operations else \
        DEFAULT_ZONE
    for e in reversed(model.timeline):
        if operation is not None and e.operation != operation:
            continue
        out.append((local_text(e.at, zone), e.actor, e.subject, e.text))
        if len(out) >= limit:
            break
    return out
