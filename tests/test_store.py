"""The append-only event store (incidents/store.py): durability, concurrency, refusals.

Every rule has a test that breaks when the rule is broken:
- writers in threads and in separate processes lose nothing and never share a number;
- an event survives a crash of the process that appended it; readers never block writers;
- a v1 store (made here with raw SQL, as the first Muster wrote it) migrates in one
  transaction; a failed migration leaves the file as it was;
- every refused file is left byte-for-byte as it was, with no -wal/-shm files beside it;
- Chinese text round-trips exactly and is stored as UTF-8, not as \\u escapes.
No test asserts on wall-clock speed.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
import pickle
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import incidents.store as store_module
import incidents.store_file as store_file_module
from incidents.errors import IncidentsError
from incidents.store import (APPLICATION_ID, SCHEMA_VERSION, EventStore, StoredEvent,
                             StoreError, StreamInfo)

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


def new_store(path: Path, events: int = 0, payload: str = "") -> str:
    """A closed store with one drill stream of `events` actions after its header."""
    with EventStore.open(path) as store:
        sid = store.new_stream("drill", {"scenario": "flood"})
        for i in range(events):
            store.append(sid, "action", {"i": i, "note": payload}, sim_minute=float(i))
    return sid


def make_v1(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """A genuine schema-1 store with two streams; returns each stream's rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for statement in V1_SCHEMA:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    rows: dict[str, list[tuple[object, ...]]] = {}
    for sid, kind, n in (("d1", "drill", 5), ("演练-2", "演练", 3)):
        conn.execute("INSERT INTO streams VALUES (?, ?, ?)",
                     (sid, kind, "2024-03-01T08:00:00.000000+00:00"))
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


def raw_rows(path: Path, sid: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT seq, kind, sim_minute, wall, payload FROM events "
                            "WHERE stream_id = ? ORDER BY seq", (sid,)).fetchall()
    finally:
        conn.close()


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


# -- the API ---------------------------------------------------------------------------------

def test_streams_number_events_from_the_header(tmp_path: Path) -> None:
    path = tmp_path / "drill.db"
    start = datetime(2024, 3, 1, 16, 0, tzinfo=timezone(timedelta(hours=8)))
    with EventStore.open(path) as store:
        sid = store.new_stream("drill", {"scenario": "flood", "seed": 7}, wall=start)
        assert len(sid) == 32 and int(sid, 16) >= 0
        assert store.append(sid, "action", {"who": "ana"}, sim_minute=3.5) == 2
        assert store.append(sid, "inject", {"what": "outage"}, sim_minute=4,
                            wall=start + timedelta(minutes=1)) == 3
        other = store.new_stream("desk", {"site": "north"}, stream_id="desk-1")
        assert store.append(other, "note", {}) == 2
        events = list(store.events(sid))
        assert [e.seq for e in events] == [1, 2, 3]
        assert [e.kind for e in events] == ["header", "action", "inject"]
        assert events[0] == StoredEvent(sid, 1, "header", {"scenario": "flood", "seed": 7},
                                        None, start)
        assert events[1].sim_minute == 3.5 and events[2].sim_minute == 4.0
        assert events[2].wall == datetime(2024, 3, 1, 8, 1, tzinfo=timezone.utc)
        assert events[2].wall.tzinfo == timezone.utc
        assert events[1].wall.tzinfo == timezone.utc
        assert store.header(sid) == {"scenario": "flood", "seed": 7}
        assert store.info(sid) == StreamInfo(sid, "drill", start, {"scenario": "flood",
                                                                    "seed": 7}, 3,
                                             start + timedelta(minutes=1))
        assert [s.id for s in store.streams()] == [sid, "desk-1"]
        assert [s.id for s in store.streams("desk")] == ["desk-1"]
        assert store.streams("nothing") == []
        assert store.path == str(path)
    assert side_files(path) == []


