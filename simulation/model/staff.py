"""Staff pools inside the SimPy world: shifts, queues of waiting work, honest accounting.

A piece of work may be done by several pools (technicians and contractors both repair), but
not always by every pool of its role: a skill the work needs, or a playbook pool that serves
only some states, narrows the choice. So waiting work is queued by the set of pools that may
take it (`WorkQueue`); each pool watches the queues it is eligible for and, when a member is
free, starts the best job waiting in any of them. With no skills and no `serves` this is one
queue per role.

Capacity follows shift schedules and emergency unlocks and can drop while people are busy:
nobody is pulled off a job, so a member finishes it after the shift ends. That time is on
duty too (`overrun_minutes`, paid as overtime), so busy time never exceeds on-duty time.

Queue entries are small lists `[key, seq, job]`; an entry that must not run any more (its
case gave up waiting, or was re-queued under a new priority) has its job set to None and is
skipped when it surfaces, which keeps every queue operation O(log n).
"""

from __future__ import annotations

import heapq
import math
from typing import Any, Callable

import simpy

from simulation.model.eventlog import EventLog
from simulation.scenario.model import PoolSpec, parse_days

__all__ = ["WorkQueue", "StaffPool", "request_staff", "weekly_profile", "POOL_TOTALS"]

_CAPACITY = EventLog.code("capacity")

POOL_TOTALS = ("busy_minutes", "on_duty_minutes", "capacity_minutes", "overtime_minutes",
               "overrun_minutes")
"""Running totals a pool keeps; a snapshot of them at a window's edges measures the window."""


def weekly_profile(spec: PoolSpec) -> list[tuple[float, int]]:
    """On-duty headcount as a step function of the minute of the week (local time):
    a sorted list of (minute, headcount from then on), starting at minute 0."""
    if spec.headcount is not None:
        return [(0.0, spec.headcount)]
    deltas: dict[int, int] = {}
    for shift in spec.shifts:
        begin = shift.start.hour * 60 + shift.start.minute
        end = shift.end.hour * 60 + shift.end.minute
        length = 1440 if begin == end else (end - begin) % 1440  # may cross midnight
        for day in parse_days(shift.days):
            lo, hi = day * 1440 + begin, day * 1440 + begin + length
            segments = [(lo, hi)] if hi <= 10080 else [(lo, 10080), (0, hi - 10080)]
            for a, b in segments:  # a shift running past Sunday midnight wraps to Monday
                deltas[a] = deltas.get(a, 0) + shift.headcount
                deltas[b] = deltas.get(b, 0) - shift.headcount
    level, out = 0, [(0.0, 0)]
    for minute in sorted(deltas):
        level += deltas[minute]
        if minute >= 10080:
            break
        if minute == out[-1][0]:
            out[-1] = (float(minute), level)
        else:
            out.append((float(minute), level))
    merged = [out[0]]
    for m, h in out[1:]:
        if h != merged[-1][1]:
            merged.append((m, h))
    return merged


class WorkQueue:
    """Jobs that the same pools may take, best first: entries `[key, seq, job]`.

    A job is a callable taking the pool whose member starts it; None marks a dead entry.
    """

    __slots__ = ("name", "heap", "pools")

    def __init__(self, name: str) -> None:
        self.name = name
        self.heap: list[list[Any]] = []
        self.pools: list[StaffPool] = []


