"""The event log: every state change, assignment, stock movement, escalation, emergency-level
change and message of a run, in typed columns.

A million-incident run logs tens of millions of events; Python tuples would need gigabytes,
so the log keeps typed `array` columns (32 bytes per event) and interns names. Metrics are
pure functions of this log and the case table.
"""

from __future__ import annotations

import csv
import gzip
import struct
from array import array
from pathlib import Path
from typing import Iterator

import numpy as np

__all__ = ["EventLog", "KINDS", "Names", "CaseTable"]

KINDS = (
    "opened",        # case; a=mix kind (name), b=tier (0 VIP, 1 tier1, 2 tier2)
    "state",         # case; a=state, b=trigger
    "assigned",      # case; a=pool, b=state, x=minutes waited for staff
    "work_done",     # case; a=pool, b=state, x=minutes of work
    "parts_wait",    # case; a=sku, b=qty, x=minutes waited for parts
    "milestone",     # case; a=milestone, b=on time (1/0), x=minutes since opened
    "breach",        # case; a=milestone, x=due minute
    "escalated",     # case; a=new level, b=old level, x=rule
    "message_owed",  # case (-1: operation-wide); a=obligation, b=audience, x=due minute
    "message_sent",  # case; a=obligation, b=on time (1/0; 2: owed by nobody), x=due minute
    "closed",        # case; a=final state, x=minutes since opened
    "stock",         # a=sku, b=units taken (<0) or received (>0), x=on hand after
    "order",         # a=sku, b=units ordered, x=expected arrival minute
    "transfer",      # a=sku, b=units, x=cost
    "level",         # a=new emergency level, b=old level
    "unlock",        # a=resource, b=headcount (-1: revoked), x=available minute
    "capacity",      # a=pool, b=on duty
    "complaint",     # case=new complaint case; a=case that complained
    "inject",        # a=inject index
    "signal",        # a=open backlog, b=arrivals in the last interval, x=breaches in 24 h
    "abandoned",     # case gave up waiting; a=state, b=tier, x=minutes waited for staff
    "deescalated",   # case; a=new level, b=old level, x=rule (a team decided it)
    "msel",          # a drill inject fired; a=its number in drill.injects + contingency
    "message_withdrawn",  # -1; a=obligation, b=audience, x=due: no longer owed (level lowered)
)
_CODE = {name: i for i, name in enumerate(KINDS)}
_EVENT = "db3id"
"""One event as `struct` packs it (after "<": little-endian, no padding)."""
EVENT_BYTES = struct.calcsize("<" + _EVENT)
PACK_EVENTS = 1024
"""Events packed by one call of the prepared `_PACK`."""
_PACK = struct.Struct("<" + _EVENT * PACK_EVENTS)
assert len(KINDS) <= 127, "the log stores an event's kind in one signed byte"


