"""Deadlines in wall-clock time and in business time.

Playbooks promise two kinds of deadline: "VIP response within 2 hours" runs on the wall clock,
while "complaint investigation within 3 working days" only counts time the office is open. The
simulator keeps time as float minutes since an epoch, so this module owns the conversion:
`Duration` is the parsed promise, `BusinessCalendar` knows when the office is open (in its own
time zone, with holidays), and `TimeBase` turns simulator minutes into deadlines cheaply.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (AfterValidator, BaseModel, Field, PrivateAttr, ValidationError,
                      field_validator, model_validator)

from incidents.errors import IncidentsError

__all__ = ["Duration", "DurationUnit", "BusinessCalendar", "TimeBase", "MAX_DURATION_DAYS"]

DurationUnit = Literal["seconds", "minutes", "hours", "days", "working_hours", "working_days"]

MAX_DURATION_DAYS = 3660
"""Longest duration anyone may write: 10 years (3660 days, or that many working days, or
that many days' worth of working hours). Nothing is simulated for longer (a scenario's horizon
and drain together have the same limit), and working-time deadlines are found by walking the
calendar a day at a time, so "1e9 working days" would hang a run instead of being an error."""

# Wall units convert to minutes by a constant factor; working units need a calendar.
_WALL_FACTOR: dict[str, float] = {"seconds": 1 / 60, "minutes": 1.0, "hours": 60.0,
                                  "days": 1440.0}
# The limit in each unit: a working hour or day counts as a wall-clock one.
_MAX_AMOUNT: dict[str, float] = {
    "seconds": MAX_DURATION_DAYS * 86400.0, "minutes": MAX_DURATION_DAYS * 1440.0,
    "hours": MAX_DURATION_DAYS * 24.0, "days": float(MAX_DURATION_DAYS),
    "working_hours": MAX_DURATION_DAYS * 24.0, "working_days": float(MAX_DURATION_DAYS)}
_UNIT_ALIASES: dict[str, str] = {alias: unit for unit, aliases in (
    ("seconds", "s|sec|secs|second|seconds|秒|秒钟"),
    ("minutes", "|m|min|mins|minute|minutes|分钟|分"),
    ("hours", "h|hr|hrs|hour|hours|小时|个小时|钟头|个钟头"),
    ("days", "d|day|days|天|日"),
    ("working_hours", "wh|working hour|working hours|work hour|work hours|business hour|"
                      "business hours|工作小时|个工作小时"),
    ("working_days", "wd|working day|working days|work day|work days|workday|workdays|"
                     "business day|business days|工作日|个工作日|工作天"),
) for alias in aliases.split("|")}
_DURATION_RE = re.compile(r"(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*(?P<unit>\D*)")
_ACCEPTED = ("accepted forms: '20s', '20 seconds', '30m', '30 min', '30 minutes', '2h', "
             "'2 hours', '1.5h', '1d', '2 days', '2 working hours', '2wh', '3 working days', "
             "'3wd', '20秒', '30分钟', '2小时', '3天', '3个工作日', '2工作小时'; a bare number "
             "means minutes")


class Duration(BaseModel, frozen=True):
    """An SLA promise such as "2h" or "3 working days", kept in the unit the playbook used.

    The unit is kept (not normalised to minutes) because working units cannot be converted
    without a calendar and a start time; only `TimeBase`/`BusinessCalendar` can resolve them.
    """

    amount: float = Field(ge=0, allow_inf_nan=False)
    unit: DurationUnit

    @model_validator(mode="after")
    def _not_too_long(self) -> Duration:
        problem = _too_long(self.amount, self.unit)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        """Let playbook YAML write `after: 2h`; errors stay ValueError so pydantic locates them."""
        if isinstance(data, (str, int, float)):  # bool included: parse() refuses it
            try:
                parsed = cls.parse(data)
            except IncidentsError as exc:
                raise ValueError(str(exc)) from None
            return {"amount": parsed.amount, "unit": parsed.unit}
        return data

    @classmethod
    def parse(cls, text: str | int | float) -> Duration:
        """Read the human forms used in playbooks (English and Chinese); bare numbers = minutes."""
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise IncidentsError(f"duration: expected text, got {type(text).__name__}; {_ACCEPTED}")
        number, unit = text, "minutes"
        if isinstance(text, str):
            match = _DURATION_RE.fullmatch(text.strip().lower())
            key = " ".join(re.sub(r"[_\-]", " ", match["unit"]).split()) if match else "?"
            unit = _UNIT_ALIASES.get(key, "")
            if not match or not unit:
                raise IncidentsError(f"duration: cannot parse {text!r}; {_ACCEPTED}")
            number = match["num"]
        amount = float(number) if isinstance(number, str) or abs(number) < 1e308 else math.inf
        if not math.isfinite(amount) or amount < 0:
            raise IncidentsError(f"duration: {text!r} must be a finite amount >= 0; {_ACCEPTED}")
        problem = _too_long(amount, unit)
        if problem:
            raise IncidentsError(f"duration: {text!r} {problem.removeprefix('duration ')}")
        return cls(amount=amount, unit=unit)  # type: ignore[arg-type]

    @property
    def is_working(self) -> bool:
        """True when the duration only counts business time and so needs a calendar."""
        return self.unit in ("working_hours", "working_days")

    @property
    def wall_minutes(self) -> float:
        """Elapsed minutes; refuses working units, whose length depends on when they start."""
        factor = _WALL_FACTOR.get(self.unit)
        if factor is None:
            raise IncidentsError(f"duration: {self} is business time; resolve it with a calendar")
        return self.amount * factor

    def __str__(self) -> str:
        """Canonical text that `parse` reads back unchanged (used in reports and YAML dumps)."""
        a = self.amount
        num = str(int(a)) if a.is_integer() and abs(a) < 1e16 else repr(a)
        if self.unit in _WALL_FACTOR:
            return num + self.unit[0]
        word = "hour" if self.unit == "working_hours" else "day"
        return f"{num} working {word}{'' if a == 1 else 's'}"


def _too_long(amount: float, unit: str) -> str:
    """Why `amount` of `unit` is over MAX_DURATION_DAYS, or '' when it is not."""
    if amount <= _MAX_AMOUNT.get(unit, math.inf):
        return ""
    same = "" if unit in ("days", "working_days") else f"; {_MAX_AMOUNT[unit]:,.0f} {unit}"
    return f"duration is longer than the limit of {MAX_DURATION_DAYS} days (10 years{same})"


# ----------------------------------------------------------------------------- calendar parsing
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {d: d for d in _DAYS} | {
    full: d for full, d in zip(("monday", "tuesday", "wednesday", "thursday", "friday",
                                "saturday", "sunday"), _DAYS)}
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?"
_RANGE_RE = re.compile(rf"({_CLOCK})\s*[-–~]\s*({_CLOCK})")
_PART_RE = re.compile(r"(?P<days>[a-z][a-z\s/\-]*?)\s*:?\s*(?P<ranges>\d.*)")
_MIDNIGHT_END = time(0)  # as an interval end, 00:00 (written "24:00") means end of day
_MAX_IDLE_DAYS = 3 * 366 + 2  # more than three years without working time = broken calendar


def _parse_clock(text: Any, where: str, *, end: bool) -> time:
    if isinstance(text, time):
        return text
    if not isinstance(text, str) or not re.fullmatch(_CLOCK, text := text.strip()):
        raise ValueError(f"{where}: {text!r} is not a clock time like '09:00' (quote it in YAML)")
    h, m, s = ([int(p) for p in text.split(":")] + [0])[:3]
    if end and (h, m, s) == (24, 0, 0):
        return _MIDNIGHT_END
    if h > 23 or m > 59 or s > 59:
        raise ValueError(f"{where}: {text!r} is not a clock time (00:00-23:59, or 24:00 as end)")
    return time(h, m, s)


def _parse_ranges(text: str, where: str) -> list[tuple[time, time]]:
    found = [(_parse_clock(a, where, end=False), _parse_clock(b, where, end=True))
             for a, b in _RANGE_RE.findall(text)]
    if not found or _RANGE_RE.sub(" ", text).replace(",", " ").strip():
        raise ValueError(f"{where}: cannot read {text!r}; write ranges like '09:00-18:00'")
    return found


def _day_key(key: Any) -> str:
    day = _DAY_ALIASES.get(str(key).strip().lower())
    if day is None:
        raise ValueError(f"working_hours: unknown weekday {key!r}; use {', '.join(_DAYS)}")
    return day


def _expand_days(text: str) -> list[str]:
    days: list[str] = []
    for token in re.sub(r"\s*-\s*", "-", text).replace("/", " ").split():
        first, _, last = token.partition("-")
        a, b = _DAYS.index(_day_key(first)), _DAYS.index(_day_key(last or first))
        days += [_DAYS[(a + k) % 7] for k in range((b - a) % 7 + 1)]  # "fri-mon" wraps
    return days


def _parse_shorthand(text: str) -> dict[str, list[tuple[time, time]]]:
    out: dict[str, list[tuple[time, time]]] = {}
    for part in filter(None, (p.strip() for p in text.lower().split(","))):
        match = _PART_RE.fullmatch(part)
        if match is None:
            raise ValueError(f"working_hours: cannot read {part!r}; write e.g. "
                             "'mon-fri 09:00-12:00 13:00-18:00, sat 10:00-14:00'")
        ranges = _parse_ranges(match["ranges"], f"working_hours {part!r}")
        for day in _expand_days(match["days"]):
            out.setdefault(day, []).extend(ranges)
    return out


def _coerce_intervals(spec: Any, where: str) -> Any:
    """One weekday's value: None, "09:00-12:00 13:00-18:00", or a list of such strings/pairs."""
    if spec is None or isinstance(spec, str):
        return _parse_ranges(spec, where) if spec else []
    if not isinstance(spec, (list, tuple)):
        return spec  # pydantic reports the type error with its location
    if len(spec) == 2 and all(isinstance(x, time) or re.fullmatch(_CLOCK, str(x).strip())
                              for x in spec):
        spec = [spec]  # a single (start, end) pair
    out: list[Any] = []
    for item in spec:
        if isinstance(item, str):
            out += _parse_ranges(item, where)
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            out.append((_parse_clock(item[0], where, end=False),
                        _parse_clock(item[1], where, end=True)))
        else:
            raise ValueError(f"{where}: cannot read interval {item!r}; write '09:00-18:00'")
    return out


