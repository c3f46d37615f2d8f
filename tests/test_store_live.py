"""What the live desk needs of the event store (schema 3): one global order, stream versions
checked on append (optimistic concurrency), idempotency keys, batches all or nothing, change
detection, backups, and the upgrade of a schema-2 store.

Each rule is broken here once on purpose: a stale version, a key used twice, a batch whose
last event conflicts, another connection's commit. The tests taking `store_url` run on every
back end (tests/backends.py).
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from incidents.store import (SCHEMA_VERSION, ConflictError, EventStore, Pending, StoreError,
                             Written, open_store)

from tests.backends import eventually, is_pg
from tests.store_helpers import (SPAWN, digest, make_v2, new_store, pragma, raw_rows, schema,
                                 side_files)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=8)))


# -- the upgrade from schema 2 ---------------------------------------------------------------

def test_a_version_2_store_is_upgraded_and_numbered_stream_by_stream(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    rows = make_v2(path)
    assert pragma(path, "user_version") == 2
    with EventStore.open(path, create=False) as store:
        everything = list(store.since(0))
        # The stream created first (演练-2, an hour earlier) is numbered first.
        assert [(e.stream_id, e.seq) for e in everything] == \
            [("演练-2", s) for s in range(1, 5)] + [("d1", s) for s in range(1, 7)]
        assert [e.gseq for e in everything] == list(range(1, 11))
        assert all(e.actor is None and e.key is None for e in everything)
        assert store.position() == 10
        assert store.append("d1", "action", {}, actor="王芳", key="k1") == 7
        assert store.position() == 11
    assert pragma(path, "user_version") == SCHEMA_VERSION == 3
    for sid, expected in rows.items():
        assert raw_rows(path, sid)[:len(expected)] == expected
    fresh = tmp_path / "fresh.db"
    new_store(fresh)
    assert schema(path) == schema(fresh)
    conn = sqlite3.connect(path)
    for statement in ("UPDATE events SET payload = '{}'", "DELETE FROM events",
                      "UPDATE streams SET kind = 'x'", "DELETE FROM streams"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO events (stream_id, seq, kind, wall, payload, key) "
                     "VALUES ('d1', 99, 'x', 'w', '{}', 'k1')")
    conn.close()


# -- versions, keys, batches -----------------------------------------------------------------

def test_an_append_decided_on_a_stale_version_is_refused(store_url: str) -> None:
    with open_store(store_url) as store:
        sid = store.new_stream("case", {"id": "RC-1"}, stream_id="case:RC-1")
        assert store.version(sid) == 1
        assert store.append(sid, "fired", {"trigger": "受理"}, expected_version=1) == 2
        with pytest.raises(ConflictError) as info:
            store.append(sid, "escalated", {}, expected_version=1)
        assert str(info.value) == (f"{store.path}: error: stream case:RC-1: changed meanwhile: "
                                   "decided on version 1, it is at version 2; nothing was "
                                   "written")
        assert (info.value.expected, info.value.actual) == (1, 2)
        assert store.version(sid) == 2
        assert store.append(sid, "note", {}) == 3  # a note passes no version: never conflicts
        assert store.append(sid, "escalated", {}, expected_version=3) == 4
        with pytest.raises(StoreError, match="expected_version must be a stream version"):
            store.append(sid, "x", {}, expected_version=0)


def test_a_key_is_applied_once(store_url: str) -> None:
    with open_store(store_url) as store:
        sid = store.new_stream("case", {}, stream_id="c1")
        first = store.write([Pending(sid, "fired", {"n": 1}, key="王芳:ack:1", actor="王芳")])
        assert first == [Written("c1", 2, first[0].gseq, True)]
        again = store.write([Pending(sid, "fired", {"n": 1}, key="王芳:ack:1", actor="王芳",
                                     expected_version=1)])  # a retry: not a conflict
        assert again == [Written("c1", 2, first[0].gseq, False)]
        assert store.append(sid, "fired", {"n": 2}, key="王芳:ack:1") == 2
        # Twice in one batch: written once; a timer key from two desks: written once.
        done = store.write([Pending(sid, "expired", {}, key="timer:c1:sla:ack"),
                            Pending(sid, "expired", {}, key="timer:c1:sla:ack")])
        assert [(w.seq, w.new) for w in done] == [(3, True), (3, False)]
        events = list(store.events(sid))
        assert [(e.seq, e.key, e.actor) for e in events] == \
            [(1, None, None), (2, "王芳:ack:1", "王芳"), (3, "timer:c1:sla:ack", None)]
        again_stream = store.new_stream("case", {}, stream_id="c2", key="open:c2")
        assert store.new_stream("case", {}, stream_id="c2", key="open:c2") == again_stream
        with pytest.raises(ConflictError, match="stream c2: already exists"):
            store.new_stream("case", {}, stream_id="c2")


def test_a_batch_is_written_whole_or_not_at_all(store_url: str) -> None:
    with open_store(store_url) as store:
        store.new_stream("case", {}, stream_id="a")
        batch = [Pending(f"case-{i}", "header", {"i": i}, stream_kind="case", actor="导入")
                 for i in range(50)]
        batch += [Pending(f"case-{i}", "opened", {}, expected_version=1) for i in range(50)]
        batch += [Pending("a", "escalated", {}, expected_version=1),
                  Pending("a", "escalated", {}, expected_version=1)]  # stale within the batch
        before = store.position()
        with pytest.raises(ConflictError, match="stream a: changed meanwhile"):
            store.write(batch)
        assert store.position() == before and len(store.streams()) == 1
        done = store.write(batch[:-1])
        assert [w.seq for w in done] == [1] * 50 + [2] * 50 + [2]
        assert [w.gseq for w in done] == list(range(before + 1, before + 102))
        assert {s.kind for s in store.streams()} == {"case"}
        assert store.header("case-7") == {"i": 7}
        with pytest.raises(StoreError, match="the first event of a stream is its header"):
            store.write([Pending("x", "opened", {}, stream_kind="case")])
        with pytest.raises(StoreError, match="stream nope: no such stream"):
            store.write([Pending("nope", "x", {})])
        assert store.write([]) == []


# -- the global order and change detection ----------------------------------------------------

def test_since_reads_every_stream_in_one_order(store_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import incidents.store as store_module
    monkeypatch.setattr(store_module, "_PAGE", 7)
    with open_store(store_url) as store:
        store.new_stream("op", {}, stream_id="op")
        store.new_stream("case", {}, stream_id="c")
        for i in range(30):
            store.append("op" if i % 2 else "c", "x", {"i": i}, wall=T0 - timedelta(hours=i))
        everything = list(store.since())
        assert [e.gseq for e in everything] == list(range(1, 33))
        assert [e.payload.get("i") for e in everything[2:]] == list(range(30))
        assert [e.gseq for e in store.since(29)] == [30, 31, 32]
        assert list(store.since(store.position())) == []
        with pytest.raises(StoreError, match="position must be"):
            store.since(-1)


def test_changed_sees_other_connections_commits_not_its_own(store_url: str) -> None:
    """On PostgreSQL the wake-up (NOTIFY) arrives a moment after the commit: waited for."""
    with open_store(store_url) as mine, open_store(store_url) as theirs:
        sid = mine.new_stream("case", {})
        assert mine.changed() is True  # the first look
        assert mine.changed() is False
        mine.append(sid, "x", {})
        theirs.append(sid, "x", {})
        eventually(mine.changed, "the other connection's commit seen")
        assert mine.changed() is False
        mine.append(sid, "z", {})
        marker = theirs.new_stream("case", {})  # after mine: its wake-up comes after mine's
        eventually(mine.changed, "the marker seen")
        assert mine.changed() is False  # its own commit it knew about: no wake-up for it
        seen = mine.position()
        theirs.append(sid, "y", {"by": "李强"})
        eventually(mine.changed, "the other's second commit seen")
        assert [e.payload for e in mine.since(seen)] == [{"by": "李强"}]
        assert marker


def _write_many(path: str, worker: int, n: int) -> None:
    with open_store(path, create=False) as store:
        for i in range(n):
            store.append("shared", "x", {"w": worker, "i": i})


def test_processes_share_one_gapless_global_order(store_url: str) -> None:
    path = store_url
    with open_store(path) as store:
        store.new_stream("op", {}, stream_id="shared")
    procs = [SPAWN.Process(target=_write_many, args=(path, w, 150)) for w in range(3)]
    for proc in procs:
        proc.start()
    with open_store(path, create=False) as reader:
        seen: list[int] = []
        while any(p.is_alive() for p in procs) or len(seen) < 451:
            if reader.changed() or not seen:
                seen += [e.gseq for e in reader.since(seen[-1] if seen else 0)]
            if not any(p.is_alive() for p in procs):
                seen += [e.gseq for e in reader.since(seen[-1] if seen else 0)]
                break
        assert seen == list(range(1, 452))  # read while written: no gap, no duplicate
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0


# -- backup and check -------------------------------------------------------------------------

def test_a_backup_is_a_checked_copy_taken_while_others_write(store_url: str,
                                                             tmp_path: Path) -> None:
    """SQLite: the backup API; PostgreSQL: every event into a SQLite file, checked by count
    and digest (the server itself is backed up with pg_dump)."""
    path = store_url
    with open_store(path) as store:
        sid = store.new_stream("op", {"名称": "召回"})
        stop = threading.Event()

        def keep_writing() -> None:
            with open_store(path, create=False) as other:
                while not stop.is_set():
                    other.append(sid, "note", {"text": "进展"})

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            for _ in range(50):
                store.append(sid, "note", {})
            copy = store.backup(tmp_path / "备份.db")
        finally:
            stop.set()
            writer.join()
        assert store.check() == ["ok"]
        with pytest.raises(StoreError, match="already exists; a backup never overwrites"):
            store.backup(copy)
        with pytest.raises(StoreError, match="does not exist"):
            store.backup(tmp_path / "no" / "b.db")
    assert side_files(copy) == [] and pragma(copy, "journal_mode") == "delete"
    with EventStore.open(copy, readonly=True) as restored:
        events = list(restored.events(sid))
        assert events[0].payload == {"名称": "召回"} and len(events) >= 51
        assert [e.gseq for e in restored.since()] == list(range(1, restored.position() + 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ([] if is_pg(path) else ["s.db"]) + ["备份.db"]


def test_store_urls(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    with open_store(f"sqlite:{path}") as store:
        store.new_stream("op", {})
    with open_store(f"sqlite://{path}") as store:
        assert len(store.streams()) == 1
    with pytest.raises(StoreError) as info:  # a server that cannot be there: said, no password
        open_store("postgresql://muster:s3cret@127.0.0.1:1/live", timeout=2)
    assert str(info.value).startswith("postgresql://muster@127.0.0.1:1/live: error: cannot "
                                      "connect to the server: ")
    assert "s3cret" not in str(info.value) and len(str(info.value).splitlines()) == 1


def test_a_read_only_store_refuses_to_write(store_url: str, tmp_path: Path) -> None:
    sid = new_store(store_url, 2)
    before = digest(Path(store_url)) if not is_pg(store_url) else None
    with open_store(store_url, readonly=True) as store:
        assert store.readonly
        with pytest.raises(StoreError, match="opened read-only: nothing was written"):
            store.append(sid, "x", {})
        with pytest.raises(StoreError, match="opened read-only: nothing was written"):
            store.save_snapshot("desk", 1, b"")
        assert [e.seq for e in store.events(sid)] == [1, 2, 3]
        with pytest.raises(StoreError, match="no such store file"):
            EventStore.open(tmp_path / "missing.db", readonly=True)
    if before is not None:
        assert digest(Path(store_url)) == before and side_files(Path(store_url)) == []
