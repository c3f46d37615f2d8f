"""A log's rows as contacts: when each arrived, how long it waited, served or not, by whom.

One record per contact, in numpy columns, whatever the log looked like. Times are seconds of
local wall-clock time since 1970-01-01 (the log's own clock, in the `--tz` zone): weekday and
hour come straight from them, and a duration is a difference (a duration across a daylight
saving change is off by the change; call-centre logs rarely cross one mid-call).

The rules for a call log (one row per call):

* Arrival: the `--arrival` column if named; else the queue start, or, for a call that never
  queued (an agent was free), the service start. A row with neither never reached the agents
  (it hung up in the voice menu): it is left out and counted.
* Served or abandoned: the outcome column where its value says so (AGENT, ANSWERED,
  SERVED... / HANG, ABANDONED...); rows of any other value (PHANTOM) are left out and
  counted; without an outcome column, a call with a service start was served.
* Wait: queue end (or service start) minus arrival; the wait column if there are no times;
  a call with none of them is left out and counted.
* Service time: service end minus service start; the service-time column otherwise.
* Times of day roll over midnight: within a row, a time more than 12 hours earlier than the
  one before it (in header order) is on the next day; the date column is the first time's.
* Agent: the agent column, except the value most abandoned calls carry (NO_SERVER): that one
  means "nobody".

A ticket log (opened and resolved times, one row per ticket or per event with an id column,
or an XES log) gives arrivals and resolve times: the first opening and the last resolution
of each id, in file order.

Unreadable cells: up to 1% of the contacts are skipped with a located warning each (real
exports have a few); more is an error listing the first five, each at FILE:LINE:COL with the
column's name and the row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

import numpy as np

from incidents.source import Diagnostic, suggest
from simulation.calibration.columns import (EPOCH, Column, LogOptions, find_roles,
                                            missing_column, sniff_column, zone)
from simulation.calibration.logs import XES_CASE, Table, read_table
from simulation.errors import SimulationError

__all__ = ["Contacts", "read_contacts", "SERVED", "ABANDONED", "BAD_FRACTION", "Period"]

SERVED = frozenset({"AGENT", "ANSWERED", "ANSWER", "SERVED", "HANDLED", "COMPLETED",
                    "COMPLETE", "CONNECTED", "ACCEPTED"})
ABANDONED = frozenset({"HANG", "HANGUP", "HUNGUP", "ABANDONED", "ABANDON", "ABANDONMENT",
                       "LOST", "GAVEUP", "DROPPED", "RENEGED"})
BAD_FRACTION = 0.01
SHOWN = 5
NEGATIVE_SLACK = 60.0
"""A wait or service up to this many seconds below zero is clock skew between systems
(the bank's service can start a second before the voice menu lets go): read as 0."""


@dataclass(frozen=True)
class Period:
    """Whole local days, first..last inclusive."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def __str__(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def seconds(self) -> tuple[float, float]:
        """[start, end) in wall-clock seconds since EPOCH."""
        lo = (self.first - EPOCH.date()).days * 86400.0
        return lo, lo + self.days * 86400.0


@dataclass(frozen=True)
class Contacts:
    """Contacts in numpy columns, sorted by arrival (see the module notes)."""

    file: str
    kind: Literal["calls", "tickets"]
    tz: str
    arrival: np.ndarray
    wait: np.ndarray
    """Seconds waited (calls); NaN for tickets."""
    served: np.ndarray
    """Calls: served by an agent. Tickets: resolved."""
    abandoned: np.ndarray
    service: np.ndarray
    """Seconds of service (calls; NaN where unknown) or to resolve (tickets; NaN: open)."""
    start: np.ndarray
    end: np.ndarray
    """Service start and end (calls), wall-clock seconds; NaN where unknown."""
    agent: np.ndarray
    """Index into `agents`, -1 for nobody."""
    agents: tuple[str, ...]
    line: np.ndarray
    read_as: dict[str, str] = field(default_factory=dict)
    """role -> 'column (how it was read)': what the user should check."""
    notes: tuple[str, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    rows: int = 0

    def __len__(self) -> int:
        return int(self.arrival.size)

    def take(self, mask: np.ndarray) -> Contacts:
        """The contacts where `mask` is true."""
        cols = ("arrival", "wait", "served", "abandoned", "service", "start", "end", "agent",
                "line")
        return replace(self, **{c: getattr(self, c)[mask] for c in cols})

    def between(self, period: Period) -> Contacts:
        """The contacts that arrived on the period's local days."""
        lo, hi = period.seconds()
        return self.take((self.arrival >= lo) & (self.arrival < hi))

    @property
    def span(self) -> Period:
        """The local days from the first arrival to the last."""
        first = (EPOCH + timedelta(seconds=float(self.arrival.min()))).date()
        last = (EPOCH + timedelta(seconds=float(self.arrival.max()))).date()
        return Period(first, last)

    @property
    def offered(self) -> np.ndarray:
        """Calls that reached the agents: served or abandoned."""
        return self.served | self.abandoned


def read_contacts(path: str, options: LogOptions | None = None) -> Contacts:
    """Read a call or ticket log (see the module notes); SimulationError, located, if not."""
    options = options or LogOptions()
    zone(options.tz)  # a bad --tz is refused before the file is read
    table = read_table(path, options.delimiter)
    if table.delimiter == "xes":
        columns = dict(options.columns)
        for role, name in (("id", XES_CASE), ("opened", "time:timestamp"),
                           ("resolved", "time:timestamp")):
            if name in table.header:
                columns.setdefault(role, name)
        options = replace(options, columns=columns)
    roles = find_roles(table, options)
    keep, notes, dropped_warn = _drops(table, options)
    kind = options.kind
    if kind == "auto":
        call_roles = {"queue_start", "service_start", "wait", "queue_end"}
        kind = "calls" if call_roles & roles.keys() or "outcome" in roles else "tickets"
    reader = _CallReader if kind == "calls" else _TicketReader
    return reader(table, roles, options, keep, notes, dropped_warn).read()


def _drops(table: Table, options: LogOptions) -> tuple[np.ndarray, list[str], list[Diagnostic]]:
    keep = np.ones(len(table.rows), dtype=bool)
    notes: list[str] = []
    warns: list[Diagnostic] = []
    for col, value in options.drop:
        try:
            i = table.column(col)
        except ValueError:
            raise SimulationError([Diagnostic(
                table.file, 1, 1, "error", f"--drop {col}={value}: no column {col!r}"
                f"{suggest(col, table.header)}")]) from None
        hit = np.fromiter((r[i].strip() == value for r in table.rows), bool, len(table.rows))
        if not hit.any():
            seen = Counter(r[i].strip() for r in table.rows).most_common(20)
            warns.append(Diagnostic(table.file, 1, 1, "warning", f"--drop {col}={value}: no "
                                    f"row has {value!r} in {col!r}"
                                    f"{suggest(value, [v for v, _ in seen])}"))
        keep &= ~hit
        notes.append(f"{int(hit.sum()):,} rows with {col} = {value} left out (--drop)")
    return keep, notes, warns


class _Reader:
    """What both kinds of log share: the columns, bad cells, and the final record."""

    def __init__(self, table: Table, roles: dict[str, int], options: LogOptions,
                 keep: np.ndarray, notes: list[str], warns: list[Diagnostic]) -> None:
        self.table, self.roles, self.options = table, roles, options
        self.keep, self.notes, self.warns = keep, list(notes), list(warns)
        self.cols: dict[str, Column] = {}
        self.bad: dict[int, Diagnostic] = {}
        """row -> the first unreadable cell of that row."""

    def column(self, role: str) -> Column | None:
        if role not in self.roles:
            return None
        if role not in self.cols:
            col = sniff_column(self.table, self.roles[role], self.options, role)
            self.cols[role] = col
            self.notes.extend(col.notes)
        return self.cols[role]

    def values(self, role: str) -> np.ndarray:
        """The column's numbers (NaN: no value; NaN and a bad-cell record: unreadable)."""
        col = self.column(role)
        out = np.full(len(self.table.rows), np.nan)
        if col is None or col.kind == "text":
            return out
        parse, missing, i = col.parse, col.missing, col.index
        for r, row in enumerate(self.table.rows):
            if not self.keep[r]:
                continue
            text = row[i].strip()
            if text in missing:
                continue
            try:
                out[r] = parse(text)
            except (ValueError, OverflowError, OSError) as exc:
                what = {"time": "a time of day", "date": "a date", "number": "a number"}.get(
                    col.kind, f"a time ({col.fmt})")
                self.bad.setdefault(r, self.table.where(r, i, f"cannot read {text!r} as "
                                                        f"{what} ({exc})"))
        return out

    def texts(self, role: str) -> list[str]:
        if role not in self.roles:
            return [""] * len(self.table.rows)
        i = self.roles[role]
        return [row[i].strip() for row in self.table.rows]

    def read_as(self) -> dict[str, str]:
        return {role: f"{self.table.header[i]} ({self.cols[role].fmt})" if role in self.cols
                else self.table.header[i] for role, i in self.roles.items()}

    def settle(self, usable: np.ndarray, what: str) -> np.ndarray:
        """Rows kept after unreadable cells: an error if more than 1% are bad."""
        bad_rows = sorted(r for r in self.bad if usable[r])
        total = int(usable.sum())
        if bad_rows and len(bad_rows) > BAD_FRACTION * max(total, 1):
            shown = [self.bad[r] for r in bad_rows[:SHOWN]]
            last = shown[-1]
            note = (f"{len(bad_rows):,} of {total:,} {what} unreadable "
                    f"({len(bad_rows) / total:.1%}; at most {BAD_FRACTION:.0%} are skipped)")
            if len(bad_rows) > SHOWN:
                note = f"... and {len(bad_rows) - SHOWN:,} more: {note}"
            raise SimulationError(shown + [Diagnostic(last.file, last.line, 1, "error", note)])
        self.warns += [replace(self.bad[r], severity="warning",
                               message=f"skipped: {self.bad[r].message}") for r in bad_rows]
        ok = usable.copy()
        ok[bad_rows] = False
        return ok

    def need_date(self, role: str) -> None:
        col = self.column(role)
        if col is not None and col.kind == "time" and self.column("date") is None:
            raise missing_column(self.table, "date", f"column {col.name!r} holds times of "
                                 "day (such as 7:02:47), which need a date: give --date COL")


class _CallReader(_Reader):
    """One row per call (see the module notes)."""

    TIMES = ("arrival", "queue_start", "queue_end", "service_start", "service_end")

    def read(self) -> Contacts:
        t, n = self.table, len(self.table.rows)
        if not {"arrival", "queue_start", "service_start"} & self.roles.keys():
            raise missing_column(t, "arrival", "a call log needs the time each call reached "
                                 "the queue or an agent (q_start, ser_start, ...; or --arrival "
                                 "COL)")
        for role in self.TIMES:
            self.need_date(role)
        times = {role: self.values(role) for role in self.TIMES}
        self._roll(times)
        wait_col, svc_col = self.values("wait"), self.values("service_time")
        arrival = times["arrival"].copy()
        if "arrival" not in self.roles:
            arrival = np.where(np.isnan(times["queue_start"]), times["service_start"],
                               times["queue_start"])
        outcome = self.texts("outcome")
        served, abandoned, other = self._outcomes(outcome, times["service_start"])
        usable = self.keep & ~other
        never = usable & np.isnan(arrival) & ~np.array([r in self.bad for r in range(n)])
        if never.any():
            self.notes.append(f"{int(never.sum()):,} rows never reached the queue or an agent "
                              "(no queue or service start): not offered, left out")
        usable &= ~never
        ok = self.settle(usable, "calls")
        wait_end = np.where(np.isnan(times["queue_end"]), times["service_start"],
                            times["queue_end"])
        wait = wait_end - arrival
        wait = np.where(np.isnan(wait), np.where(np.isnan(times["queue_start"])
                                                 & ~np.isnan(times["service_start"]),
                                                 0.0, wait_col), wait)
        service = times["service_end"] - times["service_start"]
        service = np.where(np.isnan(service), svc_col, service)
        service = np.where(served, service, np.nan)
        for name, v in (("wait", wait), ("service", service)):
            skew = ok & (v < 0) & (v >= -NEGATIVE_SLACK)
            v[skew] = 0.0
            wrong = ok & (v < -NEGATIVE_SLACK)
            for r in np.flatnonzero(wrong)[:SHOWN]:
                self.warns.append(Diagnostic(t.file, t.lines[r], 1, "warning",
                                             f"row {r + 1}: {name} of {v[r]:.0f} s (ends "
                                             "before it starts): skipped"))
            ok &= ~wrong
        gave_up = ok & abandoned
        if gave_up.any() and np.isnan(wait[gave_up]).all():
            raise missing_column(t, "queue end or wait", "abandoned calls need how long they "
                                 "waited (q_exit, q_time, ...)")
        no_wait = ok & np.isnan(wait)
        if no_wait.any():
            self.notes.append(f"{int(no_wait.sum()):,} calls with no wait (no queue end, "
                              "service start or wait) left out")
            ok &= ~no_wait
        agent, agents = self._agents(served, abandoned)
        return self._record(ok, arrival, np.where(np.isnan(wait), 0.0, wait), served,
                            abandoned, service, times["service_start"], times["service_end"],
                            agent, agents, "calls")

    def _roll(self, times: dict[str, np.ndarray]) -> None:
        """Add the date to times of day, rolling over midnight (module notes). Every
        time-of-day column of the row counts, in header order, roles or not (the bank's
        vru_entry, the call's first time, carries the date)."""
        timed = [r for r in self.TIMES if (c := self.column(r)) is not None and c.kind == "time"]
        if not timed:
            return
        day = self.values("date")
        chain: list[tuple[int, str | None, np.ndarray]] = [
            (self.roles[r], r, times[r]) for r in timed]
        for index in range(len(self.table.header)):
            if index in self.roles.values():
                continue
            try:
                col = sniff_column(self.table, index, self.options, "other")
            except SimulationError:
                continue
            if col.kind == "time":
                chain.append((index, None, self._parse(col)))
        chain.sort(key=lambda item: item[0])
        prev = np.full(day.shape, np.nan)
        offset = np.zeros(day.shape)
        for _, role, v in chain:
            later = v + offset
            roll = ~np.isnan(prev) & ~np.isnan(v) & (later < prev - 43200.0)
            offset = offset + np.where(roll, 86400.0, 0.0)
            v = v + offset
            prev = np.where(np.isnan(v), prev, v)
            if role is not None:
                times[role] = day + v

    def _parse(self, col: Column) -> np.ndarray:
        """A column's numbers, quietly (it is only looked at for rollover)."""
        out = np.full(len(self.table.rows), np.nan)
        for r, row in enumerate(self.table.rows):
            text = row[col.index].strip()
            if text not in col.missing:
                try:
                    out[r] = col.parse(text)
                except (ValueError, OverflowError):
                    pass
        return out

    def _outcomes(self, outcome: list[str], start: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(outcome)
        if "outcome" not in self.roles:
            served = ~np.isnan(start)
            return served, ~served, np.zeros(n, dtype=bool)
        upper = [o.upper().replace(" ", "").replace("_", "").replace("-", "") for o in outcome]
        served = np.fromiter((u in SERVED for u in upper), bool, n)
        abandoned = np.fromiter((u in ABANDONED for u in upper), bool, n)
        other = ~served & ~abandoned
        if not (served | abandoned)[self.keep].any():
            self.notes.append(f"outcome column {self.table.header[self.roles['outcome']]!r} "
                              "holds no value read as served or abandoned: a call with a "
                              "service start counts as served")
            served = ~np.isnan(start)
            return served, ~served, np.zeros(n, dtype=bool)
        counts = Counter(o for o, x, k in zip(outcome, other, self.keep) if x and k)
        for value, c in counts.most_common():
            self.notes.append(f"{c:,} rows with outcome {value!r} (neither served nor "
                              "abandoned) left out")
        return served, abandoned, other

    def _agents(self, served: np.ndarray, abandoned: np.ndarray
                ) -> tuple[np.ndarray, tuple[str, ...]]:
        names = self.texts("agent")
        if "agent" not in self.roles:
            return np.full(len(names), -1, dtype=np.int32), ()
        missing = self.column("agent").missing  # type: ignore[union-attr]
        nobody = Counter(a for a, ab in zip(names, abandoned) if ab).most_common(1)
        placeholder = nobody[0][0] if nobody and nobody[0][1] > 0.5 * max(
            int(abandoned.sum()), 1) else None
        if placeholder is not None and placeholder not in missing:
            self.notes.append(f"agent {placeholder!r} (on most abandoned calls) read as nobody")
        agents = sorted({a for a, s in zip(names, served)
                         if s and a and a not in missing and a != placeholder})
        index = {a: i for i, a in enumerate(agents)}
        codes = np.fromiter((index.get(a, -1) for a in names), np.int32, len(names))
        return codes, tuple(agents)

    def _record(self, ok: np.ndarray, arrival: np.ndarray, wait: np.ndarray,
                served: np.ndarray, abandoned: np.ndarray, service: np.ndarray,
                start: np.ndarray, end: np.ndarray, agent: np.ndarray,
                agents: tuple[str, ...], kind: Literal["calls", "tickets"]) -> Contacts:
        if not ok.any():
            raise SimulationError([Diagnostic(self.table.file, 1, 1, "error",
                                              f"no usable {kind}: {len(self.table.rows):,} "
                                              "data rows, none with an arrival time")])
        idx = np.flatnonzero(ok)
        idx = idx[np.argsort(arrival[idx], kind="stable")]
        lines = np.asarray(self.table.lines)[idx]
        return Contacts(
            file=self.table.file, kind=kind, tz=self.options.tz, arrival=arrival[idx],
            wait=wait[idx], served=served[idx], abandoned=abandoned[idx],
            service=service[idx], start=start[idx], end=end[idx], agent=agent[idx],
            agents=agents, line=lines, read_as=self.read_as(),
            notes=tuple(self.table.notes + self.notes), warnings=tuple(self.warns),
            rows=len(self.table.rows))


class _TicketReader(_CallReader):
    """Opened and resolved times; one record per id (first opening, last resolution)."""

    def read(self) -> Contacts:
        t, n = self.table, len(self.table.rows)
        opened_role = "arrival" if "arrival" in self.options.columns or \
            "opened" not in self.roles else "opened"
        if opened_role not in self.roles:
            raise missing_column(t, "opening time", "a ticket log needs when each ticket was "
                                 "opened (opened_at, created, ...; or --arrival COL)")
        for role in (opened_role, "resolved"):
            self.need_date(role)
        opened = self.values(opened_role)
        resolved = self.values("resolved")
        day = self.values("date") if self.column("date") is not None else np.zeros(n)
        for v, role in ((opened, opened_role), (resolved, "resolved")):
            col = self.column(role)
            if col is not None and col.kind == "time":
                v += day
        ids = self.texts("id") if "id" in self.roles else [str(r) for r in range(n)]
        first: dict[str, int] = {}
        last_resolved: dict[str, float] = {}
        for r in range(n):
            if not self.keep[r]:
                continue
            key = ids[r]
            if not np.isnan(opened[r]) and key not in first:
                first[key] = r
            if not np.isnan(resolved[r]):
                last_resolved[key] = resolved[r]
        bad_first: dict[str, int] = {}
        for r in sorted(self.bad):
            if self.keep[r]:
                bad_first.setdefault(ids[r], r)
        usable = np.zeros(n, dtype=bool)
        # One row per ticket: its first unreadable row if it has one (so a ticket counts
        # once however many of its cells are bad), else its first row with an opening.
        usable[[r for key, r in first.items() if key not in bad_first]] = True
        usable[list(bad_first.values())] = True
        ok = self.settle(usable, "tickets")
        rows = np.flatnonzero(ok)
        res = np.array([last_resolved.get(ids[r], np.nan) for r in rows])
        duration = np.full(n, np.nan)
        duration[rows] = res - opened[rows]
        duration[(duration <= 0)] = np.nan
        resolved_ok = ~np.isnan(duration)
        if "id" in self.roles:
            self.notes.append(f"{len(first):,} tickets on {int(self.keep.sum()):,} rows (one "
                              f"per {t.header[self.roles['id']]!r})")
        nan = np.full(n, np.nan)
        none = np.zeros(n, dtype=bool)
        return self._record(ok, opened, nan, resolved_ok, none, duration, nan, nan,
                            np.full(n, -1, dtype=np.int32), (), "tickets")