def _offset(t: time, *, end: bool = False) -> timedelta:
    if end and t == _MIDNIGHT_END:
        return timedelta(days=1)
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


@lru_cache(maxsize=16384)
def _resolve_day(tz_name: str, day: date, spec: tuple[tuple[timedelta, timedelta], ...]
                 ) -> tuple[tuple[datetime, datetime], ...]:
    """A day's local intervals as UTC instants, so lengths are real elapsed time across DST.

    Local boundaries that fall in a DST gap resolve with zoneinfo's fold=0 rule; intervals are
    then clamped so they stay ordered and non-overlapping, which the arithmetic relies on.
    """
    tz, midnight = ZoneInfo(tz_name), datetime.combine(day, time())
    out: list[tuple[datetime, datetime]] = []
    for start, end in spec:
        s = (midnight + start).replace(tzinfo=tz).astimezone(timezone.utc)
        e = (midnight + end).replace(tzinfo=tz).astimezone(timezone.utc)
        if out and s < out[-1][1]:
            s = out[-1][1]
        if e > s:
            out.append((s, e))
    return tuple(out)


def _utc(dt: Any, what: str) -> datetime:
    """Naive datetimes are refused: guessing their zone would silently shift deadlines."""
    if not isinstance(dt, datetime):
        raise IncidentsError(f"{what}: expected a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise IncidentsError(f"{what}: naive datetime {dt.isoformat()}; attach a time zone")
    return dt.astimezone(timezone.utc)


class BusinessCalendar(BaseModel, frozen=True):
    """When the service desk is open: weekly hours in a local time zone, minus holidays.

    Working-time lengths are real elapsed minutes between local-time boundaries, so on a DST
    day "09:00-18:00" is still 9 hours but an "00:00-24:00" day is 23 or 25. An interval ending
    at 00:00 (write "24:00") runs to midnight; overnight shifts must be split across two days.
    """

    name: str = "default"
    timezone: str = "UTC"
    working_hours: dict[str, list[tuple[time, time]]] = Field(
        default_factory=lambda: {d: [(time(9), time(18))] for d in _DAYS[:5]})
    holidays: Annotated[list[date], AfterValidator(lambda v: sorted(set(v)))] = Field(
        default_factory=list)  # sorted and deduplicated so equal calendars compare equal
    _zone: ZoneInfo = PrivateAttr()
    _week: tuple[tuple[tuple[timedelta, timedelta], ...], ...] = PrivateAttr()
    _holiday_set: frozenset[date] = PrivateAttr()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"timezone: unknown IANA time zone {value!r}; use names like "
                             "'UTC', 'Europe/Berlin', 'Asia/Shanghai'") from None
        return value

    @field_validator("working_hours", mode="before")
    @classmethod
    def _friendly_hours(cls, value: Any) -> Any:
        """Accept YAML-friendly strings: {"mon": ["09:00-18:00"]} or "mon-fri 09:00-18:00"."""
        if isinstance(value, str):
            return _parse_shorthand(value)
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for key, spec in value.items():
            day = _day_key(key)
            if day in out:
                raise ValueError(f"working_hours: weekday {day!r} given twice ({key!r})")
            out[day] = _coerce_intervals(spec, f"working_hours[{key!r}]")
        return out

    @field_validator("working_hours")
    @classmethod
    def _sane_hours(cls, value: dict[str, list[tuple[time, time]]]) -> dict[str, Any]:
        """Sorted, non-overlapping, start < end; at least one working interval in the week."""
        out: dict[str, Any] = {}
        for day in _DAYS:
            intervals = sorted(value.get(day, []), key=lambda iv: _offset(iv[0]))
            prev_end = timedelta(0)
            for start, end in intervals:
                label = f"working_hours[{day!r}] {start:%H:%M}-{end:%H:%M}"
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError(f"{label}: times must be local (no tzinfo); set `timezone`")
                if _offset(start) >= _offset(end, end=True):
                    raise ValueError(f"{label}: start must be before end")
                if _offset(start) < prev_end:
                    raise ValueError(f"{label}: overlaps the previous interval")
                prev_end = _offset(end, end=True)
            if intervals:
                out[day] = intervals
        if not out:
            raise ValueError("working_hours: no working time on any day; working-time "
                             "deadlines could never be reached")
        return out

    def model_post_init(self, context: Any, /) -> None:
        """Precompute the zone and weekly offsets once; the arithmetic reads them per day."""
        self._zone = ZoneInfo(self.timezone)
        self._week = tuple(tuple((_offset(s), _offset(e, end=True))
                                 for s, e in self.working_hours.get(d, [])) for d in _DAYS)
        self._holiday_set = frozenset(self.holidays)

    def __hash__(self) -> int:
        return hash((self.name, self.timezone, self._week, tuple(self.holidays)))

    @classmethod
    def from_config(cls, data: Any) -> BusinessCalendar:
        """Build from playbook data (a mapping or a shorthand string); errors -> IncidentsError."""
        if isinstance(data, str):
            data = {"working_hours": data}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            msgs = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'calendar'}: "
                             f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
            raise IncidentsError(f"business calendar: {msgs}") from None

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone object (validated at construction)."""
        return self._zone

    def _day(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        spec = self._week[day.weekday()]
        if not spec or day in self._holiday_set:
            return ()
        return _resolve_day(self.timezone, day, spec)

    def _walk(self, u: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals (clipped to start at u) from UTC instant u on, in order.

        Goes day by day, never minute by minute; a calendar whose holidays blank out more
        than three years is an IncidentsError instead of an endless loop.
        """
        day, idle = u.astimezone(self._zone).date() - timedelta(days=1), 0
        while True:
            found = False
            for s, e in self._day(day):
                if e > u:
                    found = True
                    yield max(s, u), e
            idle = 0 if found else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise IncidentsError(f"calendar {self.name!r}: no working time in the "
                                     f"{_MAX_IDLE_DAYS} days up to {day}; check holidays")
            day += timedelta(days=1)

    def _consume(self, u: datetime, minutes: float) -> datetime:
        """Spend `minutes` (> 0) of working time from u; an exact fill ends at the interval end."""
        for s, e in self._walk(u):
            avail = (e - s).total_seconds() / 60.0
            if minutes <= avail:
                return s + timedelta(minutes=minutes)
            minutes -= avail
        raise AssertionError("unreachable: _walk is endless")  # pragma: no cover

    def is_working_time(self, dt: datetime) -> bool:
        """Whether dt falls inside a working interval (start inclusive, end exclusive)."""
        d = (u := _utc(dt, "dt")).astimezone(self._zone).date()
        return any(s <= u < e for day in (d - timedelta(days=1), d) for s, e in self._day(day))

    def next_working_start(self, dt: datetime) -> datetime:
        """dt itself inside working time, else the start of the next working interval."""
        start = next(self._walk(u := _utc(dt, "dt")))[0]  # clipped: == u when dt is inside
        return dt if start == u else start.astimezone(dt.tzinfo)

    def add(self, dt: datetime, duration: Duration | str) -> datetime:
        """The deadline `duration` after dt, returned in dt's time zone.

        * minutes/hours/days: elapsed time computed in UTC ("days" = 24 h), so a DST change
          never stretches "2h".
        * working_hours: consume that much working time from dt; a start outside working time
          counts from the next working start. Zero returns dt unchanged.
        * working_days: roll dt to `next_working_start`, then step N working days (skipping
          non-working weekdays and holidays) keeping the local time of day, clamped into that
          day's working span [first start, last end] (e.g. 17:00 on a day ending 15:00 becomes
          15:00). A fractional part is that fraction of the landing day's working minutes,
          then added as working time (so it may spill into the next working day).
        """
        u = _utc(dt, "dt")
        if not isinstance(duration, Duration):
            duration = Duration.parse(duration)
        try:
            if duration.unit in _WALL_FACTOR:
                return (u + timedelta(minutes=duration.wall_minutes)).astimezone(dt.tzinfo)
            if duration.amount == 0:
                return dt
            if duration.unit == "working_hours":
                return self._consume(u, duration.amount * 60.0).astimezone(dt.tzinfo)
            return self._add_working_days(u, duration.amount).astimezone(dt.tzinfo)
        except OverflowError:
            raise IncidentsError(f"duration: {dt} + {duration} is past the year 9999") from None

    def _add_working_days(self, u: datetime, amount: float) -> datetime:
        start = next(self._walk(u))[0]
        local = start.astimezone(self._zone).replace(tzinfo=None)
        day, time_of_day = local.date(), local - datetime.combine(local.date(), time())
        whole = int(math.floor(amount))
        steps = idle = 0
        while steps < whole:
            day += timedelta(days=1)
            if self._day(day):
                steps, idle = steps + 1, 0
            elif (idle := idle + 1) > _MAX_IDLE_DAYS:
                raise IncidentsError(f"calendar {self.name!r}: no working time in the "
                                     f"{_MAX_IDLE_DAYS} days up to {day}; check holidays")
        intervals = self._day(day)
        result = start
        if whole:
            wall = (datetime.combine(day, time()) + time_of_day).replace(tzinfo=self._zone)
            result = min(max(wall.astimezone(timezone.utc), intervals[0][0]), intervals[-1][1])
        fraction = amount - whole
        if fraction > 0:
            day_minutes = sum((e - s).total_seconds() for s, e in intervals) / 60.0
            result = self._consume(result, fraction * day_minutes)
        return result

    def working_minutes_between(self, a: datetime, b: datetime) -> float:
        """Working minutes in [a, b); negative when b is before a (so it is antisymmetric)."""
        ua, ub = _utc(a, "a"), _utc(b, "b")
        if ub < ua:
            return -self.working_minutes_between(b, a)
        total, last = 0.0, ub.astimezone(self._zone).date()
        day = ua.astimezone(self._zone).date() - timedelta(days=1)
        while day <= last:
            for s, e in self._day(day):
                lo, hi = max(s, ua), min(e, ub)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total / 60.0


