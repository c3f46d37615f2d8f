"""The durable, append-only event store: drill records and the live coordination desk.

A *stream* is one record (one drill, one live case, one operation): a numbered list of events
that only grows. State is a projection of the events; nothing is edited in place, and the file
itself refuses UPDATE and DELETE (triggers), whoever the SQL client is. Every event also has a
place in one global order across streams (`gseq`), so a desk that saw everything up to
position N reads what is new with `since(N)`.

This module is the interface and the checks of every value that goes through it; back ends
implement `EventStore` beneath it, one module each (incidents.store_sqlite: SQLite in WAL mode
on one host; incidents.store_pg: PostgreSQL, for desks on several hosts), and
`open_store(url)` picks one. Both keep the same promises, and one contract test suite runs
against each (tests/test_store.py, tests/test_store_live.py).

API (every error is a `StoreError`, one line: `WHERE: error: [stream ID[, event N]: ]reason`,
WHERE being the file, or the server's URL without its password):

    open_store(url, *, create=True, readonly=False, timeout=10.0) -> EventStore
    EventStore.open(path, ...)                       the same, for a file path
        `url`: a path, `sqlite:PATH` or `sqlite:///PATH`; or `postgresql://USER@HOST/DB`
        (`postgres://` too; psycopg 3, the `muster[postgres]` extra). `create=False` refuses
        a missing store; `readonly=True` opens without writing anything (SQLite: to the file
        or beside it, in any journal mode; a store of an older schema is read as it is, not
        upgraded); `timeout`: seconds a writer queues behind others, then fails with nothing
        written.
    store.new_stream(kind, header, *, stream_id=None, wall=None, key=None, actor=None) -> str
    store.append(stream_id, kind, payload, *, sim_minute=None, wall=None,
                 expected_version=None, key=None, actor=None, correlation=None,
                 causation=None) -> int
        One event; returns its sequence number (2, 3, ...) once it is on disk.
    store.write(batch: Sequence[Pending]) -> list[Written]
        Many events in one transaction and one sync to disk (imports, bulk actions, timers):
        all or nothing. A `Pending` with `stream_kind` starts its stream (it is the header).
    store.events(stream_id, *, kinds=None, after=0) -> Iterator[StoredEvent]
    store.since(position=0) -> Iterator[StoredEvent]      (every stream, in the global order)
    store.position() -> int;  store.version(stream_id) -> int;  store.changed() -> bool
    store.keyed(key) -> Written | None                 (the event an idempotency key names)
    store.header(stream_id) -> dict;  store.info(stream_id) -> StreamInfo
    store.streams(kind=None) -> list[StreamInfo]                          (oldest first)
    store.save_snapshot(name, position, data);  store.load_snapshot(name) -> (position, data)
    store.backup(dest) -> Path;  store.check() -> list[str];  store.close()
    store.copy_in(streams, events)   events copied from another store, exactly as they were
                                     (`muster live migrate`: incidents.store_copy)

Concurrency: `expected_version` is the stream version (its last sequence number) an action was
decided on; if the stream has moved meanwhile the append is refused with `ConflictError` and
nothing is written (notes, which never conflict, pass None). `key` is an idempotency key,
unique in the whole store: appending under a key already used writes nothing and returns the
first event's place (`Written.new` False), so a retry or a double key press is applied once,
and timer events written by several desks under the same deterministic key are written once.
The key is looked at before the version: a retry is a success, not a conflict.

Values: kinds, stream ids, keys and actors are printable text (any script) of 1 to 200
characters without surrounding spaces. Headers and payloads are dicts stored as JSON in UTF-8
as written (not \\u-escaped) and read back equal: text, int, finite float, bool, None, lists
(tuples come back as lists), dicts with text keys. NaN, infinity, other types, lone
surrogates, nesting deeper than 64 and events over 16 MiB are refused, naming the value:
`payload.scores[2]: nan ...`.

Durability: an event `append` or `write` returned is on disk and survives a crash of the
process and of the machine: on SQLite a WAL journal with `synchronous=FULL` (one short BEGIN
IMMEDIATE transaction whose commit fsyncs the WAL); on PostgreSQL a commit with
`synchronous_commit=on` (the server's WAL flushed). See each back end's module for figures.

A server can go away (a restart, a network cut): the PostgreSQL back end then raises
`UnavailableError` (a StoreError), reconnects by itself with back-off on later calls, and a
reader catches up by `since(last position seen)`, so nothing is missed. A write interrupted
at its commit may or may not have been applied (`maybe_written`): retried under the same
idempotency key, it is applied once.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from incidents.store_file import APPLICATION_ID, SCHEMA_VERSION, StoreError

__all__ = ["APPLICATION_ID", "MAX_EVENT_BYTES", "MAX_NAME", "SCHEMA_VERSION", "ConflictError",
           "EventStore", "Pending", "Prepared", "StoreError", "StoredEvent", "StreamInfo",
           "UnavailableError", "Written", "open_store", "check_copied", "check_name",
           "is_server_url",
           "json_text", "prepare", "safe_url", "wall_text"]

MAX_EVENT_BYTES = 16 * 1024 * 1024
"""Largest JSON text of one event. A header carries the scenario text (at most 2 MiB, see
incidents.source.MAX_BYTES, and escaping can grow it); anything near this is a mistake that
should fail loudly instead of bloating every copy of the record."""

MAX_NAME = 200
MAX_DEPTH = 64
_PAGE = 512
"""Events per page read (tests make it small to see many pages)."""


class ConflictError(StoreError):
    """The stream moved on since the action was decided (or the stream already exists):
    nothing was written. `expected` and `actual` are stream versions (None: not known)."""

    def __init__(self, path: str, reason: str, *, stream_id: str | None = None,
                 expected: int | None = None, actual: int | None = None) -> None:
        super().__init__(path, reason, stream_id=stream_id)
        self.expected, self.actual = expected, actual

    def __reduce__(self) -> tuple[Any, ...]:
        return (_conflict, (self.path, self.reason, self.stream_id, self.expected, self.actual))


def _conflict(path: str, reason: str, stream_id: str | None, expected: int | None,
              actual: int | None) -> ConflictError:
    return ConflictError(path, reason, stream_id=stream_id, expected=expected, actual=actual)


class UnavailableError(StoreError):
    """The database server cannot be reached now (down, restarting, cut off): try again later.
    Nothing was read; nothing was written unless `maybe_written` (the connection was lost
    while the server committed: a retry under the same idempotency key is applied once)."""

    def __init__(self, path: str, reason: str, *, stream_id: str | None = None,
                 maybe_written: bool = False) -> None:
        super().__init__(path, reason, stream_id=stream_id)
        self.maybe_written = maybe_written

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unavailable, (self.path, self.reason, self.stream_id, self.maybe_written))


def _unavailable(path: str, reason: str, stream_id: str | None,
                 maybe_written: bool) -> UnavailableError:
    return UnavailableError(path, reason, stream_id=stream_id, maybe_written=maybe_written)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as stored; `payload` is a fresh dict on every read. `gseq` is its place in
    the store's global order (0 when read from a store older than schema 3); it is not part
    of equality, since the same event read twice is the same event."""

    stream_id: str
    seq: int
    kind: str
    payload: dict[str, Any]
    sim_minute: float | None
    wall: datetime
    gseq: int = field(default=0, compare=False)
    actor: str | None = None
    key: str | None = None
    correlation: str | None = None
    causation: str | None = None


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One stream: `events` counts the header too (it is the last sequence number)."""

    id: str
    kind: str
    created: datetime
    header: dict[str, Any]
    events: int
    last_wall: datetime


@dataclass(frozen=True, slots=True)
class Pending:
    """An event to write with `EventStore.write`. With `stream_kind`, it starts the stream
    `stream_id` and is its header (its `kind` must be "header")."""

    stream_id: str
    kind: str
    payload: dict[str, Any]
    expected_version: int | None = None
    key: str | None = None
    actor: str | None = None
    wall: datetime | None = None
    sim_minute: float | None = None
    correlation: str | None = None
    causation: str | None = None
    stream_kind: str | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A pending event with every value checked and in its stored form (`prepare`)."""

    stream_id: str
    kind: str
    sim_minute: float | None
    wall: str
    payload: str
    expected: int | None
    key: str | None
    actor: str | None
    correlation: str | None
    causation: str | None
    stream_kind: str | None


