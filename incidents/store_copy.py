"""Moving a whole history between stores, event for event, checked by counts and digests.

`muster live migrate --from sqlite:PATH --to postgresql://...` (and back) when desks outgrow
one host, or come home to one; and the backup of a server store into a plain SQLite file.
Every event keeps its global position, stream version, kind, payload, times, actor, key,
correlation and causation (`EventStore.copy_in`); snapshots are not copied (they are derived:
a desk on the copy makes its own).

A history's digest is SHA-256 over one line per event in global order (a stream's header line
also carries the stream's kind and creation time), the payload as canonical JSON (sorted
keys): two stores hold the same history exactly when their counts and digests agree,
whichever back end holds them.

Copying into a store that already holds events is refused unless those events are the
source's first ones, event for event: then only the rest is copied (an interrupted copy goes
on; a copy of the same history writes nothing). Copying is by batches, each one transaction:
stopped half way, a copy is a prefix of the source, and running it again finishes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from incidents.store import EventStore, StoredEvent, StoreError, StreamInfo, open_store
from incidents.store_file import fsync_folder

__all__ = ["History", "Migration", "history", "copy_history", "migrate", "backup_to_file"]

BATCH = 2000
"""Events copied per transaction."""


@dataclass(frozen=True, slots=True)
class History:
    """What a store holds, in a form two back ends can compare."""

    streams: int
    events: int
    position: int
    digest: str


@dataclass(frozen=True, slots=True)
class Migration:
    """What a copy did: `copied` events written now, `kept` found there already."""

    source: str
    target: str
    copied: int
    kept: int
    history: History
    behind: int = 0
    """Events the source gained while it was copied (run the copy again for them)."""

    @property
    def message(self) -> str:
        h = self.history
        what = (f"copied {self.copied:,} events" if self.copied else "nothing to copy")
        if self.kept:
            what += f" ({self.kept:,} were there already, the same)"
        text = (f"{self.source} -> {self.target}: {what}; both hold {h.events:,} events in "
                f"{h.streams:,} streams up to position {h.position:,}, digest "
                f"sha256:{h.digest[:16]}: the same history")
        if self.behind:
            text += (f"; the source gained {self.behind:,} events meanwhile: run the same "
                     "command again to copy them")
        return text


def _line(e: StoredEvent, streams: dict[str, StreamInfo]) -> bytes:
    head: list[object] = []
    if e.seq == 1:
        info = streams.get(e.stream_id)
        head = [info.kind if info else None, info.created.isoformat() if info else None]
    return json.dumps([e.gseq, e.stream_id, e.seq, e.kind, e.sim_minute,
                       e.wall.isoformat(timespec="microseconds"), e.actor, e.key,
                       e.correlation, e.causation, e.payload, *head],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8") + b"\n"


def _streams(store: EventStore) -> dict[str, StreamInfo]:
    return {s.id: s for s in store.streams()}


def history(store: EventStore, *, upto: int | None = None) -> History:
    """Counts and digest of the store's events (those up to position `upto`, if given)."""
    streams = _streams(store)
    digest = hashlib.sha256()
    events = headers = position = 0
    for e in store.since(0, page=5000):
        if upto is not None and e.gseq > upto:
            break
        digest.update(_line(e, streams))
        events += 1
        headers += e.seq == 1
        position = e.gseq
    return History(headers, events, position, digest.hexdigest())


def _same_store(a: EventStore, b: EventStore) -> bool:
    if a.path == b.path:
        return True
    try:
        return os.path.samefile(a.path, b.path)
    except OSError:
        return False


def copy_history(source: EventStore, target: EventStore, *, batch: int = BATCH) -> Migration:
    """Copy what `target` lacks of `source`'s history, then check both by count and digest.
    Refuses (StoreError, nothing written) a target holding anything else."""
    if _same_store(source, target):
        raise StoreError(target.path, "is the source itself: nothing to copy")
    mine, theirs = _streams(source), _streams(target)
    pending: Iterator[StoredEvent] = source.since(0, page=batch)
    kept = 0
    for held in target.since(0, page=batch):
        want = next(pending, None)
        if want is None or _line(want, mine) != _line(held, theirs):
            where = f"event {kept + 1} (position {held.gseq}, stream {held.stream_id})"
            raise StoreError(target.path, f"holds another history than {source.path} (they "
                                          f"differ at {where}); nothing was written: copy "
                                          "into an empty store")
        kept += 1
    copied = 0
    chunk: list[StoredEvent] = []
    for event in pending:
        chunk.append(event)
        if len(chunk) >= batch:
            copied += _copy(target, chunk, mine)
    copied += _copy(target, chunk, mine)
    done = history(target)
    check = history(source, upto=done.position)
    if check != done:
        raise StoreError(target.path, f"the copy does not match {source.path}: "
                                      f"{done.events:,} events, digest {done.digest[:16]} "
                                      f"against {check.events:,}, {check.digest[:16]}")
    behind = source.position() - done.position
    return Migration(source.path, target.path, copied, kept, done, max(behind, 0))


def _copy(target: EventStore, chunk: list[StoredEvent], streams: dict[str, StreamInfo]) -> int:
    if not chunk:
        return 0
    heads = [streams[e.stream_id] for e in chunk if e.seq == 1 and e.stream_id in streams]
    target.copy_in(heads, chunk)
    count = len(chunk)
    chunk.clear()
    return count


def migrate(source_url: str, target_url: str, *, batch: int = BATCH) -> Migration:
    """`muster live migrate`: the source opened read-only (it must exist), the target made if
    it is new (a SQLite file, or the tables in an existing PostgreSQL database)."""
    with open_store(source_url, create=False, readonly=True) as source:
        with open_store(target_url, create=True) as target:
            return copy_history(source, target, batch=batch)


def backup_to_file(store: EventStore, dest: str | os.PathLike[str]) -> Path:
    """Every event of `store` into a new SQLite file at `dest`, checked by count and digest
    before it is put in place; never overwrites a file."""
    target, name = Path(dest), os.fspath(dest)
    if target.exists() or target.is_symlink():
        raise StoreError(name, "already exists; a backup never overwrites a file (give a "
                               "new name)")
    if not target.parent.is_dir():
        raise StoreError(name, f"cannot write the backup: the folder {target.parent} does "
                               "not exist")
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.backup")
    try:
        with open_store(tmp) as copy:
            copy_history(store, copy)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            conn.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.link(tmp, target)
        fsync_folder(target.parent)
    except FileExistsError:
        raise StoreError(name, "already exists; a backup never overwrites a file") from None
    except (sqlite3.Error, OSError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise StoreError(name, f"cannot write the backup: {reason}") from None
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            tmp.with_name(tmp.name + suffix).unlink(missing_ok=True)
    return target
