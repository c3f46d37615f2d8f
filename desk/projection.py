"""Everything on the desk, as a projection of the store's events in their global order.

Each desk process keeps one `DeskModel` in memory, built from the whole log at start and moved
on by the events after the last position it saw (its own writes and other desks' alike), so
two desks that have read up to the same position show the same thing. It answers what the
screens and commands ask: a case, an operation, what is due next across everything
(breaching soonest first), the aggregate signals of an operation, the timeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from datetime import datetime, timezone
from sys import intern

from incidents.store import StoredEvent
from playbooks.errors import PlaybookError

from desk.case.events import STREAM_PREFIX as CASE_PREFIX
from desk.case.projection import CaseView, ViewError, apply_event, open_view, short_reason

from desk.errors import DeskError
from desk.operation.events import STREAM_PREFIX as OP_PREFIX
from desk.operation.events import UPDATE_KINDS
from desk.operation.projection import (OperationView, apply_operation_event,
                                       open_operation_view)
from desk.playbooks import STREAM_PREFIX as BOOK_PREFIX
from desk.playbooks import Book, book_from_text
from desk.settings import SETTINGS_STREAM, Settings

__all__ = ["Entry", "Timeline", "Due", "Changes", "Bulk", "DeskModel", "SOON_MINUTES"]

SOON_MINUTES = 30.0
"""'Breaching soon': a deadline within this many minutes."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline: who did what, when, to which case or operation. The time
    is kept as a POSIX timestamp (a long operation has a hundred thousand lines; `at` makes
    the datetime of the few that are shown)."""

    gseq: int
    stamp: float
    actor: str
    subject: str
    """The case or operation id ('' for the desk's own settings)."""
    operation: str | None
    kind: str
    text: str

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.stamp, timezone.utc)


class Timeline:
    """Every entry, in order, kept as columns (a long operation has a hundred thousand;
    columns load from a snapshot at once and make an Entry only for what is read)."""

    COLUMNS = ("gseq", "stamp", "actor", "subject", "operation", "kind", "text")

    def __init__(self, columns: list[list[Any]] | None = None) -> None:
        self.columns: list[list[Any]] = columns if columns is not None else \
            [[] for _ in self.COLUMNS]

    def append(self, entry: Entry) -> None:
        for column, value in zip(self.columns, (entry.gseq, entry.stamp, entry.actor,
                                                entry.subject, entry.operation, entry.kind,
                                                entry.text)):
            column.append(value)

    def __len__(self) -> int:
        return len(self.columns[0])

    def _entry(self, i: int) -> Entry:
        return Entry(*(column[i] for column in self.columns))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._entry(i) for i in range(*index.indices(len(self)))]
        return self._entry(range(len(self))[index])

    def __iter__(self) -> Iterator[Entry]:
        return (Entry(*row) for row in zip(*self.columns))

    def __reversed__(self) -> Iterator[Entry]:
        return (self._entry(i) for i in range(len(self) - 1, -1, -1))

    def of(self, subject: str) -> list[Entry]:
        """The entries about one case or operation, in order."""
        subjects = self.columns[3]
        return [self._entry(i) for i, s in enumerate(subjects) if s == subject]


@dataclass(frozen=True, slots=True)
class Due:
    """Something due on the desk: a deadline, an owed message or update, a task."""

    due: float
    kind: str
    """sla, escalation, timer, message, update, task."""
    what: str
    case: str | None
    operation: str | None
    owner: str
    tier: str


@dataclass
class Bulk:
    """One bulk action over many cases (events sharing a correlation id)."""

    at: datetime
    actor: str
    kind: str
    operation: str | None
    detail: str
    cases: int = 0


@dataclass
class Changes:
    """What a batch of events touched."""

    cases: set[str] = field(default_factory=set)
    operations: set[str] = field(default_factory=set)
    entries: list[Entry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.cases or self.operations or self.entries)


