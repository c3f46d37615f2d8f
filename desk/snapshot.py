"""Snapshots of the desk's projection: open a 100,000-event operation in well under a second.

Replaying every event through the playbook runtime takes tens of microseconds an event; a
desk that has seen a long operation saves its projection now and then (`Desk.save_snapshot`,
in the store's snapshots table, at the global position it stands for), and the next desk to
open reads it and replays only the events after it. A snapshot is derived data: one that is
damaged, of another format or of another Muster version, or of a position the store does not
reach, is ignored and the log replayed in full (the log stays the truth).

The format is Python's pickle of built-in values only (tuples, lists, dicts, sets, text,
numbers): the loader refuses any class, so a snapshot in a tampered database cannot run code.
The projection's objects are turned into plain values and back here; the playbooks are read
again from their streams.
"""

from __future__ import annotations

import gc
import hashlib
import io
import pickle
from collections.abc import Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from incidents.model import Channel, Incident, Severity, Tier
from playbooks.runtime import Case

from desk.case.projection import CaseView, Met, Owed, SentMessage
from desk.operation.projection import Grant, Holder, OperationView, Task, Update
from desk.playbooks import Book
from desk.projection import Bulk, DeskModel, Timeline
from desk.settings import Settings

__all__ = ["NAME", "FORMAT", "dump", "load", "SnapshotError"]

FORMAT = 1
"""Bump when the projection's meaning changes: older snapshots are then ignored."""
NAME = f"desk-model-{FORMAT}"
_MAGIC = b"MUSTER-DESK-SNAPSHOT\x00"
_EMPTY: Mapping[str, int] = MappingProxyType({})
_FIELDS = tuple(Incident.model_fields)


class SnapshotError(ValueError):
    """A snapshot that cannot be used (the desk replays the log instead)."""


class _BuiltinsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise SnapshotError(f"a snapshot holds only plain values, not {module}.{name}")


def _ts(when: datetime) -> float:
    return when.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _incident(inc: Incident) -> tuple[Any, ...]:
    """The incident's fields in the model's order (a tuple loads faster than a dict), then
    the names of those that were given."""
    data = inc.model_dump(mode="json")
    return (*(data[name] for name in _FIELDS), tuple(sorted(inc.model_fields_set)))


_ENUMS = {"tier": {t.value: t for t in Tier}, "severity": {s.value: s for s in Severity},
          "channel": {c.value: c for c in Channel}}


def _incident_back(row: tuple[Any, ...]) -> Incident:
    """An incident as it was validated when its case was opened (not validated again: the
    snapshot's checksum vouches for it). Made as `model_construct` makes one, without its
    per-field bookkeeping (a long operation has tens of thousands); every field is given,
    which the test of snapshots checks by equality with the replayed incident."""
    if len(row) != len(_FIELDS) + 1:
        raise SnapshotError("an incident of another shape")
    values = dict(zip(_FIELDS, row))
    values["opened_at"] = datetime.fromisoformat(values["opened_at"])
    for name, members in _ENUMS.items():
        values[name] = members[values[name]]
    incident = Incident.__new__(Incident)
    object.__setattr__(incident, "__dict__", values)
    object.__setattr__(incident, "__pydantic_fields_set__", set(row[-1]))
    object.__setattr__(incident, "__pydantic_extra__", None)
    object.__setattr__(incident, "__pydantic_private__", None)
    return incident


def _owed(o: Owed) -> tuple[Any, ...]:
    return (o.obligation, o.audience, o.due, o.text, o.since)


def _case(v: CaseView) -> tuple[Any, ...]:
    c = v.case
    return (v.id, v.stream, v.version, _incident(v.incident), v.book.ref, v.operation,
            (c.state, c.level, c.opened, c.updated, dict(c.timers), dict(c.counts), set(c.met),
             set(c.breached), c.closed),
            v.opened_by, v.source, _ts(v.recorded), v.owner, [_owed(o) for o in v.owed],
            [(s.obligation, s.audience, s.at, s.due, s.actor, s.text) for s in v.sent],
            {k: (m.due, m.at, m.on_time) for k, m in v.met.items()}, dict(v.breaches),
            list(v.escalations), list(v.notes), v.resolution, v.closed_at, v.updated_at,
            v.last_actor, list(v.problems))


def _case_back(row: tuple[Any, ...], books: dict[str, Book]) -> CaseView:
    (cid, stream, version, inc, ref, operation, c, opened_by, source, recorded, owner, owed,
     sent, met, breaches, escalations, notes, resolution, closed_at, updated_at, last_actor,
     problems) = row
    incident = _incident_back(inc)
    state, level, opened, updated, timers, counts, met_set, breached, closed = c
    case = tuple.__new__(Case, (incident, state, level, opened, updated, timers or _EMPTY,
                                counts or _EMPTY, frozenset(met_set), frozenset(breached),
                                closed))
    return CaseView(cid, stream, version, incident, books[ref], operation, case, opened_by,
                    source, _dt(recorded), owner, [Owed(*o) for o in owed],
                    [SentMessage(*s) for s in sent], {k: Met(*m) for k, m in met.items()},
                    breaches, escalations, notes, resolution, closed_at, updated_at, last_actor,
                    problems)


