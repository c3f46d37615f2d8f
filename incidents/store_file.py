"""The store's file: checking, creating, migrating and opening it, for incidents.store.

Split from incidents.store, which keeps the API (EventStore) and the checks of the values
written through it: everything here is about the SQLite file as a file, before and beneath
any stream or event, and none of it is called by code outside the store.

Opening checks before it writes, so a refused file is left byte for byte, with no -wal/-shm
beside it: the 100-byte header is read by hand (magic, page size, application id, schema,
length), then SQLite reads it (`mode=ro`; `immutable=1` while no -wal exists, as a read-only
connection would leave -wal/-shm behind) down to `PRAGMA quick_check`, whose cost grows with
the file (a 100 MB store opens in about 0.1 s). New stores are built under a temporary name
and linked into place complete, so programs creating one store at once all end up in the same
file. The connection `open_file` returns is in WAL mode with `synchronous=FULL` (see
incidents.store on durability).

Schema: `PRAGMA application_id` = APPLICATION_ID ("MUST"), `PRAGMA user_version` = schema.
`_MIGRATIONS[k - 1]` turns version k into k + 1; the steps an older store needs run in one
transaction when it is opened (all or nothing). Version 1 had the tables only; version 2 adds
the (stream_id, kind, seq) index and the append-only triggers. New stores are made as
version 1 and migrated, so the migrations run on every new store too.

StoreError lives here, beneath both modules, and incidents.store re-exports it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import uuid
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from incidents.errors import IncidentsError

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "StoreError", "open_file", "release"]

APPLICATION_ID = 0x4D555354
"""`PRAGMA application_id` of every Muster store: the bytes "MUST"."""

SCHEMA_VERSION = 2
"""The schema this Muster writes, and the newest it reads."""

_MAGIC = b"SQLite format 3\x00"
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}

_SCHEMA_V1 = (
    """CREATE TABLE streams (
        id      TEXT PRIMARY KEY NOT NULL,
        kind    TEXT NOT NULL CHECK (length(kind) > 0),
        created TEXT NOT NULL
    )""",
    """CREATE TABLE events (
        stream_id  TEXT NOT NULL REFERENCES streams (id),
        seq        INTEGER NOT NULL CHECK (seq >= 1),
        kind       TEXT NOT NULL CHECK (length(kind) > 0),
        sim_minute REAL,
        wall       TEXT NOT NULL,
        payload    TEXT NOT NULL,
        PRIMARY KEY (stream_id, seq)
    ) WITHOUT ROWID""",
)
_FORBID = ("CREATE TRIGGER {t}_no_{op} BEFORE {op} ON {t} "
           "BEGIN SELECT RAISE(ABORT, 'Muster {t} are append-only'); END")
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1 -> 2: "every inject of this drill" without reading the whole stream, and the
    # append-only rule kept by the file itself, not only by this module.
    ("CREATE INDEX events_by_kind ON events (stream_id, kind, seq)",
     *(_FORBID.format(t=t, op=op) for t in ("events", "streams") for op in ("UPDATE", "DELETE"))),
)

# POSIX locks belong to a process, and closing ANY descriptor of a file drops all of them
# (sqlite.org/howtocorrupt.html, 2.2). Reading the header by hand while this process has a
# SQLite connection to the same file would silently unlock it, so the hand-read is done only
# for a file no EventStore of this process holds: a registry per process is the point.
_held: dict[tuple[int, int], int] = {}
_held_lock = threading.Lock()


class StoreError(IncidentsError):
    """A store could not be opened, read or written; one line naming the file (and where)."""

    def __init__(self, path: str, reason: str, *, stream_id: str | None = None,
                 seq: int | None = None) -> None:
        self.path, self.reason, self.stream_id, self.seq = path, reason, stream_id, seq
        where = "" if stream_id is None else \
            f"stream {stream_id}{'' if seq is None else f', event {seq}'}: "
        super().__init__(f"{path}: error: {where}{reason}".translate(_LINE_BREAKS))

    def __reduce__(self) -> tuple[Any, ...]:  # keeps its fields across processes
        return (partial(StoreError, stream_id=self.stream_id, seq=self.seq),
                (self.path, self.reason))


# -- opening ---------------------------------------------------------------------------------

def open_file(p: Path, name: str, *, create: bool,
              timeout: float) -> tuple[sqlite3.Connection, tuple[int, int]]:
    """Check the file at `p` read-only, then open it read-write and migrate it.

    `name` is the path as the caller wrote it, for messages. Returns the connection and this
    process's hold on the file, which `release` gives back once the connection is closed.
    """
    if not _located(p, name, create):
        _create(p, name)
    key = _reserve(p, name)
    try:
        _inspect(p, name, timeout)
        if not os.access(p, os.W_OK):
            raise StoreError(name, "cannot write the store: permission denied")
        if not os.access(p.parent, os.W_OK | os.X_OK):
            raise StoreError(name, f"cannot write in the folder {p.parent}: permission "
                                   "denied (SQLite keeps -wal and -shm files beside it)")
        conn = _connect(p, name, "rw", timeout)
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(name, f"cannot switch the store to WAL (it stays {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn, name)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(name, f"cannot open: {exc}") from None
            raise
    except BaseException:
        release(key)
        raise
    return conn, key


def _uri(p: Path, mode: str) -> str:
    return f"file:{quote(str(p.absolute()))}?mode={mode}"


def _side(p: Path, suffix: str) -> Path:
    return p.with_name(p.name + suffix)


def _connect(p: Path, name: str, mode: str, timeout: float) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(_uri(p, mode), uri=True, timeout=timeout,
                               isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    except sqlite3.Error as exc:
        raise StoreError(name, f"SQLite cannot open it: {exc}") from None
    return conn


def _located(p: Path, name: str, create: bool) -> bool:
    """Whether a regular file is at `p`; refuses what cannot be a store or be created."""
    try:
        st = p.stat()
    except FileNotFoundError:
        if not create:
            raise StoreError(name, "no such store file") from None
        if not p.parent.is_dir():
            what = "is not a folder" if p.parent.exists() else "does not exist"
            raise StoreError(name, f"cannot create the store: the folder {p.parent} "
                                   f"{what}") from None
        if not os.access(p.parent, os.W_OK | os.X_OK):
            raise StoreError(name, "cannot create the store: permission denied in the folder "
                                   f"{p.parent}") from None
        return False
    except NotADirectoryError:
        raise StoreError(name, "a part of the path is a file, not a folder") from None
    except OSError as exc:
        raise StoreError(name, f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise StoreError(name, "is a directory, not a store file")
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(name, "is not a regular file")
    if not os.access(p, os.R_OK):
        raise StoreError(name, "cannot read the store: permission denied")
    return True


def _create(p: Path, name: str) -> None:
    """Build a complete new store beside `p` and link it into place.

    Linking fails if `p` appeared meanwhile (another program created it first); that store
    is then used, so a file at `p` is never half made, and never a zero-byte file.
    """
    tmp = p.with_name(f".{p.name}.{uuid.uuid4().hex}.creating")
    try:
        conn = sqlite3.connect(_uri(tmp, "rwc"), uri=True, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            for statement in _SCHEMA_V1:
                conn.execute(statement)
            conn.execute("PRAGMA user_version = 1")
            conn.execute("COMMIT")
            _migrate(conn, name)
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        try:
            os.link(tmp, p)
        except FileExistsError:
            pass
        except OSError:  # no hard links (FAT, some network file systems)
            if not p.exists():
                os.replace(tmp, p)
        if os.name == "posix":  # make the new name itself durable
            folder = os.open(p.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
    except (sqlite3.Error, OSError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise StoreError(name, f"cannot create the store: {reason}") from None
    finally:
        for leftover in (tmp, _side(tmp, "-journal"), _side(tmp, "-wal"), _side(tmp, "-shm")):
            leftover.unlink(missing_ok=True)


def _reserve(p: Path, name: str) -> tuple[int, int]:
    """Count this process's hold on the file; the first hold reads the header by hand."""
    with _held_lock:
        try:
            st = p.stat()
        except OSError as exc:  # gone meanwhile, or a dangling symbolic link
            raise StoreError(name, f"cannot read: {exc.strerror or exc}") from None
        key = (st.st_dev, st.st_ino)
        if not _held.get(key):
            _check_header(p, name)
        _held[key] = _held.get(key, 0) + 1
        return key


