"""Arrival times: a non-homogeneous Poisson process, or replayed history.

rate(t) = base_rate x hourly[local hour] x weekly[local weekday] x product of surge factors
(or base_rate x profile[local weekday][local hour] x surges, with a weekday-by-hour profile).
Arrivals are drawn with numpy by thinning (Lewis and Shedler): candidates from a homogeneous
process at an upper bound of the rate, each kept with probability rate(t)/bound. They are
drawn a block of time at a time (about `BLOCK_CANDIDATES` candidates per block), just ahead of
the simulation, so memory stays bounded whatever the rate and horizon; block boundaries depend
only on the demand, never on staffing or policy, so a run's arrivals are a pure function of
the demand and the seed (the same for every configuration compared on that seed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from simulation.scenario.model import Demand, Surge

__all__ = ["rate_at", "surge_factor", "draw_arrivals", "arrival_blocks", "expected_arrivals",
           "BLOCK_CANDIDATES"]

BLOCK_CANDIDATES = 65_536
"""Expected thinning candidates per block: a few hundred kilobytes of numpy at a time."""


def _offset(value: object, start: datetime) -> float:
    """A surge/inject start (an offset Duration or a date-time) as minutes since start."""
    if isinstance(value, datetime):
        return (value - start).total_seconds() / 60.0
    return value.wall_minutes  # type: ignore[attr-defined]


def surge_factor(surge: Surge, t: np.ndarray, start: datetime) -> np.ndarray:
    """The multiplier one surge applies at model minutes `t`."""
    s = _offset(surge.start, start)
    f = surge.factor
    if surge.kind == "step":
        end = s + surge.duration.wall_minutes  # type: ignore[union-attr]
        return np.where((t >= s) & (t < end), f, 1.0)
    if surge.kind == "spike":
        decay = surge.decay.wall_minutes  # type: ignore[union-attr]
        return np.where(t >= s, 1.0 + (f - 1.0) * np.exp(-np.maximum(t - s, 0.0) / decay), 1.0)
    climb = surge.duration.wall_minutes  # type: ignore[union-attr]
    hold = surge.hold.wall_minutes if surge.hold is not None else np.inf
    rising = 1.0 + (f - 1.0) * np.clip((t - s) / climb, 0.0, 1.0)
    return np.where((t >= s) & (t < s + climb + hold), rising, 1.0)


def rate_at(demand: Demand, t: np.ndarray, start: datetime, zone: ZoneInfo,
            extra: list[Surge] | None = None) -> np.ndarray:
    """Arrivals per hour at model minutes `t` (local hour/weekday from the calendar zone).

    The local clock is taken at the scenario start and advanced uniformly, so a daylight
    saving change during a run shifts the profile by an hour: a deliberate simplification.
    """
    local = start.astimezone(zone)
    m0 = local.weekday() * 1440 + local.hour * 60 + local.minute + local.second / 60.0
    minute_of_week = (m0 + t) % 10080.0
    rate = np.full(t.shape, demand.base_rate, dtype=float)
    if demand.hourly is not None:
        rate *= np.asarray(demand.hourly)[((minute_of_week % 1440.0) // 60.0).astype(int)]
    if demand.weekly is not None:
        rate *= np.asarray(demand.weekly)[(minute_of_week // 1440.0).astype(int)]
    if demand.profile is not None:
        rate *= np.asarray(demand.profile).ravel()[(minute_of_week // 60.0).astype(int) % 168]
    for surge in [*demand.surges, *(extra or [])]:
        rate *= surge_factor(surge, t, start)
    return rate


def _bound(demand: Demand, extra: list[Surge]) -> float:
    bound = demand.base_rate
    if demand.hourly is not None:
        bound *= max(demand.hourly)
    if demand.weekly is not None:
        bound *= max(demand.weekly)
    if demand.profile is not None:
        bound *= max(max(row) for row in demand.profile)
    for surge in [*demand.surges, *extra]:
        bound *= max(surge.factor, 1.0)
    return bound


def arrival_blocks(demand: Demand, horizon: float, start: datetime, zone: ZoneInfo,
                   rng: np.random.Generator, extra: list[Surge] | None = None
                   ) -> Iterator[np.ndarray]:
    """Sorted arrival minutes in [0, horizon), one block of time after another."""
    extra = extra or []
    bound = _bound(demand, extra)
    if bound <= 0 or horizon <= 0:
        return
    width = BLOCK_CANDIDATES / (bound / 60.0)  # minutes holding about BLOCK_CANDIDATES
    lo = 0.0
    while lo < horizon:
        hi = min(lo + width, horizon)
        n = rng.poisson(bound * (hi - lo) / 60.0)
        t = np.sort(rng.uniform(lo, hi, n))
        keep = rng.uniform(0.0, bound, n) < rate_at(demand, t, start, zone, extra)
        yield t[keep]
        lo = hi


def draw_arrivals(demand: Demand, horizon: float, start: datetime, zone: ZoneInfo,
                  rng: np.random.Generator, extra: list[Surge] | None = None) -> np.ndarray:
    """All arrival minutes in [0, horizon) at once (for tests and small horizons)."""
    blocks = list(arrival_blocks(demand, horizon, start, zone, rng, extra))
    return np.concatenate(blocks) if blocks else np.empty(0)


def expected_arrivals(demand: Demand, horizon: float, start: datetime, zone: ZoneInfo,
                      extra: list[Surge] | None = None, step: float = 1.0) -> float:
    """The integral of the rate over [0, horizon): the mean number of arrivals.

    Midpoint rule on `step`-minute cells, a day at a time (bounded memory); for very long
    horizons the step grows so that at most about two million cells are evaluated."""
    step = max(step, horizon / 2_000_000.0)
    total, lo = 0.0, 0.0
    while lo < horizon:
        hi = min(lo + 1440.0 * max(1.0, step), horizon)
        t = np.arange(lo, hi, step) + step / 2
        t = t[t < horizon]
        total += float(rate_at(demand, t, start, zone, extra).sum() * step / 60.0)
        lo = hi
    return total

