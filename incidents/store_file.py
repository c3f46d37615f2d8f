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
transaction when it is opened read-write (all or nothing). Version 1 had the tables only;
version 2 adds the (stream_id, kind, seq) index and the append-only triggers; version 3 adds
one global order across streams (`gseq`), the actor, a unique idempotency key, and correlation
and causation ids (the live desk's needs), numbering the events already there stream by
stream, oldest stream first, and a table of snapshots (projections saved at a position, so a
desk need not replay the whole log to open). New stores are made as version 1 and migrated, so the migrations
run on every new store too.

Read-only opening (`open_readonly`) writes nothing, in or beside the file, in any journal mode:
while no -wal or -journal file exists it reads with `immutable=1` and checks after every read
that the file did not change meanwhile (if it did, the read is done again through a locked
read-only connection); an older schema is read as it is. Read-write opening first removes what
an interrupted creation left (`.NAME.<uuid>.creating` files whose creator is gone: a creator
holds an exclusive flock on its file), and refuses a folder on a network filesystem, where
SQLite's WAL cannot work (every process must share memory on one host, and the locks of many
network filesystems are unreliable).

StoreError lives here, beneath both modules, and incidents.store re-exports it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

try:
    import fcntl
except ImportError:  # not POSIX: leftovers are judged by their age alone
    fcntl = None  # type: ignore[assignment]

from incidents.errors import IncidentsError

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "StoreError", "Handle", "open_file",
           "open_readonly", "release", "fsync_folder", "network_filesystem"]

APPLICATION_ID = 0x4D555354
"""`PRAGMA application_id` of every Muster store: the bytes "MUST"."""

SCHEMA_VERSION = 3
"""The schema this Muster writes, and the newest it reads."""

MOUNTINFO = Path("/proc/self/mountinfo")
"""Where Linux lists mounts and their filesystem types (tests point it elsewhere)."""
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs",
    "lustre", "gpfs", "beegfs", "orangefs", "gfs2", "ocfs2", "davfs", "fuse.sshfs",
    "fuse.glusterfs", "fuse.s3fs", "fuse.rclone", "fuse.davfs2", "fuse.gcsfuse",
    "fuse.cephfs", "fuse.juicefs"})
"""Filesystem types a store must not live on (shared over a network)."""
LEFTOVER_SECONDS = 10.0
"""An unlocked temporary file of a creation older than this is abandoned (creating a store
takes milliseconds; the age closes the instant between a creator making its file and
locking it)."""
_T = TypeVar("_T")

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
    # 2 -> 3: one global order across streams (a desk reads what is after the last position
    # it saw), who did it, an idempotency key (a retry is applied once), correlation and
    # causation ids. The table is rebuilt: SQLite cannot add a primary key or a unique column.
    ("DROP TRIGGER events_no_UPDATE",
     "DROP TRIGGER events_no_DELETE",
     """CREATE TABLE events_v3 (
        gseq        INTEGER PRIMARY KEY,
        stream_id   TEXT NOT NULL REFERENCES streams (id),
        seq         INTEGER NOT NULL CHECK (seq >= 1),
        kind        TEXT NOT NULL CHECK (length(kind) > 0),
        sim_minute  REAL,
        wall        TEXT NOT NULL,
        payload     TEXT NOT NULL,
        actor       TEXT,
        key         TEXT UNIQUE,
        correlation TEXT,
        causation   TEXT,
        UNIQUE (stream_id, seq)
    )""",
     "INSERT INTO events_v3 (stream_id, seq, kind, sim_minute, wall, payload) "
     "SELECT e.stream_id, e.seq, e.kind, e.sim_minute, e.wall, e.payload FROM events AS e "
     "LEFT JOIN streams AS s ON s.id = e.stream_id "
     "ORDER BY s.created IS NULL, s.created, e.stream_id, e.seq",
     "DROP TABLE events",
     "ALTER TABLE events_v3 RENAME TO events",
     "CREATE INDEX events_by_kind ON events (stream_id, kind, seq)",
     *(_FORBID.format(t="events", op=op) for op in ("UPDATE", "DELETE")),
     # Snapshots of projections (derived, replaceable): a desk opens from the latest one and
     # the events after it instead of replaying the whole log. Not append-only: a cache.
     """CREATE TABLE snapshots (
        name     TEXT PRIMARY KEY NOT NULL,
        position INTEGER NOT NULL CHECK (position >= 0),
        written  TEXT NOT NULL,
        data     BLOB NOT NULL
    )"""),
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

class Handle:
    """An open connection to a store's file and this process's hold on it.

    `run(fn)` is how every read goes: read-write and locked read-only connections just run it;
    an `immutable=1` read-only connection (used while nothing else writes, because it leaves no
    -wal/-shm files behind) runs it, then checks the file is as it was, and if not, reads
    again through a connection that honours other programs' locks.
    """

    def __init__(self, conn: sqlite3.Connection, key: tuple[int, int], *, readonly: bool,
                 p: Path, name: str, timeout: float) -> None:
        self.conn, self.key, self.readonly = conn, key, readonly
        self._p, self._name, self._timeout = p, name, timeout
        self._print: tuple[int, ...] | None = None
        self._generation = 0
        self.schema: int = conn.execute("PRAGMA user_version").fetchone()[0]

    @classmethod
    def frozen(cls, p: Path, name: str, timeout: float, key: tuple[int, int]) -> Handle:
        """Read-only without locks, valid while the file keeps its fingerprint."""
        before = _fingerprint(p)
        handle = cls(_connect(p, name, "ro&immutable=1", timeout), key, readonly=True, p=p,
                     name=name, timeout=timeout)
        handle._print = before
        return handle

    def run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._print is None:
            return fn(self.conn)
        if not self._moved():
            result = fn(self.conn)
            if not self._moved():
                return result
        self._thaw()
        return fn(self.conn)

    def data_version(self) -> tuple[int, int]:
        """(connection generation, PRAGMA data_version): changes when others commit."""
        if self._print is not None and self._moved():
            self._thaw()
        return self._generation, self.conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            release(self.key)

    def _moved(self) -> bool:
        try:
            return _busy(self._p) or _fingerprint(self._p) != self._print
        except OSError:
            return True

    def _thaw(self) -> None:
        """The file changed: read it from now on through a locked read-only connection (or a
        fresh immutable one, if the writer has gone and left no -wal behind)."""
        old = self.conn
        if _busy(self._p):
            self.conn, self._print = _connect(self._p, self._name, "ro", self._timeout), None
        else:
            self._print = _fingerprint(self._p)
            self.conn = _connect(self._p, self._name, "ro&immutable=1", self._timeout)
        self._generation += 1
        old.close()