def test_events_filter_page_and_follow_appends(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "_PAGE", 16)  # many pages from few events
    with EventStore.open(tmp_path / "s.db") as store:
        sid = store.new_stream("drill", {})
        for i in range(1, 100):
            store.append(sid, "inject" if i % 3 == 0 else "action", {"i": i})
        assert [e.seq for e in store.events(sid)] == list(range(1, 101))
        assert [e.payload["i"] for e in store.events(sid, after=1)] == list(range(1, 100))
        injects = [e.seq for e in store.events(sid, kinds="inject")]
        assert injects == [i + 1 for i in range(1, 100) if i % 3 == 0]
        assert [e.seq for e in store.events(sid, kinds=["inject", "header"], after=10)] == \
            [s for s in [1] + injects if s > 10]
        assert [e.seq for e in store.events(sid, kinds=[])] == []
        assert list(store.events(sid, after=100)) == []
        # Appends made before the iteration's last page is read show up at the end: no
        # gap, no duplicate.
        seen = []
        for event in store.events(sid):
            seen.append(event.seq)
            if event.seq == 2:
                for _ in range(40):
                    store.append(sid, "action", {})
        assert seen == list(range(1, 141))


def test_a_slow_reader_holds_no_snapshot_between_pages(tmp_path: Path) -> None:
    """A half-read iteration must not pin a read transaction: the WAL can still be folded
    back into the file (a TRUNCATE checkpoint is not kept busy)."""
    path = tmp_path / "s.db"
    with EventStore.open(path) as store:
        sid = store.new_stream("drill", {})
        for i in range(100):
            store.append(sid, "action", {"i": i})
        events = store.events(sid)
        assert next(events).seq == 1
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("INSERT INTO streams VALUES ('x', 'drill', '2024-01-01')")
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        other.close()
        assert busy == 0
        assert [e.seq for e in events] == list(range(2, 102))


def test_chinese_text_round_trips_and_is_stored_as_utf8(tmp_path: Path) -> None:
    folder = tmp_path / "演练记录"
    folder.mkdir()
    path = folder / "华东暴雨.db"
    header = {"场景": SCENARIO_TEXT, "参与者": ["王芳", "李雷"], "emoji": "🚨", "种子": 42}
    payload = {"动作": "派遣技术员到上海仓库", "备注": "客户等级：VIP\t紧急", "数量": 3}
    with EventStore.open(path) as store:
        sid = store.new_stream("演练", header, stream_id="演练-华东-001")
        store.append(sid, "派遣", payload, sim_minute=12.25)
    with EventStore.open(path, create=False) as store:
        [info] = store.streams("演练")
        assert (info.id, info.kind, info.header) == ("演练-华东-001", "演练", header)
        event = list(store.events(sid, kinds="派遣"))[0]
        assert (event.kind, event.payload) == ("派遣", payload)
    stored = raw_rows(path, sid)[1][4]
    assert isinstance(stored, str) and "派遣技术员到上海仓库" in stored and "\\u" not in stored


@pytest.mark.parametrize("payload, fragment", [
    ({"score": math.nan}, "payload.score: nan is not allowed (JSON has no NaN or infinity)"),
    ({"scores": [1.0, math.inf]}, "payload.scores[1]: inf is not allowed"),
    ({"a": {"b": [{"c": -math.inf}]}}, "payload.a.b[0].c: -inf is not allowed"),
    ({1: "x"}, "payload: key 1 is a int; JSON keys are text"),
    ({"when": datetime(2024, 1, 1)}, "payload.when: a datetime is not JSON"),
    ({"tags": {"a"}}, "payload.tags: a set is not JSON"),
    ({"text": "bad \ud800"}, "holds a lone surrogate"),
    (["not", "a", "dict"], "payload must be a dict (a JSON object), got list"),
])
def test_payloads_that_would_not_round_trip_are_refused(tmp_path: Path, payload: object,
                                                        fragment: str) -> None:
    path = tmp_path / "s.db"
    with EventStore.open(path) as store:
        sid = store.new_stream("drill", {})
        with pytest.raises(StoreError) as info:
            store.append(sid, "action", payload)  # type: ignore[arg-type]
        assert str(info.value).startswith(f"{path}: error: stream {sid}: ")
        assert fragment in str(info.value)
        assert len(str(info.value).splitlines()) == 1
        assert store.info(sid).events == 1
        with pytest.raises(StoreError, match="header"):
            store.new_stream("drill", payload)  # type: ignore[arg-type]
        assert len(store.streams()) == 1


