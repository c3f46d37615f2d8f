"""The desk's wall clock, passed in: rules never read the time themselves.

The playbook runtime counts float minutes since an epoch; the desk uses one epoch for every
case and playbook, so a minute means the same instant everywhere. `Clock` is any function
returning an aware datetime: `system_clock` for real use, a fixed or hand-moved one in tests,
so every rule (a deadline, a breach, a reminder) is tested without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from desk.errors import DeskError

__all__ = ["Clock", "EPOCH", "system_clock", "minutes", "instant", "parse_time", "local_text",
           "when_text"]

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""

EPOCH = datetime(2026, 1, 5, tzinfo=timezone.utc)
"""Minute 0 of every case on the desk (playbooks.runtime.DEFAULT_EPOCH, a Monday)."""


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(timezone.utc)


def minutes(when: datetime) -> float:
    """An aware datetime as runtime minutes since EPOCH (negative before it)."""
    return (when - EPOCH).total_seconds() / 60.0


def instant(minute: float) -> datetime:
    """Runtime minutes since EPOCH as an aware UTC datetime."""
    return EPOCH + timedelta(minutes=minute)


def parse_time(text: str, where: str, *, zone: str = "UTC") -> datetime:
    """ISO 8601 text as an aware datetime; a time without a zone is read in `zone`."""
    try:
        value = datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise DeskError(where, f"{text!r} is not a date and time (write 2026-12-07 14:20 or "
                               "2026-12-07T14:20:00+08:00)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value


def local_text(when: datetime, zone: str, *, date: bool = False) -> str:
    """`when` as a coordinator reads it: HH:MM in the playbook's zone (with the date)."""
    local = when.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M" if date else "%H:%M")


def when_text(minute: float, now: float, zone: str) -> str:
    """Desk minute `minute` as HH:MM if it falls on the day of `now` (in `zone`), else as
    MM-DD HH:MM: a deadline yesterday must not read like one today."""
    at, today = instant(minute), instant(now)
    same = local_text(at, zone, date=True)[:10] == local_text(today, zone, date=True)[:10]
    return local_text(at, zone) if same else local_text(at, zone, date=True)[5:]
