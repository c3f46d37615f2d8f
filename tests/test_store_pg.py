"""What only the PostgreSQL back end has to prove (the contract it shares with SQLite is
tests/test_store.py and tests/test_store_live.py, run on both).

- The server itself refuses UPDATE, DELETE and TRUNCATE on events and streams (raw SQL).
- Writers in several processes never interleave visibly: a reader that has seen position N
  never later sees a new event below N (read after read, the positions only go on).
- A writer queues behind the write lock, and one that waits too long writes nothing.
- Bad input is one line naming the database, without its password, and changes nothing:
  an unreachable server, a wrong password, a missing database, an unreadable URL, another
  program's tables, a newer schema, a database not in UTF8.
- Migrations run in one transaction: all of a step, or the store as it was.
- Faults: a dropped connection (pg_terminate_backend) is replaced and the reader catches up;
  a server that is down is said (UnavailableError, back-off) and the store comes back with it;
  a server restarted (and crashed) during appends loses nothing acknowledged.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

import incidents.store_pg_schema as schema_module
from incidents.store import (EventStore, Pending, StoreError, UnavailableError, open_store,
                             safe_url)
from incidents.store_pg import PgStore
from incidents.store_pg_schema import WRITE_LOCK

from tests.backends import PrivateServer, eventually, psql, url_with_db
from tests.store_helpers import SPAWN


def _filled(url: str, n: int = 3) -> str:
    with open_store(url) as store:
        sid = store.new_stream("case", {"名": "王芳"}, stream_id="case:RC-1")
        for i in range(n):
            store.append(sid, "noted", {"i": i}, key=f"k{i}")
    return sid


def _tables(url: str) -> list[tuple[str, ...]]:
    """Everything in the database that is not the server's own: tables and schemas."""
    return psql(url, "SELECT n.nspname, c.relname FROM pg_class AS c JOIN pg_namespace AS n "
                     "ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                     "'information_schema') AND n.nspname NOT LIKE 'pg\\_%%' ORDER BY 1, 2")


# -- append-only, one order, the write lock --------------------------------------------------

def test_the_server_refuses_to_change_or_remove_events(pg_url: str) -> None:
    sid = _filled(pg_url)
    before = psql(pg_url, "SELECT gseq, payload::text FROM muster.events ORDER BY gseq")
    for statement in ("UPDATE muster.events SET payload = '{}'",
                      "DELETE FROM muster.events WHERE gseq = 2",
                      "TRUNCATE muster.events CASCADE",
                      "UPDATE muster.streams SET kind = 'x'",
                      "DELETE FROM muster.streams"):
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            psql(pg_url, statement)
    assert psql(pg_url, "SELECT gseq, payload::text FROM muster.events ORDER BY gseq") == before
    with pytest.raises(psycopg.errors.UniqueViolation):  # a key names one event
        psql(pg_url, "INSERT INTO muster.events (gseq, stream_id, seq, kind, wall, payload, "
                     "key) VALUES (99, %s, 99, 'x', now(), '{}', 'k1')", (sid,))
    with open_store(pg_url) as store:
        assert store.check() == ["ok"]
    psql(pg_url, "ALTER TABLE muster.events DISABLE TRIGGER events_append_only")
    with open_store(pg_url) as store:
        assert store.check() == ["3 of the 4 append-only triggers are in force"]


def _write_batches(url: str, worker: int, batches: int) -> None:
    with open_store(url, create=False) as store:
        for b in range(batches):
            size = 1 + (b * 37 + worker * 11) % 60  # uneven batches: long and short commits
            store.write([Pending(f"s{worker}", "x", {"w": worker, "b": b, "i": i})
                         for i in range(size)])


def test_a_reader_never_sees_a_position_below_one_it_saw(pg_url: str) -> None:
    """Three processes write batches at once while a reader reads what is new, again and
    again: every read must go on exactly where the last one stopped. (With a plain sequence
    and no write lock, a batch that drew smaller numbers commits after one that drew larger:
    the reader would skip it for good.)"""
    with open_store(pg_url) as store:
        for w in range(3):
            store.new_stream("op", {}, stream_id=f"s{w}")
    procs = [SPAWN.Process(target=_write_batches, args=(pg_url, w, 60)) for w in range(3)]
    for proc in procs:
        proc.start()
    reads = 0
    with open_store(pg_url, create=False) as reader:
        last = reader.position()
        assert last == 3
        while True:
            running = any(p.is_alive() for p in procs)
            got = [e.gseq for e in reader.since(last)]
            assert got == list(range(last + 1, last + 1 + len(got))), \
                f"after position {last} the reader got {got[:5]}..."
            last, reads = (got[-1] if got else last), reads + 1
            if not running:
                break
        expected = 3 + sum(1 + (b * 37 + w * 11) % 60 for w in range(3) for b in range(60))
        assert last == expected and reader.position() == expected
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert reads > 1


