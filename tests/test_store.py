"""The append-only event store (incidents/store.py): its API, durability and concurrency.

The tests taking `store_url` are the store's contract: they run on every back end (SQLite; and
PostgreSQL when MUSTER_TEST_PG names a server: tests/backends.py); the others are about
SQLite's file and connection. Every rule has a test that breaks when the rule is broken:
- writers in threads and in separate processes lose nothing and never share a number;
- an event survives a crash of the process that appended it; readers never block writers;
- Chinese text round-trips exactly and is stored as UTF-8, not as \\u escapes.
Schema migrations and refused files: tests/test_store_files.py. No test asserts on
wall-clock speed.
"""

from __future__ import annotations

import math
import os
import pickle
import re
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import incidents.store as store_module
import incidents.store_file as store_file_module
from incidents.errors import IncidentsError
from incidents.store import (APPLICATION_ID, SCHEMA_VERSION, EventStore, StoredEvent,
                             StoreError, StreamInfo, open_store, safe_url)

from tests.backends import is_pg
from tests.store_helpers import (SCENARIO_TEXT, SPAWN, WHEN, in_threads, new_store, pragma,
                                 raw_payloads, refuse, side_files)


# -- the API ---------------------------------------------------------------------------------

def test_streams_number_events_from_the_header(store_url: str) -> None:
    start = datetime(2024, 3, 1, 16, 0, tzinfo=timezone(timedelta(hours=8)))
    with open_store(store_url) as store:
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
        assert store.path == safe_url(store_url)
    if not is_pg(store_url):
        assert side_files(Path(store_url)) == []


def test_events_filter_page_and_follow_appends(store_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "_PAGE", 16)  # many pages from few events
    with open_store(store_url) as store:
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


def test_chinese_text_round_trips_and_is_stored_as_utf8(store_url: str, tmp_path: Path) -> None:
    if not is_pg(store_url):
        folder = tmp_path / "演练记录"
        folder.mkdir()
        store_url = str(folder / "华东暴雨.db")
    header = {"场景": SCENARIO_TEXT, "参与者": ["王芳", "李雷"], "emoji": "🚨", "种子": 42}
    payload = {"动作": "派遣技术员到上海仓库", "备注": "客户等级：VIP\t紧急", "数量": 3}
    with open_store(store_url) as store:
        sid = store.new_stream("演练", header, stream_id="演练-华东-001")
        store.append(sid, "派遣", payload, sim_minute=12.25)
    with open_store(store_url, create=False) as store:
        [info] = store.streams("演练")
        assert (info.id, info.kind, info.header) == ("演练-华东-001", "演练", header)
        event = list(store.events(sid, kinds="派遣"))[0]
        assert (event.kind, event.payload) == ("派遣", payload)
    stored = raw_payloads(store_url, sid)[1]
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
def test_payloads_that_would_not_round_trip_are_refused(store_url: str, payload: object,
                                                        fragment: str) -> None:
    with open_store(store_url) as store:
        sid = store.new_stream("drill", {})
        with pytest.raises(StoreError) as info:
            store.append(sid, "action", payload)  # type: ignore[arg-type]
        assert str(info.value).startswith(f"{store.path}: error: stream {sid}: ")
        assert fragment in str(info.value)
        assert len(str(info.value).splitlines()) == 1
        assert store.info(sid).events == 1
        with pytest.raises(StoreError, match="header"):
            store.new_stream("drill", payload)  # type: ignore[arg-type]
        assert len(store.streams()) == 1


