"""Which column is what, and how its values are written: sniffed, and overridable.

A planner should not have to describe a log that describes itself. The header names the
columns (`q_start`, `ser_exit`, `server`, `opened_at`), and the values show their format
(`990201`, `7:02:47`, `29/2/2016 01:16`, ISO 8601, epoch seconds). The rules, so that a
reviewer can redo them:

* Roles are found by the column's name, lower-cased with everything but letters and digits
  removed, against the names in `ROLE_NAMES` (first match in that order); `--column
  ROLE=COLUMN` (and `--arrival`, `--date`, `--id`, `--resolved`) name one outright. An
  explicit column that the header lacks is an error at line 1 naming the column, the
  closest name and the header's columns one by one.
* A column's values are one of: full timestamps (ISO 8601, epoch seconds, or the first
  strptime pattern in `DATETIME_FORMATS` that reads the sampled values; day-first before
  month-first when both read everything, with a note; a way of reading fits when it reads
  90% of the sampled values, and the cells it cannot read are reported, each at its row),
  dates (`DATE_FORMATS`), times of day
  (`H:MM` or `H:MM:SS`, which need the date column), or numbers (durations, in seconds).
* In a time-of-day column, `0:00:00` written far more often than any other time (more than
  5 times as often, on at least 3 rows) is the export's way of saying "no value" (the bank
  log writes it for a call that never queued), not midnight.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Callable, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incidents.source import Diagnostic, suggest
from simulation.calibration.logs import Table
from simulation.errors import SimulationError

__all__ = ["ROLES", "ROLE_NAMES", "DATETIME_FORMATS", "DATE_FORMATS", "MISSING",
           "LogOptions", "Column", "find_roles", "sniff_column", "zone", "EPOCH", "day_of",
           "missing_column"]

ROLES = ("id", "date", "arrival", "queue_start", "queue_end", "wait", "service_start",
         "service_end", "service_time", "outcome", "agent", "opened", "resolved")
"""What a column can be. `arrival` is the moment a contact is offered to the agents (the
queue, or an agent at once); `opened`/`resolved` are a ticket's."""

ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("callid", "caseid", "case", "number", "ticketid", "ticket", "incidentid",
           "incident", "id"),
    "date": ("date", "calldate", "day"),
    "arrival": ("arrival", "arrivaltime", "arrivedat", "arrived", "offeredat", "offered"),
    "queue_start": ("qstart", "queuestart", "queuestarttime", "queueentry", "qentry",
                    "enqueued", "enqueuedat", "queuedat", "waitstart"),
    "queue_end": ("qexit", "qend", "queueexit", "queueend", "dequeued", "dequeuedat",
                  "waitend", "abandonedat", "gaveupat", "gaveup"),
    "wait": ("qtime", "queuetime", "waittime", "wait", "waitseconds", "timeinqueue",
             "queueseconds"),
    "service_start": ("serstart", "servicestart", "answeredat", "answered", "answertime",
                      "talkstart", "handlestart", "starttalk"),
    "service_end": ("serexit", "serend", "serviceend", "serviceexit", "talkend",
                    "handleend", "endtalk", "endedat", "ended"),
    "service_time": ("sertime", "servicetime", "talktime", "handletime", "handlingtime",
                     "aht"),
    "outcome": ("outcome", "result", "disposition", "callstatus", "callresult"),
    "agent": ("server", "agent", "agentid", "agentname", "orgresource", "resource",
              "handledby", "operator", "employee", "assignedto"),
    "opened": ("openedat", "opened", "createdat", "created", "createdon", "opentime",
               "sysCreatedAt".lower(), "submitdate", "reporteddate", "timetimestamp",
               "timestamp", "starttime", "calltime"),
    "resolved": ("resolvedat", "resolved", "resolvetime", "solvedat", "closedat", "closed",
                 "closetime", "completedat", "endtime"),
}

DATETIME_FORMATS = (
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %I:%M %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%Y%m%d %H%M%S", "%Y%m%d%H%M%S",
    "%d/%m/%y %H:%M", "%m/%d/%y %H:%M", "%d-%b-%Y %H:%M:%S", "%d %b %Y %H:%M:%S",
)
DATE_FORMATS = ("%Y-%m-%d", "%y%m%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
                "%Y/%m/%d", "%d-%m-%Y", "%d/%m/%y", "%m/%d/%y", "%d-%b-%Y", "%d %b %Y")