class DeskModel:
    """The projection (see the module docstring). Not thread-safe: the Desk locks it."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.position = 0
        self.books: dict[str, Book] = {}
        self.cases: dict[str, CaseView] = {}
        self.operations: dict[str, OperationView] = {}
        self.settings = Settings()
        self.timeline = Timeline()
        self.bulk: dict[str, Bulk] = {}
        """Bulk actions by correlation id, in the order they were taken."""
        self.problems: list[str] = []
        """Streams that could not be read at all (a damaged header): said, not fatal."""

    # -- moving on ---------------------------------------------------------------------------
    def apply(self, events: Iterable[StoredEvent]) -> Changes:
        changes = Changes()
        for event in events:
            if event.gseq <= self.position:
                continue  # already seen (two refreshes read overlapping ranges)
            self.position = event.gseq
            sid = event.stream_id
            try:
                if sid.startswith(CASE_PREFIX):
                    entry = self._case(event, changes)
                elif sid.startswith(OP_PREFIX):
                    entry = self._operation(event, changes)
                elif sid.startswith(BOOK_PREFIX):
                    entry = self._book(event)
                elif sid == SETTINGS_STREAM:
                    entry = self._settings(event)
                else:
                    continue  # a drill record in the same file: not the desk's
            except (ViewError, DeskError, PlaybookError) as exc:
                self.problems.append(f"stream {sid}, event {event.seq}: {short_reason(exc)}")
                continue
            if entry is not None:
                self.timeline.append(entry)
                changes.entries.append(entry)
        return changes

    def _case(self, event: StoredEvent, changes: Changes) -> Entry | None:
        case_id = event.stream_id[len(CASE_PREFIX):]
        if event.seq == 1:
            ref = event.payload.get("playbook")
            book = self.books.get(ref) if isinstance(ref, str) else None
            if book is None:
                raise ViewError(f"its playbook {ref!r} is not in the database")
            view, text = open_view(event, book)
            self.cases[case_id] = view
            if view.operation is not None:
                op = self.operations.get(view.operation)
                if op is not None:
                    op.cases.add(case_id)
                    changes.operations.add(op.id)
        else:
            view = self.cases.get(case_id)
            if view is None:
                return None  # its header was damaged: said once, in problems
            text = apply_event(view, event)
            if event.correlation is not None:
                self._bulk(event, view.operation)
        changes.cases.add(case_id)
        return Entry(event.gseq, event.wall.timestamp(), intern(event.actor or ""), case_id,
                     view.operation, intern(event.kind), text)

    def _operation(self, event: StoredEvent, changes: Changes) -> Entry | None:
        op_id = event.stream_id[len(OP_PREFIX):]
        if event.seq == 1:
            ref = event.payload.get("playbook")
            book = self.books.get(ref) if isinstance(ref, str) else None
            if book is None:
                raise ViewError(f"its playbook {ref!r} is not in the database")
            view, text = open_operation_view(event, book)
            self.operations[op_id] = view
        else:
            view = self.operations.get(op_id)
            if view is None:
                return None
            text = apply_operation_event(view, event)
        changes.operations.add(op_id)
        return Entry(event.gseq, event.wall.timestamp(), intern(event.actor or ""), op_id, op_id,
                     intern(event.kind), text)

    def _bulk(self, event: StoredEvent, operation: str | None) -> None:
        record = self.bulk.get(str(event.correlation))
        if record is None:
            p = event.payload
            detail = str(p.get("level") or p.get("owner") or p.get("obligation")
                         or p.get("resolution") or p.get("text") or "")
            reason = str(p.get("reason", ""))
            record = Bulk(event.wall, event.actor or "", event.kind, operation,
                          detail + (f" ({reason})" if reason else ""))
            self.bulk[str(event.correlation)] = record
        record.cases += 1

    def _book(self, event: StoredEvent) -> None:
        if event.seq == 1:
            ref = event.stream_id[len(BOOK_PREFIX):]
            self.books[ref] = book_from_text(str(event.payload.get("text", "")), ref,
                                             self.where)

    def _settings(self, event: StoredEvent) -> Entry | None:
        text = self.settings.apply(event)
        return None if text is None else Entry(event.gseq, event.wall.timestamp(),
                                                intern(event.actor or ""), "", None,
                                                intern(event.kind), text)

    # -- questions ---------------------------------------------------------------------------
    def case(self, case_id: str) -> CaseView:
        view = self.cases.get(case_id)
        if view is None:
            raise DeskError(self.where, f"no case {case_id!r} on this desk")
        return view

    def operation(self, op_id: str) -> OperationView:
        view = self.operations.get(op_id)
        if view is None:
            known = ", ".join(sorted(self.operations)[-5:]) or "none yet"
            raise DeskError(self.where, f"no operation {op_id!r} on this desk (operations: "
                                        f"{known})")
        return view

    def cases_of(self, op_id: str | None, *, closed: bool = False) -> list[CaseView]:
        """The cases of an operation (None: every case), open ones unless `closed`."""
        views = self.cases.values() if op_id is None else \
            (self.cases[c] for c in sorted(self.operation(op_id).cases))
        return [v for v in views if closed or not v.closed]

    def signals(self, op_id: str, now: float) -> dict[str, float]:
        """The playbook's emergency signals for an operation at minute `now`, as the desk
        can measure them: open backlog, arrivals in the last hour, complaints in 24 h, SLA
        breaches of open cases; stock-outs are not known to the desk (0)."""
        views = [self.cases[c] for c in self.operation(op_id).cases]
        return {"open_backlog": float(sum(not v.closed for v in views)),
                "arrivals_per_hour": float(sum(now - 60 < v.opened <= now for v in views)),
                "complaints_24h": float(sum(v.incident.kind == "complaint"
                                            and now - 1440 < v.opened <= now for v in views)),
                "breaches": float(sum(bool(v.breaches) and not v.closed for v in views)),
                "stock_outs": 0.0}

    def due_next(self, *, operation: str | None = None, limit: int | None = None) -> list[Due]:
        """Everything due, soonest (most overdue) first."""
        out: list[Due] = []
        cases = self.cases.values() if operation is None else \
            [self.cases[c] for c in self.operation(operation).cases]
        for view in cases:
            if not view.closed:
                out.extend(_case_due(view))
        ops = self.operations.values() if operation is None else [self.operation(operation)]
        for op in ops:
            if not op.closed:
                out.extend(_operation_due(op))
        out.sort(key=lambda d: (d.due, d.kind, d.case or d.operation or ""))
        return out if limit is None else out[:limit]


def _case_due(view: CaseView) -> list[Due]:
    out = []
    tier = view.incident.tier.value
    esc_rules = view.book.playbook.escalation.rules
    for key, due in view.case.timers.items():
        kind, _, name = key.partition(":")
        if kind == "sla":
            what = f"{name} due"
        elif kind == "esc":
            rule = esc_rules.get(name)
            what = f"escalates to {rule.to if rule else '?'} ({name})"
            kind = "escalation"
        elif kind == "timer":
            what = f"{name.split(':')[0]} timer"
        else:
            continue  # comm: a repeat; the message shows when it is owed
        out.append(Due(due, kind, what, view.id, view.operation, view.owner, tier))
    for owed in view.owed:
        out.append(Due(owed.due, "message", f"{owed.audience} message owed: {owed.obligation}",
                       view.id, view.operation, view.owner, tier))
    return out


def _operation_due(op: OperationView) -> list[Due]:
    out = []
    lead = op.lead
    for kind in UPDATE_KINDS:
        due = op.update_due(kind)
        if due is not None:
            owner = (op.roles.get("communications") or op.roles.get("lead"))
            out.append(Due(due, "update", f"{UPDATE_KINDS[kind][1]} owed", None, op.id,
                           owner.person if owner else lead, ""))
    for owed in op.owed:
        out.append(Due(owed.due, "update", f"{owed.audience} message owed: {owed.obligation}",
                       None, op.id, lead, ""))
    for task in op.tasks.values():
        if task.done_at is None and task.due is not None:
            out.append(Due(task.due, "task", f"task {task.id}: {task.title}", task.case, op.id,
                           task.owner, ""))
    return out


