"""Historical arrivals read from an event log, for replay in a scenario and for calibration.

Ticketing systems export event logs: one row per change of an incident, so an incident
appears on many rows and its arrival is the `opened_at` of any of them. We read such logs with
the csv module (no pandas: a 141k-row log takes well under a second), keep one record per
distinct id, and refuse bad input with the file and line to fix: a planner who replays a
year of history must not get a silently shorter year. A stray unreadable value in a big
export (at most 1% of the records) is skipped and reported as a warning instead, because real
exports have them and the rest of the log is still good evidence.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import math
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from incidents.source import Diagnostic, suggest
from simulation.errors import SimulationError

__all__ = [
    "EXCERPT",
    "Events",
    "MISSING",
    "read_events",
    "read_timestamps",
    "arrival_minutes",
    "busiest_week",
]

EXCERPT = Path(__file__).resolve().parent.parent / "data" / "servicenow_excerpt.csv"
"""Two weeks of a real ServiceNow log (one row per incident), shipped as an example; see
simulation/data/README.md for its source, licence and how it was cut."""

MISSING = frozenset({"", "?", "NA", "N/A", "NULL", "null", "None", "NaT", "nan"})
"""Cell values that mean "no value" (the ServiceNow export writes "?")."""

BAD_FRACTION = 0.01
"""Up to this share of unreadable records is skipped with a warning; more is an error."""

SHOWN = 5
"""How many bad rows an error lists before summarising the rest."""


@dataclass(frozen=True, slots=True)
class Events:
    """One record per incident (or per row without an id column), sorted by opening time.

    `resolved[i]` belongs to `opened[i]` and is None when the incident has no resolution
    time; `warnings` are the located lines of the records skipped as unreadable.
    """

    file: str
    opened: list[datetime]
    resolved: list[datetime | None]
    rows: int
    warnings: list[Diagnostic]


def _zone(tz: str) -> tzinfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SimulationError(f"unknown time zone {tz!r}; use an IANA name such as "
                              f"'UTC' or 'Europe/Madrid'") from None


def _parser(fmt: str, zone: tzinfo) -> Callable[[str], datetime]:
    """A text -> aware datetime function for `fmt` (strptime, "iso" or "epoch" seconds).

    Naive times are taken to be local times of `zone`; times with an offset are converted.
    Results are cached by text because logs repeat the same minute on many rows.
    """
    cache: dict[str, datetime] = {}

    def localise(value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=zone)
        return value.astimezone(zone)

    if fmt == "iso":
        def convert(text: str) -> datetime:
            return localise(datetime.fromisoformat(text))
    elif fmt == "epoch":
        def convert(text: str) -> datetime:
            seconds = float(text)
            if not math.isfinite(seconds):
                raise ValueError("not a finite number of seconds")
            return datetime.fromtimestamp(seconds, tz=timezone.utc).astimezone(zone)
    else:
        if "%" not in fmt:
            raise SimulationError(f"format {fmt!r} is neither a strptime pattern (such as "
                                  f"'%d/%m/%Y %H:%M') nor 'iso' nor 'epoch'")

        def convert(text: str) -> datetime:
            return localise(datetime.strptime(text, fmt))

    def parse(text: str) -> datetime:
        value = cache.get(text)
        if value is None:
            value = cache[text] = convert(text.strip())
        return value

    return parse


@contextlib.contextmanager
def _open_text(path: Path) -> Iterator[tuple[TextIO, str]]:
    """The CSV text of `path` (plain, .gz, or a .zip holding one CSV) and its display name."""
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "no such file"
        raise SimulationError(f"{path}: {what}")
    try:
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist()
                         if not n.endswith("/") and not n.startswith("__MACOSX/")]
                csvs = [n for n in names if n.lower().endswith(".csv")] or names
                if len(csvs) != 1:
                    raise SimulationError(f"{path}: a .zip must hold exactly one CSV file; "
                                          f"found {', '.join(csvs) or 'none'}")
                with archive.open(csvs[0]) as raw:
                    yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""), \
                        f"{path}/{csvs[0]}"
        elif path.suffix.lower() == ".gz":
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
                yield fh, str(path)
        else:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                yield fh, str(path)
    except zipfile.BadZipFile as exc:
        raise SimulationError(f"{path}: not a readable .zip file ({exc})") from None
    except PermissionError:
        raise SimulationError(f"{path}: permission denied") from None


def _column(header: list[str], name: str, role: str, file: str) -> int:
    """Index of column `name`, or a located error listing what the header does have."""
    if name in header:
        return header.index(name)
    stripped = [h.strip() for h in header]
    if name.strip() in stripped:
        return stripped.index(name.strip())
    shown = ", ".join(h for h in header[:40]) + (", ..." if len(header) > 40 else "")
    raise SimulationError([Diagnostic(
        file, 1, 1, "error",
        f"no {role} column {name!r}{suggest(name, header)}; the header has: {shown}")])


def _too_many(bad: list[Diagnostic], unreadable: int, records: int,
              what: str) -> SimulationError:
    """The error for too many unreadable records: the first bad values, then the count.

    `unreadable` and `records` count the same thing (distinct incidents, or rows without an
    id column); `bad` may hold more lines than `unreadable`, since one incident can have both
    an unreadable opening and an unreadable resolution time.
    """
    shown = bad[:SHOWN]
    more = len(bad) - len(shown)
    last = shown[-1]
    note = (f"{unreadable} of {records} {what} unreadable ({unreadable / records:.1%}; at "
            f"most {BAD_FRACTION:.0%} are skipped)")
    if more:
        note = f"... and {more} more unreadable values: {note}"
    return SimulationError(shown + [Diagnostic(last.file, last.line, 1, "error", note)])


def read_events(
    path: str | Path,
    *,
    column: str = "opened_at",
    resolved: str | None = None,
    fmt: str = "%d/%m/%Y %H:%M",
    id_column: str | None = "number",
    tz: str = "UTC",
) -> Events:
    """Opening (and optionally resolution) times, one record per distinct id, sorted.

    An incident's opening time is its first non-missing `column` value, its resolution time
    its last non-missing `resolved` value (later events carry the final resolution).
    Raises SimulationError, located at FILE:LINE, for a missing file or column, for more than
    1% unreadable records, or when nothing is left.
    """
    parse = _parser(fmt, _zone(tz))
    source = Path(path)
    opened_raw: dict[object, tuple[int, str]] = {}
    resolved_raw: dict[object, tuple[int, str]] = {}
    empty: dict[object, int] = {}
    rows = 0
    with _open_text(source) as (fh, file):
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                raise SimulationError([Diagnostic(file, 1, 1, "error", "empty file: no header")])
            oi = _column(header, column, "timestamp", file)
            ri = _column(header, resolved, "resolution", file) if resolved else None
            ii = _column(header, id_column, "id", file) if id_column else None
            for row in reader:
                if not row:
                    continue
                rows += 1
                line = reader.line_num
                key: object = line if ii is None else (row[ii] if ii < len(row) else None)
                value = row[oi] if oi < len(row) else ""
                if key not in opened_raw:
                    if value.strip() not in MISSING:
                        opened_raw[key] = (line, value)
                        empty.pop(key, None)
                    else:
                        empty.setdefault(key, line)
                if ri is not None and ri < len(row) and row[ri].strip() not in MISSING:
                    resolved_raw[key] = (line, row[ri])
        except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
            raise SimulationError([Diagnostic(file, reader.line_num + 1, 1, "error",
                                              f"cannot read the CSV: {reason}")]) from None

    records = len(opened_raw) + len(empty)
    what = "incidents" if ii is not None else "rows"
    bad = [Diagnostic(file, line, 1, "error", f"{column}: missing value")
           for line in empty.values()]
    bad_keys: set[object] = set(empty)  # records with any unreadable value, counted once
    good: list[tuple[datetime, object]] = []
    for key, (line, text) in opened_raw.items():
        try:
            good.append((parse(text), key))
        except ValueError as exc:
            bad_keys.add(key)
            bad.append(Diagnostic(file, line, 1, "error",
                                  f"{column}: cannot read {text!r} as {_fmt_name(fmt)} ({exc})"))
    ends: dict[object, datetime] = {}
    for key, (line, text) in resolved_raw.items():
        try:
            ends[key] = parse(text)
        except ValueError as exc:
            bad_keys.add(key)
            bad.append(Diagnostic(file, line, 1, "error",
                                  f"{resolved}: cannot read {text!r} as {_fmt_name(fmt)} ({exc})"))
    bad.sort(key=lambda d: d.line)
    if bad_keys and len(bad_keys) > BAD_FRACTION * records:
        raise _too_many(bad, len(bad_keys), records, what)
    if not good:
        raise SimulationError([Diagnostic(file, 1, 1, "error",
                                          f"no arrivals: {rows} data rows, none with {column}")])
    good.sort(key=lambda item: item[0])
    warnings = [Diagnostic(d.file, d.line, d.col, "warning", f"skipped: {d.message}")
                for d in bad]
    return Events(file=file, opened=[t for t, _ in good],
                  resolved=[ends.get(k) for _, k in good], rows=rows, warnings=warnings)


def _fmt_name(fmt: str) -> str:
    return {"iso": "an ISO 8601 time", "epoch": "epoch seconds"}.get(fmt, repr(fmt))


def read_timestamps(
    path: str | Path,
    column: str = "opened_at",
    fmt: str = "%d/%m/%Y %H:%M",
    id_column: str | None = "number",
    tz: str = "UTC",
) -> list[datetime]:
    """Sorted arrival times from a CSV (or .zip/.gz of one): one per distinct id, or per row.

    `fmt` is a strptime pattern, "iso" or "epoch" (seconds); naive times are local to `tz`.
    """
    return read_events(path, column=column, fmt=fmt, id_column=id_column, tz=tz).opened


def arrival_minutes(
    timestamps: Sequence[datetime], start: datetime, days: float | None = None
) -> list[float]:
    """Minutes since `start` of the timestamps in [start, start + days), sorted.

    This is how a scenario replays history: its clock starts at 0 at `start`. A naive
    `start` is read in the time zone of the timestamps. `days=None` keeps everything after.
    """
    if days is not None and not (math.isfinite(days) and days > 0):
        raise SimulationError(f"replay days must be a finite number > 0, got {days!r}")
    if timestamps:
        stamped = timestamps[0].tzinfo is not None
        if start.tzinfo is None and stamped:
            start = start.replace(tzinfo=timestamps[0].tzinfo)
        elif start.tzinfo is not None and not stamped:
            raise SimulationError("replay start has a time zone but the timestamps have none")
    end = start + timedelta(days=days) if days is not None else None
    out = [(t - start).total_seconds() / 60.0 for t in timestamps
           if t >= start and (end is None or t < end)]
    out.sort()
    return out


def busiest_week(timestamps: Sequence[datetime]) -> tuple[date, int]:
    """First day and arrival count of the 7 consecutive calendar days with most arrivals.

    Days are local dates of the timestamps; ties go to the earliest week. A scenario that
    replays "the worst week we had" starts here.
    """
    if not timestamps:
        raise SimulationError("no arrivals: cannot find the busiest week")
    ordinals = np.fromiter((t.toordinal() for t in timestamps), dtype=np.int64,
                           count=len(timestamps))
    first = int(ordinals.min())
    daily = np.bincount(ordinals - first, minlength=7)
    sums = np.convolve(daily, np.ones(7, dtype=np.int64), mode="valid")
    best = int(np.argmax(sums))
    return date.fromordinal(first + best), int(sums[best])