MISSING = frozenset({"", "?", "NA", "N/A", "NULL", "null", "None", "NaT", "nan", "-"})
"""Cell values that mean "no value"."""
SAMPLE = 500
"""Distinct values looked at to choose a format."""
FIT_SHARE = 0.9
"""A way of reading a column fits when it reads this share of the sampled values; the
cells it cannot read are reported at their rows."""
ZERO_RATIO = 5
ZERO_MIN = 3
"""A time-of-day column's midnight is 'no value' when it is written on at least ZERO_MIN rows
and more than ZERO_RATIO times as often as any other time of day (real midnights are not)."""
EPOCH = datetime(1970, 1, 1)
"""Times are kept as seconds of local wall-clock time since this (naive) instant."""
_TIME = re.compile(r"\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*")
Kind = Literal["datetime", "date", "time", "number", "text"]


@dataclass(frozen=True)
class LogOptions:
    """What a user may say about a log; everything else is sniffed."""

    delimiter: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    """role -> column name, overriding the sniffed one (`--column service_start=answered`);
    an empty name: no column plays that role (`--id ''`: one record per row)."""
    fmt: str | None = None
    """Format of full timestamps: a strptime pattern, 'iso' or 'epoch' (sniffed if None)."""
    date_format: str | None = None
    time_format: str | None = None
    tz: str = "UTC"
    """The IANA time zone of the log's wall-clock times (and of the scenario)."""
    drop: tuple[tuple[str, str], ...] = ()
    """(column, value): rows holding that value there are left out (`outcome=PHANTOM`)."""
    missing: tuple[str, ...] = ()
    """More cell values meaning "no value"."""
    kind: Literal["auto", "calls", "tickets"] = "auto"


