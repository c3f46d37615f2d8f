"""The live desk's store and screens: durable appends, opening a long operation, desk to desk.

1. Durable appends per second through the batch path: `EventStore.write` of 1,000 events per
   transaction (each with an expected stream version and an idempotency key, as imports and
   bulk actions write them), one fsync per batch, WAL with synchronous=FULL. Target: 10,000 a
   second or more on 2 cores. Beside it, one event per transaction (each fsynced): what a
   coordinator's single actions cost.
2. Opening a 100,000-event operation: a recall of 20,000 cases (opened, acknowledged,
   assigned, noted, escalated: 100,000 events and the operation's own) read into a fresh
   desk; from its snapshot (saved as desks save it) and, beside it, by replaying the whole log
   through the playbook runtime with no snapshot. Target: under 1 s (from the snapshot).
3. Desk to desk: a second process appends a note every so often with its wall time inside; a
   desk here polls as the app does (every 0.25 s: PRAGMA data_version, then what is new) and
   measures how long each note took to show. Target: under 1 s (the worst of them).

Each is measured on SQLite and, in the same run, on PostgreSQL when a server is given
(`--db postgresql://USER@HOST/DB`: the user must be allowed to create databases; each measure
gets a new one, dropped after) or `--pg` (a throwaway server started for the run by
.ci/postgres, stopped after); a table puts them side by side. On PostgreSQL durable means the
commit waited for the server's WAL flush (synchronous_commit on), and desk to desk means the
wake-up (NOTIFY) found by the same 0.25 s poll.

Run: python -m benchmarks.bench_live [--quick] [--pg | --db postgresql://...]. The figures
depend on the disk (fsync) and on what else the machine runs: the load average is printed
with them.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from incidents.store import EventStore, Pending, open_store

__all__ = ["batch_appends", "single_appends", "open_operation", "desk_to_desk", "main",
           "Place"]

BATCH_TARGET = 10_000.0
OPEN_TARGET_S = 1.0
LATENCY_TARGET_S = 1.0


class Place:
    """Where a measure's store goes: a new file in a folder, or a new database on a server."""

    def __init__(self, folder: Path, server: str | None = None) -> None:
        self.folder, self.server = folder, server
        self.name = "PostgreSQL" if server else "SQLite"

    @contextlib.contextmanager
    def store(self, name: str) -> Iterator[str]:
        if self.server is None:
            yield str(self.folder / f"{name}.sqlite")
            return
        import psycopg
        db = f"bench_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        parts = urlsplit(self.server)
        try:
            yield urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))
        finally:
            with psycopg.connect(self.server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def batch_appends(place: Place, events: int, batch: int = 1000) -> tuple[float, float]:
    """Events a second written through `write`, `batch` per transaction: by the wall clock,
    and by this process's CPU time (what an idle machine would approach, fsyncs aside)."""
    with place.store("batch") as url, open_store(url) as store:
        streams = [store.new_stream("case", {"i": i}, stream_id=f"case:{i}") for i in range(100)]
        versions = {s: 1 for s in streams}
        payload = {"trigger": "受理", "note": "客户已联系，预约周六上门检测"}
        start, cpu = time.perf_counter(), time.process_time()
        n = 0
        while n < events:
            todo = []
            for _ in range(min(batch, events - n)):
                sid = streams[n % len(streams)]
                todo.append(Pending(sid, "fired", payload, expected_version=versions[sid],
                                    key=f"bench:{n}", actor="王芳"))
                versions[sid] += 1
                n += 1
            store.write(todo)
        return (events / (time.perf_counter() - start),
                events / max(time.process_time() - cpu, 1e-9))


def single_appends(place: Place, events: int) -> float:
    with place.store("single") as url, open_store(url) as store:
        sid = store.new_stream("case", {})
        start = time.perf_counter()
        for i in range(events):
            store.append(sid, "noted", {"text": "客户来电"}, expected_version=i + 1,
                         key=f"one:{i}", actor="王芳")
        return events / (time.perf_counter() - start)


def _operation(path: str, cases: int) -> int:
    from desk.case import service as case_service
    from desk.desk import Desk
    from desk.operation import service as op_service
    from incidents.model import Incident

    now = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    with Desk.open(path, operator="王芳", clock=lambda: now) as desk:
        op_service.open_operation(desk, "R1", "批次 B2026-0117 召回", "defective-batch-recall",
                                  opened_at=now - timedelta(hours=2))
        incidents = [Incident(id=f"RC-{i:05d}", kind="recall", tier="VIP" if i % 20 == 0
                              else "tier2", customer=f"客户{i}", batch="B2026-0117",
                              opened_at=now - timedelta(seconds=(cases - i) * 3))
                     for i in range(cases)]
        case_service.open_cases(desk, incidents, operation="R1")
        ids = [i.id for i in incidents]
        for action, args in (("ack", {}), ("assign", {"owner": "李强"}),
                             ("note", {"text": "已联系客户"}),
                             ("escalate", {"reason": "批量升级"})):
            case_service.bulk(desk, ids, action, **args)
        return desk.store.position()


def open_operation(place: Place, cases: int,
                   repeats: int = 3) -> tuple[int, float, float, float, float]:
    """(events, seconds to open from the snapshot: wall (median) and CPU; seconds to replay in
    full: wall and CPU)."""
    with place.store("operation") as path:
        return _open_operation(place, path, cases, repeats)


def _open_operation(place: Place, path: str, cases: int,
                    repeats: int) -> tuple[int, float, float, float, float]:
    from desk.desk import Desk

    events = _operation(path, cases)  # closing the desk saved its snapshot
    warm, warm_cpu = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        with Desk.open(path, operator="李强", readonly=True) as desk:
            assert desk._snapshot_at == events, desk.snapshot_note
            warm.append(time.perf_counter() - start)
            warm_cpu.append(time.process_time() - cpu)
    if place.server is not None:  # the same database, its snapshot gone (a cache: may go)
        import psycopg
        with psycopg.connect(path, autocommit=True) as pg:
            pg.execute("DELETE FROM muster.snapshots")
        cold_path: Path | str = path
    else:
        cold_path = place.folder / "cold.sqlite"
        with EventStore.open(path, readonly=True) as store:
            store.backup(cold_path)
        import sqlite3
        conn = sqlite3.connect(cold_path)
        conn.execute("DELETE FROM snapshots")
        conn.commit()
        conn.close()
    start, cpu = time.perf_counter(), time.process_time()
    with Desk.open(cold_path, operator="李强", readonly=True) as desk:
        assert desk._snapshot_at == 0 and desk.model.position == events
        cold, cold_cpu = time.perf_counter() - start, time.process_time() - cpu
    return events, statistics.median(warm), statistics.median(warm_cpu), cold, cold_cpu


def _writer(path: str, notes: int, gap: float, ready: object) -> None:
    from desk.case import service as case_service
    from desk.desk import Desk

    with Desk.open(path, operator="李强") as desk:
        ready.wait()  # type: ignore[attr-defined]
        for i in range(notes):
            time.sleep(gap * (0.5 + (i * 7919 % 100) / 100))  # uneven: not in step with polls
            case_service.note(desk, "RC-0", f"{time.time():.6f}")


def desk_to_desk(place: Place, notes: int, poll: float = 0.25) -> list[float]:
    """Seconds from a note's commit in another process to this desk showing it."""
    with place.store("desks") as path:
        return _desk_to_desk(path, notes, poll)


def _desk_to_desk(path: str, notes: int, poll: float) -> list[float]:
    from desk.case import service as case_service
    from desk.desk import Desk
    from incidents.model import Incident

    with Desk.open(path, operator="王芳") as desk:
        case_service.open_case(desk, Incident(id="RC-0", kind="recall",
                                              opened_at=datetime.now(timezone.utc)))
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    proc = spawn.Process(target=_writer, args=(str(path), notes, 0.3, ready))
    proc.start()
    latencies: list[float] = []
    with Desk.open(path, operator="王芳") as desk:
        ready.set()
        deadline = time.monotonic() + 60 + notes
        while len(latencies) < notes and time.monotonic() < deadline:
            time.sleep(poll)
            changes = desk.poll()
            seen = time.time()
            for entry in changes.entries:
                if entry.kind == "noted":
                    latencies.append(seen - float(entry.text.removeprefix("note: ")))
    proc.join(30)
    return latencies


@contextlib.contextmanager
def _throwaway_server() -> Iterator[str]:
    """A PostgreSQL cluster for this run (.ci/postgres in a folder of its own)."""
    script = Path(__file__).resolve().parent.parent / ".ci" / "postgres"
    folder = tempfile.mkdtemp(prefix="muster-pg-bench-", dir="/tmp")
    env = {**os.environ, "MUSTER_PG_DIR": folder}
    done = subprocess.run(["bash", str(script), "start"], env=env, capture_output=True,
                          text=True, check=True)
    try:
        yield done.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(script), "stop"], env=env, capture_output=True)


