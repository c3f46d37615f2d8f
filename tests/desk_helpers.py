"""Shared helpers of the desk tests: a wall clock the test moves, recall cases, a desk.

The `desk` fixture opens a desk on each back end in turn (`live_url`, tests/backends.py):
every test that takes it runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from desk.case import service as cases
from desk.desk import Desk
from desk.operation import service as operations
from desk.projection import Changes
from incidents.model import Incident

__all__ = ["SHANGHAI", "T0", "WallClock", "recall", "open_recall", "desk_fixture",
           "clock_fixture", "events_of", "caught_up"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
"""A Monday, 10:00 in Shanghai: inside the recall playbook's working hours."""


class WallClock:
    """The desk's clock, moved by the test (never the real time)."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def recall(n: int, *, start: datetime = T0, vip_every: int = 10,
           batch: str = "B2026-0117") -> list[Incident]:
    """`n` recall cases opened a minute apart before `start`; every `vip_every`-th is VIP."""
    return [Incident(id=f"RC-{i:04d}", kind="recall",
                     tier="VIP" if vip_every and i % vip_every == 0 else "tier2",
                     customer=f"客户{i}号", batch=batch, region="华东" if i % 2 else "华南",
                     product="实木复合地板", opened_at=start - timedelta(minutes=n - i))
            for i in range(n)]


def open_recall(desk: Desk, n: int = 20, op: str = "R1") -> list[str]:
    operations.open_operation(desk, op, "批次 B2026-0117 召回", "defective-batch-recall",
                              opened_at=desk.now() - timedelta(hours=1))
    incidents = recall(n, start=desk.now())
    cases.open_cases(desk, incidents, operation=op)
    return [i.id for i in incidents]


@pytest.fixture(name="clock")
def clock_fixture() -> WallClock:
    return WallClock()


@pytest.fixture(name="desk")
def desk_fixture(live_url: str, clock: WallClock) -> Iterator[Desk]:
    with Desk.open(live_url, operator="王芳", clock=clock) as desk:
        yield desk


def caught_up(desk: Desk, position: int | None = None, timeout: float = 30.0) -> Changes:
    """Poll `desk` as its screen does until it has read up to `position` (default: the end
    of the store now); what the polls said changed, together. On SQLite the first poll sees
    another desk's commit; on PostgreSQL its wake-up (NOTIFY) comes a moment after it."""
    target = desk.store.position() if position is None else position
    merged = Changes()
    deadline = time.monotonic() + timeout
    while True:
        got = desk.poll()
        merged.cases |= got.cases
        merged.operations |= got.operations
        merged.entries += got.entries
        if desk.model.position >= target:
            return merged
        if time.monotonic() > deadline:
            raise AssertionError(f"the desk never read up to position {target} "
                                 f"(it is at {desk.model.position})")
        time.sleep(0.01)


def events_of(desk: Desk, case_id: str) -> list[tuple[str, dict]]:
    return [(e.kind, e.payload) for e in desk.store.events(f"case:{case_id}", after=1)]