@dataclass(frozen=True, slots=True)
class Written:
    """Where a pending event is: written now (`new`), or found under its key."""

    stream_id: str
    seq: int
    gseq: int
    new: bool


class EventStore(ABC):
    """An open store; safe to share between threads. See the module docstring."""

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True, readonly: bool = False,
             timeout: float = 10.0) -> EventStore:
        """The store in the file at `path` (see `open_store`)."""
        return open_store(path, create=create, readonly=readonly, timeout=timeout)

    # -- what a back end provides ------------------------------------------------------------
    @property
    @abstractmethod
    def path(self) -> str:
        """Where the store is, as the caller named it (for messages)."""

    @property
    @abstractmethod
    def readonly(self) -> bool:
        """Whether writes are refused (opened read-only)."""

    @abstractmethod
    def close(self) -> None:
        """Close the store (idempotent)."""

    @abstractmethod
    def write(self, batch: Sequence[Pending]) -> list[Written]:
        """Append every event of `batch` in one transaction, or none of them."""

    @abstractmethod
    def events(self, stream_id: str, *, kinds: str | Iterable[str] | None = None,
               after: int = 0) -> Iterator[StoredEvent]:
        """Events of a stream with seq > `after`, in order, read in pages: each page is its
        own snapshot, so a slow reader holds up no writer; the iteration ends at the first
        short page and includes what was appended before that page was read: no gap, no
        duplicate. An unknown stream is refused at the call, not at the first next()."""

    @abstractmethod
    def since(self, position: int = 0, *, page: int | None = None) -> Iterator[StoredEvent]:
        """Every event with gseq > `position`, in the global order, paged as `events`."""

    @abstractmethod
    def position(self) -> int:
        """The global sequence number of the last event (0 for an empty store)."""

    @abstractmethod
    def version(self, stream_id: str) -> int:
        """A stream's version: its last sequence number."""

    @abstractmethod
    def changed(self) -> bool:
        """Whether another connection may have written since the last call (True the first
        time): cheap, to be polled; then read `since` the last position seen."""

    @abstractmethod
    def keyed(self, key: str) -> Written | None:
        """Where the event written under idempotency key `key` is (`new` False), or None."""

    @abstractmethod
    def info(self, stream_id: str) -> StreamInfo:
        """Id, kind, creation time, header, number of events and time of the last one."""

    @abstractmethod
    def streams(self, kind: str | None = None) -> list[StreamInfo]:
        """Every stream (of one kind, if given), oldest first."""

    @abstractmethod
    def save_snapshot(self, name: str, position: int, data: bytes) -> None:
        """Keep `data`, a projection as it stood at global position `position`, under `name`
        (replacing the one before): derived data, never an event."""

    @abstractmethod
    def load_snapshot(self, name: str) -> tuple[int, bytes] | None:
        """The snapshot saved under `name` (its position and data), or None."""

    @abstractmethod
    def backup(self, dest: str | os.PathLike[str]) -> Path:
        """A consistent copy of the whole store at `dest` (a new file), taken while others
        keep writing; checked before it is put in place."""

    @abstractmethod
    def check(self) -> list[str]:
        """A full integrity check: ["ok"], or what is wrong."""

    @abstractmethod
    def copy_in(self, streams: Sequence[StreamInfo], events: Sequence[StoredEvent]) -> None:
        """Write `events`, read from another store, exactly as they were there: global
        positions, stream versions, times, actors, keys. `events` come in global order, after
        everything already here; `streams` are the streams whose headers are among them (their
        kind and creation time). One transaction: all or nothing. For moving a whole history
        between back ends (incidents.store_copy), never for new events."""

    # -- built on the above ------------------------------------------------------------------
    def new_stream(self, kind: str, header: dict[str, Any], *, stream_id: str | None = None,
                   wall: datetime | None = None, key: str | None = None,
                   actor: str | None = None) -> str:
        """Start a stream: its row, and `header` as event 1 (kind "header"). Returns its id
        (UUID4 hex unless given). An id already used is refused (`ConflictError`), unless
        `key` names the earlier start: then that stream's id is returned."""
        sid = uuid.uuid4().hex if stream_id is None else stream_id
        done = self.write([Pending(sid, "header", header, wall=wall, key=key, actor=actor,
                                   stream_kind=kind)])
        return done[0].stream_id

    def append(self, stream_id: str, kind: str, payload: dict[str, Any], *,
               sim_minute: float | None = None, wall: datetime | None = None,
               expected_version: int | None = None, key: str | None = None,
               actor: str | None = None, correlation: str | None = None,
               causation: str | None = None) -> int:
        """Append one event to a stream; returns its sequence number once it is on disk."""
        done = self.write([Pending(stream_id, kind, payload, expected_version, key, actor, wall,
                                   sim_minute, correlation, causation)])
        return done[0].seq

    def header(self, stream_id: str) -> dict[str, Any]:
        """The header dict the stream was started with."""
        return self.info(stream_id).header

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SERVER_SCHEMES = ("postgresql:", "postgres:")