def release(key: tuple[int, int]) -> None:
    """Give back a hold `open_file` returned; call it after closing the connection."""
    with _held_lock:
        _held[key] -= 1
        if not _held[key]:
            del _held[key]


def _version_problem(version: int) -> str | None:
    if version > SCHEMA_VERSION:
        return (f"written by a newer Muster (schema {version}); this version reads up to "
                f"schema {SCHEMA_VERSION}; upgrade Muster")
    if version < 1:
        return f"has Muster's application id but no schema version ({version}); it is damaged"
    return None


def _foreign(app_id: int) -> str:
    if app_id == 0:
        return "is a SQLite database but not a Muster event store (it has no application id)"
    return (f"is a SQLite database of another application (application id "
            f"{app_id & 0xFFFFFFFF:#010x}), not a Muster event store")


def _check_header(p: Path, name: str) -> None:
    """Refuse, from the first 100 bytes and the length alone, what SQLite should not see.

    Offsets from sqlite.org/fileformat.html, 1.3. The schema version and the page count
    in the header are current only while no -wal file holds newer pages.
    """
    try:
        with open(p, "rb") as f:
            head, size = f.read(100), os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise StoreError(name, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise StoreError(name, "is empty, not a Muster event store")
    if len(head) < 100 or head[:16] != _MAGIC:
        raise StoreError(name, "is not a Muster event store (not a SQLite database)")
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1):
        raise StoreError(name, "is damaged: its SQLite header names no valid page size")
    app_id = int.from_bytes(head[68:72], "big", signed=True)
    if app_id != APPLICATION_ID:
        raise StoreError(name, _foreign(app_id))
    if size % page:
        raise StoreError(name, f"is damaged or truncated: {size:,} bytes is not a whole "
                               f"number of {page}-byte pages; restore it from a copy")
    if _side(p, "-wal").exists():
        return
    problem = _version_problem(int.from_bytes(head[60:64], "big", signed=True))
    if problem:
        raise StoreError(name, problem)
    pages = int.from_bytes(head[28:32], "big")
    if pages and head[24:28] == head[92:96] and size < pages * page:
        raise StoreError(name, f"is truncated: {size:,} bytes where its header says "
                               f"{pages * page:,}; restore it from a copy")


