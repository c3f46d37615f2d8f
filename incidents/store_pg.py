"""The event store on PostgreSQL: desks on several hosts on one timeline.

SQLite's WAL needs every program on one host; a service organisation with regional centres
needs coordinators on several machines, and a standby. This back end keeps every promise of
incidents.store on a PostgreSQL server (psycopg 3, the `muster[postgres]` extra); the tables
and their checks are incidents.store_pg_schema's.

Writes: each `write` is one transaction that first takes a transaction-level advisory lock
(WRITE_LOCK), then numbers its events after the largest position there is. Writers therefore
commit one at a time, in the order of their numbers, and the lock is let go only once the
commit is visible: a reader that has seen position N never later sees a new event below N
(with a plain sequence, a transaction that drew 10 could commit after one that drew 11, and
a desk that had read up to 11 would never read 10). Stream versions and idempotency keys are
read under the same lock, so they cannot change before the write; UNIQUE (stream_id, seq) and
(key) back it. `synchronous_commit` is on for every session: what `write` returned is in the
server's WAL on disk. Each commit NOTIFYs its last position on CHANNEL: a wake-up only; a
reader reads `since` the last position it saw, so a notification lost while disconnected, the
8,000-byte payload limit and the notify queue never matter.

Connections: one for reads and writes behind a lock, one more for LISTEN, opened by the first
`changed()` (only desks poll). A connection found broken is replaced at once, and the
operation run again when nothing can have been applied (a read, or a write before its
COMMIT was sent); if the server cannot be reached, `UnavailableError` is raised and the next
try waits 0.5 s, then 1, 2 and 5 s at most (back-off), so a desk polling every 0.25 s does
not hammer a server on its way up. A write cut off during its COMMIT raises UnavailableError
with `maybe_written`: a retry under the same key is applied once. The listener is checked
with `SELECT 1` every HEARTBEAT seconds (a terminated connection delivers no error until it
is used); TCP keepalives and `tcp_user_timeout` notice a server that vanished from the
network. After every reconnection `changed()` answers True, so the reader catches up.

Errors: psycopg's become StoreError (ConflictError, UnavailableError), one line, naming the
server by its URL without the password (which is also scrubbed from the server's text).

Measured here (2 vCPUs shared with other work, the server on the same machine, fsync on):
see `python -m benchmarks.bench_live --pg` and docs/live.md. Open a store in the process that
uses it: a connection must not cross fork().
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

import incidents.store as api
from incidents.store import (ConflictError, EventStore, Pending, Prepared, StoredEvent,
                             StoreError, StreamInfo, UnavailableError, Written, check_copied,
                             check_name, json_text, prepare, safe_url, wall_text)
from incidents.store_sql import SqlReads
from incidents.store_pg_schema import CHANNEL, WRITE_LOCK, prepare_database

__all__ = ["PgStore", "BACKOFF_FIRST", "BACKOFF_MAX", "HEARTBEAT"]

_T = TypeVar("_T")
_MAX_PAGE = 100_000
BACKOFF_FIRST = 0.5
"""Seconds before the first reconnection attempt after one failed."""
BACKOFF_MAX = 5.0
"""The longest wait between attempts: a desk is back within this of the server."""
HEARTBEAT = 1.0
"""Seconds between the listener's `SELECT 1` checks (how soon a lost server is noticed)."""
_COLS = "seq, kind, sim_minute, wall, payload::text, gseq, actor, key, correlation, causation"
_COPY_EVENTS = ("COPY muster.events (gseq, stream_id, seq, kind, sim_minute, wall, payload, "
                "actor, key, correlation, causation) FROM STDIN")


@dataclass
class _Attempt:
    """Where a write got to: only a failure during COMMIT leaves its outcome unknown."""

    committing: bool = False


_INFO = """SELECT s.id, s.kind, s.created,
    (SELECT payload::text FROM muster.events WHERE stream_id = s.id AND seq = 1),
    (SELECT MAX(seq) FROM muster.events WHERE stream_id = s.id),
    (SELECT wall FROM muster.events WHERE stream_id = s.id ORDER BY seq DESC LIMIT 1)
FROM muster.streams AS s"""


