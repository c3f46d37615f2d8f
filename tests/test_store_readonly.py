"""Reading a store changes nothing; an interrupted creation leaves nothing behind for good.

- Read-only commands (`muster drills list`, `muster drill replay`, a refused `muster drill
  resume`) open the store read-only: the file stays byte for byte, keeps its journal mode and
  its schema, and no -wal/-shm/-journal appears beside it, in every journal mode (they used
  to switch a store in an older journal mode to WAL).
- A program killed while it created a store left `.NAME.<uuid>.creating` files forever; the
  next read-write open removes them, unless their creator still holds them (flock).
- A network filesystem is refused for writing, naming the filesystem.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

import incidents.store_file as store_file_module
from incidents.store import EventStore, StoreError

from tests.cli_helpers import run_cli
from tests.store_helpers import (SPAWN, digest, make_v1, make_v2, new_store, pragma, refuse,
                                 side_files)


def _recorded_drill(path: Path) -> str:
    """A short recorded drill that ended (so resuming it is refused)."""
    from simulation.drills.actions import DeclareLevel
    from simulation.drills.record import start_record
    from simulation.drills.session import DrillSession
    from simulation.scenario.loader import load_scenario

    loaded = load_scenario("drill-recall")
    with EventStore.open(path) as store:
        recorder = start_record(store, loaded, 3)
        session = DrillSession(loaded, 3, recorder=recorder)
        session.advance(60)
        session.act(DeclareLevel(level="IV"))
        session.advance(90)
        recorder.finish(session, "ended by the team")
        return recorder.stream_id


def _set_journal(path: Path, mode: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0] == mode
    conn.close()


@pytest.mark.parametrize("journal", ["wal", "delete", "truncate", "persist"])
def test_read_only_commands_leave_the_store_as_it_was(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path, journal: str) -> None:
    path = tmp_path / "drills.sqlite"
    sid = _recorded_drill(path)
    _set_journal(path, journal)
    before, beside = digest(path), side_files(path)  # truncate and persist keep a -journal
    assert beside == ([] if journal in ("wal", "delete") else ["drills.sqlite-journal"])
    code, out, err = run_cli(capsys, "drills", "list", "--store", path)
    assert code == 0 and sid[:8] in out, err
    code, out, err = run_cli(capsys, "drill", "replay", path)
    assert code == 0 and "reproduced exactly" in out, err
    code, script, err = run_cli(capsys, "drill", "example-script", "drill-recall",
                                "--style", "passive")
    assert code == 0, err
    (tmp_path / "passive.yaml").write_text(script, encoding="utf-8")  # the script is checked
    code, _, err = run_cli(capsys, "drill", "resume", path, "--script",  # before the record
                           tmp_path / "passive.yaml")
    assert code == 2 and "ended (ended by the team); nothing to resume" in err
    assert digest(path) == before
    assert side_files(path) == beside
    # Only WAL is kept in the file; the others are a connection's choice (delete by default).
    assert (pragma(path, "journal_mode") == "wal") == (journal == "wal")


@pytest.mark.parametrize("journal", ["WAL", "DELETE"])
def test_an_older_schema_is_read_as_it_is(tmp_path: Path, journal: str) -> None:
    path, copy = tmp_path / "v2.db", tmp_path / "copy.db"
    make_v2(path, journal=journal)
    copy.write_bytes(path.read_bytes())
    before = digest(path)
    with EventStore.open(path, readonly=True) as store:
        old = [(e.stream_id, e.seq, e.gseq, e.payload) for e in store.since()]
        assert {s.id: s.events for s in store.streams()} == {"d1": 6, "演练-2": 4}
        assert [e.seq for e in store.events("d1", kinds="inject")] == [2, 3, 4, 5, 6]
        assert store.position() == 10 and store.version("d1") == 6
    assert digest(path) == before and side_files(path) == []
    assert pragma(path, "user_version") == 2
    with EventStore.open(copy) as upgraded:  # read-only numbers them as the upgrade will
        assert [(e.stream_id, e.seq, e.gseq, e.payload) for e in upgraded.since()] == old


def test_a_read_only_store_sees_what_a_writer_adds_later(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    sid = new_store(path, 3)
    with EventStore.open(path, readonly=True) as reader:
        assert reader.changed() is True
        assert reader.version(sid) == 4
        with EventStore.open(path, create=False) as writer:
            writer.append(sid, "action", {"late": True})
            assert reader.changed() is True
            assert [e.payload for e in reader.events(sid, after=4)] == [{"late": True}]
            writer.append(sid, "action", {"later": True})
            assert reader.changed() is True and reader.version(sid) == 6
    with EventStore.open(path, readonly=True) as reader:
        assert reader.version(sid) == 6


def test_a_read_only_open_refuses_what_a_writer_would(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    new_store(path, 1)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 9")
    conn.close()
    with pytest.raises(StoreError, match=r"written by a newer Muster \(schema 9\)"):
        EventStore.open(path, readonly=True)
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as other:
        other.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a Muster event store"):
        EventStore.open(foreign, readonly=True)


# -- leftovers of an interrupted creation -----------------------------------------------------

def _die_while_creating(path: str) -> None:
    def killed(conn: sqlite3.Connection, name: str) -> None:
        os.kill(os.getpid(), signal.SIGKILL)  # after the tables, before the link into place
    store_file_module._migrate = killed  # type: ignore[assignment]
    EventStore.open(path)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".creating" in p.name)


def _age(folder: Path) -> None:
    old = time.time() - 3600
    for name in _leftovers(folder):
        os.utime(folder / name, (old, old))


def test_leftovers_of_a_killed_creation_are_removed_at_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    proc = SPAWN.Process(target=_die_while_creating, args=(str(path),))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    assert not path.exists()
    assert [n.split(".")[-1] for n in _leftovers(tmp_path)] == ["creating"]
    _age(tmp_path)
    with EventStore.open(path) as store:
        store.new_stream("op", {})
    assert _leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.sqlite"]


def test_a_creation_still_in_progress_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    busy = tmp_path / f".live.sqlite.{'a' * 32}.creating"
    young = tmp_path / f".live.sqlite.{'b' * 32}.creating"
    orphan = tmp_path / f".live.sqlite.{'c' * 32}.creating-journal"
    unrelated = tmp_path / ".live.sqlite.notes.creating"
    for p in (busy, young, orphan, unrelated):
        p.write_bytes(b"")
    old = time.time() - 3600
    for p in (busy, orphan, unrelated):
        os.utime(p, (old, old))
    fd = os.open(busy, os.O_RDONLY)  # its creator, alive, holds it
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        new_store(path)
        assert _leftovers(tmp_path) == sorted([busy.name, young.name, unrelated.name])
    finally:
        os.close(fd)
    new_store(path)
    assert _leftovers(tmp_path) == sorted([young.name, unrelated.name])


# -- network filesystems ----------------------------------------------------------------------

def test_a_store_on_a_network_filesystem_is_refused(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    share = tmp_path / "共享 盘"
    share.mkdir()
    table = tmp_path / "mountinfo"
    table.write_text(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        f"40 22 0:40 / {str(share).replace(' ', chr(92) + '040')} rw - nfs4 "
        "files.example:/export rw,vers=4.2\n", encoding="utf-8")
    monkeypatch.setattr(store_file_module, "MOUNTINFO", table)
    path = share / "live.sqlite"
    assert refuse(path) == (f"{path}: error: is on a network filesystem (nfs4 mounted at "
                            f"{share}): SQLite's WAL needs every program on one host and "
                            "reliable file locks; keep the store on a local disk")
    assert list(share.iterdir()) == []
    local = tmp_path / "local.sqlite"
    new_store(local, 1)
    old = share / "copy.sqlite"
    old.write_bytes(local.read_bytes())
    with EventStore.open(old, readonly=True) as store:  # reading a copy there is fine
        assert len(store.streams()) == 1
    make_v1(tmp_path / "v1.db")
    assert store_file_module.network_filesystem(tmp_path) is None