def test_deep_huge_and_odd_values_are_refused(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with EventStore.open(tmp_path / "s.db") as store:
        sid = store.new_stream("drill", {})
        deep: dict[str, object] = {}
        cursor = deep
        for _ in range(100):
            cursor["x"] = {}
            cursor = cursor["x"]  # type: ignore[assignment]
        with pytest.raises(StoreError, match="nested more than 64 levels"):
            store.append(sid, "action", deep)
        loop: dict[str, object] = {}
        loop["self"] = loop
        with pytest.raises(StoreError, match="nested more than 64 levels"):
            store.append(sid, "action", loop)
        monkeypatch.setattr(store_module, "MAX_EVENT_BYTES", 1000)
        with pytest.raises(StoreError, match=r"payload is 1,0\d\d bytes as JSON; the limit"):
            store.append(sid, "action", {"text": "字" * 340})
        assert store.append(sid, "action", {"text": "字" * 300}) == 2
        # Tuples come back as lists, numbers and flags as written.
        store.append(sid, "action", {"t": (1, 2.5, True, None, -0.0, 10**30)})
        assert list(store.events(sid, after=2))[0].payload == \
            {"t": [1, 2.5, True, None, -0.0, 10**30]}


@pytest.mark.parametrize("call, fragment", [
    (lambda s, sid: s.append(sid, "header", {}), 'event kind "header" is reserved'),
    (lambda s, sid: s.append(sid, "", {}), "event kind must be text of 1 to 200"),
    (lambda s, sid: s.append(sid, " action", {}), "without control characters or surrounding"),
    (lambda s, sid: s.append(sid, "a\nb", {}), "got 'a\\nb'"),
    (lambda s, sid: s.append(sid, "k" * 201, {}), "event kind must be text of 1 to 200"),
    (lambda s, sid: s.append("nope", "action", {}), "stream nope: no such stream"),
    (lambda s, sid: s.append(sid, "action", {}, sim_minute=math.nan), "sim_minute must be"),
    (lambda s, sid: s.append(sid, "action", {}, sim_minute=True), "sim_minute must be"),
    (lambda s, sid: s.append(sid, "action", {}, wall=datetime(2024, 1, 1)),
     "wall must be a timezone-aware datetime"),
    (lambda s, sid: s.new_stream("drill", {}, stream_id=sid), "stream s1: already exists"),
    (lambda s, sid: s.events("nope"), "stream nope: no such stream"),
    (lambda s, sid: s.events(sid, after=-1), "after must be a sequence number"),
    (lambda s, sid: s.header("nope"), "stream nope: no such stream"),
    (lambda s, sid: s.info("nope"), "stream nope: no such stream"),
])
def test_bad_calls_are_refused_and_write_nothing(tmp_path: Path, call: Callable[..., object],
                                                 fragment: str) -> None:
    path = tmp_path / "s.db"
    with EventStore.open(path) as store:
        sid = store.new_stream("drill", {}, stream_id="s1")
        with pytest.raises(StoreError) as info:
            call(store, sid)
        message = str(info.value)
        assert message.startswith(f"{path}: error: ") and fragment in message, message
        assert len(message.splitlines()) == 1
        assert [s.events for s in store.streams()] == [1]


def test_errors_are_incidents_errors_on_one_line(tmp_path: Path) -> None:
    error = StoreError("odd\nname.db", "bad", stream_id="s", seq=4)
    assert isinstance(error, IncidentsError) and isinstance(error, ValueError)
    assert str(error) == "odd\\nname.db: error: stream s, event 4: bad"
    assert (error.path, error.reason, error.stream_id, error.seq) == ("odd\nname.db", "bad",
                                                                     "s", 4)
    back = pickle.loads(pickle.dumps(error))  # e.g. raised in a worker process
    assert (str(back), back.path, back.stream_id, back.seq) == (str(error), error.path, "s", 4)
    store = EventStore.open(tmp_path / "s.db")
    sid = store.new_stream("drill", {})
    store.close()
    store.close()
    with pytest.raises(StoreError, match=r"s\.db: error: the store is closed"):
        store.append(sid, "action", {})
    with pytest.raises(StoreError, match="the store is closed"):
        list(store.events(sid))


# -- SQLite settings, transactions and concurrency ---------------------------------------------

def test_connection_settings(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with EventStore.open(path, timeout=2.5) as store:
        conn = store._conn  # white box: these are per-connection settings
        assert conn is not None
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
    assert pragma(path, "application_id") == APPLICATION_ID == 0x4D555354
    assert pragma(path, "user_version") == SCHEMA_VERSION == 2
    assert pragma(path, "journal_mode") == "wal"  # kept in the file
    with pytest.raises(StoreError, match=r"timeout must be seconds in \(0, 3600\], got 0"):
        EventStore.open(path, timeout=0)


def test_writers_wait_for_the_lock_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with EventStore.open(path, timeout=10) as store:
        sid = store.new_stream("drill", {})
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.3, blocker.execute, ("COMMIT",))
        release.start()
        assert store.append(sid, "action", {"waited": True}) == 2
        release.join()
        blocker.close()


def test_a_writer_that_waits_too_long_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with EventStore.open(path, timeout=0.2) as store:
        sid = store.new_stream("drill", {})
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError) as info:
            store.append(sid, "action", {})
        assert str(info.value) == (f"{path}: error: stream {sid}: nothing was written: the "
                                   "store stayed locked by other writers for 0.2 s")
        blocker.execute("ROLLBACK")
        blocker.close()
        assert store.append(sid, "action", {}) == 2


