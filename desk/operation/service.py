"""What coordinators do to an operation: the checks, then an append on the version decided on.

Level changes, role changes and closing are decided on the operation's version (a second
coordinator declaring a level at the same moment gets a conflict, sees the first one's
decision, and decides again); notes, updates and tasks append at any version, since they
never contradict one another. The lead is always named: the lead role is handed over with a
summary of what the new lead takes on, never left empty.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from incidents.sla import Duration
from incidents.store import Pending
from playbooks.emergency import Posture

from desk.case.events import payload
from desk.case.service import Done, checked, new_key, repeated
from desk.clock import instant, local_text, parse_time
from desk.desk import Desk
from desk.errors import Conflict, DeskError
from desk.operation.events import (DEFAULT_CADENCE, ROLES, STREAM_KIND, UPDATE_KINDS, LevelDeclared,
                                   OperationClosed, OperationNoted, OperationOpened, RoleTaken,
                                   StatusUpdate, TaskAdded, TaskDone, TaskOwner, stream_of)
from desk.operation.projection import OperationView
from desk.playbooks import book_pending, load_book

__all__ = ["open_operation", "declare_level", "take_role", "update", "add_task",
           "task_owner", "task_done", "note", "close", "recommended_level", "update_draft"]


def open_operation(desk: Desk, op_id: str, title: str, playbook: str, *, lead: str | None = None,
                   summary: str = "", cadence: dict[str, str] | None = None,
                   opened_at: datetime | None = None, key: str | None = None) -> Done:
    """A new operation; its lead is `lead` or the operator."""
    _check_id(desk, op_id)
    book = load_book(playbook)
    body = checked(OperationOpened, desk.where, title=title, playbook=book.ref,
                   lead=lead or desk.operator, summary=summary,
                   cadence={**DEFAULT_CADENCE, **(cadence or {})},
                   opened_at=(opened_at or desk.now()).isoformat())
    with desk.lock:
        if op_id in desk.model.operations:
            raise DeskError(desk.where, f"operation {op_id} already exists")
        batch = [] if book.ref in desk.model.books else [book_pending(book, desk.operator)]
    batch.append(Pending(stream_of(op_id), "header", payload(body), actor=desk.operator,
                         stream_kind=STREAM_KIND, key=key))
    written = desk.submit(batch)
    if not written[-1].new:
        return Done(op_id, f"operation {op_id} was already opened", 0, True, 1)
    return Done(op_id, f"opened operation {op_id}: {title} (lead {body.lead})", 1, False, 1)


def _check_id(desk: Desk, op_id: str) -> None:
    if not isinstance(op_id, str) or not 0 < len(op_id) <= 80 or not op_id.isprintable() \
            or op_id != op_id.strip():
        raise DeskError(desk.where, f"operation id {op_id!r}: 1 to 80 printable characters "
                                    "without surrounding spaces")


def _act(desk: Desk, op_id: str, kind: str, body: Any, message: str, *,
         expected: int | None, key: str | None, versioned: bool = True) -> Done:
    earlier = repeated(desk, key, f"operation {op_id}")
    if earlier is not None:
        return earlier
    with desk.lock:
        view = desk.model.operation(op_id)
        _open(desk, view)
        if expected is not None and expected != view.version:
            raise Conflict(desk.where, f"operation {op_id} changed meanwhile (it is at version "
                                       f"{view.version}, the action was decided on version "
                                       f"{expected}): nothing was written; look again")
        version = view.version if versioned else None
    written = desk.submit([Pending(view.stream, kind, payload(body), expected_version=version,
                                   key=key or new_key(desk, kind), actor=desk.operator)])
    if not written[0].new:
        return Done(op_id, f"operation {op_id}: already done (event {written[0].seq})", 0, True,
                    written[0].seq)
    return Done(op_id, f"operation {op_id}: {message}", 1, False, written[0].seq)


def _open(desk: Desk, view: OperationView) -> None:
    if view.closed:
        when = local_text(instant(view.closed_at or 0.0), view.book.zone, date=True)
        raise DeskError(desk.where, f"operation {view.id} is closed (at {when}); nothing "
                                    "changed")


def recommended_level(desk: Desk, op_id: str) -> tuple[str, dict[str, float]]:
    """What the playbook's emergency rules advise now, and the signals measured."""
    with desk.lock:
        view = desk.model.operation(op_id)
        now = max(desk.minute(), view.level_since)
        signals = desk.model.signals(op_id, now)
        posture, _ = view.book.emergency.evaluate(Posture(view.level, view.level_since),
                                                  signals, now)
        return view.book.emergency.names[posture.level], signals


