"""What a coordinator does to cases: the checks, then an append on the version decided on.

Every function takes the desk and keyword arguments, decides on the desk's projection under
its lock (the case caught up to the clock first: desk/scheduled.py), and writes the events
with the case's version (`expected`: the version the caller saw, when it is not the
projection's: a script that read `muster incident show` a minute ago) and an idempotency key
(`key`; a retry under the same key is applied once and reported as such). Refusals are
DeskErrors naming the case and why; nothing is written then.

`ack` fires the trigger that takes the case into its playbook's acknowledge milestone;
`resolve` takes it to a final state along the playbook's most likely path (the outcomes with
the highest probabilities, never the abandon trigger), recorded as one event with the path.
"""

from __future__ import annotations

import heapq
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from incidents.model import Incident
from incidents.store import Pending
from playbooks.errors import InvalidTrigger
from playbooks.runtime import Case

from desk.case.events import (STREAM_KIND, Assigned, CaseOpened, Escalated, Fired, Noted,
                              Resolved, Sent, payload, stream_of)
from desk.case.projection import CaseView
from desk.clock import local_text, instant
from desk.desk import Desk
from desk.errors import Conflict, DeskError
from desk.playbooks import Book, book_pending, load_book, playbook_for_kind
from desk.scheduled import catch_up

__all__ = ["Done", "BulkDone", "open_case", "open_cases", "fire", "ack", "assign", "escalate",
           "note", "send", "resolve", "bulk", "BULK_ACTIONS", "new_key", "checked", "repeated"]

BULK_ACTIONS = ("assign", "escalate", "send", "close", "ack", "note")


@dataclass(frozen=True)
class Done:
    """What an action did: one line to show, and whether it was new."""

    subject: str
    message: str
    written: int
    repeated: bool = False
    """The key had been used already: the earlier action stands, nothing new was written."""
    version: int = 0


@dataclass(frozen=True)
class BulkDone:
    done: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(case, why) for the cases the action does not apply to."""
    written: int = 0
    """Actions written now (not counting the deadlines written before them)."""

    @property
    def message(self) -> str:
        text = f"{len(self.done)} case(s) done"
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        return text


def new_key(desk: Desk, what: str) -> str:
    """A fresh idempotency key for one user action."""
    return f"{what}:{uuid.uuid4().hex}"


def checked(model: type[Any], where: str, **values: Any) -> Any:
    """A payload model from user values, or a DeskError naming the field."""
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"]
                             for e in exc.errors())
        raise DeskError(where, problems) from None


# -- opening ---------------------------------------------------------------------------------

def open_case(desk: Desk, incident: Incident, *, playbook: str | None = None,
              operation: str | None = None, source: str = "", key: str | None = None) -> Done:
    """Open one case (a phone call, a script)."""
    result = open_cases(desk, [incident], playbook=playbook, operation=operation,
                        sources=[source], key=key)
    return result[0]


def open_cases(desk: Desk, incidents: list[Incident], *, playbook: str | None = None,
               operation: str | None = None, sources: list[str] | None = None,
               key: str | None = None, where: list[str] | None = None) -> list[Done]:
    """Open many cases in one batch (an import): all or none. `where` names each one's
    origin for messages (FILE:ROW); `key` makes each case's key `KEY:ID`."""
    labels = where or [desk.where] * len(incidents)
    desk.poll()
    again: list[Done] = []
    with desk.lock:
        books: dict[str, Book] = {}
        op_book = None
        if operation is not None:
            op = desk.model.operation(operation)
            if op.closed:
                raise DeskError(desk.where, f"operation {operation} is closed; open the cases "
                                            "on their own or in another operation")
            op_book = op.book
        batch: list[Pending] = []
        seen: set[str] = set()
        for i, incident in enumerate(incidents):
            if key is not None and desk.store.keyed(f"{key}:{incident.id}") is not None:
                again.append(Done(incident.id, f"{incident.id}: already opened (the same key)",
                                  0, True, 1))
                continue  # a retry: this case was opened under this key before
            if len(incident.id) > 80 or not incident.id.isprintable() \
                    or incident.id != incident.id.strip():
                raise DeskError(labels[i], f"case id {incident.id!r}: 1 to 80 printable "
                                           "characters without surrounding spaces")
            if incident.id in desk.model.cases or incident.id in seen:
                raise DeskError(labels[i], f"case {incident.id} is already on the desk")
            seen.add(incident.id)
            if playbook is not None:
                name = playbook
            elif op_book is not None and incident.kind in (op_book.playbook.kinds or
                                                           [incident.kind]):
                name = op_book.name
            else:
                name = playbook_for_kind(incident.kind, labels[i])
            book = books.get(name)
            if book is None:
                book = op_book if op_book is not None and name == op_book.name else \
                    load_book(name)
                books[name] = book
                if book.ref not in desk.model.books:
                    batch.append(book_pending(book, desk.operator))
            header = CaseOpened(incident=incident.model_dump(mode="json"), playbook=book.ref,
                                operation=operation, source=sources[i] if sources else "")
            batch.append(Pending(stream_of(incident.id), "header", payload(header),
                                 actor=desk.operator, stream_kind=STREAM_KIND,
                                 key=None if key is None else f"{key}:{incident.id}"))
    written = desk.submit(batch) if batch else []
    out = again
    for w in written:
        if w.seq == 1 and w.stream_id.startswith("case:"):
            case_id = w.stream_id[5:]
            out.append(Done(case_id, f"opened {case_id}", int(w.new), not w.new, 1))
    return out