def test_a_writer_queues_behind_the_lock_and_one_that_waits_too_long_writes_nothing(
        pg_url: str) -> None:
    sid = _filled(pg_url, 0)
    holder = psycopg.connect(pg_url, autocommit=True)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        with open_store(pg_url, timeout=0.3) as store:
            with pytest.raises(StoreError) as info:
                store.append(sid, "noted", {})
            assert str(info.value) == (f"{store.path}: error: stream {sid}: nothing was "
                                       "written: the store stayed locked by other writers for "
                                       "0.3 s")
            assert store.version(sid) == 1
        with open_store(pg_url, timeout=30) as store:
            release = threading.Timer(0.3, holder.execute, ("COMMIT",))
            release.start()
            assert store.append(sid, "noted", {"waited": True}) == 2
            release.join()
    finally:
        holder.close()


def test_readers_do_not_block_writers(pg_url: str) -> None:
    sid = _filled(pg_url, 1)
    with psycopg.connect(pg_url, autocommit=True) as reader, open_store(pg_url) as store:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        count = "SELECT count(*) FROM muster.events"
        assert reader.execute(count).fetchone() == (2,)
        assert store.append(sid, "noted", {}) == 3
        assert reader.execute(count).fetchone() == (2,)  # its snapshot
        reader.execute("COMMIT")


# -- bad input: one line, no password, nothing changed ---------------------------------------

def _refused(url: str, fragment: str, **kw: object) -> str:
    with pytest.raises(StoreError) as info:
        open_store(url, timeout=3, **kw)  # type: ignore[arg-type]
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"{safe_url(url)}: error: "), message
    assert fragment in message, message
    secret = re.match(r"[a-z]+://[^/@]*?:([^/@]*)@", url)
    assert not secret or secret.group(1) not in message
    return message


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_bad_servers_urls_and_databases_are_one_line_without_the_password(
        pg_server: str, pg_url: str) -> None:
    parts = psycopg.conninfo.conninfo_to_dict(pg_server)
    password = str(parts.get("password", ""))
    assert password, "the test server asks for a password (.ci/postgres)"
    port = _closed_port()
    _refused(f"postgresql://muster:{password}@127.0.0.1:{port}/muster",
             "cannot connect to the server: ")
    wrong = pg_url.replace(f":{password}@", ":not-the-password@")
    assert "password authentication failed" in _refused(wrong, "cannot connect")
    _refused(url_with_db(pg_server, "no_such_db_here"), 'database "no_such_db_here" does not '
                                                        "exist")
    _refused("postgresql://muster:pw-secret@[::1", "is not a usable PostgreSQL URL")
    _refused(pg_url.replace("postgresql://", "postgresql://") + "?sslmode=bogus",
             "cannot connect to the server")
    assert _tables(pg_url) == []  # nothing was made in the database
    # What the message shows: the URL without its password, in the user part or the query.
    assert safe_url("postgresql://u:p%40ss@db.example:5433/live?password=x&sslmode=require") \
        == "postgresql://u@db.example:5433/live?sslmode=require"


@pytest.mark.parametrize("setup, fragment", [
    (("CREATE TABLE public.users (id int)", "CREATE TABLE public.orders (id int)"),
     "holds tables of another program (public.orders, public.users); give Muster a database "
     "of its own"),
    (("CREATE SCHEMA muster", "CREATE TABLE muster.things (id int)"),
     "has a schema named muster that is not a Muster event store"),
    (("CREATE SCHEMA muster", "CREATE TABLE muster.meta (name text, value text)",
      "INSERT INTO muster.meta VALUES ('application', 'inventory'), ('schema', '1')"),
     "has a muster.meta table of another program (application 'inventory')"),
])
def test_a_database_of_another_program_is_refused_untouched(pg_url: str, setup: tuple[str, ...],
                                                            fragment: str) -> None:
    for statement in setup:
        psql(pg_url, statement)
    before = _tables(pg_url)
    _refused(pg_url, fragment)
    assert _tables(pg_url) == before


