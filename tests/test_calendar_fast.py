"""The float-minute fast path for working-time deadlines equals `BusinessCalendar.add`."""

from __future__ import annotations

from datetime import date, datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.sla import BusinessCalendar, Duration, TimeBase, _FixedOffsetDays

EPOCH = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)
CALENDARS = [
    BusinessCalendar(timezone="Asia/Shanghai", working_hours="mon-fri 09:00-12:00 13:00-18:00, sat 09:00-12:00",
                     holidays=[date(2026, 3, 4), date(2026, 3, 16), date(2026, 4, 6)]),
    BusinessCalendar(timezone="UTC", working_hours="mon-fri 08:00-16:30"),
    BusinessCalendar(timezone="Asia/Kolkata", working_hours="mon-sat 10:00-19:00"),
]


def slow(tb: TimeBase, at: float, d: Duration) -> float:
    return tb.to_minutes(tb.calendar.add(tb.to_datetime(at), d))


@settings(max_examples=300, deadline=None)
@given(cal=st.sampled_from(CALENDARS), at=st.floats(0, 60 * 1440, allow_nan=False),
       unit=st.sampled_from(["working_hours", "working_days"]),
       amount=st.one_of(st.integers(1, 12).map(float), st.floats(0.05, 30)))
def test_fast_path_equals_calendar(cal: BusinessCalendar, at: float, unit: str,
                                   amount: float) -> None:
    tb = TimeBase(EPOCH, cal)
    assert tb._fast is not None  # fixed-offset zones take the fast path
    d = Duration(amount=amount, unit=unit)  # type: ignore[arg-type]
    assert abs(tb.deadline(at, d) - slow(tb, at, d)) < 1e-6


def test_daylight_saving_zones_take_the_general_path() -> None:
    berlin = BusinessCalendar(timezone="Europe/Berlin")
    assert _FixedOffsetDays.for_calendar(berlin, EPOCH) is None
    tb = TimeBase(EPOCH, berlin)
    d = Duration.parse("3 working days")
    assert tb.deadline(100.0, d) == slow(tb, 100.0, d)