# -- one case --------------------------------------------------------------------------------

Build = Callable[[CaseView, Case, float], tuple[str, dict[str, Any], str]]
"""(view, the case caught up, minute) -> (event kind, payload, message)."""


def repeated(desk: Desk, key: str | None, subject: str) -> Done | None:
    """Before deciding: read what other desks wrote (cheap when nothing), then the earlier
    action under `key`, if there was one: a retry is a success, whatever has happened to the
    case since (the rules and the version are not looked at again)."""
    desk.poll()
    found = None if key is None else desk.store.keyed(key)
    if found is None:
        return None
    return Done(subject, f"{subject}: already done (the same action was applied before, as "
                         f"event {found.seq})", 0, True, found.seq)


def _act(desk: Desk, case_id: str, build: Build, *, expected: int | None,
         key: str | None, what: str) -> Done:
    earlier = repeated(desk, key, case_id)
    if earlier is not None:
        return earlier
    with desk.lock:
        view = desk.model.case(case_id)
        _open(desk, view)
        if expected is not None and expected != view.version:
            raise Conflict(desk.where, f"case {case_id} changed meanwhile (it is at version "
                                       f"{view.version}, the action was decided on version "
                                       f"{expected}): nothing was written; look again")
        now = max(desk.minute(), view.case.updated)
        case, batch = catch_up(view, now, desk.operator)
        if case.closed:
            raise DeskError(desk.where, f"case {case_id} was closed by its deadline "
                                        f"({case.state}); nothing changed")
        kind, body, message = build(view, case, now)
        batch.append(Pending(view.stream, kind, body, expected_version=view.version + len(batch),
                             key=key or new_key(desk, what), actor=desk.operator))
    written = desk.submit(batch)
    last = written[-1]
    with desk.lock:
        version = desk.model.case(case_id).version
    if not last.new:
        return Done(case_id, f"{case_id}: already done (the same action was applied before, "
                             f"as event {last.seq})", 0, True, version)
    return Done(case_id, f"{case_id}: {message}", sum(w.new for w in written), False, version)


def _open(desk: Desk, view: CaseView) -> None:
    if view.closed:
        when = "" if view.closed_at is None else \
            " at " + local_text(instant(view.closed_at), view.book.zone, date=True)
        raise DeskError(desk.where, f"case {view.id} is closed ({view.state}{when}); nothing "
                                    "changed")