class TimeBase:
    """Maps simulator minutes (floats since `epoch`) to datetimes and resolves deadlines.

    The simulator fires millions of SLA triggers, so wall-clock deadlines are plain float
    additions; only working-time deadlines touch datetimes, behind a per-instance LRU cache.
    """

    __slots__ = ("epoch", "calendar", "_epoch_utc", "_working_deadline", "_fast")
    #: Trigger times are rounded to this many decimals of a minute (~60 us) for the cache key;
    #: finer than datetime's own microsecond resolution, coarse enough to absorb float noise.
    KEY_DIGITS = 6

    def __init__(self, epoch: datetime, calendar: BusinessCalendar | None = None) -> None:
        self._epoch_utc = _utc(epoch, "epoch")
        self.epoch = epoch
        self.calendar = calendar if calendar is not None else BusinessCalendar()
        self._working_deadline = lru_cache(maxsize=4096)(self._resolve_working)
        self._fast = _FixedOffsetDays.for_calendar(self.calendar, self._epoch_utc)

    def to_datetime(self, minutes: float) -> datetime:
        """Simulator minutes -> aware datetime in the calendar's zone (what people read)."""
        try:
            return (self._epoch_utc + timedelta(minutes=minutes)).astimezone(self.calendar.zone)
        except (OverflowError, ValueError):
            raise IncidentsError(f"minutes: {minutes!r} is outside the datetime range") from None

    def to_minutes(self, dt: datetime) -> float:
        """Aware datetime -> simulator minutes since the epoch (negative before it)."""
        return (_utc(dt, "dt") - self._epoch_utc).total_seconds() / 60.0

    def deadline(self, at_minutes: float, duration: Duration) -> float:
        """Minutes since epoch at which `duration` started at `at_minutes` runs out."""
        factor = _WALL_FACTOR.get(duration.unit)
        if factor is not None:  # hot path: no datetime work at all
            return at_minutes + duration.amount * factor
        if self._fast is not None:
            quick = self._fast.deadline(at_minutes, duration)
            if quick is not None:
                return quick
        return self._working_deadline(round(at_minutes, self.KEY_DIGITS), duration)

    def _resolve_working(self, at_minutes: float, duration: Duration) -> float:
        return self.to_minutes(self.calendar.add(self.to_datetime(at_minutes), duration))