class Names:
    """Interned strings: names of states, pools, SKUs... stored once, referenced by index."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.items)
            self.items.append(name)
        return i


class EventLog:
    """Append-only columns. Writing is on the hot path; everything else runs once per run.

    A write is one `list.extend` of a 6-tuple into a flat buffer (`push`, bound once by the
    model), moved into the typed columns in chunks (`flush`, which the model calls every
    few thousand incidents and every reader calls first). Measured against appending to six
    typed columns at once (issue 14), the buffer and its flush cost about the same or less:
    about 1,600 instructions an event (callgrind), half of them the flush.

    Memory is 29 bytes an event: t and x as float64, the kind as int8, and the three other
    integers (case, a, b) together in one int32 array. `columns()` hands the kind out as
    int32, as it always has (converted once per length of the log).
    """

    __slots__ = ("t", "kind", "ints", "x", "names", "buffer", "push", "_kind32")

    FLUSH_AT = 6 * 65_536
    """Buffered values (six per event) after which the model flushes."""

    def __init__(self) -> None:
        self.t = array("d")
        self.kind = array("b")
        self.ints = array("i")
        self.x = array("d")
        self._kind32: np.ndarray = np.empty(0, dtype=np.int32)
        self.names = Names()
        self.buffer: list[float] = []
        self.push = self.buffer.extend
        """push((t, kind, case, a, b, x)): the hot-path write."""

    def add(self, t: float, kind: int, case: int, a: int = 0, b: int = 0, x: float = 0.0) -> None:
        self.push((t, kind, case, a, b, x))

    def flush(self) -> None:
        """Move buffered events into the typed columns (order is kept).

        The buffer is packed with `struct` as the columns' own types (float64, int8, three
        int32, float64: 29 bytes an event), `PACK_EVENTS` events a call: ints go straight
        to ints, never through a float, and the whole costs about half of `np.fromiter`'s
        conversion to float64 (callgrind). A value that does not fit its column is an
        error here rather than a silently wrapped number."""
        buffer = self.buffer
        n = len(buffer) // 6
        if not n:
            return
        packed = bytearray(EVENT_BYTES * n)
        whole = n - n % PACK_EVENTS
        pack_into = _PACK.pack_into
        for i in range(0, whole, PACK_EVENTS):
            pack_into(packed, EVENT_BYTES * i, *buffer[6 * i:6 * (i + PACK_EVENTS)])
        if whole < n:
            struct.Struct("<" + _EVENT * (n - whole)).pack_into(packed, EVENT_BYTES * whole,
                                                                 *buffer[6 * whole:])
        self.t.frombytes(np.ndarray((n,), "<f8", packed, 0, (EVENT_BYTES,)).tobytes())
        self.kind.frombytes(np.ndarray((n,), "i1", packed, 8, (EVENT_BYTES,)).tobytes())
        self.ints.frombytes(np.ndarray((n, 3), "<i4", packed, 9, (EVENT_BYTES, 4)).tobytes())
        self.x.frombytes(np.ndarray((n,), "<f8", packed, 21, (EVENT_BYTES,)).tobytes())
        buffer.clear()  # the same list: `push` stays bound to it

    @staticmethod
    def code(kind: str) -> int:
        return _CODE[kind]

    def __len__(self) -> int:
        return len(self.t) + len(self.buffer) // 6

    def columns(self) -> dict[str, np.ndarray]:
        """Numpy views of the columns (t, kind, case, a, b, x); no copies but the kind's."""
        self.flush()
        ints = np.frombuffer(self.ints, dtype=np.int32).reshape(-1, 3)
        if len(self._kind32) != len(self.kind):
            self._kind32 = np.frombuffer(self.kind, dtype=np.int8).astype(np.int32)
        return {"t": np.frombuffer(self.t, dtype=np.float64), "kind": self._kind32,
                "case": ints[:, 0], "a": ints[:, 1], "b": ints[:, 2],
                "x": np.frombuffer(self.x, dtype=np.float64)}

    def select(self, kind: str) -> dict[str, np.ndarray]:
        """The events of one kind, as columns."""
        cols = self.columns()
        mask = cols["kind"] == _CODE[kind]
        return {k: v[mask] for k, v in cols.items() if k != "kind"}

    def rows(self) -> Iterator[tuple[float, str, int, int, int, float]]:
        self.flush()
        ints, kind = self.ints, self.kind
        for i in range(len(self.t)):
            j = 3 * i
            yield (self.t[i], KINDS[kind[i]], ints[j], ints[j + 1], ints[j + 2], self.x[i])

    def write_csv(self, path: Path) -> None:
        """Write the log as CSV (gzipped if the name ends in .gz) with names decoded."""
        opener = gzip.open if path.suffix == ".gz" else open
        items = self.names.items
        numeric_a = {"signal", "complaint", "inject", "msel"}
        with opener(path, "wt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
            w = csv.writer(fh)
            w.writerow(["minute", "event", "case", "a", "b", "x"])
            for t, kind, case, a, b, x in self.rows():
                a_text = str(a) if kind in numeric_a else items[a]
                b_text = items[b] if kind in ("state", "escalated", "deescalated",
                                              "level") else str(b)
                w.writerow([f"{t:.3f}", kind, case, a_text, b_text, f"{x:.3f}"])


class CaseTable:
    """One row per case: what it is and when it opened and closed (NaN: still open)."""

    __slots__ = ("kind", "tier", "opened", "closed", "level")

    def __init__(self) -> None:
        self.kind = array("i")
        self.tier = array("b")
        self.opened = array("d")
        self.closed = array("d")
        self.level = array("b")

    def add(self, kind: int, tier: int, opened: float) -> int:
        self.kind.append(kind)
        self.tier.append(tier)
        self.opened.append(opened)
        self.closed.append(float("nan"))
        self.level.append(0)
        return len(self.opened) - 1

    def __len__(self) -> int:
        return len(self.opened)

    def columns(self) -> dict[str, np.ndarray]:
        return {name: np.frombuffer(getattr(self, name), dtype=getattr(self, name).typecode)
                for name in self.__slots__}