def _refused(desk: Desk, exc: InvalidTrigger) -> DeskError:
    return DeskError(desk.where, str(exc).splitlines()[0])


def fire(desk: Desk, case_id: str, trigger: str, *, expected: int | None = None,
         key: str | None = None) -> Done:
    """Fire a playbook trigger (a step of the lifecycle: 受理, received, diagnosed...)."""
    def build(view: CaseView, case: Case, now: float) -> tuple[str, dict[str, Any], str]:
        body = checked(Fired, desk.where, trigger=trigger)
        try:
            step = view.book.runtime.fire(case, trigger, now)
        except InvalidTrigger as exc:
            raise _refused(desk, exc) from None
        return "fired", payload(body), f"{trigger}: {case.state} → {step.case.state}"
    return _act(desk, case_id, build, expected=expected, key=key, what="fire")


def ack(desk: Desk, case_id: str, *, expected: int | None = None,
        key: str | None = None) -> Done:
    """Acknowledge: fire the trigger that takes the case into its acknowledge milestone."""
    def build(view: CaseView, case: Case, now: float) -> tuple[str, dict[str, Any], str]:
        target = view.book.playbook.lifecycle.milestones.get("acknowledge")
        if target is None:
            raise DeskError(desk.where, f"case {case_id}: playbook {view.book.name} has no "
                                        "acknowledge milestone; fire one of its triggers")
        if "acknowledge" in case.met:
            met = view.met.get("acknowledge")
            when = "" if met is None else \
                " at " + local_text(instant(met.at), view.book.zone, date=True)
            raise DeskError(desk.where, f"case {case_id} is already acknowledged{when}")
        path = _path(view, case, {target})
        if not path:
            raise DeskError(desk.where, f"case {case_id}: no step of {view.book.name} leads "
                                        f"from {case.state} to {target}")
        step = view.book.runtime.fire(case, path[0], now)
        due = view.case.timers.get("sla:acknowledge", math.inf)
        late = " (late)" if now > due or "acknowledge" in case.breached else ""
        return "fired", payload(Fired(trigger=path[0])), \
            f"acknowledged{late}: {path[0]} ({case.state} → {step.case.state})"
    return _act(desk, case_id, build, expected=expected, key=key, what="ack")


def assign(desk: Desk, case_id: str, owner: str, *, expected: int | None = None,
           key: str | None = None) -> Done:
    def build(view: CaseView, case: Case, now: float) -> tuple[str, dict[str, Any], str]:
        body = checked(Assigned, desk.where, owner=owner.strip())
        if body.owner == view.owner:
            raise DeskError(desk.where, f"case {case_id} is already "
                                        + (f"assigned to {owner}" if owner else "unassigned"))
        return "assigned", payload(body), \
            f"assigned to {body.owner}" if body.owner else "unassigned"
    return _act(desk, case_id, build, expected=expected, key=key, what="assign")


def escalate(desk: Desk, case_id: str, level: str | None = None, reason: str = "manual", *,
             expected: int | None = None, key: str | None = None) -> Done:
    """Raise the case to `level` (default: the next level up)."""
    def build(view: CaseView, case: Case, now: float) -> tuple[str, dict[str, Any], str]:
        levels = view.book.runtime.levels
        target = level
        if target is None:
            if case.level + 1 >= len(levels):
                raise DeskError(desk.where, f"case {case_id} is at the top level "
                                            f"({levels[case.level]}); nowhere to escalate")
            target = levels[case.level + 1]
        body = checked(Escalated, desk.where, level=target, reason=reason or "manual")
        try:
            view.book.runtime.escalate(case, target, now, body.reason)
        except InvalidTrigger as exc:
            raise _refused(desk, exc) from None
        return "escalated", payload(body), f"escalated {levels[case.level]} → {target}"
    return _act(desk, case_id, build, expected=expected, key=key, what="escalate")