def zone(tz: str) -> tzinfo:
    """The time zone called `tz`, or a SimulationError saying how to name one."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SimulationError(f"unknown time zone {tz!r}; use an IANA name such as 'UTC', "
                              "'Asia/Jerusalem' or 'Europe/Madrid'") from None


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _header_listing(table: Table) -> str:
    shown = ", ".join(repr(h) for h in table.header[:40])
    more = f", ... ({len(table.header)} in all)" if len(table.header) > 40 else ""
    if len(table.header) == 1:
        name = table.header[0]
        other = [DELIM for DELIM in ("\t", ";", "|", ",") if DELIM in name]
        if other or len(name) > 60:
            what = {"\t": "tabs", ";": "semicolons", "|": "bars", ",": "commas"}.get(
                other[0] if other else "", "no delimiter found")
            return (f"the header reads as one column of {len(name)} characters ({what} "
                    f"inside it): give --delimiter (tab, comma, semicolon, bar)")
    return f"the header has {len(table.header)} columns: {shown}{more}"


def find_roles(table: Table, options: LogOptions) -> dict[str, int]:
    """role -> column index: the ones named in `options`, then the sniffed ones."""
    found: dict[str, int] = {}
    errors: list[Diagnostic] = []
    off = {role for role, name in options.columns.items() if not name.strip()}
    for role, name in options.columns.items():
        if role not in ROLES:
            raise SimulationError(f"--column {role}={name}: unknown role {role!r}"
                                  f"{suggest(role, ROLES)}; roles: {', '.join(ROLES)}")
        if role in off:
            continue  # `--id ''`: no such column (one record per row)
        try:
            found[role] = table.column(name)
        except ValueError:
            hint = suggest(name, table.header)
            errors.append(Diagnostic(table.file, 1, 1, "error",
                                     f"no column {name!r} (for {role}){hint}; "
                                     f"{_header_listing(table)}"))
    if errors:
        raise SimulationError(errors)
    taken = set(found.values())
    names = {_norm(h): i for i, h in reversed(list(enumerate(table.header)))}
    for role in ROLES:
        if role in found or role in off:
            continue
        for candidate in ROLE_NAMES[role]:
            i = names.get(candidate)
            if i is not None and i not in taken:
                found[role] = i
                taken.add(i)
                break
    return found


def missing_column(table: Table, what: str, hint: str) -> SimulationError:
    """The error for a role the log needs and no column fills."""
    return SimulationError([Diagnostic(table.file, 1, 1, "error",
                                       f"no {what} column found; {hint}; "
                                       f"{_header_listing(table)}")])


@dataclass(frozen=True)
class Column:
    """A column read one way: its kind, how a cell becomes a number, and what that means."""

    index: int
    name: str
    kind: Kind
    parse: Callable[[str], float]
    """Cell text -> seconds: of wall-clock time since EPOCH (datetime, date), of the day
    (time), or of duration (number). Raises ValueError on a value it cannot read."""
    fmt: str
    """How it was read, for people ('%d/%m/%Y %H:%M', 'H:MM:SS', 'seconds')."""
    missing: frozenset[str]
    notes: tuple[str, ...] = ()


def _wall(value: datetime, tz: tzinfo) -> float:
    if value.tzinfo is not None:
        value = value.astimezone(tz).replace(tzinfo=None)
    return (value - EPOCH).total_seconds()


def _time_of_day(text: str) -> float:
    m = _TIME.fullmatch(text)
    if m is None:
        raise ValueError("not a time of day like 7:02:47")
    h, mi = int(m.group(1)), int(m.group(2))
    s = int(m.group(3) or 0)
    frac = float("0." + m.group(4)) if m.group(4) else 0.0
    if h > 23 or mi > 59 or s > 59:
        raise ValueError("hours 0-23, minutes and seconds 0-59")
    return h * 3600.0 + mi * 60.0 + s + frac


def _strptime(fmt: str, tz: tzinfo, date_only: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        return _wall(datetime.strptime(text.strip(), fmt), tz)
    return parse


def _iso(tz: tzinfo) -> Callable[[str], float]:
    def parse(text: str) -> float:
        text = text.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        return _wall(datetime.fromisoformat(text), tz)
    return parse


def _epoch(tz: tzinfo) -> Callable[[str], float]:
    def parse(text: str) -> float:
        seconds = float(text)
        if not math.isfinite(seconds):
            raise ValueError("not a finite number of seconds")
        return _wall(datetime.fromtimestamp(seconds, tz=timezone.utc), tz)
    return parse


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _cached(parse: Callable[[str], float]) -> Callable[[str], float]:
    """Logs repeat the same date or minute on many rows: parse each text once."""
    cache: dict[str, float] = {}

    def inner(text: str) -> float:
        value = cache.get(text)
        if value is None:
            value = cache[text] = parse(text)
        return value
    return inner


def _share_read(parse: Callable[[str], float], values: list[str]) -> float:
    ok = 0
    for v in values:
        try:
            parse(v)
            ok += 1
        except (ValueError, OverflowError, OSError):
            pass
    return ok / len(values) if values else 0.0


def _reads_all(parse: Callable[[str], float], values: list[str]) -> bool:
    """Reads (nearly) every value: a few unreadable cells are the reader's to report, one by
    one at their rows, not a reason to read the whole column another way."""
    return bool(values) and _share_read(parse, values) >= FIT_SHARE


def _choose(formats: tuple[str, ...], values: list[str], everything: list[str],
            make: Callable[[str], Callable[[str], float]]) -> tuple[str, tuple[str, ...]] | None:
    """The first format reading every sampled value; day-first and month-first both
    reading the whole column is noted as ambiguous."""
    shares = [(_share_read(make(f), values), -i, f) for i, f in enumerate(formats)]
    fits = [f for share, _, f in sorted(shares, reverse=True) if share >= FIT_SHARE]
    if not fits:
        return None
    first = fits[0]
    swapped = first.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    if swapped != first and swapped in fits:
        if _reads_all(make(first), everything) and _reads_all(make(swapped), everything):
            return first, (f"both {first!r} and {swapped!r} read every value; read as "
                           f"{first!r} (give the format to choose)",)
        if not _reads_all(make(first), everything):
            return swapped, ()
    return first, ()


def sniff_column(table: Table, index: int, options: LogOptions,
                 role: str) -> Column:
    """How to read column `index` (see the module notes); a located error if nothing fits."""
    name = table.header[index]
    tz = zone(options.tz)
    missing = MISSING | frozenset(options.missing)
    values = [r[index].strip() for r in table.rows if r[index].strip() not in missing]
    distinct = list(dict.fromkeys(values))
    sample = distinct[:SAMPLE]
    if role in ("id", "outcome", "agent"):
        return Column(index, name, "text", lambda t: 0.0, "text", missing)
    if not sample:
        return Column(index, name, "text", lambda t: math.nan, "empty", missing)
    if role in ("wait", "service_time"):
        if _reads_all(_number, sample):
            return Column(index, name, "number", _cached(_number), "seconds", missing)
    if role == "date":
        if options.date_format:
            return Column(index, name, "date", _cached(_strptime(options.date_format, tz)),
                          options.date_format, missing)
        chosen = _choose(DATE_FORMATS, sample, distinct, lambda f: _strptime(f, tz))
        if chosen is not None:
            return Column(index, name, "date", _cached(_strptime(chosen[0], tz)), chosen[0],
                          missing, chosen[1])
        raise _unreadable(table, index, sample, "a date", "--date-format")
    if options.time_format and all(c in options.time_format for c in ("%H",)) \
            and "%d" not in options.time_format and "%Y" not in options.time_format:
        fmt = options.time_format

        def tod(text: str) -> float:
            t = datetime.strptime(text.strip(), fmt)
            return t.hour * 3600.0 + t.minute * 60.0 + t.second + t.microsecond / 1e6
        if _reads_all(tod, sample):
            return _time_column(table, index, name, _cached(tod), fmt, missing, values)
    if _reads_all(_time_of_day, sample):
        fmt = "H:MM:SS" if ":" in sample[0][sample[0].index(":") + 1:] else "H:MM"
        return _time_column(table, index, name, _cached(_time_of_day), fmt, missing, values)
    if options.fmt:
        make = {"iso": lambda: _iso(tz), "epoch": lambda: _epoch(tz)}.get(
            options.fmt, lambda: _strptime(options.fmt or "", tz))
        return Column(index, name, "datetime", _cached(make()), options.fmt, missing)
    if _reads_all(_iso(tz), sample) and not _reads_all(_number, sample):
        return Column(index, name, "datetime", _cached(_iso(tz)), "ISO 8601", missing)
    chosen = _choose(DATETIME_FORMATS, sample, distinct, lambda f: _strptime(f, tz))
    if chosen is not None:
        return Column(index, name, "datetime", _cached(_strptime(chosen[0], tz)), chosen[0],
                      missing, chosen[1])
    if _reads_all(_number, sample) and min(map(float, sample)) > 1e8:
        return Column(index, name, "datetime", _cached(_epoch(tz)), "epoch seconds", missing)
    if _reads_all(_number, sample):
        return Column(index, name, "number", _cached(_number), "seconds", missing)
    raise _unreadable(table, index, sample, "a time", "--format (or --date-format, "
                      "--time-format)")


def _time_column(table: Table, index: int, name: str, parse: Callable[[str], float],
                 fmt: str, missing: frozenset[str], values: list[str]) -> Column:
    """A time-of-day column; its midnight, if it is a 'no value' marker, joins `missing`."""
    counts = Counter(values).most_common(2)
    (top, n), second = counts[0], (counts[1][1] if len(counts) > 1 else 0)
    notes: tuple[str, ...] = ()
    if parse(top) == 0.0 and n >= ZERO_MIN and n > ZERO_RATIO * second:
        missing = missing | {top}
        notes = (f"{top!r} in {name!r} read as no value ({n:,} rows, more than "
                 f"{ZERO_RATIO}x any time of day)",)
    return Column(index, name, "time", parse, fmt, missing, notes)


def _unreadable(table: Table, index: int, sample: list[str], what: str,
                option: str) -> SimulationError:
    row = next(i for i, r in enumerate(table.rows) if r[index].strip() == sample[0])
    shown = ", ".join(repr(v) for v in sample[:3])
    return SimulationError([table.where(row, index, f"cannot tell how {what} is written in "
                                        f"values like {shown}; give {option}")])


def day_of(seconds: float) -> date:
    """The local date of a wall-clock second count."""
    return (EPOCH + timedelta(seconds=seconds)).date()
