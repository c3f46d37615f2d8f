"""An operation as the desk shows it: level, roles with their history, updates, tasks.

The emergency level runs through the playbook's emergency runtime (playbooks/emergency.py):
declaring a level grants the unlocks of every level passed on the way up (after their delays),
takes back those left on the way down, and makes the playbook's level-change messages owed
(management brief, public notice). Status updates are owed on the operation's cadence; an
update answers the oldest owed message of its audience. Roles keep their history (who held
which, from when to when, and the handoff summary), as Dispatch keeps participant roles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.sla import Duration
from incidents.store import StoredEvent
from playbooks.effects import LevelChanged, MessageOwed, Revoked, Unlocked

from desk.case.projection import Owed, ViewError, short_reason
from desk.clock import minutes, parse_time
from desk.operation.events import DEFAULT_CADENCE, ROLES, UPDATE_KINDS
from desk.playbooks import Book

__all__ = ["Holder", "Update", "Task", "Grant", "OperationView", "open_operation_view",
           "apply_operation_event"]


@dataclass(slots=True)
class Holder:
    """Someone in a role from `since` until `until` (None: still)."""

    role: str
    person: str
    since: float
    until: float | None
    summary: str
    actor: str


@dataclass(slots=True)
class Update:
    kind: str
    at: float
    actor: str
    fields: dict[str, str]
    due: float | None
    """The deadline of the owed message (or cadence) it answered, if any."""


@dataclass(slots=True)
class Task:
    id: str
    title: str
    owner: str
    due: float | None
    remind: float
    case: str | None
    added_at: float
    added_by: str
    done_at: float | None = None
    done_by: str = ""
    note: str = ""
    reminded: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Grant:
    """An emergency resource in force: what the level unlocked, available from when."""

    resource: str
    level: str
    pool: str | None
    headcount: int
    hours_per_day: float
    available_at: float


@dataclass(slots=True)
class OperationView:
    """One operation as it stands (see the module docstring)."""

    id: str
    stream: str
    version: int
    title: str
    book: Book
    summary: str
    cadence: dict[str, float]
    opened_at: float
    opened_by: str
    recorded: datetime
    level: int = 0
    level_since: float = 0.0
    raised_at: float | None = None
    """When the level first went above normal (management and public updates owed since)."""
    levels: list[tuple[float, str, str, str, str]] = field(default_factory=list)
    """(minute, from, to, reason, who)."""
    roles: dict[str, Holder] = field(default_factory=dict)
    role_history: list[Holder] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    owed: list[Owed] = field(default_factory=list)
    grants: dict[int, Grant] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    notes: list[tuple[float, str, str]] = field(default_factory=list)
    cases: set[str] = field(default_factory=set)
    closed_at: float | None = None
    closing: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def level_name(self) -> str:
        return self.book.emergency.names[self.level]

    @property
    def level_label(self) -> str:
        spec = self.book.emergency.specs[self.level]
        return self.level_name + (f" ({spec.label})" if spec is not None and spec.label else "")

    @property
    def lead(self) -> str:
        holder = self.roles.get("lead")
        return holder.person if holder else ""

    def update_due(self, kind: str) -> float | None:
        """When the next update of `kind` is owed on the cadence (None: not owed now)."""
        if self.closed or kind not in self.cadence:
            return None
        last = max((u.at for u in self.updates if u.kind == kind), default=None)
        if kind != "tactical":
            if self.level == 0 or self.raised_at is None:
                return None
            base = last if last is not None and last >= self.raised_at else self.raised_at
        else:
            base = last if last is not None else self.opened_at
        return base + self.cadence[kind]


def open_operation_view(event: StoredEvent, book: Book) -> tuple[OperationView, str]:
    p = event.payload
    try:
        opened = minutes(parse_time(str(p["opened_at"]), "opened_at"))
        cadence = {k: Duration.parse(v).wall_minutes
                   for k, v in {**DEFAULT_CADENCE, **p.get("cadence", {})}.items()}
        title, lead = str(p["title"]), str(p["lead"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ViewError(f"its header is damaged ({short_reason(exc)})") from None
    op_id = event.stream_id.partition(":")[2]
    view = OperationView(op_id, event.stream_id, 1, title, book, str(p.get("summary", "")),
                         cadence, opened, event.actor or "", event.wall, level_since=opened)
    holder = Holder("lead", lead, opened, None, "", event.actor or "")
    view.roles["lead"] = holder
    view.role_history.append(holder)
    return view, f"opened operation {op_id}: {title} ({book.name}); lead {lead}"


def apply_operation_event(view: OperationView, event: StoredEvent) -> str:
    """Apply one stored event; returns the timeline's line for it."""
    view.version = event.seq
    actor = event.actor or ""
    at = max(minutes(event.wall), view.opened_at)
    p = event.payload
    try:
        handler = _HANDLERS.get(event.kind)
        if handler is None:
            raise ViewError(f"unknown event kind {event.kind!r}")
        return handler(view, p, at, actor)
    except (KeyError, TypeError, ValueError) as exc:
        reason = f"event {event.seq} ({event.kind}) not applied: {short_reason(exc)}"
        view.problems.append(reason)
        return reason


