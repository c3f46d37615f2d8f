"""One coordinator's desk: the store, the projection of everything in it, who and when.

The app and the commands hold a `Desk` and call the services (desk/case/service.py,
desk/operation/service.py) with it. Everything a desk shows comes from the store: a service
decides on the projection, writes with the stream version it decided on and an idempotency
key, and then reads back what is new (its own events and anyone else's), so what it shows as
done is on disk. `poll` is the cheap check another desk's writes need (`PRAGMA data_version`
on SQLite), then the same read; `tick` writes the deadlines the wall clock has passed.

Thread safety: the projection is guarded by `lock`; decisions hold it, store I/O does not
(a write waits for the disk without holding up a screen that renders the projection).
"""

from __future__ import annotations

import gc
import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from incidents.store import ConflictError, EventStore, Pending, Written, open_store, safe_url

from desk import snapshot
from desk.case.events import STREAM_PREFIX as CASE_PREFIX
from desk.clock import Clock, minutes, system_clock
from desk.errors import Conflict, DeskError
from desk.operation.events import STREAM_PREFIX as OP_PREFIX
from desk.playbooks import STREAM_KIND as BOOK_KIND
from desk.playbooks import STREAM_PREFIX as BOOK_PREFIX
from desk.playbooks import book_from_text
from desk.projection import Changes, DeskModel
from desk.scheduled import due_events
from desk.settings import settings_pending

__all__ = ["Desk", "check_operator", "SNAPSHOT_EVERY", "snapshot_version"]

SNAPSHOT_EVERY = 2000
"""A desk saves its projection when this many events came since the last snapshot."""


@cache
def snapshot_version() -> str:
    """What a snapshot is valid for: this Muster's version and the desk code's digest, so
    a projection made by other code is never taken for this code's."""
    try:
        found = version("muster")
    except PackageNotFoundError:
        found = "0+unknown"
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return f"{found}+{digest.hexdigest()[:16]}"


def check_operator(name: object, where: str) -> str:
    """The operator's name as every event carries it: 1 to 80 printable characters."""
    if isinstance(name, str) and 0 < len(name.strip()) <= 80 and name.isprintable():
        return name.strip()
    raise DeskError(where, f"the operator's name (--as) must be 1 to 80 printable characters, "
                           f"got {name!r}")