def _operation(op: OperationView) -> tuple[Any, ...]:
    history = [(h.role, h.person, h.since, h.until, h.summary, h.actor) for h in op.role_history]
    current = {role: op.role_history.index(h) for role, h in op.roles.items()}
    return (op.id, op.stream, op.version, op.title, op.book.ref, op.summary, dict(op.cadence),
            op.opened_at, op.opened_by, _ts(op.recorded), op.level, op.level_since,
            op.raised_at, list(op.levels), history, current,
            [(u.kind, u.at, u.actor, dict(u.fields), u.due) for u in op.updates],
            [_owed(o) for o in op.owed],
            {i: (g.resource, g.level, g.pool, g.headcount, g.hours_per_day, g.available_at)
             for i, g in op.grants.items()},
            [(t.id, t.title, t.owner, t.due, t.remind, t.case, t.added_at, t.added_by,
              t.done_at, t.done_by, t.note, set(t.reminded)) for t in op.tasks.values()],
            list(op.notes), set(op.cases), op.closed_at, op.closing, list(op.problems))


def _operation_back(row: tuple[Any, ...], books: dict[str, Book]) -> OperationView:
    (oid, stream, version, title, ref, summary, cadence, opened_at, opened_by, recorded, level,
     level_since, raised_at, levels, history, current, updates, owed, grants, tasks, notes,
     cases, closed_at, closing, problems) = row
    holders = [Holder(*h) for h in history]
    return OperationView(
        oid, stream, version, title, books[ref], summary, cadence, opened_at, opened_by,
        _dt(recorded), level, level_since, raised_at, [tuple(x) for x in levels],
        {role: holders[i] for role, i in current.items()}, holders,
        [Update(*u) for u in updates], [Owed(*o) for o in owed],
        {i: Grant(*g) for i, g in grants.items()},
        {t[0]: Task(*t) for t in tasks}, [tuple(n) for n in notes], cases, closed_at, closing,
        problems)


def _shared(value: Any, seen: dict[Any, Any]) -> Any:
    """`value` with its short texts and small tuples shared by identity (pickle writes and
    reads a shared object once: tiers, states, names, refs repeat across thousands of
    cases)."""
    if isinstance(value, str):
        return seen.setdefault(value, value) if len(value) <= 64 else value
    if isinstance(value, tuple):
        out = tuple(_shared(v, seen) for v in value)
        return seen.setdefault(out, out) if len(out) <= 16 and _hashable(out) else out
    if isinstance(value, list):
        return [_shared(v, seen) for v in value]
    if isinstance(value, dict):
        return {_shared(k, seen): _shared(v, seen) for k, v in value.items()}
    if isinstance(value, set):
        return {_shared(v, seen) for v in value}
    return value


def _hashable(value: tuple[Any, ...]) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def dump(model: DeskModel, version: str) -> bytes:
    """The projection as bytes (call it with the desk's lock held)."""
    seen: dict[Any, Any] = {}
    body = (FORMAT, version, model.position,
            [_shared(_case(v), seen) for v in model.cases.values()],
            [_operation(op) for op in model.operations.values()],
            (model.settings.retention_days, model.settings.started, model.settings.samples),
            model.timeline.columns,
            {k: (_ts(b.at), b.actor, b.kind, b.operation, b.detail, b.cases)
             for k, b in model.bulk.items()},
            list(model.problems))
    data = pickle.dumps(body, protocol=5)
    return _MAGIC + hashlib.sha256(data).digest() + data


def load(blob: bytes, books: dict[str, Book], where: str, version: str) -> DeskModel:
    """The projection a snapshot holds; SnapshotError if it cannot be trusted or used."""
    if not blob.startswith(_MAGIC):
        raise SnapshotError("not a desk snapshot")
    digest, data = blob[len(_MAGIC):len(_MAGIC) + 32], blob[len(_MAGIC) + 32:]
    if hashlib.sha256(data).digest() != digest:
        raise SnapshotError("its checksum does not match: damaged")
    gc.disable()  # a hundred thousand new objects: the collector would walk them many times
    try:
        model = _load(data, books, where, version)
        gc.freeze()  # long-lived: later collections need not walk the projection again
        return model
    finally:
        gc.enable()


def _load(data: bytes, books: dict[str, Book], where: str, version: str) -> DeskModel:
    try:
        body = _BuiltinsOnly(io.BytesIO(data)).load()
        fmt, made_by, position, cases, operations, settings, timeline, bulk, problems = body
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise SnapshotError(f"cannot be read: {exc}") from None
    if fmt != FORMAT or made_by != version:
        raise SnapshotError(f"made by another Muster ({made_by}, format {fmt})")
    model = DeskModel(where)
    model.position = position
    model.books = dict(books)
    try:
        for row in cases:
            view = _case_back(row, books)
            model.cases[view.id] = view
        for row in operations:
            op = _operation_back(row, books)
            model.operations[op.id] = op
        model.settings = Settings(settings[0], settings[1], settings[2])
        if len(timeline) != len(Timeline.COLUMNS) or len({len(c) for c in timeline}) != 1:
            raise SnapshotError("its timeline is damaged")
        model.timeline = Timeline(timeline)
        model.bulk = {k: Bulk(_dt(t), a, kind, o, d, n) for k, (t, a, kind, o, d, n)
                      in bulk.items()}
        model.problems = list(problems)
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"does not fit this desk: {exc}") from None
    return model
