"""Wall-clock timers: deadlines that came due, written as events once, whoever notices.

The playbook runtime arms deadlines (SLA clocks, escalation rules, repeated messages, state
timers) as minutes; the desk writes an `expired` event when the wall clock passes one, and
the projection applies it through the runtime. Several desks may notice the same deadline at
the same time: each writes it under the same key, `expire:CASE:DEADLINE:DUE`, and the store
keeps the first (incidents.store: a key is applied once). Task reminders likewise
(`remind:OPERATION:TASK:soon|overdue`).

A coordinator's action on a case first catches the case up: the deadlines already past are
written before the action, in the same batch, so the action is judged on the case as the
clock left it (an acknowledgement after the SLA deadline is late, whichever desk is first).
"""

from __future__ import annotations

import hashlib

from incidents.store import MAX_NAME, Pending
from playbooks.runtime import Case

from desk.case.events import Expired, payload
from desk.case.projection import CaseView
from desk.operation.events import Reminded
from desk.projection import DeskModel

__all__ = ["MAX_ROUNDS", "due_events", "catch_up", "timer_key"]

MAX_ROUNDS = 50
"""Deadlines written per case in one catch-up (a case left alone for weeks may owe a repeated
message every working day; fifty rounds is weeks of them, the rest follow on the next tick)."""


def timer_key(*parts: object) -> str:
    """A deterministic idempotency key from its parts (hashed if it would be too long)."""
    text = ":".join(str(p) for p in parts)
    if len(text) <= MAX_NAME and text.isprintable():
        return text
    return f"{parts[0]}:h:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:40]}"


def catch_up(view: CaseView, now: float, actor: str) -> tuple[Case, list[Pending]]:
    """The case with every deadline due before `now` expired, and the events that say so (each
    decided on the version the previous one makes)."""
    rt = view.book.runtime
    case, out = view.case, []
    version = view.version
    for _ in range(MAX_ROUNDS):
        if case.closed or not case.timers:
            break
        key = min(case.timers, key=lambda k: (case.timers[k], k))
        due = case.timers[key]
        if due >= now:  # at its minute it has not passed yet: an action then is on time
            break
        case = rt.expire(case, key, max(due, case.updated)).case
        out.append(Pending(view.stream, "expired", payload(Expired(deadline=key, due=due)),
                           expected_version=version, actor=actor,
                           key=timer_key("expire", view.id, key, f"{due:.4f}")))
        version += 1
    return case, out


def due_events(model: DeskModel, now: float, actor: str) -> list[Pending]:
    """Every timer event due before minute `now` that is not written yet: the next deadline of
    each open case, and the reminders of open tasks."""
    out: list[Pending] = []
    for view in model.cases.values():
        if view.closed:
            continue
        nxt = view.next_deadline()
        if nxt is not None and nxt[1] < now:
            out.extend(catch_up(view, now, actor)[1])
    for op in model.operations.values():
        if op.closed:
            continue
        for task in op.tasks.values():
            if task.done_at is not None or task.due is None:
                continue
            for when, at in (("soon", task.due - task.remind), ("overdue", task.due)):
                if at <= now and when not in task.reminded:
                    out.append(Pending(op.stream, "reminded",
                                       Reminded(task=task.id, when=when).model_dump(),
                                       actor=actor,
                                       key=timer_key("remind", op.id, task.id, when,
                                                     task.owner)))
    return out