def note(desk: Desk, case_id: str, text: str, *, key: str | None = None) -> Done:
    """A note: never conflicts (any version), but not on a closed case."""
    earlier = repeated(desk, key, case_id)
    if earlier is not None:
        return earlier
    with desk.lock:
        view = desk.model.case(case_id)
        _open(desk, view)
        body = checked(Noted, desk.where, text=text)
    written = desk.submit([Pending(view.stream, "noted", payload(body), actor=desk.operator,
                                   key=key or new_key(desk, "note"))])
    if not written[0].new:
        return Done(case_id, f"{case_id}: already noted (event {written[0].seq})", 0, True)
    return Done(case_id, f"{case_id}: note added", 1, False, written[0].seq)


def send(desk: Desk, case_id: str, obligation: str | None = None, text: str | None = None, *,
         expected: int | None = None, key: str | None = None) -> Done:
    """Send an owed message: the one named, or the one due first; its text as the playbook
    wrote it unless `text` is given."""
    def build(view: CaseView, case: Case, now: float) -> tuple[str, dict[str, Any], str]:
        owed = sorted(view.owed, key=lambda o: o.due)
        chosen = next((o for o in owed if obligation in (None, o.obligation)), None)
        if chosen is None:
            names = ", ".join(o.obligation for o in owed) or "none"
            raise DeskError(desk.where, f"case {case_id} owes no message"
                            + (f" {obligation!r}" if obligation else "") + f" (owed: {names})")
        body = checked(Sent, desk.where, obligation=chosen.obligation, audience=chosen.audience,
                       text=text or chosen.text)
        late = " (late)" if now > chosen.due else ""
        return "sent", payload(body), f"sent {chosen.obligation} to the {chosen.audience}{late}"
    return _act(desk, case_id, build, expected=expected, key=key, what="send")


def resolve(desk: Desk, case_id: str, resolution: str = "", *, expected: int | None = None,
            key: str | None = None) -> Done:
    def build(view: CaseView, case: Case, now: float) -> tuple[str, dict[str, Any], str]:
        final = {n for n, s in view.book.playbook.lifecycle.states.items() if s.final}
        path = _path(view, case, final)
        if not path:
            raise DeskError(desk.where, f"case {case_id}: no path of {view.book.name} leads "
                                        f"from {case.state} to a final state")
        body = checked(Resolved, desk.where, path=path, resolution=resolution)
        return "resolved", payload(body), "resolved via " + " › ".join(path)
    return _act(desk, case_id, build, expected=expected, key=key, what="resolve")


def _path(view: CaseView, case: Case, targets: set[str]) -> list[str]:
    """The most likely trigger path from the case's state into `targets`: work outcomes
    weighted by their probabilities, outside events (never the abandon trigger) as unlikely,
    each route's condition tested on the incident."""
    book = view.book
    states = book.playbook.lifecycle.states
    abandon = book.playbook.lifecycle.abandon
    skip = {abandon.trigger} if abandon is not None and abandon.trigger else set()
    table = book.runtime.table
    incident = case.incident
    start = case.state
    best: dict[str, float] = {start: 0.0}
    heap: list[tuple[float, int, str, list[str]]] = [(0.0, 0, start, [])]
    counter = 1
    while heap:
        cost, _, state, path = heapq.heappop(heap)
        if state in targets and path:
            return path
        if cost > best.get(state, math.inf):
            continue
        outcomes = states[state].outcomes if state in states else {}
        for trigger, routes in table.get(state, {}).items():
            if trigger in skip:
                continue
            dest = next((d for pred, d in routes if pred is None or pred(incident)), None)
            if dest is None:
                continue
            p = outcomes[trigger].p if trigger in outcomes else 0.01
            step = cost - math.log(p)
            if step < best.get(dest, math.inf) - 1e-12:
                best[dest] = step
                heapq.heappush(heap, (step, counter, dest, path + [trigger]))
                counter += 1
    return []


