"""The event store's files (incidents/store.py, store_file.py): schema versions and
migrations, and every file it refuses.

- a v1 store (made here with raw SQL, as the first Muster wrote it) migrates in one
  transaction; a failed migration leaves the file as it was;
- every refused file is left byte-for-byte as it was, with no -wal/-shm files beside it.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import incidents.store_file as store_file_module
from incidents.store import APPLICATION_ID, SCHEMA_VERSION, EventStore, StoreError

from tests.store_helpers import (SCENARIO_TEXT, digest, in_threads, make_v1, new_store, pragma,
                                 raw_rows, refuse, schema, side_files)


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
    assert pragma(path, "user_version") == SCHEMA_VERSION
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

    def open_and_append(i: int) -> None:
        with EventStore.open(path, create=False) as store:
            store.append("d1", "action", {"i": i})

    assert in_threads(open_and_append, 6) == []
    assert pragma(path, "user_version") == SCHEMA_VERSION
    assert [r[0] for r in raw_rows(path, "d1")] == list(range(1, 13))


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    make_v1(path)
    step, *later = store_file_module._MIGRATIONS
    monkeypatch.setattr(store_file_module, "_MIGRATIONS",  # the first step fails at its end
                        (step + (step[0],), *later))
    message = refuse(path)
    assert message == (f"{path}: error: cannot upgrade the store from schema 1 to "
                       f"{SCHEMA_VERSION} (index events_by_kind already exists); it is unchanged")
    assert pragma(path, "user_version") == 1
    assert "events_by_kind" not in {name for _, name, _ in schema(path)}


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    new_store(path, 3)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    assert refuse(path) == (f"{path}: error: written by a newer Muster (schema 7); this "
                            f"version reads up to schema {SCHEMA_VERSION}; upgrade Muster")


def test_a_newer_schema_still_in_another_programs_wal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    new_store(path, 3)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA user_version = 7")  # in its WAL; the file's header has the old one
    with path.open("rb") as f:
        assert int.from_bytes(f.read(64)[60:64], "big") == SCHEMA_VERSION
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
        while data[page] != 13:  # the first table leaf page from the middle on
            page += 4096
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