def is_server_url(text: str) -> bool:
    """Whether `text` names a store on a PostgreSQL server (else a file)."""
    return text.startswith(_SERVER_SCHEMES)


def safe_url(url: str) -> str:
    """`url` as it may be shown: without its password (in the user part or the query)."""
    if not is_server_url(url):
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.partition(':')[0]}@{host}"
        query = "&".join(pair for pair in parts.query.split("&")
                         if pair and "password" not in pair.partition("=")[0].lower())
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return f"{url.partition(':')[0]}://(a URL that cannot be read)"


def open_store(url: str | os.PathLike[str], *, create: bool = True, readonly: bool = False,
               timeout: float = 10.0) -> EventStore:
    """The store `url` names: a file path, `sqlite:PATH` or `sqlite:///PATH` (SQLite), or
    `postgresql://...` (PostgreSQL, through psycopg 3: `pip install 'muster[postgres]'`)."""
    text = os.fspath(url)
    if isinstance(text, bytes):
        raise StoreError(repr(text), "a store is named by text, not bytes")
    server = is_server_url(text)
    path = safe_url(text)
    if text.startswith("sqlite:///"):
        path = "/" + text[len("sqlite:///"):]
    elif text.startswith("sqlite:"):
        path = text[len("sqlite:"):]
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not 0 < timeout <= 3600:
        raise StoreError(path, f"timeout must be seconds in (0, 3600], got {timeout!r}")
    if server:
        try:
            from incidents.store_pg import PgStore  # optional: psycopg is an extra
        except ImportError as exc:
            raise StoreError(path, f"PostgreSQL needs the psycopg package ({exc.name or exc} "
                                   "is missing): pip install 'muster[postgres]'") from None
        return PgStore.connect(text, create=create, readonly=readonly, timeout=float(timeout))
    from incidents.store_sqlite import SqliteStore  # the back end imports this module
    return SqliteStore.connect(Path(path), path, create=create, readonly=readonly,
                               timeout=float(timeout))