class Desk:
    """See the module docstring."""

    def __init__(self, store: EventStore, operator: str, clock: Clock = system_clock) -> None:
        self.store, self.clock = store, clock
        self.where = store.path
        self.operator = check_operator(operator, self.where)
        self.model = DeskModel(store.path)
        self.lock = threading.RLock()
        self._io = threading.Lock()
        self._snapshot_at = 0
        self.snapshot_note = ""
        """Why a snapshot in the database was not used ('' when none was refused)."""

    @classmethod
    def open(cls, url: str | os.PathLike[str], *, operator: str, clock: Clock = system_clock,
             create: bool = True, readonly: bool = False) -> Desk:
        """The desk on the database at `url`, read up to its last event. Opening writes
        nothing: a new database gets its settings with its first event."""
        check_operator(operator, safe_url(os.fspath(url)))
        store = open_store(url, create=create, readonly=readonly)
        try:
            desk = cls(store, operator, clock)
            desk._restore()
            desk.refresh()
        except BaseException:
            store.close()
            raise
        return desk

    def close(self) -> None:
        """Close the database (saving a snapshot first if many events came since the last)."""
        try:
            self.save_snapshot()
        except ValueError:
            pass  # a snapshot is only a cache: the events are what matters, and they are in
        self.store.close()

    # -- snapshots ---------------------------------------------------------------------------
    def _restore(self) -> None:
        """Start from the latest usable snapshot (desk/snapshot.py), if there is one."""
        found = self.store.load_snapshot(snapshot.NAME)
        if found is None or found[0] > self.store.position():
            return
        position, blob = found
        books = {}
        for info in self.store.streams(BOOK_KIND):
            ref = info.id[len(BOOK_PREFIX):]
            try:
                books[ref] = book_from_text(str(info.header.get("text", "")), ref, self.where)
            except DeskError:
                return  # the full replay says which playbook no longer loads
        try:
            model = snapshot.load(blob, books, self.where, snapshot_version())
        except snapshot.SnapshotError as exc:
            self.snapshot_note = f"snapshot not used: {exc}"
            return
        if model.position == position:
            self.model, self._snapshot_at = model, position

    def save_snapshot(self, *, every: int = SNAPSHOT_EVERY) -> bool:
        """Save the projection if `every` events or more came since the last snapshot."""
        if self.store.readonly or self.model.position - self._snapshot_at < every:
            return False
        with self.lock:
            position = self.model.position
            blob = snapshot.dump(self.model, snapshot_version())
        self.store.save_snapshot(snapshot.NAME, position, blob)
        self._snapshot_at = position
        return True

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time --------------------------------------------------------------------------------
    def now(self) -> datetime:
        now = self.clock()
        if not isinstance(now, datetime) or now.utcoffset() is None:
            raise DeskError(self.where, f"the desk's clock gave {now!r}, not an aware time")
        return now

    def minute(self) -> float:
        return minutes(self.now())

    # -- reading and writing -----------------------------------------------------------------
    def refresh(self) -> Changes:
        """Read everything after the last position seen and apply it."""
        with self._io:  # one reader at a time: the events arrive in order
            many = self.store.position() - self.model.position > 5000
            if many:  # a long log (opening, an import): the collector would walk it often
                gc.disable()
            try:
                events = list(self.store.since(self.model.position, page=8192 if many
                                               else None))
                with self.lock:
                    changes = self.model.apply(events)
                if many:
                    del events
                    gc.freeze()  # the projection is long-lived: later collections skip it
                return changes
            finally:
                if many:
                    gc.enable()

    def poll(self) -> Changes:
        """Whatever other desks wrote since the last look (cheap when nothing was)."""
        if self.store.changed():
            return self.refresh()
        return Changes()

    def submit(self, batch: Sequence[Pending]) -> list[Written]:
        """Write `batch` (all or nothing), then read back what is new. Events carry the
        desk's clock as their time, unless they say otherwise."""
        now = self.now()
        batch = [p if p.wall is not None else replace(p, wall=now) for p in batch]
        if not self.model.settings.started:  # the first write to a new database starts it
            batch.insert(0, settings_pending(self.operator))
        try:
            written = self.store.write(batch)
        except ConflictError as exc:
            self.refresh()
            raise Conflict(self.where, _conflict_text(exc)) from None
        self.refresh()
        return written

    def tick(self) -> int:
        """Write the deadlines and reminders the wall clock has passed; how many were new."""
        if self.store.readonly:
            return 0
        self.poll()  # judge on what the other desks did too
        count = 0
        for _ in range(20):
            with self.lock:
                batch = due_events(self.model, self.minute(), self.operator)
            if not batch:
                break
            try:
                written = self.submit(batch)
            except Conflict:
                continue  # another desk moved a case meanwhile: look again
            count += sum(w.new for w in written)
            if not any(w.new for w in written):
                break
        return count


def _conflict_text(exc: ConflictError) -> str:
    sid = exc.stream_id or ""
    for prefix, word in ((CASE_PREFIX, "case"), (OP_PREFIX, "operation")):
        if sid.startswith(prefix):
            subject = f"{word} {sid[len(prefix):]}"
            break
    else:
        subject = f"stream {sid}"
    if exc.actual is None:
        return f"{subject} already exists; nothing was written"
    return (f"{subject} changed meanwhile (it is at version {exc.actual}, the action was "
            f"decided on version {exc.expected}): nothing was written; look again and decide "
            "again")