def declare_level(desk: Desk, op_id: str, level: str, reason: str, *,
                  expected: int | None = None, key: str | None = None) -> Done:
    """Declare the emergency level (up or down) with a reason; the playbook's unlocks and
    level-change messages follow."""
    desk.poll()  # decide on what the other desks did too
    with desk.lock:
        view = desk.model.operation(op_id)
        em = view.book.emergency
        if level not in em.names:
            raise DeskError(desk.where, f"unknown emergency level {level!r}; levels of "
                                        f"{view.book.name}: {', '.join(em.names)}")
        if em.index(level) == view.level:
            raise DeskError(desk.where, f"operation {op_id} is already at level {level}")
        signals = desk.model.signals(op_id, desk.minute())
    body = checked(LevelDeclared, desk.where, level=level, reason=reason.strip(),
                   signals=signals)
    return _act(desk, op_id, "level", body, f"emergency level {view.level_name} → {level}",
                expected=expected, key=key)


def take_role(desk: Desk, op_id: str, role: str, person: str, summary: str = "", *,
              expected: int | None = None, key: str | None = None) -> Done:
    """`person` takes `role`; from someone else it is a handoff (the lead's needs a summary)."""
    desk.poll()  # decide on what the other desks did too
    if role not in ROLES:
        raise DeskError(desk.where, f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    person, summary = person.strip(), summary.strip()
    with desk.lock:
        view = desk.model.operation(op_id)
        current = view.roles.get(role)
        if role == "lead" and not person:
            raise DeskError(desk.where, "the incident lead is always named: hand the role "
                                        "over to someone instead of leaving it empty")
        if current is not None and current.person == person:
            raise DeskError(desk.where, f"{person} is already the {ROLES[role]}")
        if role == "lead" and current is not None and not summary:
            raise DeskError(desk.where, f"handing the lead over from {current.person} to "
                                        f"{person} needs a summary (what the new lead takes on)")
        if current is None and not person:
            raise DeskError(desk.where, f"nobody is the {ROLES[role]}")
    body = checked(RoleTaken, desk.where, role=role, person=person, summary=summary)
    what = (f"{ROLES[role]} handed over from {current.person} to {person}" if current and person
            else f"{person} is {ROLES[role]}" if person else f"{ROLES[role]} left empty")
    return _act(desk, op_id, "role", body, what, expected=expected, key=key)


def update_draft(desk: Desk, op_id: str, kind: str) -> dict[str, str]:
    """A status update pre-filled from the operation: the context repeated (title, level,
    backlog), and for management and public the playbook's owed text if any."""
    with desk.lock:
        view = desk.model.operation(op_id)
        signals = desk.model.signals(op_id, desk.minute())
        audience = UPDATE_KINDS[kind][0] if kind in UPDATE_KINDS else ""
        owed = next((o for o in view.owed if o.audience == audience), None)
        open_tasks = [t for t in view.tasks.values() if t.done_at is None]
    context = (f"{view.title}: emergency level {view.level_label}; {signals['open_backlog']:.0f} "
               f"cases open, {signals['arrivals_per_hour']:.0f} new in the last hour, "
               f"{signals['breaches']:.0f} with a breached deadline")
    return {"conditions": context,
            "actions": f"{len(open_tasks)} task(s) open" if open_tasks else "",
            "needs": "",
            "text": owed.text if owed is not None else context}


def update(desk: Desk, op_id: str, kind: str, *, conditions: str = "", actions: str = "",
           needs: str = "", text: str = "", key: str | None = None) -> Done:
    """Send a status update: tactical (conditions, actions, needs), management or public."""
    if kind not in UPDATE_KINDS:
        raise DeskError(desk.where, f"unknown update kind {kind!r}; one of "
                                    f"{', '.join(UPDATE_KINDS)}")
    body = checked(StatusUpdate, desk.where, kind=kind, conditions=conditions.strip(),
                   actions=actions.strip(), needs=needs.strip(), text=text.strip())
    if not any((body.conditions, body.actions, body.needs, body.text)):
        raise DeskError(desk.where, "a status update says something: give conditions, "
                                    "actions, needs or text")
    return _act(desk, op_id, "update", body, f"{UPDATE_KINDS[kind][1]} sent", expected=None,
                key=key, versioned=False)


def add_task(desk: Desk, op_id: str, title: str, owner: str, *, due: str | None = None,
             remind: str = "15m", case: str | None = None, key: str | None = None) -> Done:
    """A task with an owner, a due time (ISO, or a duration from now: '2h') and a reminder
    that long before it is due."""
    desk.poll()  # decide on what the other desks did too
    with desk.lock:
        view = desk.model.operation(op_id)
        zone = view.book.zone
        if case is not None:
            desk.model.case(case)
    due_text = None
    if due:
        try:
            due_at = desk.now() + _delta(Duration.parse(due))
        except (ValueError, DeskError):
            due_at = parse_time(due, desk.where, zone=zone)
        due_text = due_at.isoformat()
    try:
        ahead = Duration.parse(remind).wall_minutes
    except ValueError as exc:
        raise DeskError(desk.where, f"remind: {exc}") from None
    body = checked(TaskAdded, desk.where, title=title.strip(), owner=owner.strip(), due=due_text,
                   remind=ahead, case=case)
    done = _act(desk, op_id, "task", body, "", expected=None, key=key, versioned=False)
    task_id = f"T{done.version}"
    if done.repeated:
        return Done(op_id, f"operation {op_id}: task {task_id} was already added", 0, True,
                    done.version)
    return Done(task_id, f"operation {op_id}: task {task_id} for {body.owner}: {body.title}",
                1, False, done.version)


def _delta(duration: Duration) -> timedelta:
    return timedelta(minutes=duration.wall_minutes)


def _task(desk: Desk, op_id: str, task_id: str) -> Any:
    desk.poll()
    with desk.lock:
        view = desk.model.operation(op_id)
        task = view.tasks.get(task_id)
        if task is None:
            raise DeskError(desk.where, f"operation {op_id} has no task {task_id!r} (tasks: "
                                        f"{', '.join(view.tasks) or 'none'})")
        if task.done_at is not None:
            raise DeskError(desk.where, f"task {task_id} is already done")
        return task


def task_owner(desk: Desk, op_id: str, task_id: str, owner: str, *,
               key: str | None = None) -> Done:
    task = _task(desk, op_id, task_id)
    if task.owner == owner.strip():
        raise DeskError(desk.where, f"task {task_id} is already {owner}'s")
    body = checked(TaskOwner, desk.where, task=task_id, owner=owner.strip())
    return _act(desk, op_id, "task_owner", body, f"task {task_id} handed to {body.owner}",
                expected=None, key=key, versioned=False)


def task_done(desk: Desk, op_id: str, task_id: str, note: str = "", *,
              key: str | None = None) -> Done:
    _task(desk, op_id, task_id)
    body = checked(TaskDone, desk.where, task=task_id, note=note.strip())
    return _act(desk, op_id, "task_done", body, f"task {task_id} done", expected=None, key=key,
                versioned=False)


def note(desk: Desk, op_id: str, text: str, *, key: str | None = None) -> Done:
    body = checked(OperationNoted, desk.where, text=text)
    return _act(desk, op_id, "noted", body, "note added", expected=None, key=key,
                versioned=False)


def close(desk: Desk, op_id: str, summary: str, *, expected: int | None = None,
          key: str | None = None) -> Done:
    """Close the operation with a summary; its cases stay as they are (open ones say so)."""
    desk.poll()  # decide on what the other desks did too
    with desk.lock:
        still = len(desk.model.cases_of(op_id))
    body = checked(OperationClosed, desk.where, summary=summary.strip())
    done = _act(desk, op_id, "closed", body, "closed", expected=expected, key=key)
    if still and not done.repeated:
        return Done(op_id, done.message + f" ({still} of its cases still open)", done.written,
                    False, done.version)
    return done