def test_an_empty_database_is_not_made_a_store_by_a_reader(pg_url: str) -> None:
    _refused(pg_url, "holds no Muster event store", readonly=True)
    _refused(pg_url, "holds no Muster event store", create=False)
    assert _tables(pg_url) == []


def test_a_newer_schema_is_refused_untouched(pg_url: str) -> None:
    _filled(pg_url)
    psql(pg_url, "UPDATE muster.meta SET value = '99' WHERE name = 'schema'")
    before = psql(pg_url, "SELECT gseq, payload::text FROM muster.events ORDER BY gseq")
    _refused(pg_url, "written by a newer Muster (schema 99 of the PostgreSQL store); this "
                     "version reads up to schema 1; upgrade Muster")
    _refused(pg_url, "written by a newer Muster", readonly=True)
    assert psql(pg_url, "SELECT value FROM muster.meta WHERE name = 'schema'") == [("99",)]
    assert psql(pg_url, "SELECT gseq, payload::text FROM muster.events ORDER BY gseq") == before


def test_a_database_not_in_utf8_is_refused(pg_server: str) -> None:
    name = f"latin_{os.getpid()}"
    psql(pg_server, f"CREATE DATABASE {name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' "
                    "TEMPLATE template0")
    try:
        url = url_with_db(pg_server, name)
        _refused(url, "the database's encoding is LATIN1; Muster stores UTF-8 text")
        assert _tables(url) == []
    finally:
        psql(pg_server, f"DROP DATABASE {name} WITH (FORCE)")


def test_migrations_run_whole_or_not_at_all(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = _filled(pg_url)
    events = psql(pg_url, "SELECT gseq, payload::text FROM muster.events ORDER BY gseq")
    monkeypatch.setattr(schema_module, "PG_SCHEMA_VERSION", 2)
    monkeypatch.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS + (
        ("CREATE INDEX events_by_actor ON muster.events (actor)",
         "CREATE INDEX broken ON muster.no_such_table (x)"),))
    message = _refused(pg_url, "cannot upgrade the store from schema 1 to 2")
    assert message.endswith("; it is unchanged")
    assert psql(pg_url, "SELECT value FROM muster.meta WHERE name = 'schema'") == [("1",)]
    assert psql(pg_url, "SELECT to_regclass('muster.events_by_actor')") == [(None,)]
    monkeypatch.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:1] + (
        ("CREATE INDEX events_by_actor ON muster.events (actor)",),))
    with open_store(pg_url) as store:
        assert [e.seq for e in store.events(sid)] == [1, 2, 3, 4]
        assert store.append(sid, "noted", {}) == 5
    assert psql(pg_url, "SELECT value FROM muster.meta WHERE name = 'schema'") == [("2",)]
    assert psql(pg_url, "SELECT to_regclass('muster.events_by_actor') IS NOT NULL") == [(True,)]
    assert psql(pg_url, "SELECT gseq, payload::text FROM muster.events WHERE gseq <= 4 "
                        "ORDER BY gseq") == events


def test_without_psycopg_the_url_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(sys.modules, "incidents.store_pg", raising=False)
    with pytest.raises(StoreError) as info:
        open_store("postgresql://muster:pw@db.example/live")
    assert str(info.value) == ("postgresql://muster@db.example/live: error: PostgreSQL needs "
                               "the psycopg package (psycopg is missing): pip install "
                               "'muster[postgres]'")


# -- faults: dropped connections, a server away, restarts ------------------------------------

def _terminate(server: str, store: EventStore) -> int:
    assert isinstance(store, PgStore)
    rows = psql(server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                        "application_name = %s", (store.application_name,))
    return len(rows)


def test_a_dropped_connection_is_replaced_and_the_reader_catches_up(pg_server: str,
                                                                     pg_url: str) -> None:
    sid = _filled(pg_url, 0)
    with open_store(pg_url) as reader, open_store(pg_url) as writer:
        assert reader.changed() is True
        seen = reader.position()
        assert _terminate(pg_server, reader) == 2  # its reads and writes, and its listener
        for i in range(5):  # written while the reader has no connection at all
            writer.append(sid, "noted", {"i": i})
        eventually(reader.changed, "the reader noticed (a reconnection, or a wake-up)")
        assert [e.payload["i"] for e in reader.since(seen)] == [0, 1, 2, 3, 4]
        assert isinstance(reader, PgStore) and reader.reconnects >= 2
        _terminate(pg_server, reader)
        assert reader.append(sid, "noted", {"i": 5}) == 7  # nothing was sent: done again
        _terminate(pg_server, writer)
        assert reader.version(sid) == writer.version(sid) == 7