def _measure(place: Place, quick: bool) -> dict[str, str]:
    print(f"{place.name}: measuring...", flush=True)
    rate, cpu_rate = batch_appends(place, 20_000 if quick else 100_000)
    one = single_appends(place, 300 if quick else 2_000)
    events, warm, warm_cpu, cold, cold_cpu = open_operation(place, 4_000 if quick else 20_000)
    lat = desk_to_desk(place, 10 if quick else 40)
    row = {
        "durable appends, batches of 1,000 (/s)":
            f"{rate:,.0f} (CPU {cpu_rate:,.0f}) {'met' if rate >= BATCH_TARGET else 'NOT met'}",
        "durable appends, one per transaction (/s)": f"{one:,.0f}",
        f"open an operation of {events:,} events, from its snapshot (s)":
            f"{warm:.2f} (CPU {warm_cpu:.2f}) {'met' if warm < OPEN_TARGET_S else 'NOT met'}",
        "the same, replaying the whole log (s)": f"{cold:.2f} (CPU {cold_cpu:.2f})",
    }
    if lat:
        worst = max(lat)
        row[f"desk to desk, polling every 0.25 s (s, {len(lat)} changes)"] = \
            f"median {statistics.median(lat):.3f}, worst {worst:.3f} " \
            f"{'met' if worst < LATENCY_TARGET_S else 'NOT met'}"
    else:
        row["desk to desk"] = "no change arrived (the writer failed)"
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smaller runs.")
    parser.add_argument("--db", metavar="URL", help="A PostgreSQL server to measure beside "
                        "SQLite (postgresql://USER@HOST/DB; the user creates databases).")
    parser.add_argument("--pg", action="store_true", help="Start a throwaway PostgreSQL "
                        "server for the run (.ci/postgres) and measure it beside SQLite.")
    args = parser.parse_args(argv)
    quick = args.quick
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench_live on {os.cpu_count()} CPU(s), load average {load:.2f}; targets: batches "
          f">= {BATCH_TARGET:,.0f}/s, open < {OPEN_TARGET_S:g} s, desk to desk < "
          f"{LATENCY_TARGET_S:g} s (SQLite's, from issue 16)")
    with contextlib.ExitStack() as stack:
        server = args.db or (stack.enter_context(_throwaway_server()) if args.pg else None)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-live-")))
        places = [Place(tmp)] + ([Place(tmp, server)] if server else [])
        rows = {place.name: _measure(place, quick) for place in places}
    names = list(rows)
    measures = list(dict.fromkeys(k for row in rows.values() for k in row))
    width = max(len(m) for m in measures)
    print()
    print(f"| {'measure':<{width}} | " + " | ".join(names) + " |")
    print(f"| {'-' * width} | " + " | ".join("-" * len(n) for n in names) + " |")
    for m in measures:
        print(f"| {m:<{width}} | " + " | ".join(rows[n].get(m, "") for n in names) + " |")
    if not server:
        print("\n(PostgreSQL not measured: give --pg, or --db postgresql://...)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
