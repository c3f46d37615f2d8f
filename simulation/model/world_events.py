"""Processes of the world around the incidents: shifts, measured signals, injects.

They know nothing of the World that starts them: each gets the clock and the few objects or
callbacks it acts on, so the world imports this module and nothing here imports the world.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Callable, Iterator

import simpy

from simulation.model.staff import StaffPool

__all__ = ["headcounts", "shift_process", "signal_process", "inject_process"]


def headcounts(profile: list[tuple[float, int]], m0: float,
               plan: tuple[float, list[int]] | None = None) -> Iterator[tuple[float, int]]:
    """(model minute, on-duty headcount from then on): a pool's explicit plan (step
    minutes, headcount per step from minute 0), if any, then its weekly shift profile in the
    calendar's local time from where the plan ends, for ever (once, if it never changes).

    `m0` is the local minute of the week at model minute 0."""
    start = 0.0
    if plan is not None:
        step, counts = plan
        for k, count in enumerate(counts):
            yield k * step, count
        start = len(counts) * step
    times = [m for m, _ in profile]
    levels = [h for _, h in profile]
    local = (m0 + start) % 10080.0
    week = start - local  # the model minute at which this local week began
    i = bisect_right(times, local) - 1
    yield start, levels[i]
    if len(profile) == 1:
        return
    while True:
        i += 1
        if i == len(times):
            i, week = 0, week + 10080.0
        yield week + times[i], levels[i]


def shift_process(env: simpy.Environment, pool: StaffPool,
                  changes: Iterator[tuple[float, int]]) -> Iterator[simpy.Event]:
    """Set the pool's scheduled headcount at each change (`headcounts`). When overtime is
    unlocked, people stay on after a drop for the pool's overtime hours (unlocks.py): the
    drop comes later, and those person-minutes are counted as overtime."""
    for at, new in changes:
        if at > env.now:
            yield env.timeout(at - env.now)
        extra = pool.overtime_hours * 60.0
        if new < pool.scheduled and extra > 0:
            pool.set_overtime_heads(pool.scheduled - new)
            yield env.timeout(extra)
            pool.set_overtime_heads(0)
        pool.set_scheduled(new)


def signal_process(env: simpy.Environment, interval: float, end: Callable[[], float],
                   tick: Callable[[], None]) -> Iterator[simpy.Event]:
    """Every `interval` until the run's end (asked each time: a drill's carry-over moves
    it), call `tick` (the world measures its signals and the policy decides on the
    emergency level)."""
    while env.now < end():
        yield env.timeout(interval)
        tick()


def inject_process(env: simpy.Environment, at: float, minutes: float,
                   begin: Callable[[], Callable[[], None] | None]) -> Iterator[simpy.Event]:
    """At minute `at` change the world (`begin`); if it returns an undo, call that
    `minutes` later (staff come back from an absence)."""
    if at > env.now:
        yield env.timeout(at - env.now)
    undo = begin()
    if undo is not None:
        yield env.timeout(minutes)
        undo()