class _FixedOffsetDays:
    """Working-time deadlines in plain float minutes, for calendars whose zone never changes
    its UTC offset (Asia/Shanghai, UTC...): each day's working intervals are computed once as
    minutes since the epoch, so a deadline is a few comparisons instead of a datetime walk.

    Exactly the semantics of `BusinessCalendar.add` (property-tested against it); fractional
    working days, and zones with daylight saving time, go the slow, general way.
    """

    __slots__ = ("calendar", "epoch", "offset", "_days", "_targets")

    def __init__(self, calendar: BusinessCalendar, epoch: datetime, offset: float) -> None:
        self.calendar = calendar
        self.epoch = epoch
        self.offset = offset
        """Minutes to add to epoch minutes to get local minutes since the epoch's local date."""
        self._days: dict[int, tuple[tuple[float, float], ...]] = {}
        self._targets: dict[tuple[int, int], tuple[int, float, float]] = {}

    @classmethod
    def for_calendar(cls, calendar: BusinessCalendar, epoch: datetime) -> _FixedOffsetDays | None:
        zone = calendar.zone
        offsets = {(epoch + timedelta(days=d)).astimezone(zone).utcoffset()
                   for d in range(-400, 3 * 366, 15)}
        if len(offsets) != 1:
            return None  # daylight saving time: local days are not all 24 h long
        local = epoch.astimezone(zone)
        midnight_minutes = local.hour * 60 + local.minute + local.second / 60 + \
            local.microsecond / 6e7
        return cls(calendar, epoch, midnight_minutes)

    def _day(self, index: int) -> tuple[tuple[float, float], ...]:
        """Working intervals of local day `index` (0 = the epoch's local date), in minutes."""
        found = self._days.get(index)
        if found is None:
            day = self.epoch.astimezone(self.calendar.zone).date() + timedelta(days=index)
            found = tuple(((s - self.epoch).total_seconds() / 60.0,
                           (e - self.epoch).total_seconds() / 60.0)
                          for s, e in self.calendar._day(day))
            self._days[index] = found
        return found

    def _next_start(self, t: float) -> tuple[int, float] | None:
        """(day index, minute) of the first working instant at or after t."""
        index = int((t + self.offset) // 1440)
        for i in range(index, index + _MAX_IDLE_DAYS):
            for s, e in self._day(i):
                if e > t:
                    return i, max(s, t)
        return None

    def deadline(self, t: float, duration: Duration) -> float | None:
        if duration.amount == 0:
            return t
        if duration.unit == "working_hours":
            left = duration.amount * 60.0
            index = int((t + self.offset) // 1440)
            for i in range(index, index + _MAX_IDLE_DAYS):
                for s, e in self._day(i):
                    if e <= t:
                        continue
                    s = max(s, t)
                    if left <= e - s:
                        return s + left
                    left -= e - s
            return None
        whole = int(duration.amount)
        if duration.amount != whole:
            return None  # fractional working days: the general way
        start = self._next_start(t)
        if start is None:
            return None
        day, at = start
        target = self._targets.get((day, whole))
        if target is None:
            j, steps = day, 0
            while steps < whole:
                j += 1
                if self._day(j):
                    steps += 1
                elif j - day > _MAX_IDLE_DAYS + whole:
                    return None
            intervals = self._day(j)
            target = (j - day, intervals[0][0], intervals[-1][1])
            self._targets[(day, whole)] = target
        shift, lo, hi = target
        return min(max(at + shift * 1440.0, lo), hi)