# -- many cases ------------------------------------------------------------------------------

def bulk(desk: Desk, case_ids: list[str], action: str, *, owner: str = "",
         level: str | None = None, reason: str = "bulk", obligation: str | None = None,
         text: str = "", key: str | None = None) -> BulkDone:
    """One action over a selection, in one batch (all or nothing on disk): cases the action
    does not apply to (closed, already there, nothing owed) are skipped and listed."""
    if action not in BULK_ACTIONS:
        raise DeskError(desk.where, f"unknown bulk action {action!r}; one of "
                                    f"{', '.join(BULK_ACTIONS)}")
    batch: list[Pending] = []
    done: list[str] = []
    skipped: list[tuple[str, str]] = []
    actions: list[int] = []
    base = key or new_key(desk, f"bulk-{action}")
    desk.poll()
    with desk.lock:
        for case_id in case_ids:
            if key is not None and desk.store.keyed(f"{base}:{case_id}") is not None:
                done.append(case_id)  # this bulk action was applied to it before
                continue
            try:
                view = desk.model.case(case_id)
                _open(desk, view)
                now = max(desk.minute(), view.case.updated)
                case, pending = catch_up(view, now, desk.operator)
                kind, body = _bulk_one(desk, view, case, now, action, owner, level, reason,
                                       obligation, text)
            except DeskError as exc:
                skipped.append((case_id, exc.reason))
                continue
            pending.append(Pending(view.stream, kind, body, actor=desk.operator,
                                   expected_version=view.version + len(pending),
                                   key=f"{base}:{case_id}",
                                   correlation=base))
            batch.extend(pending)
            actions.append(len(batch) - 1)
            done.append(case_id)
    written = desk.submit(batch) if batch else []
    return BulkDone(done, skipped, sum(written[i].new for i in actions))


def _bulk_one(desk: Desk, view: CaseView, case: Case, now: float, action: str, owner: str,
              level: str | None, reason: str, obligation: str | None,
              text: str) -> tuple[str, dict[str, Any]]:
    rt = view.book.runtime
    if action == "assign":
        if owner == view.owner:
            raise DeskError(desk.where, f"already assigned to {owner}")
        return "assigned", payload(checked(Assigned, desk.where, owner=owner))
    if action == "note":
        return "noted", payload(checked(Noted, desk.where, text=text))
    if action == "escalate":
        target = level or (rt.levels[case.level + 1] if case.level + 1 < len(rt.levels)
                           else None)
        if target is None:
            raise DeskError(desk.where, "at the top level")
        try:
            rt.escalate(case, target, now, reason)
        except InvalidTrigger as exc:
            raise DeskError(desk.where, str(exc).splitlines()[0]) from None
        return "escalated", payload(checked(Escalated, desk.where, level=target,
                                            reason=reason or "bulk"))
    if action == "send":
        owed = sorted((o for o in view.owed if obligation in (None, o.obligation)),
                      key=lambda o: o.due)
        if not owed:
            raise DeskError(desk.where, "owes no such message")
        chosen = owed[0]
        return "sent", payload(checked(Sent, desk.where, obligation=chosen.obligation,
                                       audience=chosen.audience, text=text or chosen.text))
    if action == "ack":
        target = view.book.playbook.lifecycle.milestones.get("acknowledge")
        if target is None or "acknowledge" in case.met:
            raise DeskError(desk.where, "already acknowledged (or nothing to acknowledge)")
        path = _path(view, case, {target})
        if not path:
            raise DeskError(desk.where, f"no step leads from {case.state} to {target}")
        return "fired", payload(Fired(trigger=path[0]))
    final = {n for n, s in view.book.playbook.lifecycle.states.items() if s.final}
    path = _path(view, case, final)
    if not path:
        raise DeskError(desk.where, f"no path from {case.state} to a final state")
    return "resolved", payload(checked(Resolved, desk.where, path=path, resolution=text))
