"""What the desk keeps on disk: nothing acknowledged is lost, snapshots never lie.

- A writer killed mid-stream (SIGKILL, no close): the database passes SQLite's integrity check
  and every action the writer was told was done is there, exactly once, in order.
- A desk opened from a snapshot is the desk the full replay gives; a damaged snapshot, or one
  holding anything but plain values, is ignored (the log is replayed instead); on both back
  ends (`live_url`).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from desk import snapshot
from desk.case import service as cases
from desk.desk import Desk
from desk.export import export
from desk.operation import service as ops

from tests.desk_helpers import WallClock, open_recall, recall
from tests.store_helpers import SPAWN


def _coordinate(path: str, acknowledged: str) -> None:
    """A coordinator working as fast as it can; after each action the store said was done,
    one line in `acknowledged` (flushed and synced), then on to the next."""
    clock = WallClock(datetime.now(timezone.utc))
    with Desk.open(path, operator="李强", clock=clock) as desk, \
            open(acknowledged, "a", encoding="utf-8") as log:
        ids = [f"RC-{i:04d}" for i in range(200)]
        n = 0
        while True:
            case_id = ids[n % len(ids)]
            done = cases.note(desk, case_id, f"note {n}", key=f"crash:{n}")
            log.write(f"{n} {done.version}\n")
            log.flush()
            os.fsync(log.fileno())
            n += 1
            if n % 50 == 0:
                cases.bulk(desk, ids[:20], "note", text=f"bulk {n}", key=f"crash-bulk:{n}")
                log.write(f"bulk {n}\n")
                log.flush()
                os.fsync(log.fileno())


def test_a_writer_killed_mid_stream_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    with Desk.open(path, operator="王芳", clock=WallClock(datetime.now(timezone.utc))) as desk:
        ops.open_operation(desk, "R1", "召回", "defective-batch-recall")
        cases.open_cases(desk, recall(200, start=desk.now()), operation="R1")
    acknowledged = tmp_path / "acknowledged.txt"
    kills = []
    for round_ in range(3):
        proc = SPAWN.Process(target=_coordinate, args=(str(path), str(acknowledged)))
        proc.start()
        deadline = time.monotonic() + 120
        want = (round_ + 1) * 120
        while time.monotonic() < deadline:  # until it has done some work this round
            text = acknowledged.read_text(encoding="utf-8") if acknowledged.exists() else ""
            if text.count("\n") >= want:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: no close, no checkpoint
        proc.join(30)
        assert proc.exitcode == -signal.SIGKILL
        kills.append(proc.pid)
    lines = acknowledged.read_text(encoding="utf-8").splitlines()
    notes = [int(line.split()[0]) for line in lines if not line.startswith("bulk")]
    bulks = [int(line.split()[1]) for line in lines if line.startswith("bulk")]
    assert len(lines) >= 360 and len(notes) >= 300  # 120 lines a round, some of them bulk
    with Desk.open(path, operator="检查", clock=WallClock(), readonly=True) as desk:
        assert desk.store.check() == ["ok"]
        found: dict[int, int] = {}
        for case_id in desk.model.cases:
            for _, who, text in desk.model.case(case_id).notes:
                if text.startswith("note "):
                    n = int(text.split()[1])
                    found[n] = found.get(n, 0) + 1
        for n in notes:  # every acknowledged note is there, once
            assert found.get(n) == 1, n
        bulk_texts = [t for v in desk.model.cases.values() for _, _, t in v.notes
                      if t.startswith("bulk ")]
        for b in bulks:
            assert bulk_texts.count(f"bulk {b}") == 20, b
        # Written but not yet acknowledged when killed: at most one action per round.
        assert len(found) - len(set(notes)) <= len(kills)
    print(f"crash test: {len(kills)} kills, {len(notes)} acknowledged notes and "
          f"{len(bulks)} acknowledged bulk notes (x20), none lost; "
          f"{len(found) - len(set(notes))} written but unacknowledged")


def _state(v: Any) -> tuple[Any, ...]:
    return (v.case, v.incident, v.version, v.met, v.breaches, v.owner,
            [(o.obligation, o.audience, o.due, o.text, o.since) for o in v.owed])


def test_a_snapshot_opens_the_same_desk_as_the_full_replay(live_url: str,
                                                           tmp_path: Path) -> None:
    """On both back ends; the cold desk opens a backup (a SQLite file) without snapshots."""
    path = live_url
    clock = WallClock()
    with Desk.open(path, operator="王芳", clock=clock) as desk:
        ids = open_recall(desk, 60)
        ops.declare_level(desk, "R1", "III", "来电激增")
        ops.take_role(desk, "R1", "lead", "李强", "交接")
        ops.add_task(desk, "R1", "调拨", "张伟", due="1h")
        cases.bulk(desk, ids, "ack")
        clock.advance(hours=30)
        desk.tick()
        assert desk.save_snapshot(every=0)
        ops.update(desk, "R1", "tactical", conditions="积压")  # after the snapshot
        cases.resolve(desk, ids[3], "已更换")
    with Desk.open(path, operator="x", clock=clock, readonly=True) as warm:
        assert warm._snapshot_at > 0 and warm.snapshot_note == ""
        warm_json = export(warm.model, "json")
        warm_due = warm.model.due_next()
        warm_cases = {c: _state(v) for c, v in warm.model.cases.items()}
    conn_path = tmp_path / "cold.sqlite"
    with Desk.open(path, operator="x", clock=clock, readonly=True) as source:
        source.store.backup(conn_path)
    conn = sqlite3.connect(conn_path)
    conn.execute("DELETE FROM snapshots")  # a cache: may go
    conn.commit()
    conn.close()
    with Desk.open(conn_path, operator="x", clock=clock, readonly=True) as cold:
        assert cold._snapshot_at == 0
        assert export(cold.model, "json") == warm_json
        assert cold.model.due_next() == warm_due
        assert {c: _state(v) for c, v in cold.model.cases.items()} == warm_cases
    assert json.loads(warm_json)["cases"][3]["state"] == "归档"


def test_a_damaged_or_hostile_snapshot_is_ignored(live_url: str) -> None:
    path = live_url
    clock = WallClock()
    with Desk.open(path, operator="王芳", clock=clock) as desk:
        open_recall(desk, 10)
        desk.save_snapshot(every=0)
        position, blob = desk.store.load_snapshot(snapshot.NAME)  # type: ignore[misc]
        damaged = blob[:-10] + bytes(10)
        desk.store.save_snapshot(snapshot.NAME, position, damaged)
    with Desk.open(path, operator="x", clock=clock, readonly=True) as desk:
        assert "checksum does not match" in desk.snapshot_note
        assert len(desk.model.cases) == 10  # replayed in full
    hostile = pickle.dumps(os.system, protocol=5)
    forged = b"MUSTER-DESK-SNAPSHOT\x00" + hashlib.sha256(hostile).digest() + hostile
    with Desk.open(path, operator="x", clock=clock) as desk:
        desk.store.save_snapshot(snapshot.NAME, position, forged)
    with Desk.open(path, operator="x", clock=clock, readonly=True) as desk:
        assert "holds only plain values, not posix.system" in desk.snapshot_note
        assert len(desk.model.cases) == 10


def test_a_store_of_the_schema_before_the_desk_becomes_a_desk(tmp_path: Path) -> None:
    """A drill record store as Muster wrote it before the live desk (schema 2): read-only
    commands read it as it is; the first desk write upgrades it, every drill event kept."""
    from tests.store_helpers import digest, make_v2, pragma, raw_rows

    path = tmp_path / "drills.sqlite"
    rows = make_v2(path)
    before = digest(path)
    with Desk.open(path, operator="王芳", readonly=True) as desk:
        assert desk.model.cases == {} and desk.model.position == 10  # drills: not the desk's
    assert digest(path) == before and pragma(path, "user_version") == 2
    with Desk.open(path, operator="王芳", clock=WallClock()) as desk:
        open_recall(desk, 3)
        assert len(desk.model.cases) == 3
    assert pragma(path, "user_version") == 3
    for sid, expected in rows.items():
        assert raw_rows(path, sid) == expected
    with Desk.open(path, operator="李强", readonly=True) as desk:
        # 10 drill events, then the desk's settings, the playbook, the operation, 3 cases
        assert desk.model.position == 16 and len(desk.model.timeline) == 4