class PgStore(SqlReads, EventStore):
    """An open PostgreSQL store; safe to share between threads. See the module docstring."""

    _MARK = "%s"
    _EVENTS = "muster.events"
    _INFO = _INFO  # the module's summary query, above

    def __init__(self, url: str, *, readonly: bool, timeout: float) -> None:
        self._url, self._path = url, safe_url(url)
        self._readonly, self._timeout = readonly, timeout
        found = re.match(r"[a-z]+://[^/@?#]*?:([^/@?#]*)@", url)
        self._secrets = [found.group(1)] if found and found.group(1) else []
        try:
            self._secrets.append(str(conninfo_to_dict(url).get("password") or ""))
        except psycopg.Error as exc:
            raise StoreError(self._path, f"is not a usable PostgreSQL URL: "
                                         f"{self._reason(exc)}") from None
        self.application_name = f"muster {uuid.uuid4().hex[:12]}"
        """The name this store's sessions carry on the server (pg_stat_activity)."""
        self.reconnects = 0
        """Connections made again after one was lost (for tests and the curious)."""
        self._lock = threading.Lock()
        self._listen_lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._listener: psycopg.Connection[Any] | None = None
        self._closed = False
        self._retry_at = 0.0
        self._delay = 0.0
        self._lost = ""
        self._missed = True
        self._beat = 0.0
        self._own: set[int] = set()

    @classmethod
    def connect(cls, url: str, *, create: bool, readonly: bool, timeout: float) -> PgStore:
        """Connect, check the database, create or migrate the store (unless read-only)."""
        store = cls(url, readonly=readonly, timeout=timeout)
        conn = store._new_connection()
        try:
            prepare_database(conn, store._path, create=create, readonly=readonly)
        except psycopg.Error as exc:
            conn.close()
            if isinstance(exc, psycopg.errors.InsufficientPrivilege):
                raise StoreError(store._path, f"cannot create the store: {store._reason(exc)} "
                                              "(the user needs CREATE on the database)"
                                 ) from None
            raise StoreError(store._path, f"cannot open the store: {store._reason(exc)}"
                             ) from None
        except BaseException:
            conn.close()
            raise
        store._conn = conn
        return store

    @property
    def path(self) -> str:
        return self._path

    @property
    def readonly(self) -> bool:
        return self._readonly

    def close(self) -> None:
        with self._listen_lock:
            with self._lock:
                self._closed = True
                for conn in (self._conn, self._listener):
                    if conn is not None:
                        conn.close()
                self._conn = self._listener = None

    # -- writing -----------------------------------------------------------------------------
    def write(self, batch: Sequence[Pending]) -> list[Written]:
        rows = [prepare(self._path, p) for p in batch]
        if not rows:
            return []
        sid = rows[0].stream_id if len(rows) == 1 else None
        if self._readonly:
            raise StoreError(self._path, "opened read-only: nothing was written", stream_id=sid)
        return self._run(lambda conn, attempt: self._write_rows(conn, attempt, rows), sid,
                         writing=True)

    def _write_rows(self, conn: psycopg.Connection[Any], attempt: _Attempt,
                    rows: list[Prepared]) -> list[Written]:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        found: dict[str, Written] = {}
        keys = sorted({r.key for r in rows if r.key is not None})
        if keys:
            for key, sid, seq, gseq in conn.execute(
                    "SELECT key, stream_id, seq, gseq FROM muster.events WHERE key = ANY(%s)",
                    (keys,)):
                found[key] = Written(sid, seq, gseq, False)
        versions: dict[str, int] = {
            sid: seq for sid, seq in conn.execute(
                "SELECT s, (SELECT MAX(seq) FROM muster.events WHERE stream_id = s) "
                "FROM unnest(%s::text[]) AS s", (sorted({r.stream_id for r in rows}),))
            if seq is not None}
        gseq = conn.execute("SELECT COALESCE(MAX(gseq), 0) FROM muster.events").fetchone()[0]
        made: list[tuple[str, str, str]] = []
        events: list[tuple[Any, ...]] = []
        out: list[Written] = []
        for r in rows:
            if r.key is not None and r.key in found:
                out.append(found[r.key])
                continue
            sid = r.stream_id
            if r.stream_kind is not None:
                if sid in versions:
                    raise ConflictError(self._path, "already exists", stream_id=sid)
                made.append((sid, r.stream_kind, r.wall))
                seq = 1
            else:
                current = versions.get(sid)
                if current is None:
                    raise StoreError(self._path, "no such stream in this store", stream_id=sid)
                if r.expected is not None and r.expected != current:
                    raise ConflictError(
                        self._path, f"changed meanwhile: decided on version {r.expected}, it "
                        f"is at version {current}; nothing was written", stream_id=sid,
                        expected=r.expected, actual=current)
                seq = current + 1
            gseq += 1
            versions[sid] = seq
            events.append((gseq, sid, seq, r.kind, r.sim_minute, r.wall, r.payload, r.actor,
                           r.key, r.correlation, r.causation))
            out.append(Written(sid, seq, gseq, True))
            if r.key is not None:
                found[r.key] = Written(sid, seq, gseq, False)
        self._insert(conn, made, events)
        attempt.committing = True
        conn.execute("COMMIT")
        if events:
            self._mine(gseq)
        return out

    def _insert(self, conn: psycopg.Connection[Any], made: Sequence[tuple[Any, ...]],
                events: Sequence[tuple[Any, ...]]) -> None:
        """Stream rows, then events (one COPY), then the wake-up: all in the caller's
        transaction, under the write lock."""
        if made:
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO muster.streams VALUES (%s, %s, %s)", made)
        if events:
            with conn.cursor() as cur, cur.copy(_COPY_EVENTS) as copy:
                for row in events:
                    copy.write_row(row)
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(events[-1][0])))

    def copy_in(self, streams: Sequence[StreamInfo], events: Sequence[StoredEvent]) -> None:
        """Events copied from another store, exactly as they were (see EventStore.copy_in)."""
        check_copied(self._path, events)
        made = [(s.id, s.kind, wall_text(self._path, s.created, s.id)) for s in streams]
        rows = [(e.gseq, e.stream_id, e.seq, e.kind, e.sim_minute,
                 wall_text(self._path, e.wall, e.stream_id),
                 json_text(self._path, e.payload, "payload", e.stream_id), e.actor, e.key,
                 e.correlation, e.causation) for e in events]
        if self._readonly:
            raise StoreError(self._path, "opened read-only: nothing was written")

        def body(conn: psycopg.Connection[Any], attempt: _Attempt) -> None:
            conn.execute("BEGIN")
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            last = conn.execute("SELECT COALESCE(MAX(gseq), 0) FROM muster.events"
                                ).fetchone()[0]
            if rows and rows[0][0] <= last:
                raise StoreError(self._path, f"cannot copy event {rows[0][0]} in: this store "
                                             f"is already at position {last}; nothing was "
                                             "written")
            self._insert(conn, made, rows)
            attempt.committing = True
            conn.execute("COMMIT")
            if rows:
                self._mine(rows[-1][0])

        self._run(body, None, writing=True)

    def _mine(self, gseq: int) -> None:
        """Remember a commit of ours, so that its notification is not taken for another's."""
        if len(self._own) > 10_000:
            self._own.clear()  # at worst one needless read
        self._own.add(gseq)

    # -- reading -----------------------------------------------------------------------------
    def events(self, stream_id: str, *, kinds: str | Iterable[str] | None = None,
               after: int = 0) -> Iterator[StoredEvent]:
        sid = check_name(self._path, stream_id, "stream id")
        if isinstance(kinds, str):
            kinds = (kinds,)
        wanted = None if kinds is None else \
            [check_name(self._path, k, "event kind") for k in kinds]
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise StoreError(self._path, f"after must be a sequence number >= 0, got {after!r}",
                             stream_id=sid)
        if not self._read(sid, "SELECT 1 FROM muster.streams WHERE id = %s", (sid,)):
            raise StoreError(self._path, "no such stream in this store", stream_id=sid)
        return self._pages(sid, wanted, after)

    def _pages(self, sid: str, wanted: list[str] | None, after: int) -> Iterator[StoredEvent]:
        """One page per query, each its own snapshot: a slow consumer holds nothing open."""
        sql = f"SELECT {_COLS} FROM muster.events WHERE stream_id = %s"
        if wanted is not None:
            sql += " AND kind = ANY(%s)"
        sql += " AND seq > %s ORDER BY seq LIMIT %s"
        while True:
            size = api._PAGE
            params = (sid, wanted, after, size) if wanted is not None else (sid, after, size)
            rows = self._read(sid, sql, params)
            for row in rows:
                yield self._event(sid, row)
            if len(rows) < size:
                return
            after = rows[-1][0]

    def since(self, position: int = 0, *, page: int | None = None) -> Iterator[StoredEvent]:
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise StoreError(self._path, f"position must be a global sequence number >= 0, "
                                         f"got {position!r}")
        size = api._PAGE if page is None else page
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= _MAX_PAGE:
            raise StoreError(self._path, f"page must be 1 to {_MAX_PAGE:,} events, got {page!r}")
        self._live()
        return self._global_pages(position, size)

    def _global_pages(self, position: int, size: int) -> Iterator[StoredEvent]:
        sql = f"SELECT stream_id, {_COLS} FROM muster.events WHERE gseq > %s ORDER BY gseq " \
              "LIMIT %s"
        while True:
            rows = self._read(None, sql, (position, size))
            for row in rows:
                yield self._event(row[0], row[1:])
            if len(rows) < size:
                return
            position = rows[-1][6]

    def position(self) -> int:
        return int(self._read(None, "SELECT COALESCE(MAX(gseq), 0) FROM muster.events",
                              ())[0][0])

    def version(self, stream_id: str) -> int:
        sid = check_name(self._path, stream_id, "stream id")
        rows = self._read(sid, "SELECT MAX(seq) FROM muster.events WHERE stream_id = %s",
                          (sid,))
        if rows[0][0] is None:
            raise StoreError(self._path, "no such stream in this store", stream_id=sid)
        return int(rows[0][0])


    # -- change notification -----------------------------------------------------------------
    def changed(self) -> bool:
        """True when another connection committed events since the last call (its NOTIFY
        came), the first time, and after every reconnection of the listener (whatever was
        missed meanwhile is read by `since`). UnavailableError while the server is away."""
        with self._listen_lock:
            payloads = self._notifications()
        moved, self._missed = self._missed, False
        for payload in payloads:
            try:
                gseq = int(payload)
            except ValueError:
                moved = True
                continue
            if gseq in self._own:
                self._own.discard(gseq)
            else:
                moved = True
        return moved

    def _notifications(self) -> list[str]:
        for again in (False, True):
            conn = self._listener
            if conn is None or conn.closed or conn.broken:
                self._listener = None
                conn = self._reconnect()
                try:
                    conn.execute(f"LISTEN {CHANNEL}")
                except psycopg.Error as exc:
                    conn.close()
                    raise UnavailableError(self._path, f"cannot listen on the server: "
                                                       f"{self._reason(exc)}") from None
                self._listener, self._missed, self._beat = conn, True, time.monotonic()
            try:
                if time.monotonic() - self._beat >= HEARTBEAT:
                    conn.execute("SELECT 1")
                    self._beat = time.monotonic()
                return [n.payload for n in conn.notifies(timeout=0)]
            except psycopg.Error as exc:
                conn.close()
                self._listener = None
                if again:
                    raise UnavailableError(self._path, "lost the connection to the server: "
                                                       f"{self._reason(exc)}") from None
        raise AssertionError("unreachable")

    # -- snapshots ---------------------------------------------------------------------------
    def save_snapshot(self, name: str, position: int, data: bytes) -> None:
        name = check_name(self._path, name, "snapshot name")
        if isinstance(position, bool) or not isinstance(position, int) or position < 0 \
                or not isinstance(data, bytes):
            raise StoreError(self._path, "a snapshot is bytes at a position >= 0")
        if self._readonly:
            raise StoreError(self._path, "opened read-only: nothing was written")
        self._read(None, "INSERT INTO muster.snapshots VALUES (%s, %s, now(), %s) "
                         "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, "
                         "written = EXCLUDED.written, data = EXCLUDED.data RETURNING 1",
                   (name, position, data))

    def load_snapshot(self, name: str) -> tuple[int, bytes] | None:
        name = check_name(self._path, name, "snapshot name")
        rows = self._read(None, "SELECT position, data FROM muster.snapshots WHERE name = %s",
                          (name,))
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else None

    # -- the database as a whole -------------------------------------------------------------
    def backup(self, dest: str | os.PathLike[str]) -> Path:
        """A SQLite file at `dest` holding every event, checked by count and digest (the
        server itself is backed up with pg_dump: docs/live.md)."""
        from incidents.store_copy import backup_to_file
        return backup_to_file(self, dest)

    def check(self) -> list[str]:
        found: list[str] = []
        for sid, in self._read(None, "SELECT s.id FROM muster.streams AS s WHERE NOT EXISTS "
                                     "(SELECT 1 FROM muster.events AS e WHERE e.stream_id = "
                                     "s.id AND e.seq = 1 AND e.kind = 'header') LIMIT 5", ()):
            found.append(f"stream {sid} has no header")
        for sid, top, count in self._read(None, "SELECT stream_id, MAX(seq), COUNT(*) FROM "
                                               "muster.events GROUP BY stream_id HAVING "
                                               "MAX(seq) <> COUNT(*) LIMIT 5", ()):
            found.append(f"stream {sid} has {count} events numbered up to {top}")
        guards = self._read(None, "SELECT count(*) FROM pg_trigger WHERE tgrelid IN "
                                  "('muster.events'::regclass, 'muster.streams'::regclass) "
                                  "AND NOT tgisinternal AND tgenabled <> 'D'", ())[0][0]
        if guards != 4:
            found.append(f"{guards} of the 4 append-only triggers are in force")
        if self._read(None, "SHOW fsync", ())[0][0] != "on":
            found.append("the server runs with fsync off: a crash of its machine can lose "
                         "acknowledged events")
        return found or ["ok"]

    # -- connections -------------------------------------------------------------------------
    def _new_connection(self, *, listener: bool = False) -> psycopg.Connection[Any]:
        extra: dict[str, Any] = {
            "autocommit": True, "connect_timeout": int(min(max(self._timeout, 2), 15)),
            "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
            "keepalives_count": 3, "tcp_user_timeout": 10_000}
        if "application_name" not in conninfo_to_dict(self._url):
            extra["application_name"] = self.application_name
        try:
            conn = psycopg.connect(self._url, **extra)
        except psycopg.ProgrammingError as exc:
            raise StoreError(self._path, f"is not a usable PostgreSQL URL: "
                                         f"{self._reason(exc)}") from None
        except psycopg.Error as exc:
            raise UnavailableError(self._path, f"cannot connect to the server: "
                                               f"{self._reason(exc)}") from None
        try:
            conn.execute(f"SET TIME ZONE 'UTC'; SET synchronous_commit = on; "
                         f"SET client_encoding = 'UTF8'; "
                         f"SET lock_timeout = {int(self._timeout * 1000)}"
                         + ("; SET default_transaction_read_only = on"
                            if self._readonly and not listener else ""))
        except psycopg.Error as exc:
            conn.close()
            raise UnavailableError(self._path, f"cannot set up the session: "
                                               f"{self._reason(exc)}") from None
        return conn

    def _reconnect(self, *, listener: bool = True) -> psycopg.Connection[Any]:
        """A new connection, unless the last attempt failed less than the back-off ago."""
        self._live()
        now = time.monotonic()
        if now < self._retry_at:
            raise UnavailableError(self._path, f"no connection to the server ({self._lost}); "
                                               f"next try in {self._retry_at - now:.1f} s")
        try:
            conn = self._new_connection(listener=listener)
        except UnavailableError as exc:
            self._delay = min(max(self._delay * 2, BACKOFF_FIRST), BACKOFF_MAX)
            self._retry_at, self._lost = now + self._delay, exc.reason
            raise UnavailableError(self._path, f"{exc.reason}; next try in {self._delay:g} s"
                                   ) from None
        self._delay, self._retry_at = 0.0, 0.0
        self.reconnects += 1
        return conn

    def _run(self, fn: Callable[[psycopg.Connection[Any], _Attempt], _T], sid: str | None, *,
             writing: bool = False) -> _T:
        """`fn` on the main connection, under the lock; once more on a new connection if the
        old one was found broken and nothing can have been applied."""
        with self._lock:
            for again in (False, True):
                conn = self._conn
                if conn is None or conn.closed or conn.broken:
                    self._conn = None
                    conn = self._conn = self._reconnect(listener=False)
                attempt = _Attempt()
                try:
                    return fn(conn, attempt)
                except StoreError:
                    self._rollback(conn)
                    raise
                except psycopg.Error as exc:
                    if not (conn.closed or conn.broken):
                        self._rollback(conn)
                        raise self._error(exc, sid, writing) from None
                    conn.close()
                    self._conn = None
                    if attempt.committing:
                        raise UnavailableError(
                            self._path, "the connection to the server was lost while it "
                            f"committed ({self._reason(exc)}): the write may or may not be "
                            "there; a retry under the same key is applied once",
                            stream_id=sid, maybe_written=True) from None
                    if again:
                        raise UnavailableError(self._path, "lost the connection to the server"
                                                           f": {self._reason(exc)}"
                                               + ("; nothing was written" if writing else ""),
                                               stream_id=sid) from None
                except BaseException:
                    self._rollback(conn)
                    raise
        raise AssertionError("unreachable")

    def _rollback(self, conn: psycopg.Connection[Any]) -> None:
        if conn.closed or conn.broken or conn.info.transaction_status == TransactionStatus.IDLE:
            return
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error:
            conn.close()

    def _error(self, exc: psycopg.Error, sid: str | None, writing: bool) -> StoreError:
        what = "nothing was written" if writing else "cannot read"
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return StoreError(self._path, f"{what}: the store stayed locked by other writers "
                                          f"for {self._timeout:g} s", stream_id=sid)
        if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
            return StoreError(self._path, "opened read-only: nothing was written",
                              stream_id=sid)
        return StoreError(self._path, f"{what}: {self._reason(exc)}", stream_id=sid)

    def _read(self, sid: str | None, sql: str, params: Sequence[Any]) -> list[Any]:
        return self._run(lambda conn, _: conn.execute(sql, params).fetchall(), sid)

    def _live(self) -> None:
        if self._closed:
            raise StoreError(self._path, "the store is closed")

    def _reason(self, exc: BaseException) -> str:
        """The driver's message on one line, the password (if any) never in it."""
        text = _text(exc).replace(self._url, self._path)
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _event(self, sid: str, row: Sequence[Any]) -> StoredEvent:
        seq, kind, minute, wall, payload, gseq, actor, key, corr, cause = row
        return StoredEvent(sid, seq, kind, self._payload(payload, sid, seq), minute,
                           _utc(wall), gseq, actor, key, corr, cause)

    def _info(self, row: Sequence[Any]) -> StreamInfo:
        sid, kind, created, header, count, last = row
        return StreamInfo(sid, kind, _utc(created), self._payload(header, sid, 1), count,
                          _utc(last))

    def _payload(self, text: str, sid: str, seq: int) -> dict[str, Any]:
        value = json.loads(text)
        if not isinstance(value, dict):
            raise StoreError(self._path, f"the stored value {text[:80]!r} is damaged",
                             stream_id=sid, seq=seq)
        return value


def _text(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.removeprefix("connection failed: ")


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