def test_a_server_that_is_down_is_said_and_the_store_comes_back_with_it(
        private_pg: PrivateServer) -> None:
    url = private_pg.url
    sid = _filled(url, 2)
    with open_store(url) as store:
        assert store.changed() is True
        private_pg.halt()
        with pytest.raises(UnavailableError) as info:
            eventually(store.changed, "never: the server is down")
        assert "server" in str(info.value) and len(str(info.value).splitlines()) == 1
        with pytest.raises(UnavailableError) as info:
            store.append(sid, "noted", {})
        assert not info.value.maybe_written
        assert "next try in" in str(info.value)  # back-off: it does not hammer the server
        private_pg.start()

        def back() -> bool:
            try:
                return store.changed()
            except UnavailableError:
                return False

        eventually(back, "the store reconnected and said so", timeout=60)
        assert store.append(sid, "noted", {"after": True}) == 4
        assert [e.seq for e in store.events(sid)] == [1, 2, 3, 4]


def _append_through_restarts(url: str, log: str, stop: str) -> None:
    """Append keyed events as fast as the server takes them; after each one the store said
    was done, one line in `log` (synced). When the server is away, try the same key again
    until it is back (a retry is applied once, even after a commit whose answer was lost)."""
    outages = unknown = 0
    with open_store(url, create=False, timeout=30) as store, \
            open(log, "a", encoding="utf-8") as out:
        n = 0
        while not os.path.exists(stop):
            key = f"restart:{n}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    written = store.write([Pending("case:RC-1", "noted", {"n": n}, key=key)])
                    break
                except UnavailableError as exc:
                    outages += 1
                    unknown += exc.maybe_written
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)  # the store's back-off paces the attempts
            out.write(f"{n} {written[0].seq} {written[0].gseq}\n")
            out.flush()
            os.fsync(out.fileno())
            n += 1
        out.write(f"outages {outages} unknown {unknown}\n")


def test_a_server_restarted_and_crashed_during_appends_loses_nothing_acknowledged(
        private_pg: PrivateServer, tmp_path: Path) -> None:
    url = private_pg.url
    _filled(url, 0)
    log, stop = tmp_path / "acknowledged.txt", tmp_path / "stop"
    log.touch()

    def acked() -> int:
        return sum(1 for line in log.read_text().splitlines() if line[:1].isdigit())

    writer = SPAWN.Process(target=_append_through_restarts, args=(url, str(log), str(stop)))
    writer.start()
    try:
        for crash in (False, True, False, True):  # a clean restart, then a crash (immediate)
            floor = acked() + 100
            eventually(lambda: acked() >= floor or not writer.is_alive(), "appends going on",
                       timeout=120)
            assert writer.is_alive()
            private_pg.restart(crash=crash)
        floor = acked() + 100
        eventually(lambda: acked() >= floor or not writer.is_alive(), "appends after the last "
                   "restart", timeout=120)
    finally:
        stop.touch()
        writer.join(120)
    assert writer.exitcode == 0
    lines = log.read_text().splitlines()
    outages, unknown = (int(x) for x in lines[-1].split()[1::2])
    done = [tuple(int(x) for x in line.split()) for line in lines[:-1]]
    with open_store(url, create=False) as store:
        events = list(store.events("case:RC-1", after=1))
        assert store.check() == ["ok"]
    stored = {e.payload["n"]: (e.seq, e.gseq) for e in events}
    assert len(stored) == len(events)  # each n once: no retry was applied twice
    assert all(stored.get(n) == (seq, gseq) for n, seq, gseq in done), "acknowledged, then lost"
    assert [e.seq for e in events] == list(range(2, len(events) + 2))
    assert len(events) - len(done) in (0, 1)  # at most the one in flight when told to stop
    assert outages >= 4  # each restart was felt
    print(f"\nrestart test: 4 restarts (2 clean, 2 crashes), {len(done)} appends acknowledged, "
          f"{len(done)} found; {outages} failed attempts retried, {unknown} with an unknown "
          "outcome (each applied once)")