def test_readers_do_not_block_writers(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with EventStore.open(path, timeout=1) as store:
        sid = store.new_stream("drill", {})
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
        assert store.append(sid, "action", {}) == 2  # would time out under a rollback journal
        assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1  # its snapshot
        reader.execute("COMMIT")
        reader.close()


def _append_from_process(path: str, worker: int, n: int, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    with EventStore.open(path) as store:  # all four race to create the file
        try:
            store.new_stream("drill", {"shared": True}, stream_id="shared")
        except StoreError as exc:
            assert "already exists" in str(exc), exc
        own = store.new_stream("drill", {"worker": worker}, stream_id=f"own-{worker}")
        for i in range(n):
            store.append("shared", "action", {"worker": worker, "i": i})
            store.append(own, "action", {"worker": worker, "i": i, "名": "工程师"})


def check_stream(store: EventStore, sid: str, writers: list[int], n: int) -> None:
    """Sequences 1..N, every (writer, i) exactly once, each writer's events in its order."""
    events = list(store.events(sid))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len(events) == 1 + len(writers) * n
    seen = [(e.payload["worker"], e.payload["i"]) for e in events[1:]]
    assert sorted(seen) == sorted((w, i) for w in writers for i in range(n))
    for w in writers:
        assert [i for worker, i in seen if worker == w] == list(range(n))


def test_processes_lose_nothing_and_never_share_a_number(tmp_path: Path) -> None:
    path, workers, n = tmp_path / "shared.db", 4, 200
    barrier = SPAWN.Barrier(workers)
    procs = [SPAWN.Process(target=_append_from_process, args=(str(path), w, n, barrier))
             for w in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(180)
    assert [proc.exitcode for proc in procs] == [0] * workers
    with EventStore.open(path, create=False) as store:
        check_stream(store, "shared", list(range(workers)), n)
        for w in range(workers):
            check_stream(store, f"own-{w}", [w], n)
        assert sorted(s.id for s in store.streams()) == \
            ["own-0", "own-1", "own-2", "own-3", "shared"]
    assert side_files(path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["shared.db"]  # no half-made files


def test_threads_lose_nothing_and_never_share_a_number(tmp_path: Path) -> None:
    path, n = tmp_path / "s.db", 100
    errors: list[Exception] = []
    with EventStore.open(path) as shared:
        sid = shared.new_stream("desk", {})

        def write(worker: int) -> None:
            try:
                if worker < 4:  # four threads share one store, four open their own
                    for i in range(n):
                        shared.append(sid, "action", {"worker": worker, "i": i})
                else:
                    with EventStore.open(path, create=False) as own:
                        for i in range(n):
                            own.append(sid, "action", {"worker": worker, "i": i})
            except Exception as exc:  # reported below, with the test's failure
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        check_stream(shared, sid, list(range(8)), n)


def test_one_process_holding_a_store_twice_keeps_its_locks(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops all of a process's POSIX locks on it; a second
    open must not read the header by hand while the first holds SQLite's locks."""
    if not Path("/proc/locks").exists():
        pytest.skip("needs Linux /proc/locks")
    path = tmp_path / "s.db"

    def locks_on(inode: int) -> int:
        me, count = str(os.getpid()), 0
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            fields = fields[1:] if fields[1] == "->" else fields
            count += fields[4] == me and fields[5].rsplit(":", 1)[-1] == str(inode)
        return count

    with EventStore.open(path) as first:
        inode = path.stat().st_ino
        sid = first.new_stream("drill", {})
        assert locks_on(inode) == 1  # WAL readers keep a shared lock on the file
        with EventStore.open(path, create=False) as second:
            second.append(sid, "action", {})
        assert locks_on(inode) == 1
        first.append(sid, "action", {})
    assert store_file_module._held == {}


def test_a_store_written_during_the_check_is_looked_at_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first check reads without locks (immutable=1, so no -wal/-shm appear); if it
    fails while another program changed the file, it was a torn read: look again, locked."""
    path = tmp_path / "s.db"
    new_store(path, 3)
    real, calls = store_file_module._inspect_with, []

    def torn_once(p: Path, name: str, timeout: float, *, immutable: bool) -> str | None:
        calls.append(immutable)
        if immutable and len(calls) == 1:
            other = sqlite3.connect(path)  # writes and closes, folding its WAL into the file
            other.execute("INSERT INTO streams VALUES ('late', 'drill', ?)", (WHEN,))
            other.execute("INSERT INTO events VALUES ('late', 1, 'header', NULL, ?, '{}')",
                          (WHEN,))
            other.commit()
            other.close()
            return "is damaged (a torn read)"
        return real(p, name, timeout, immutable=immutable)

    monkeypatch.setattr(store_file_module, "_inspect_with", torn_once)
    with EventStore.open(path) as store:
        assert "late" in {s.id for s in store.streams()}
    assert calls == [True, False]
    calls.clear()

    def damaged(p: Path, name: str, timeout: float, *, immutable: bool) -> str:
        calls.append(immutable)
        return "is damaged (really)"

    monkeypatch.setattr(store_file_module, "_inspect_with", damaged)
    assert refuse(path).endswith("error: is damaged (really)")
    assert calls == [True]  # nothing changed meanwhile: the first answer stands


def _crash_after_append(path: str) -> None:
    store = EventStore.open(path)
    store.new_stream("drill", {"名称": "崩溃测试"}, stream_id="crash")
    store.append("crash", "action", {"last": "words"}, sim_minute=1.0)
    os._exit(0)  # no close, no checkpoint: the event is only in the WAL


def test_an_appended_event_survives_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    proc = SPAWN.Process(target=_crash_after_append, args=(str(path),))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert path.with_name("s.db-wal").exists()
    with EventStore.open(path, create=False) as store:
        events = list(store.events("crash"))
        assert [(e.seq, e.kind, e.payload) for e in events] == \
            [(1, "header", {"名称": "崩溃测试"}), (2, "action", {"last": "words"})]
        assert store.append("crash", "note", {}) == 3
    assert side_files(path) == []


def _append_slowly(path: str, n: int) -> None:
    with EventStore.open(path, create=False) as store:
        for i in range(n):
            store.append("live", "action", {"i": i})


def test_reading_while_another_process_writes(tmp_path: Path) -> None:
    path, n = tmp_path / "s.db", 400
    with EventStore.open(path) as store:
        store.new_stream("desk", {}, stream_id="live")
        proc = SPAWN.Process(target=_append_slowly, args=(str(path), n))
        proc.start()
        reads = 0
        while proc.is_alive() or reads == 0:
            seqs = [e.seq for e in store.events("live")]
            assert seqs == list(range(1, len(seqs) + 1))
            assert store.info("live").events >= len(seqs)
            reads += 1
        proc.join()
        assert proc.exitcode == 0
        assert [e.payload["i"] for e in store.events("live", after=1)] == list(range(n))


# -- schema versions and migrations ----------------------------------------------------------

def test_a_version_1_store_is_migrated_and_keeps_every_event(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    rows = make_v1(path)
    assert pragma(path, "user_version") == 1
    with EventStore.open(path, create=False) as store:
        assert {s.id: s.events for s in store.streams()} == {"d1": 6, "演练-2": 4}
        assert store.header("演练-2") == {"scenario": SCENARIO_TEXT}
        assert [e.payload for e in store.events("d1", kinds="inject", after=3)] == \
            [{"n": n, "说明": f"第{n}步"} for n in (4, 5, 6)]
        assert store.append("d1", "action", {}) == 7
    assert pragma(path, "user_version") == 2
    for sid, expected in rows.items():
        assert raw_rows(path, sid)[:len(expected)] == expected
    fresh = tmp_path / "fresh.db"
    new_store(fresh)
    assert schema(path) == schema(fresh)
    assert ("index", "events_by_kind") in {(k, n) for k, n, _ in schema(path)}
    conn = sqlite3.connect(path)
    for statement in ("UPDATE events SET payload = '{}'", "DELETE FROM events",
                      "UPDATE streams SET kind = 'x'", "DELETE FROM streams"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    conn.close()


def test_openers_racing_to_migrate_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_v1(path)
    errors: list[Exception] = []

    def open_and_append(i: int) -> None:
        try:
            with EventStore.open(path, create=False) as store:
                store.append("d1", "action", {"i": i})
        except Exception as exc:  # reported below, with the test's failure
            errors.append(exc)

    threads = [threading.Thread(target=open_and_append, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert pragma(path, "user_version") == 2
    assert [r[0] for r in raw_rows(path, "d1")] == list(range(1, 13))


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    make_v1(path)
    step = store_file_module._MIGRATIONS[0]
    monkeypatch.setattr(store_file_module, "_MIGRATIONS", (step + (step[0],),))  # fails at the end
    message = refuse(path)
    assert message == (f"{path}: error: cannot upgrade the store from schema 1 to 2 (index "
                       "events_by_kind already exists); it is unchanged")
    assert pragma(path, "user_version") == 1
    assert "events_by_kind" not in {name for _, name, _ in schema(path)}


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    new_store(path, 3)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    assert refuse(path) == (f"{path}: error: written by a newer Muster (schema 7); this "
                            "version reads up to schema 2; upgrade Muster")


def test_a_newer_schema_still_in_another_programs_wal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    new_store(path, 3)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA user_version = 7")  # in its WAL; the file's header still says 2
    with path.open("rb") as f:
        assert int.from_bytes(f.read(64)[60:64], "big") == 2
    before = digest(path)
    with pytest.raises(StoreError, match=r"written by a newer Muster \(schema 7\)"):
        EventStore.open(path)
    assert digest(path) == before
    other.close()


# -- refusals: the file stays exactly as it was ------------------------------------------------

def test_a_missing_file_is_refused_without_create(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    assert refuse(path, create=False) == f"{path}: error: no such store file"
    assert not path.exists() and list(tmp_path.iterdir()) == []


def write_bytes(data: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(data)


def truncate(keep: Callable[[int], int]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        new_store(path, 200, "x" * 100)
        data = path.read_bytes()
        path.write_bytes(data[:keep(len(data))])
    return make


def foreign(app_id: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA application_id = {app_id}")
        conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
        conn.commit()
        conn.close()
    return make


def muster_without_tables(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 2")
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()


def corrupt_middle_page(offset: int, value: bytes) -> Callable[[Path], None]:
    """A store whose length and header are intact but one b-tree page is damaged."""
    def make(path: Path) -> None:
        new_store(path, 300, "x" * 200)
        data = bytearray(path.read_bytes())
        page = (len(data) // 4096 // 2) * 4096
        assert data[page] in (2, 5, 10, 13)  # a b-tree page
        data[page + offset:page + offset + len(value)] = value
        path.write_bytes(bytes(data))
    return make


@pytest.mark.parametrize("make, expected", [
    (write_bytes(b""), "is empty, not a Muster event store"),
    (write_bytes(os.urandom(8192)), "is not a Muster event store (not a SQLite database)"),
    (write_bytes("名称: 不是数据库\n".encode()), "not a SQLite database"),
    (write_bytes(b"SQLite format 3\x00"), "not a SQLite database"),
    (truncate(lambda n: n // 2 // 4096 * 4096), "is truncated: "),
    (truncate(lambda n: n // 2 + 1), "is damaged or truncated: "),
    (truncate(lambda n: 100), "is damaged or truncated: 100 bytes is not a whole number"),
    (foreign(0), "is a SQLite database but not a Muster event store (it has no application id)"),
    (foreign(0x0F055112), ("is a SQLite database of another application (application id "
                           "0x0f055112), not a Muster event store")),
    (foreign(-2), "application id 0xfffffffe"),
    (muster_without_tables, "has Muster's application id but not its tables; it is damaged"),
    (corrupt_middle_page(1, (4090).to_bytes(2, "big")),
     "is damaged (SQLite's quick_check: Page "),
    (corrupt_middle_page(3, (2000).to_bytes(2, "big")),
     "is damaged or truncated (SQLite: database disk image is malformed)"),
], ids=["empty", "random", "text", "magic-only", "half-pages", "half-bytes", "header-only",
        "sqlite-no-app-id", "fossil", "negative-app-id", "no-tables", "quick-check-rows",
        "quick-check-raises"])
def test_damaged_and_foreign_files_are_refused_untouched(tmp_path: Path,
                                                         make: Callable[[Path], object],
                                                         expected: str) -> None:
    path = tmp_path / "record.db"
    make(path)
    assert side_files(path) == []
    message = refuse(path)
    assert expected in message, message
    assert refuse(path, create=False) == message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.db"]


def test_paths_that_cannot_hold_a_store_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    assert refuse(folder) == f"{folder}: error: is a directory, not a store file"
    missing = tmp_path / "no" / "such" / "s.db"
    assert refuse(missing) == (f"{missing}: error: cannot create the store: the folder "
                               f"{missing.parent} does not exist")
    afile = tmp_path / "plain.txt"
    afile.write_text("x")
    inside = afile / "s.db"
    assert "a part of the path is a file, not a folder" in refuse(inside)
    dangling = tmp_path / "link.db"
    dangling.symlink_to(tmp_path / "nowhere.db")
    assert refuse(dangling) == f"{dangling}: error: cannot read: No such file or directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "link.db", "plain.txt"]


def _open_in_child(path: str, create: bool, queue: object) -> None:
    if os.geteuid() == 0:  # permissions do not bind root: become nobody first
        os.setgid(65534)
        os.setuid(65534)
    try:
        EventStore.open(path, create=create).close()
        queue.put("opened")  # type: ignore[attr-defined]
    except StoreError as exc:
        queue.put(str(exc))  # type: ignore[attr-defined]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the unprivileged child can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="muster-store-"))
    folder.chmod(0o755)
    yield folder
    folder.chmod(0o755)
    shutil.rmtree(folder)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
@pytest.mark.parametrize("file_bits, dir_bits, expected", [
    (0, 7, "cannot read the store: permission denied"),
    (4, 7, "cannot write the store: permission denied"),
    (6, 5, "cannot write in the folder"),
    (None, 5, "cannot create the store: permission denied in the folder"),
])
def test_permissions_are_refused_clearly(shared_dir: Path, file_bits: int | None,
                                         dir_bits: int, expected: str) -> None:
    """The child opens as the owner (or as nobody, when the tests run as root), so the same
    rwx bits are given to the owner and to others."""
    path = shared_dir / "s.db"
    if file_bits is not None:
        new_store(path, 2)
        before = digest(path)
        path.chmod(file_bits << 6 | file_bits)
    shared_dir.chmod(dir_bits << 6 | 0o050 | dir_bits)
    fork = multiprocessing.get_context("fork")
    queue = fork.SimpleQueue()
    proc = fork.Process(target=_open_in_child, args=(str(path), True, queue))
    proc.start()
    proc.join(60)
    message = queue.get()
    assert message.startswith(f"{path}: error: ") and expected in message, message
    if file_bits is not None:
        assert digest(path) == before
    else:
        assert not path.exists()
    assert side_files(path) == []