def _inspect(p: Path, name: str, timeout: float) -> None:
    """SQLite's read-only checks: application id, schema version, tables, quick_check."""
    def fingerprint() -> tuple[int, ...]:
        st = p.stat()
        return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns

    quiet = not _side(p, "-wal").exists()
    before = fingerprint() if quiet else ()
    problem = _inspect_with(p, name, timeout, immutable=quiet)
    if problem and quiet and (_side(p, "-wal").exists() or fingerprint() != before):
        # Another program wrote while we read without locks: look again, properly locked.
        problem = _inspect_with(p, name, timeout, immutable=False)
    if problem:
        raise StoreError(name, problem)


def _inspect_with(p: Path, name: str, timeout: float, *, immutable: bool) -> str | None:
    conn = _connect(p, name, "ro&immutable=1" if immutable else "ro", timeout)
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id != APPLICATION_ID:
            return _foreign(app_id)
        problem = _version_problem(conn.execute("PRAGMA user_version").fetchone()[0])
        if problem:
            return problem
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"streams", "events"} <= tables:
            return "has Muster's application id but not its tables; it is damaged"
        found = [" ".join(row[0].replace("*** in database main ***", "").split())
                 for row in conn.execute("PRAGMA quick_check(3)")]
        if found != ["ok"]:
            return f"is damaged (SQLite's quick_check: {'; '.join(found)}); restore it from a copy"
    except sqlite3.Error as exc:
        if getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
            return f"stayed locked by another program for {timeout:g} s"
        return f"is damaged or truncated (SQLite: {exc}); restore it from a copy"
    finally:
        conn.close()
    return None


def _migrate(conn: sqlite3.Connection, name: str) -> None:
    """Bring the store to SCHEMA_VERSION in one transaction. Another opener may race us, so
    the version is read again once the write lock is held."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    try:
        problem = _version_problem(version)
        if problem:
            raise StoreError(name, problem)
        for step in _MIGRATIONS[version - 1:SCHEMA_VERSION - 1]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(name, f"cannot upgrade the store from schema {version} to "
                                   f"{SCHEMA_VERSION} ({exc}); it is unchanged"
                             ) from None
        raise