def _level(view: OperationView, p: dict[str, Any], at: float, actor: str) -> str:
    em = view.book.emergency
    target = em.index(str(p["level"]))
    signals = {str(k): float(v) for k, v in p.get("signals", {}).items()}
    source = view.level
    notes: list[str] = []
    for effect in em.change(source, target, signals, at) if target != source else ():
        if isinstance(effect, Unlocked):
            view.grants[effect.unlock] = Grant(effect.resource, effect.level, effect.pool,
                                               effect.headcount, effect.hours_per_day,
                                               effect.available_at)
            notes.append(f"unlocked {effect.resource}" + (f" ({effect.pool})" if effect.pool
                                                         else ""))
        elif isinstance(effect, Revoked):
            view.grants.pop(effect.unlock, None)
            notes.append(f"withdrew {effect.resource}")
        elif isinstance(effect, MessageOwed):
            view.owed.append(Owed(effect.obligation, effect.audience, effect.due, effect,
                                  at))
            notes.append(f"{effect.obligation} owed")
        elif isinstance(effect, LevelChanged):
            continue
    view.levels.append((at, em.names[source], em.names[target], str(p["reason"]), actor))
    view.level, view.level_since = target, at
    if target > 0 and view.raised_at is None:
        view.raised_at = at
    line = f"emergency level {em.names[source]} → {view.level_label}: {p['reason']}"
    return line + ("; " + ", ".join(notes) if notes else "")


def _role(view: OperationView, p: dict[str, Any], at: float, actor: str) -> str:
    role, person = str(p["role"]), str(p["person"])
    if role not in ROLES:
        raise ViewError(f"unknown role {role!r}")
    summary = str(p.get("summary", ""))
    previous = view.roles.pop(role, None)
    if previous is not None:
        previous.until = at
    if person:
        holder = Holder(role, person, at, None, summary, actor)
        view.roles[role] = holder
        view.role_history.append(holder)
    title = ROLES[role]
    if previous is not None and person:
        line = f"{title} handed over from {previous.person} to {person}"
    elif person:
        line = f"{person} is {title}"
    else:
        line = f"{title} left empty"
    return line + (f": {summary}" if summary else "")


def _update(view: OperationView, p: dict[str, Any], at: float, actor: str) -> str:
    kind = str(p["kind"])
    audience, title = UPDATE_KINDS[kind]
    owed = next((o for o in view.owed if o.audience == audience), None)
    due = view.update_due(kind)
    if owed is not None:
        view.owed.remove(owed)
        due = owed.due if due is None else min(due, owed.due)
    fields = {k: str(p.get(k, "")) for k in ("conditions", "actions", "needs", "text")}
    view.updates.append(Update(kind, at, actor, fields, due))
    late = " (late)" if due is not None and at > due else ""
    return f"{title} sent{late}"


def _task(view: OperationView, p: dict[str, Any], at: float, actor: str) -> str:
    task_id = f"T{view.version}"
    due = None if p.get("due") is None else minutes(parse_time(str(p["due"]), "due"))
    view.tasks[task_id] = Task(task_id, str(p["title"]), str(p["owner"]), due,
                               float(p.get("remind", 15.0)), p.get("case"), at, actor)
    return f"task {task_id} for {p['owner']}: {p['title']}"


def _task_owner(view: OperationView, p: dict[str, Any], at: float, actor: str) -> str:
    task = view.tasks[str(p["task"])]
    old, task.owner = task.owner, str(p["owner"])
    task.reminded.clear()
    return f"task {task.id} handed from {old} to {task.owner}"


def _task_done(view: OperationView, p: dict[str, Any], at: float, actor: str) -> str:
    task = view.tasks[str(p["task"])]
    if task.done_at is not None:
        return f"task {task.id} done again (it was done already)"
    task.done_at, task.done_by, task.note = at, actor, str(p.get("note", ""))
    late = " (late)" if task.due is not None and at > task.due else ""
    return f"task {task.id} done{late}" + (f": {task.note}" if task.note else "")


def _reminded(view: OperationView, p: dict[str, Any], at: float, actor: str) -> str:
    task = view.tasks[str(p["task"])]
    task.reminded.add(str(p["when"]))
    word = "is overdue" if p["when"] == "overdue" else "is due soon"
    return f"reminder: task {task.id} ({task.owner}) {word}"


def _note(view: OperationView, p: dict[str, Any], at: float, actor: str) -> str:
    view.notes.append((at, actor, str(p["text"])))
    return f"note: {p['text']}"


def _closed(view: OperationView, p: dict[str, Any], at: float, actor: str) -> str:
    view.closed_at, view.closing = at, str(p["summary"])
    for holder in view.roles.values():
        holder.until = at
    return f"operation closed: {view.closing}"


_HANDLERS = {"level": _level, "role": _role, "update": _update, "task": _task,
             "task_owner": _task_owner, "task_done": _task_done, "reminded": _reminded,
             "noted": _note, "closed": _closed}