def test_deep_huge_and_odd_values_are_refused(store_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(store_url) as store:
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
def test_bad_calls_are_refused_and_write_nothing(store_url: str, call: Callable[..., object],
                                                 fragment: str) -> None:
    with open_store(store_url) as store:
        sid = store.new_stream("drill", {}, stream_id="s1")
        with pytest.raises(StoreError) as info:
            call(store, sid)
        message = str(info.value)
        assert message.startswith(f"{store.path}: error: ") and fragment in message, message
        assert len(message.splitlines()) == 1
        assert [s.events for s in store.streams()] == [1]


def test_errors_are_incidents_errors_on_one_line(store_url: str) -> None:
    error = StoreError("odd\nname.db", "bad", stream_id="s", seq=4)
    assert isinstance(error, IncidentsError) and isinstance(error, ValueError)
    assert str(error) == "odd\\nname.db: error: stream s, event 4: bad"
    assert (error.path, error.reason, error.stream_id, error.seq) == ("odd\nname.db", "bad",
                                                                     "s", 4)
    back = pickle.loads(pickle.dumps(error))  # e.g. raised in a worker process
    assert (str(back), back.path, back.stream_id, back.seq) == (str(error), error.path, "s", 4)
    store = open_store(store_url)
    sid = store.new_stream("drill", {})
    store.close()
    store.close()
    with pytest.raises(StoreError, match=re.escape(f"{store.path}: error: the store is closed")):
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
    assert pragma(path, "user_version") == SCHEMA_VERSION == 3
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
    with open_store(path) as store:  # all four race to create the file (or the tables)
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


def test_processes_lose_nothing_and_never_share_a_number(store_url: str) -> None:
    path, workers, n = store_url, 4, 200
    barrier = SPAWN.Barrier(workers)
    procs = [SPAWN.Process(target=_append_from_process, args=(path, w, n, barrier))
             for w in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(180)
    assert [proc.exitcode for proc in procs] == [0] * workers
    with open_store(path, create=False) as store:
        check_stream(store, "shared", list(range(workers)), n)
        for w in range(workers):
            check_stream(store, f"own-{w}", [w], n)
        assert sorted(s.id for s in store.streams()) == \
            ["own-0", "own-1", "own-2", "own-3", "shared"]
        assert [e.gseq for e in store.since()] == list(range(1, 5 + 2 * workers * n + 1))
    if not is_pg(path):
        assert side_files(Path(path)) == []
        assert [p.name for p in Path(path).parent.iterdir()] == ["s.db"]  # no half-made files


def test_threads_lose_nothing_and_never_share_a_number(store_url: str) -> None:
    path, n = store_url, 100
    with open_store(path) as shared:
        sid = shared.new_stream("desk", {})

        def write(worker: int) -> None:
            if worker < 4:  # four threads share one store, four open their own
                for i in range(n):
                    shared.append(sid, "action", {"worker": worker, "i": i})
            else:
                with open_store(path, create=False) as own:
                    for i in range(n):
                        own.append(sid, "action", {"worker": worker, "i": i})

        assert in_threads(write, 8) == []
        check_stream(shared, sid, list(range(8)), n)


def test_one_process_holding_a_store_twice_keeps_its_locks(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops all of a process's POSIX locks on it; a second
    open must not read the header by hand while the first holds SQLite's locks."""
    assert Path("/proc/locks").exists(), "reads the kernel's lock table (Linux, as CI)"
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
            other.execute("INSERT INTO events (stream_id, seq, kind, wall, payload) "
                          "VALUES ('late', 1, 'header', ?, '{}')", (WHEN,))
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
    store = open_store(path)
    store.new_stream("drill", {"名称": "崩溃测试"}, stream_id="crash")
    store.append("crash", "action", {"last": "words"}, sim_minute=1.0)
    os._exit(0)  # no close, no checkpoint: the event is only in the WAL


def test_an_appended_event_survives_a_crash(store_url: str) -> None:
    """The writing process dies without a word (on PostgreSQL a crash of the server itself
    is tests/test_store_pg.py's)."""
    proc = SPAWN.Process(target=_crash_after_append, args=(store_url,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    if not is_pg(store_url):
        assert Path(store_url + "-wal").exists()
    with open_store(store_url, create=False) as store:
        events = list(store.events("crash"))
        assert [(e.seq, e.kind, e.payload) for e in events] == \
            [(1, "header", {"名称": "崩溃测试"}), (2, "action", {"last": "words"})]
        assert store.append("crash", "note", {}) == 3
    if not is_pg(store_url):
        assert side_files(Path(store_url)) == []


def _append_slowly(path: str, n: int) -> None:
    with open_store(path, create=False) as store:
        for i in range(n):
            store.append("live", "action", {"i": i})


def test_reading_while_another_process_writes(store_url: str) -> None:
    path, n = store_url, 400
    with open_store(path) as store:
        store.new_stream("desk", {}, stream_id="live")
        proc = SPAWN.Process(target=_append_slowly, args=(path, n))
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
