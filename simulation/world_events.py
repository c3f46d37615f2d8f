"""Processes of the world around the incidents: shifts, measured signals, injects."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Iterator
from zoneinfo import ZoneInfo

import simpy

from simulation.eventlog import EventLog
from simulation.resources import StaffPool
from simulation.scenario import Inject

if TYPE_CHECKING:
    from simulation.model import World

__all__ = ["shift_process", "signal_process", "inject_process", "signals"]

_SIGNAL = EventLog.code("signal")
_INJECT = EventLog.code("inject")


def shift_process(world: World, pool: StaffPool,
                  profile: list[tuple[float, int]]) -> Iterator[simpy.Event]:
    """Follow a pool's weekly shift pattern in the calendar's local time, for ever.

    When overtime is unlocked, people stay on after a shift ends for the pool's overtime
    hours: the drop in headcount comes later, and those extra person-minutes are counted.
    """
    env = world.env
    local = world.loaded.scenario.start.astimezone(ZoneInfo(world.loaded.calendar.timezone))
    m0 = local.weekday() * 1440 + local.hour * 60 + local.minute + local.second / 60
    times = [m for m, _ in profile]
    levels = [h for _, h in profile]
    i = bisect_right(times, m0) - 1
    pool.set_scheduled(levels[i])
    if len(profile) == 1:
        return
    week = 0.0
    while True:
        i += 1
        if i == len(times):
            i, week = 0, week + 10080.0
        at = week + times[i] - m0
        if at > env.now:
            yield env.timeout(at - env.now)
        new = levels[i]
        extra = pool.spec.overtime_hours_per_day * 60.0
        if new < pool.scheduled and pool.overtime and extra > 0:
            pool.overtime_minutes += (pool.scheduled - new) * extra
            yield env.timeout(extra)
        pool.set_scheduled(new)


def _since(times: list[float], now: float, window: float) -> int:
    return len(times) - bisect_left(times, now - window)


def signals(world: World) -> dict[str, float]:
    """The aggregate signals emergency levels react to, measured now."""
    now = world.env.now
    return {
        "open_backlog": float(world.open_count),
        "arrivals_per_hour": float(_since(world.arrival_times, now, 60.0)),
        "sla_breaches_24h": float(_since(world.breach_times, now, 1440.0)),
        "stock_outs": float(sum(1 for s in world.stock.values() if s.on_hand == 0)),
        "complaints_24h": float(_since(world.complaint_times, now, 1440.0)),
        "escalated_cases": float(world.escalated_open),
    }


def signal_process(world: World, interval: float, end: float) -> Iterator[simpy.Event]:
    """Measure the signals every `interval`; the policy decides on the emergency level."""
    env = world.env
    last_arrivals = 0
    while env.now < end:
        yield env.timeout(interval)
        measured = signals(world)
        arrived = len(world.arrival_times) - last_arrivals
        last_arrivals = len(world.arrival_times)
        world.log.add(env.now, _SIGNAL, -1, world.open_count, arrived,
                      measured["sla_breaches_24h"])
        world.emergency_effects(world.policy.on_signals(measured, env.now))
        if len(world.log.buffer) > EventLog.FLUSH_AT:  # arrivals flush too, but may have ended
            world.log.flush()


def inject_process(world: World, index: int, inject: Inject, at: float) -> Iterator[simpy.Event]:
    """Change the world at a set time: staff absent, stock lost, a CRM outage.

    Demand spikes are part of the arrival process (drawn up front); here they are only logged.
    """
    env = world.env
    if at > env.now:
        yield env.timeout(at - env.now)
    world.log.add(env.now, _INJECT, -1, index)
    minutes = inject.duration.wall_minutes
    if inject.kind == "staff_absence":
        pool = world.pools[inject.pool]  # type: ignore[index]
        pool.set_absent(pool.absent + inject.headcount)
        yield env.timeout(minutes)
        pool.set_absent(max(0, pool.absent - inject.headcount))
    elif inject.kind == "stock_loss":
        world.stock[inject.sku].lose(inject.qty)  # type: ignore[index]
    elif inject.kind == "crm_outage":
        world.slowdown = inject.slowdown
        world.slowdown_until = env.now + minutes