def _fingerprint(p: Path) -> tuple[int, ...]:
    st = p.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _busy(p: Path) -> bool:
    """Whether a writer may be at work: a -wal or a rollback -journal beside the file."""
    return _side(p, "-wal").exists() or _side(p, "-journal").exists()


def open_file(p: Path, name: str, *, create: bool, timeout: float) -> Handle:
    """Check the file at `p` read-only, then open it read-write and migrate it.

    `name` is the path as the caller wrote it, for messages. The handle holds this process's
    hold on the file, which its `close` gives back.
    """
    network = network_filesystem(p.parent)
    if network:
        raise StoreError(name, f"is on a network filesystem ({network}): SQLite's WAL needs "
                               "every program on one host and reliable file locks; keep the "
                               "store on a local disk")
    _clean_leftovers(p)
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
            return Handle(conn, key, readonly=False, p=p, name=name, timeout=timeout)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(name, f"cannot open: {exc}") from None
            raise
    except BaseException:
        release(key)
        raise


def open_readonly(p: Path, name: str, timeout: float) -> Handle:
    """Check the file at `p` and open it for reading only: nothing is written in or beside
    it, whatever its journal mode, and an older schema is read as it is (not upgraded)."""
    _located(p, name, False)
    key = _reserve(p, name)
    try:
        _inspect(p, name, timeout)
        try:
            if _busy(p):
                return Handle(_connect(p, name, "ro", timeout), key, readonly=True, p=p,
                              name=name, timeout=timeout)
            return Handle.frozen(p, name, timeout, key)
        except sqlite3.Error as exc:
            raise StoreError(name, f"cannot open: {exc}") from None
    except BaseException:
        release(key)
        raise


def fsync_folder(folder: Path) -> None:
    """Make a new name in `folder` durable (POSIX; a no-op elsewhere)."""
    if os.name == "posix":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def network_filesystem(folder: Path) -> str | None:
    """"TYPE mounted at MOUNT" if `folder` is on a network filesystem (Linux), else None."""
    try:
        text = MOUNTINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    real = os.path.realpath(folder)
    best, kind = "", ""
    for line in text.splitlines():
        fields = line.split(" ")
        if "-" not in fields[6:] or len(fields) < 5:
            continue
        mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, fields[fields.index("-", 6) + 1]
    if kind in NETWORK_FILESYSTEMS or kind.startswith("nfs"):
        return f"{kind} mounted at {best}"
    return None


def _clean_leftovers(p: Path) -> None:
    """Remove the temporary files of creations of `p` that were interrupted (a kill, a power
    cut): `.NAME.<uuid>.creating` and its -journal/-wal/-shm. One being built now is kept:
    its creator holds an exclusive flock on it (and it is younger than LEFTOVER_SECONDS)."""
    prefix = f".{p.name}."
    try:
        names = [n for n in os.listdir(p.parent) if n.startswith(prefix)]
    except OSError:
        return
    for n in names:
        base, found, side = n[len(prefix):].partition(".creating")
        if not found or not re.fullmatch(r"[0-9a-f]{32}", base) \
                or side not in ("", "-journal", "-wal", "-shm"):
            continue
        main = p.with_name(f"{prefix}{base}.creating")
        if side:
            if not main.exists():  # its creator is past needing it, or gone
                p.with_name(n).unlink(missing_ok=True)
            continue
        _remove_if_abandoned(main)


def _remove_if_abandoned(tmp: Path) -> None:
    try:
        fd = os.open(tmp, os.O_RDONLY)
    except OSError:
        return
    try:
        if time.time() - os.fstat(fd).st_mtime < LEFTOVER_SECONDS:
            return
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # its creator is alive and at work
        for leftover in (tmp, _side(tmp, "-journal"), _side(tmp, "-wal"), _side(tmp, "-shm")):
            leftover.unlink(missing_ok=True)
    finally:
        os.close(fd)


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
    is then used, so a file at `p` is never half made, and never a zero-byte file. The
    temporary file is flocked while it is built, so that `_clean_leftovers` in another
    program leaves it alone.
    """
    tmp = p.with_name(f".{p.name}.{uuid.uuid4().hex}.creating")
    fd = -1
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        conn = sqlite3.connect(_uri(tmp, "rw"), uri=True, isolation_level=None)
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
        fsync_folder(p.parent)  # make the new name itself durable
    except (sqlite3.Error, OSError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise StoreError(name, f"cannot create the store: {reason}") from None
    finally:
        for leftover in (tmp, _side(tmp, "-journal"), _side(tmp, "-wal"), _side(tmp, "-shm")):
            leftover.unlink(missing_ok=True)
        if fd >= 0:
            os.close(fd)


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
