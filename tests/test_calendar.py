"""Business-calendar and duration arithmetic, with expected values worked out by hand.

Reference week (March 2024): Mon 4, Tue 5, Wed 6, Thu 7, Fri 8, Sat 9, Sun 10, Mon 11, Tue 12.
The default calendar is mon-fri 09:00-18:00 (9 working hours = 540 minutes a day), UTC.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from zoneinfo import ZoneInfo

from incidents.errors import IncidentsError
from incidents.sla import MAX_DURATION_DAYS, BusinessCalendar, Duration, TimeBase

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT = BusinessCalendar()


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def d(text: str) -> Duration:
    return Duration.parse(text)


# ------------------------------------------------------------------------------- Duration
@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("30m", 30, "minutes"), ("30 min", 30, "minutes"), ("30 minutes", 30, "minutes"),
        ("2h", 2, "hours"), ("2 h", 2, "hours"), ("2 hours", 2, "hours"), ("1.5h", 1.5, "hours"),
        ("1d", 1, "days"), ("2 days", 2, "days"), ("2 working hours", 2, "working_hours"),
        ("2wh", 2, "working_hours"), ("3 working days", 3, "working_days"),
        ("3wd", 3, "working_days"), ("2小时", 2, "hours"), ("30分钟", 30, "minutes"),
        ("3天", 3, "days"), ("3个工作日", 3, "working_days"), ("2工作小时", 2, "working_hours"),
        ("45", 45, "minutes"), (45, 45, "minutes"), (2.5, 2.5, "minutes"), ("  2H ", 2, "hours"),
        ("0m", 0, "minutes"), ("20s", 20, "seconds"), ("20 sec", 20, "seconds"),
        ("20 seconds", 20, "seconds"), ("20秒", 20, "seconds"), ("1 second", 1, "seconds"),
    ],
)
def test_duration_parse_forms(text: str | int | float, amount: float, unit: str) -> None:
    parsed = Duration.parse(text)
    assert (parsed.amount, parsed.unit) == (amount, unit)


@pytest.mark.parametrize("bad", ["", "   ", "-5m", "2 fortnights", "h", "2 hours ago", "nan",
                                 "1e999h", "2h30m", True, None, [2]])
def test_duration_parse_rejects_with_accepted_forms(bad: object) -> None:
    with pytest.raises(IncidentsError, match="duration") as info:
        Duration.parse(bad)  # type: ignore[arg-type]
    assert "'2h'" in str(info.value)  # the message lists the accepted forms


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("2 hours", "2h"), ("30 minutes", "30m"), ("1.5 days", "1.5d"), ("3wd", "3 working days"),
     ("2工作小时", "2 working hours"), ("1 working day", "1 working day"), ("0.25h", "0.25h")],
)
def test_duration_str_is_canonical_and_round_trips(text: str, canonical: str) -> None:
    assert str(d(text)) == canonical
    assert Duration.parse(str(d(text))) == d(text)


# The longest duration in each unit (a working hour or day counts as a wall-clock one).
_LIMIT = {"seconds": MAX_DURATION_DAYS * 86400, "minutes": MAX_DURATION_DAYS * 1440,
          "hours": MAX_DURATION_DAYS * 24, "days": MAX_DURATION_DAYS,
          "working_hours": MAX_DURATION_DAYS * 24, "working_days": MAX_DURATION_DAYS}


@given(st.sampled_from(list(_LIMIT)).flatmap(lambda unit: st.tuples(
    st.floats(min_value=0, max_value=_LIMIT[unit], allow_nan=False), st.just(unit))))
def test_duration_str_round_trip_property(case: tuple[float, str]) -> None:
    amount, unit = case
    original = Duration(amount=amount, unit=unit)  # type: ignore[arg-type]
    assert Duration.parse(str(original)) == original


def test_seconds_are_sixtieths_of_a_minute() -> None:
    for text in ("20s", "20 sec", "20 seconds", "20秒"):
        assert d(text).wall_minutes == 1 / 3
        assert not d(text).is_working
    assert str(d("20 seconds")) == "20s" and d("90s").wall_minutes == 1.5
    assert TimeBase(utc(4, 9)).deadline(10.0, d("30s")) == 10.5


@pytest.mark.parametrize(("text", "fragment"), [
    ("3661d", "3661d' is longer than the limit of 3660 days (10 years)"),
    ("3661 working days", "limit of 3660 days"),
    ("87841 working hours", "10 years; 87,840 working_hours"),
    ("1e9h", "10 years; 87,840 hours"),
    ("1e308d", "limit of 3660 days"),
    (5270401, "10 years; 5,270,400 minutes"),
])
def test_duration_longer_than_ten_years_is_refused(text: str | int, fragment: str) -> None:
    with pytest.raises(IncidentsError, match="duration") as info:
        Duration.parse(text)
    assert fragment in str(info.value)
    assert Duration.parse(f"{MAX_DURATION_DAYS}d").wall_minutes == MAX_DURATION_DAYS * 1440


def test_duration_limit_holds_for_direct_construction() -> None:
    with pytest.raises(ValidationError, match="limit of 3660 days"):
        Duration(amount=1e9, unit="working_days")


def test_duration_properties() -> None:
    assert d("1.5h").wall_minutes == 90
    assert d("2d").wall_minutes == 2880
    assert d("2wh").is_working and d("3个工作日").is_working and not d("48h").is_working
    with pytest.raises(IncidentsError, match="calendar"):
        _ = d("3wd").wall_minutes


def test_duration_as_pydantic_field() -> None:
    class Rule(BaseModel):
        within: Duration

    assert Rule(within="2h").within == Duration(amount=2, unit="hours")
    assert Rule.model_validate({"within": 90}).within == Duration(amount=90, unit="minutes")
    assert Rule(within={"amount": 3, "unit": "working_days"}).within == d("3wd")
    with pytest.raises(ValidationError) as info:
        Rule(within="2 fortnights")
    assert info.value.errors()[0]["loc"] == ("within",)
    assert "fortnights" in str(info.value)
    with pytest.raises(ValidationError):
        Duration(amount=-1, unit="hours")
    with pytest.raises(ValidationError):
        Duration(amount=1, unit="weeks")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- calendar shape
def test_calendar_accepts_friendly_forms() -> None:
    by_day = BusinessCalendar(working_hours={"Mon": ["09:00-12:00", "13:00-18:00"],
                                             "saturday": "10:00-14:00"})
    shorthand = BusinessCalendar(working_hours="mon 09:00-12:00 13:00-18:00, sat 10:00-14:00")
    assert by_day == shorthand
    assert shorthand.working_hours == {"mon": [(time(9), time(12)), (time(13), time(18))],
                                       "sat": [(time(10), time(14))]}
    assert BusinessCalendar(working_hours="mon-fri 09:00-18:00") == DEFAULT
    # a pair of clock strings, and a round trip through model_dump
    pair = BusinessCalendar(working_hours={"tue": ["08:30", "17:00"]})
    assert pair.working_hours == {"tue": [(time(8, 30), time(17))]}
    assert BusinessCalendar.model_validate(shorthand.model_dump()) == shorthand
    assert BusinessCalendar(holidays=["2024-04-01", "2024-01-01"]).holidays == [
        date(2024, 1, 1), date(2024, 4, 1)]
    assert hash(BusinessCalendar()) == hash(DEFAULT)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"working_hours": {"mon": ["09:00-12:00", "11:00-14:00"]}}, "overlaps"),
        ({"working_hours": {"mon": ["18:00-09:00"]}}, "start must be before end"),
        ({"working_hours": {"mon": ["09:00-09:00"]}}, "start must be before end"),
        ({"working_hours": {"funday": ["09:00-18:00"]}}, "unknown weekday"),
        ({"working_hours": {}}, "no working time"),
        ({"working_hours": {"mon": [], "tue": None}}, "no working time"),
        ({"working_hours": "mon-fri nine to five"}, "working_hours"),
        ({"working_hours": {"mon": ["25:00-26:00"]}}, "clock time"),
    ],
)
def test_calendar_rejects_bad_config(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(IncidentsError, match=field):
        BusinessCalendar.from_config(kwargs)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2024, 3, 8, 16)
    for call in (lambda: DEFAULT.is_working_time(naive), lambda: DEFAULT.add(naive, d("2h")),
                 lambda: DEFAULT.next_working_start(naive),
                 lambda: DEFAULT.working_minutes_between(naive, utc(8, 17)),
                 lambda: TimeBase(naive)):
        with pytest.raises(IncidentsError, match="naive"):
            call()


# ------------------------------------------------------------------------------- working time
def test_is_working_time_and_next_start() -> None:
    assert DEFAULT.is_working_time(utc(8, 9))          # start inclusive
    assert not DEFAULT.is_working_time(utc(8, 18))     # end exclusive
    assert not DEFAULT.is_working_time(utc(9, 11))     # Saturday
    inside = utc(5, 11, 30)
    assert DEFAULT.next_working_start(inside) == inside
    # Mon 20:00 -> the night is skipped -> Tue 09:00
    assert DEFAULT.next_working_start(utc(4, 20)) == utc(5, 9)
    # Fri 18:00 (end is exclusive) -> weekend skipped -> Mon 11 09:00
    assert DEFAULT.next_working_start(utc(8, 18)) == utc(11, 9)


def test_working_hours_night() -> None:
    # Mon 17:00 + 3wh: 1h Mon (17-18), 2h Tue (09-11) -> Tue 11:00
    assert DEFAULT.add(utc(4, 17), d("3wh")) == utc(5, 11)
    # Mon 20:00 + 2wh: counting starts Tue 09:00 -> Tue 11:00
    assert DEFAULT.add(utc(4, 20), d("2 working hours")) == utc(5, 11)
    # Tue 06:00 (early morning) + 0.5wh: counting starts 09:00 -> Tue 09:30
    assert DEFAULT.add(utc(5, 6), d("0.5wh")) == utc(5, 9, 30)


def test_working_hours_weekend() -> None:
    # Fri 16:00 + 3wh: 2h Fri (16-18), 1h Mon (09-10) -> Mon 10:00
    assert DEFAULT.add(utc(8, 16), d("3wh")) == utc(11, 10)
    # Fri 16:00 + 2wh exactly fills Friday -> Fri 18:00 (not Monday 09:00)
    assert DEFAULT.add(utc(8, 16), d("2wh")) == utc(8, 18)
    # Sat 11:00 + 12wh: counting starts Mon 09:00; 9h Mon, 3h Tue (09-12) -> Tue 12:00
    assert DEFAULT.add(utc(9, 11), d("12wh")) == utc(12, 12)
    # zero working time is the identity, even on a Saturday
    assert DEFAULT.add(utc(9, 11), d("0wh")) == utc(9, 11)


def test_working_hours_with_lunch_break() -> None:
    cal = BusinessCalendar(working_hours="mon-fri 09:00-12:00 13:00-18:00")
    # Mon 11:00 + 2wh: 1h (11-12), lunch skipped, 1h (13-14) -> Mon 14:00
    assert cal.add(utc(4, 11), d("2wh")) == utc(4, 14)
    assert not cal.is_working_time(utc(4, 12, 30))
    assert cal.working_minutes_between(utc(4, 11), utc(4, 14)) == 120


def test_public_holiday_monday_is_skipped() -> None:
    # Easter 2024: Fri 29 Mar and Mon 1 Apr are holidays
    cal = BusinessCalendar(holidays=[date(2024, 3, 29), date(2024, 4, 1)])
    thu = datetime(2024, 3, 28, 16, tzinfo=UTC)
    # Thu 16:00 + 3wh: 2h Thu (16-18), Fri/Sat/Sun/Mon skipped, 1h Tue 2 Apr -> Tue 10:00
    assert cal.add(thu, d("3wh")) == datetime(2024, 4, 2, 10, tzinfo=UTC)
    # the same without holidays lands on Good Friday 10:00
    assert DEFAULT.add(thu, d("3wh")) == datetime(2024, 3, 29, 10, tzinfo=UTC)
    assert not cal.is_working_time(datetime(2024, 4, 1, 10, tzinfo=UTC))
    # Thu 28 16:00 -> Tue 2 Apr 10:00 holds 2h + 1h of work
    assert cal.working_minutes_between(thu, datetime(2024, 4, 2, 10, tzinfo=UTC)) == 180


def test_calendar_in_shanghai_with_utc_input() -> None:
    cal = BusinessCalendar(timezone="Asia/Shanghai")  # UTC+8, no DST
    # Fri 08:00 UTC = Fri 16:00 CST; + 3wh: 2h Fri, 1h Mon -> Mon 10:00 CST = Mon 02:00 UTC
    result = cal.add(utc(8, 8), d("3wh"))
    assert result == utc(11, 2)
    assert result.tzinfo is UTC  # returned in the input's zone
    assert cal.add(utc(8, 8), d("3wh")).astimezone(SHANGHAI).hour == 10
    assert cal.is_working_time(utc(11, 2))       # 10:00 in Shanghai
    assert not cal.is_working_time(utc(11, 12))  # 20:00 in Shanghai
    # Mon 11 00:30 UTC is 08:30 CST -> next start 09:00 CST = 01:00 UTC
    assert cal.next_working_start(utc(11, 0, 30)) == utc(11, 1)


def test_berlin_dst_wall_clock_is_real_elapsed_time() -> None:
    # spring forward Sun 31 Mar 2024 02:00 CET -> 03:00 CEST
    start = datetime(2024, 3, 31, 1, 30, tzinfo=BERLIN)   # CET, = 00:30 UTC
    end = DEFAULT.add(start, d("2h"))                      # 02:30 UTC = 04:30 CEST
    assert end == datetime(2024, 3, 31, 2, 30, tzinfo=UTC)
    assert (end.hour, end.minute) == (4, 30) and end.tzinfo is BERLIN
    # fall back Sun 27 Oct 2024 03:00 CEST -> 02:00 CET: 01:30 CEST (23:30 UTC) + 2h
    # = 01:30 UTC = 02:30 CET (the second 02:30 of the night)
    autumn = DEFAULT.add(datetime(2024, 10, 27, 1, 30, tzinfo=BERLIN), d("120m"))
    # (compare in UTC: Python never equates a fold=1 ambiguous time across zones)
    assert autumn.astimezone(UTC) == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
    assert (autumn.hour, autumn.minute, autumn.fold) == (2, 30, 1)
    assert autumn.utcoffset() == timedelta(hours=1)


def test_berlin_dst_working_hours_use_local_time() -> None:
    cal = BusinessCalendar(timezone="Europe/Berlin")
    # Thu 28 Mar 16:00 CET + 12wh: 2h Thu (16-18), 9h Fri, weekend with DST change,
    # 1h Mon 1 Apr (09-10 CEST) -> Mon 10:00 local, which is 08:00 UTC (offset now +2)
    result = cal.add(datetime(2024, 3, 28, 16, tzinfo=BERLIN), d("12wh"))
    assert (result.day, result.hour, result.minute) == (1, 10, 0)
    assert result == datetime(2024, 4, 1, 8, tzinfo=UTC)
    assert cal.working_minutes_between(datetime(2024, 3, 28, 16, tzinfo=BERLIN), result) == 720
    # a 24/7 calendar counts real time: Sat 12:00 -> Sun 12:00 across the change is 23 h
    always = BusinessCalendar(timezone="Europe/Berlin", working_hours="mon-sun 00:00-24:00")
    sat, sun = datetime(2024, 3, 30, 12, tzinfo=BERLIN), datetime(2024, 3, 31, 12, tzinfo=BERLIN)
    assert always.working_minutes_between(sat, sun) == 23 * 60
    assert always.add(sat, d("23wh")) == sun


def test_wall_clock_durations_ignore_the_calendar() -> None:
    # Fri 17:00 + 2h -> Fri 19:00 although the office closed at 18:00
    assert DEFAULT.add(utc(8, 17), d("2h")) == utc(8, 19)
    # Fri 17:00 + 48h -> Sun 17:00: nights and the weekend count
    assert DEFAULT.add(utc(8, 17), d("48h")) == utc(10, 17)
    assert DEFAULT.add(utc(8, 17), d("2d")) == utc(10, 17)
    assert DEFAULT.add(utc(8, 17), "90m") == utc(8, 18, 30)


def test_working_days() -> None:
    # Mon 10:00 + 3wd -> Thu 10:00 (time of day kept)
    assert DEFAULT.add(utc(4, 10), d("3wd")) == utc(7, 10)
    # Fri 15:00 + 1wd -> weekend skipped -> Mon 15:00
    assert DEFAULT.add(utc(8, 15), d("1 working day")) == utc(11, 15)
    # Sat 11:00 rolls to Mon 09:00, + 1wd -> Tue 09:00
    assert DEFAULT.add(utc(9, 11), d("1wd")) == utc(12, 9)
    # Mon 20:00 rolls to Tue 09:00, + 1wd -> Wed 09:00
    assert DEFAULT.add(utc(4, 20), d("1wd")) == utc(6, 9)
    # holiday Wed 6: Mon 10:00 + 3wd -> Tue(1), Thu(2), Fri(3) -> Fri 10:00
    cal = BusinessCalendar(holidays=[date(2024, 3, 6)])
    assert cal.add(utc(4, 10), d("3个工作日")) == utc(8, 10)


def test_working_days_clamp_to_end_of_short_day() -> None:
    cal = BusinessCalendar(working_hours="mon-thu 09:00-18:00, fri 09:00-15:00")
    # Thu 17:00 + 1wd -> Fri 17:00, but Friday closes at 15:00 -> clamped to Fri 15:00
    assert cal.add(utc(7, 17), d("1wd")) == utc(8, 15)
    # Thu 11:00 + 1wd -> Fri 11:00 fits, no clamp
    assert cal.add(utc(7, 11), d("1wd")) == utc(8, 11)
    # Wed 17:00 + 2wd -> Fri clamp 15:00 (Thursday is a full day in between)
    assert cal.add(utc(6, 17), d("2wd")) == utc(8, 15)


def test_fractional_working_days() -> None:
    # Mon 10:00 + 1.5wd: Tue 10:00, then 0.5 x 540 = 270 min -> Tue 14:30
    assert DEFAULT.add(utc(4, 10), d("1.5wd")) == utc(5, 14, 30)
    # Mon 15:00 + 0.5wd = 270 min: 180 Mon (15-18), 90 Tue (09-10:30) -> Tue 10:30
    assert DEFAULT.add(utc(4, 15), d("0.5wd")) == utc(5, 10, 30)
    # the fraction uses the landing day's length: Thu 09:00 + 1.5wd on a 6h Friday
    # -> Fri 09:00 + 0.5 x 360 = 180 min -> Fri 12:00
    cal = BusinessCalendar(working_hours="mon-thu 09:00-18:00, fri 09:00-15:00")
    assert cal.add(utc(7, 9), d("1.5wd")) == utc(8, 12)


def test_working_minutes_between() -> None:
    # Fri 16:00 -> Mon 10:00: 120 + 60
    assert DEFAULT.working_minutes_between(utc(8, 16), utc(11, 10)) == 180
    assert DEFAULT.working_minutes_between(utc(11, 10), utc(8, 16)) == -180
    # a whole week Mon 00:00 -> next Mon 00:00: 5 x 540
    assert DEFAULT.working_minutes_between(utc(4, 0), utc(11, 0)) == 2700
    assert DEFAULT.working_minutes_between(utc(9, 0), utc(10, 23)) == 0  # weekend


def test_holidays_blocking_everything_raise_instead_of_looping() -> None:
    mondays = [date(2024, 1, 1) + timedelta(weeks=k) for k in range(4 * 53)]
    cal = BusinessCalendar(working_hours="mon 09:00-10:00", holidays=mondays)
    with pytest.raises(IncidentsError, match="no working"):
        cal.next_working_start(utc(4, 12))
    with pytest.raises(IncidentsError, match="no working"):
        cal.add(utc(4, 12), d("1wh"))
    with pytest.raises(IncidentsError, match="no working"):
        cal.add(utc(4, 12), d("1wd"))
    # a shorter stretch of holidays is fine: the first Monday not in the list
    short = BusinessCalendar(working_hours="mon 09:00-10:00", holidays=mondays[:60])
    assert short.next_working_start(utc(4, 12)) == datetime.combine(
        mondays[60], time(9), tzinfo=UTC)


# ------------------------------------------------------------------------------- TimeBase
def test_timebase_round_trips_and_deadlines() -> None:
    tb = TimeBase(utc(4, 0))  # epoch Mon 4 Mar 00:00 UTC, default calendar
    assert tb.to_datetime(600) == utc(4, 10)
    assert tb.to_minutes(utc(8, 16)) == 4 * 1440 + 960
    for m in (0.0, 1.5, 12345.678, -30.25):
        assert tb.to_minutes(tb.to_datetime(m)) == pytest.approx(m, abs=1e-6)
    assert tb.deadline(600, d("2h")) == 720
    # Fri 16:00 (minute 6720) + 3wh -> Mon 11 10:00 = 7 days + 600 = 10680
    assert tb.deadline(4 * 1440 + 960, d("3wh")) == 7 * 1440 + 600
    assert tb.deadline(4 * 1440 + 960, d("3wh")) == 10680  # served from the cache
    # wall durations never build a datetime: far beyond year 9999 still works
    assert tb.deadline(1e13, d("48h")) == 1e13 + 2880
    with pytest.raises(IncidentsError, match="minutes"):
        tb.to_datetime(1e13)


def test_timebase_uses_calendar_zone() -> None:
    cal = BusinessCalendar(timezone="Asia/Shanghai")
    tb = TimeBase(datetime(2024, 3, 4, 0, tzinfo=SHANGHAI), cal)  # Mon 00:00 CST
    assert tb.to_datetime(600).astimezone(SHANGHAI).hour == 10
    assert tb.to_datetime(600).utcoffset() == timedelta(hours=8)
    # Fri 16:00 CST + 1wd -> Mon 16:00 CST = minute 7 * 1440 + 960
    assert tb.deadline(4 * 1440 + 960, d("1wd")) == 7 * 1440 + 960


# ------------------------------------------------------------------------------- properties
CALENDARS = [
    DEFAULT,
    BusinessCalendar(timezone="Europe/Berlin", working_hours="mon-fri 09:00-12:00 13:00-17:30",
                     holidays=[date(2024, 3, 29), date(2024, 4, 1), date(2024, 12, 25)]),
    BusinessCalendar(timezone="Asia/Shanghai", working_hours="mon-sat 08:30-20:00"),
    BusinessCalendar(timezone="Europe/Berlin", working_hours="mon-sun 00:00-24:00"),
]
ZONES = st.sampled_from([UTC, BERLIN, SHANGHAI, timezone(timedelta(hours=-5))])


@settings(max_examples=200, deadline=None)
@given(
    cal=st.sampled_from(CALENDARS),
    dt=st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 1, 1),
                    timezones=ZONES, allow_imaginary=False),
    hours=st.floats(min_value=0, max_value=200, allow_nan=False),
    extra=st.floats(min_value=0, max_value=50, allow_nan=False),
)
def test_add_inverts_working_minutes_between_and_is_monotonic(
    cal: BusinessCalendar, dt: datetime, hours: float, extra: float
) -> None:
    short = cal.add(dt, Duration(amount=hours, unit="working_hours"))
    longer = cal.add(dt, Duration(amount=hours + extra, unit="working_hours"))
    assert cal.working_minutes_between(dt, short) == pytest.approx(hours * 60, abs=1e-6)
    assert cal.working_minutes_between(dt, longer) == pytest.approx((hours + extra) * 60,
                                                                    abs=1e-6)
    assert dt <= short <= longer
