"""The reads both SQL back ends of the event store share: a key's event, a stream's summary,
the streams of a kind.

SQLite and PostgreSQL answer them with the same SQL but for the driver's parameter marker
(`?` or `%s`) and the schema the tables live in, so each back end names those two and its
summary query, and the queries are written once here. Each back end keeps its own `_read`
(locks, retries, reconnection) and `_info` (how its driver hands back a row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from incidents.store import StoreError, StreamInfo, Written, check_name

__all__ = ["SqlReads"]


class SqlReads:
    """Mixed in before EventStore by SqliteStore and PgStore."""

    _path: str
    _MARK = "?"
    """The driver's parameter marker."""
    _EVENTS = "events"
    """The events table as SQL names it."""
    _INFO = ""
    """SELECT id, kind, created, first payload, last seq, last wall FROM streams AS s."""

    _read: Callable[[str | None, str, Sequence[Any]], list[Any]]
    """Each back end's read (its locks, retries and reconnection)."""
    _info: Callable[[Sequence[Any]], StreamInfo]
    """A summary row as its driver hands it back -> StreamInfo."""

    def _keys_kept(self) -> bool:
        """Whether the store records idempotency keys (an older SQLite schema did not)."""
        return True

    def keyed(self, key: str) -> Written | None:
        key = check_name(self._path, key, "key")
        if not self._keys_kept():
            return None
        rows = self._read(None, f"SELECT stream_id, seq, gseq FROM {self._EVENTS} "
                                f"WHERE key = {self._MARK}", (key,))
        return Written(rows[0][0], rows[0][1], rows[0][2], False) if rows else None

    def info(self, stream_id: str) -> StreamInfo:
        sid = check_name(self._path, stream_id, "stream id")
        rows = self._read(sid, f"{self._INFO} WHERE s.id = {self._MARK}", (sid,))
        if not rows:
            raise StoreError(self._path, "no such stream in this store", stream_id=sid)
        return self._info(rows[0])

    def streams(self, kind: str | None = None) -> list[StreamInfo]:
        where, params = "", ()  # type: tuple[str, tuple[str, ...]]
        if kind is not None:
            where = f" WHERE s.kind = {self._MARK}"
            params = (check_name(self._path, kind, "stream kind"),)
        rows = self._read(None, self._INFO + where + " ORDER BY s.created, s.id", params)
        return [self._info(row) for row in rows]