# -- values ----------------------------------------------------------------------------------

def prepare(path: str, p: Pending) -> Prepared:
    """Every value of one pending event checked and in its stored form (before any I/O),
    the same for every back end."""
    sid = check_name(path, p.stream_id, "stream id")
    if p.stream_kind is not None:
        skind: str | None = check_name(path, p.stream_kind, "stream kind")
        if p.kind != "header":
            raise StoreError(path, "the first event of a stream is its header", stream_id=sid)
        what = "header"
    else:
        skind = None
        kind = check_name(path, p.kind, "event kind")
        if kind == "header":
            raise StoreError(path, 'event kind "header" is reserved for new_stream',
                             stream_id=sid)
        what = "payload"
    expected = p.expected_version
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)
                                 or expected < 1):
        raise StoreError(path, f"expected_version must be a stream version >= 1 or None, "
                               f"got {expected!r}", stream_id=sid)
    key, actor, corr, cause = (None if v is None else check_name(path, v, what_)
                               for v, what_ in ((p.key, "key"), (p.actor, "actor"),
                                                (p.correlation, "correlation id"),
                                                (p.causation, "causation id")))
    minute = sim_minute_value(path, p.sim_minute, sid)
    text = json_text(path, p.payload, what, sid)
    when = wall_text(path, p.wall, sid)
    return Prepared(sid, p.kind, minute, when, text, expected, key, actor, corr, cause, skind)