class StaffPool:
    """People who fill some roles, with an on-duty headcount that changes over time."""

    def __init__(self, env: simpy.Environment, name: str, index: int, spec: PoolSpec,
                 log: EventLog) -> None:
        self.env = env
        self.name = name
        self.index = index
        self.spec = spec
        self.log = log
        self.queues: list[WorkQueue] = []
        self.capacity = 0
        self.scheduled = 0
        self.absent = 0
        self.limit: float = 0.0 if spec.contractor else math.inf
        """Most people on duty at once: contractors are off (0) until an unlock brings a
        crew (its headcount, or the whole schedule)."""
        self.overtime_hours = 0.0
        """Hours people stay after a shift ends while overtime is unlocked (0: none)."""
        self.overtime_heads = 0
        """People staying on after a shift end right now."""
        self.busy = 0
        self._last = 0.0
        self.busy_minutes = 0.0
        """Minutes of work done: each job adds its duration when it ends (`finished`)."""
        self.started_sum = 0.0
        """Sum of the start minutes of the jobs running now (to count them at the end)."""
        self.capacity_minutes = 0.0
        """Scheduled on-duty person-minutes (shifts, absences, unlocks), overtime included."""
        self.overtime_minutes = 0.0
        """The part of capacity_minutes that is unlocked overtime after a shift end."""
        self.overrun_minutes = 0.0
        """Person-minutes worked beyond capacity: jobs finished after the shift ended."""

    # -- accounting --------------------------------------------------------------------------
    def _account(self) -> None:
        """Integrate on-duty headcount (and work beyond it) up to now. Called before every
        change of capacity, and before a job ends while more are busy than on duty: between
        two calls both integrands are constant."""
        now = self.env.now
        if now > self._last:
            dt = now - self._last
            self.capacity_minutes += self.capacity * dt
            self.overtime_minutes += self.overtime_heads * dt
            if self.busy > self.capacity:
                self.overrun_minutes += (self.busy - self.capacity) * dt
            self._last = now

    def totals(self) -> dict[str, float]:
        """The running totals up to now, jobs in progress included (nothing is changed)."""
        self._account()
        busy = self.busy_minutes + self.busy * self.env.now - self.started_sum
        return {"busy_minutes": busy,
                "on_duty_minutes": self.capacity_minutes + self.overrun_minutes,
                "capacity_minutes": self.capacity_minutes,
                "overtime_minutes": self.overtime_minutes,
                "overrun_minutes": self.overrun_minutes}

    def finished(self, now: float, minutes: float) -> None:
        """A job of `minutes` ends now: count its work, free its member, start the next."""
        if self.busy > self.capacity:
            self._account()
        self.busy_minutes += minutes
        self.started_sum -= now - minutes
        self.busy -= 1
        for q in self.queues:
            if q.heap:  # somebody waits: start the best jobs (nobody: nothing to do)
                self.dispatch()
                return

    # -- capacity ----------------------------------------------------------------------------
    def set_scheduled(self, headcount: int) -> None:
        self.scheduled = headcount
        self._update()

    def set_absent(self, n: int) -> None:
        self.absent = n
        self._update()

    def set_limit(self, limit: float) -> None:
        self.limit = limit
        self._update()

    def set_overtime_heads(self, n: int) -> None:
        """People staying on after a shift end (part of the scheduled headcount meanwhile)."""
        self._account()
        self.overtime_heads = n

    def _update(self) -> None:
        self._account()
        on = min(self.scheduled - self.absent, self.limit)
        self.capacity = int(on) if on > 0 else 0
        self.log.add(self.env.now, _CAPACITY, -1, self.index, self.capacity, float(self.busy))
        self.dispatch()

    # -- work --------------------------------------------------------------------------------
    def dispatch(self) -> None:
        """Start the best waiting jobs while people are free."""
        pop = heapq.heappop
        while self.busy < self.capacity:
            best = None
            for q in self.queues:
                heap = q.heap
                while heap and heap[0][2] is None:
                    pop(heap)  # a case that gave up or was re-queued
                if heap and (best is None or heap[0] < best[0]):
                    best = heap
            if best is None:
                return
            entry = pop(best)
            self.busy += 1
            entry[2](self)

    def give_back(self) -> None:
        """A job found it was no longer needed as it started: free the member without
        dispatching (the dispatch loop that started it goes on to the next job)."""
        self.busy -= 1


def request_staff(queue: WorkQueue, key: Any, seq: int,
                  job: Callable[[StaffPool], None]) -> list[Any] | None:
    """Start the job at once with a free member of a pool that may take it, or queue it;
    the queue entry (None if started at once)."""
    for pool in queue.pools:
        if pool.busy < pool.capacity:
            pool.busy += 1
            job(pool)
            return None
    entry = [key, seq, job]
    heapq.heappush(queue.heap, entry)
    return entry
