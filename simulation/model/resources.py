"""Staff pools and spare-parts stock inside the SimPy world.

Staff: a job needs a role; several pools may fill a role (technicians and contractors both
repair). Each role has one priority queue; a pool with a free member takes the best job
waiting in the queues of the roles it fills. Capacity follows shift schedules and can drop
while people are busy: nobody is pulled off a job, new jobs just wait (no pre-emption).

Stock: units are taken when work needs them; a case waits (a backorder, FIFO) when the shelf is
empty. Reorders follow (s,S), (s,Q) or base-stock policies on the inventory position
(on hand + on order - backordered), with random supplier lead times; once an emergency level
unlocks transfers, backorders are also covered from another warehouse, faster and dearer.
"""

from __future__ import annotations

import heapq
from collections import deque
from functools import partial
from typing import Any, Callable

import simpy

from incidents.distributions import Distribution
from simulation.model.eventlog import EventLog
from simulation.scenario.model import PartSpec, PoolSpec, parse_days

__all__ = ["RoleQueue", "StaffPool", "Stock", "weekly_profile"]

_CAPACITY = EventLog.code("capacity")
_STOCK = EventLog.code("stock")
_ORDER = EventLog.code("order")
_TRANSFER = EventLog.code("transfer")


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


class RoleQueue:
    """Jobs waiting for one role, best first: (priority key, sequence, job).

    A job is a callable taking the pool whose member starts it.
    """

    __slots__ = ("name", "heap", "pools")

    def __init__(self, name: str) -> None:
        self.name = name
        self.heap: list[tuple[Any, int, Any]] = []
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
        self.queues: list[RoleQueue] = []
        self.capacity = 0
        self.scheduled = 0
        self.absent = 0
        self.active = not spec.contractor
        self.busy = 0
        self._last = 0.0
        self.busy_minutes = 0.0
        """Minutes of work done: each job adds its duration when it ends (`finished`)."""
        self.started_sum = 0.0
        """Sum of the start minutes of the jobs running now (to count them at the end)."""
        self.capacity_minutes = 0.0
        self.overtime_minutes = 0.0
        self.overtime = False

    def _account(self) -> None:
        """Integrate on-duty headcount up to now; called only when the headcount changes."""
        now = self.env.now
        if now > self._last:
            self.capacity_minutes += self.capacity * (now - self._last)
            self._last = now

    def started(self, now: float) -> None:
        self.started_sum += now

    def finished(self, now: float, minutes: float) -> None:
        """A job of `minutes` ends now: count its work, free its member, start the next."""
        self.busy_minutes += minutes
        self.started_sum -= now - minutes
        self.busy -= 1
        for q in self.queues:
            if q.heap:  # somebody waits: start the best jobs (nobody: nothing to do)
                self.dispatch()
                return

    def close(self) -> None:
        """End of the run: count capacity, and the work of jobs still running, up to now."""
        self._account()
        self.busy_minutes += self.busy * self.env.now - self.started_sum

    def set_scheduled(self, headcount: int) -> None:
        self.scheduled = headcount
        self._update()

    def _update(self) -> None:
        self._account()
        self.capacity = max(0, self.scheduled - self.absent) if self.active else 0
        self.log.add(self.env.now, _CAPACITY, -1, self.index, self.capacity, float(self.busy))
        self.dispatch()

    def set_absent(self, n: int) -> None:
        self.absent = n
        self._update()

    def set_active(self, active: bool) -> None:
        self.active = active
        self._update()

    def dispatch(self) -> None:
        """Start the best waiting jobs while people are free."""
        while self.busy < self.capacity:
            best = None
            for q in self.queues:
                if q.heap and (best is None or q.heap[0] < best.heap[0]):
                    best = q
            if best is None:
                return
            _, _, job = heapq.heappop(best.heap)
            self.busy += 1
            job(self)

    def give_back(self) -> None:
        """A job found it was no longer needed as it started: free the member without
        dispatching (the dispatch loop that started it goes on to the next job)."""
        self.busy -= 1


def request_role(queue: RoleQueue, key: Any, seq: int, job: Callable[[StaffPool], None]) -> None:
    """Start the job at once with a free member of a pool filling the role, or queue it."""
    for pool in queue.pools:
        if pool.busy < pool.capacity:
            pool.busy += 1
            job(pool)
            return
    heapq.heappush(queue.heap, (key, seq, job))


