"""Shared helpers for the event-store tests: stores made by hand, digests, refusals."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from incidents.store import APPLICATION_ID, EventStore, StoreError

__all__ = ["SPAWN", "SIDE_SUFFIXES", "V1_SCHEMA", "V2_EXTRA", "WHEN", "SCENARIO_TEXT",
           "digest", "side_files", "refuse", "new_store", "make_v1", "make_v2", "raw_rows",
           "raw_payloads", "schema", "pragma", "in_threads"]

SPAWN = multiprocessing.get_context("spawn")
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")

# Schema version 1 exactly as the first Muster wrote it: tables only, no index on kinds, no
# append-only triggers. Written out here, not taken from the module, so a change to the
# module's copy cannot make this test agree with itself.
V1_SCHEMA = (
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

# What schema 2 added to schema 1, as Muster 0.1 wrote it (the schema before the live desk):
# the index on kinds and the append-only triggers.
V2_EXTRA = (
    "CREATE INDEX events_by_kind ON events (stream_id, kind, seq)",
    *(f"CREATE TRIGGER {t}_no_{op} BEFORE {op} ON {t} "
      f"BEGIN SELECT RAISE(ABORT, 'Muster {t} are append-only'); END"
      for t in ("events", "streams") for op in ("UPDATE", "DELETE")),
)

WHEN = "2024-03-01T08:00:00.000000+00:00"
SCENARIO_TEXT = "名称: 华东暴雨\n描述: 仓库进水，维修工单激增\nhorizon: 3d\n"


# -- helpers ---------------------------------------------------------------------------------

def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def side_files(path: Path) -> list[str]:
    return [path.name + s for s in SIDE_SUFFIXES if path.with_name(path.name + s).exists()]


def refuse(path: Path, *, create: bool = True) -> str:
    """Open `path`, expect a one-line StoreError; the file must be exactly as it was."""
    before = digest(path) if path.is_file() else None
    with pytest.raises(StoreError) as info:
        EventStore.open(path, create=create)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert message.startswith(f"{path}: error: "), message
    assert (digest(path) if path.is_file() else None) == before
    assert side_files(path) == []
    return message


def new_store(path: Path | str, events: int = 0, payload: str = "") -> str:
    """A closed store with one drill stream of `events` actions after its header."""
    with EventStore.open(path) as store:
        sid = store.new_stream("drill", {"scenario": "flood"})
        for i in range(events):
            store.append(sid, "action", {"i": i, "note": payload}, sim_minute=float(i))
    return sid


def make_v1(path: Path, *, version: int = 1,
            journal: str = "WAL") -> dict[str, list[tuple[object, ...]]]:
    """A genuine schema-1 (or 2) store with two streams; returns each stream's rows. The
    second stream was created first (an hour earlier), so the upgrade to schema 3 numbers
    its events first."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute("BEGIN")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for statement in V1_SCHEMA + (V2_EXTRA if version == 2 else ()):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    rows: dict[str, list[tuple[object, ...]]] = {}
    for sid, kind, n, created in (("d1", "drill", 5, "2024-03-01T08:00:00.000000+00:00"),
                                  ("演练-2", "演练", 3, "2024-03-01T07:00:00.000000+00:00")):
        conn.execute("INSERT INTO streams VALUES (?, ?, ?)", (sid, kind, created))
        rows[sid] = [(1, "header", None, "2024-03-01T08:00:00.000000+00:00",
                      '{"scenario":"' + SCENARIO_TEXT.replace("\n", "\\n") + '"}')]
        for seq in range(2, n + 2):
            rows[sid].append((seq, "inject", seq * 1.5, f"2024-03-01T08:0{seq}:00.000000+00:00",
                              f'{{"n":{seq},"说明":"第{seq}步"}}'))
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                         [(sid, *row) for row in rows[sid]])
    conn.execute("COMMIT")
    conn.close()
    assert side_files(path) == []
    return rows


def make_v2(path: Path, journal: str = "WAL") -> dict[str, list[tuple[object, ...]]]:
    """A genuine schema-2 store (the schema before the live desk) with two streams."""
    return make_v1(path, version=2, journal=journal)


def raw_rows(path: Path, sid: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT seq, kind, sim_minute, wall, payload FROM events "
                            "WHERE stream_id = ? ORDER BY seq", (sid,)).fetchall()
    finally:
        conn.close()


def raw_payloads(url: str, sid: str) -> list[str]:
    """A stream's payloads as the database holds them (text), read by another client: a
    SQLite file at `url`, or a PostgreSQL database."""
    if url.startswith(("postgresql:", "postgres:")):
        from tests.backends import psql
        return [row[0] for row in psql(url, "SELECT payload::text FROM muster.events WHERE "
                                            "stream_id = %s ORDER BY seq", (sid,))]
    return [str(row[4]) for row in raw_rows(Path(url), sid)]


def schema(path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(path)  # not mode=ro: a read-only last user leaves -wal/-shm
    try:
        return sorted((kind, name, " ".join(sql.split()))
                      for kind, name, sql in conn.execute(
                          "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"))
    finally:
        conn.close()


def pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)  # not mode=ro: a read-only last user leaves -wal/-shm
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def in_threads(work: Callable[[int], None], count: int) -> list[Exception]:
    """Run work(0) .. work(count - 1) at once, one thread each; the exceptions they raised
    (a thread's exception would otherwise be printed and lost, and the test pass)."""
    errors: list[Exception] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except Exception as exc:  # reported by the caller, with the test's failure
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