def check_copied(path: str, events: Sequence[StoredEvent]) -> None:
    """Refuse events to copy in that are not in one rising global order (a copy keeps the
    source's positions, so they must come as the source numbered them)."""
    last = 0
    for e in events:
        if not isinstance(e, StoredEvent) or isinstance(e.gseq, bool) \
                or not isinstance(e.gseq, int) or e.gseq <= last:
            raise StoreError(path, f"events to copy in must come in their global order, each "
                                   f"with its position; got {getattr(e, 'gseq', e)!r} after "
                                   f"{last}")
        last = e.gseq


def check_name(path: str, value: object, what: str) -> str:
    """`value` if it is usable as a kind, stream id, key or actor; else a StoreError."""
    if isinstance(value, str) and 0 < len(value) <= MAX_NAME and value.isprintable() \
            and value == value.strip():
        return value
    raise StoreError(path, f"{what} must be text of 1 to {MAX_NAME} characters without "
                           f"control characters or surrounding spaces, got {value!r}")


def wall_text(path: str, wall: datetime | None, sid: str) -> str:
    """The stored form of an event's time: UTC ISO 8601 to the microsecond (default now)."""
    if wall is None:
        wall = datetime.now(timezone.utc)
    elif not isinstance(wall, datetime) or wall.utcoffset() is None:
        raise StoreError(path, f"wall must be a timezone-aware datetime, got {wall!r}",
                         stream_id=sid)
    return wall.astimezone(timezone.utc).isoformat(timespec="microseconds")


def sim_minute_value(path: str, value: object, sid: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise StoreError(path, "sim_minute must be a finite number of minutes or None, got "
                               f"{value!r}", stream_id=sid)
    return float(value)


def json_text(path: str, value: object, what: str, sid: str) -> str:
    """`value` as compact JSON text, or a StoreError naming the first bad value in it."""
    problem = _json_problem(value, what, 0) if isinstance(value, dict) else \
        f"{what} must be a dict (a JSON object), got {type(value).__name__}"
    if problem is None:
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (ValueError, TypeError, RecursionError) as exc:
            problem = f"{what} cannot be written as JSON: {exc}"
        else:
            try:
                size = len(text.encode("utf-8"))
                problem = None if size <= MAX_EVENT_BYTES else \
                    f"{what} is {size:,} bytes as JSON; the limit is {MAX_EVENT_BYTES:,}"
            except UnicodeEncodeError:
                problem = f"{what} holds a lone surrogate, which is not Unicode text"
            if problem is None:
                return text
    raise StoreError(path, problem, stream_id=sid)


def _json_problem(value: object, where: str, depth: int) -> str | None:
    """The first thing in `value` that would not come back from JSON as written, or None."""
    if depth > MAX_DEPTH:
        return f"{where}: nested more than {MAX_DEPTH} levels deep"
    if value is None or isinstance(value, (bool, int, str)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else \
            f"{where}: {value!r} is not allowed (JSON has no NaN or infinity)"
    if isinstance(value, (dict, list, tuple)):
        mapping = isinstance(value, dict)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if mapping and not isinstance(key, str):
                return f"{where}: key {key!r} is a {type(key).__name__}; JSON keys are text"
            problem = _json_problem(item, f"{where}.{key}" if mapping else f"{where}[{key}]",
                                    depth + 1)
            if problem:
                return problem
        return None
    return (f"{where}: a {type(value).__name__} is not JSON (use text, numbers, true/false, "
            "null, lists and dicts)")