class Stock:
    """One SKU on the shelf, with its reorder policy and backorders."""

    def __init__(self, env: simpy.Environment, sku: str, index: int, spec: PartSpec,
                 unit_cost: float, rng_sample: Callable[[Distribution], float],
                 log: EventLog) -> None:
        self.env = env
        self.sku = sku
        self.index = index
        self.spec = spec
        self.unit_cost = unit_cost
        self.sample = rng_sample
        self.log = log
        self.on_hand = spec.initial
        self.on_order = 0
        self.backorders: deque[tuple[int, Callable[[], None]]] = deque()
        self.backordered = 0
        self.transfers_enabled = False
        self.in_transfer = 0
        self.demand_units = 0
        self.filled_units = 0
        self.consumed_units = 0
        self.transfers = 0
        self.transfer_cost = 0.0
        self._out_since: float | None = 0.0 if self.on_hand == 0 else None
        self.out_minutes = 0.0

    @property
    def position(self) -> int:
        return self.on_hand + self.on_order + self.in_transfer - self.backordered

    def take(self, qty: int, filled: Callable[[], None]) -> bool:
        """Take `qty` units; True if on the shelf now, else `filled()` is called when they are."""
        self.demand_units += qty
        if self.on_hand >= qty and not self.backorders:
            self.on_hand -= qty
            self.filled_units += qty
            self.consumed_units += qty
            self.log.add(self.env.now, _STOCK, -1, self.index, -qty, float(self.on_hand))
            self._track_out()
            self._reorder(qty)
            return True
        self.backorders.append((qty, filled))
        self.backordered += qty
        self._reorder(qty)
        if self.transfers_enabled:
            self._transfer()
        return False

    def _reorder(self, taken: int) -> None:
        policy = self.spec.policy
        if policy.type == "none":
            return
        if policy.type == "base_stock":
            self._order(taken)
        elif policy.type == "sS":
            if self.position <= policy.s:  # type: ignore[operator]
                self._order(policy.S - self.position)  # type: ignore[operator]
        elif policy.type == "sQ":
            qty = 0
            while self.position + qty <= policy.s:  # type: ignore[operator]
                qty += policy.Q  # type: ignore[operator]
            if qty:
                self._order(qty)

    def _order(self, qty: int) -> None:
        if qty <= 0:
            return
        self.on_order += qty
        lead = self.sample(self.spec.lead_time)
        self.log.add(self.env.now, _ORDER, -1, self.index, qty, self.env.now + lead)
        self.env.timeout(lead).callbacks.append(partial(self._deliver, qty, True))

    def enable_transfers(self) -> None:
        self.transfers_enabled = True
        if self.backorders:
            self._transfer()

    def _transfer(self) -> None:
        """Cover backorders not already covered by what is on its way."""
        uncovered = self.backordered - self.on_order - self.in_transfer
        if uncovered <= 0:
            return
        self.in_transfer += uncovered
        self.transfers += 1
        self.transfer_cost += self.spec.transfer_cost
        self.log.add(self.env.now, _TRANSFER, -1, self.index, uncovered, self.spec.transfer_cost)
        lead = self.spec.transfer_lead_time.wall_minutes
        self.env.timeout(lead).callbacks.append(partial(self._deliver, uncovered, False))

    def _deliver(self, qty: int, supplier: bool, _: simpy.Event) -> None:
        """Units ordered from the supplier (or transferred) arrive after their lead time."""
        if supplier:
            self.on_order -= qty
        else:
            self.in_transfer -= qty
        self.receive(qty)

    def receive(self, qty: int) -> None:
        self.on_hand += qty
        served: list[Callable[[], None]] = []
        while self.backorders and self.on_hand >= self.backorders[0][0]:
            need, filled = self.backorders.popleft()
            self.on_hand -= need
            self.backordered -= need
            self.consumed_units += need
            served.append(filled)
        self.log.add(self.env.now, _STOCK, -1, self.index, qty, float(self.on_hand))
        self._track_out()
        for filled in served:  # resume the waiting cases once the shelf is accounted for
            filled()

    def lose(self, qty: int) -> None:
        """Units lost from the shelf (damage, theft, a failed batch)."""
        lost = min(qty, self.on_hand)
        self.on_hand -= lost
        self.log.add(self.env.now, _STOCK, -1, self.index, -lost, float(self.on_hand))
        self._track_out()
        self._reorder(lost)

    def _track_out(self) -> None:
        now = self.env.now
        if self.on_hand == 0 and self._out_since is None:
            self._out_since = now
        elif self.on_hand > 0 and self._out_since is not None:
            self.out_minutes += now - self._out_since
            self._out_since = None

    def close(self) -> None:
        """Account stock-out time up to the end of the run."""
        if self._out_since is not None:
            self.out_minutes += self.env.now - self._out_since
            self._out_since = self.env.now
