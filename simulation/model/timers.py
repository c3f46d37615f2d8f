"""Deadlines of all cases in one heap, woken by a single SimPy timeout.

A case arms three to six deadlines (SLA clocks, escalation timers, message repeats) and most
are cancelled long before they come due. As separate SimPy timeouts each would sit in SimPy's
queue with its callback until its due time, cancelled or not: a million-incident run would
carry millions of dead events. Here a deadline is one small heap entry; cancelled entries are
skipped when they surface and swept out when they outnumber the live ones.
"""

from __future__ import annotations

import heapq
from functools import partial
from typing import Callable

import simpy

from simulation.model.clock import Call, call_in

__all__ = ["TimerWheel"]


class TimerWheel:
    """Armed deadlines keyed by (case, key); `fire(case, key)` is called when one comes due."""

    __slots__ = ("env", "fire", "heap", "live", "seq", "wake_at", "dead")

    def __init__(self, env: simpy.Environment, fire: Callable[[int, str], None]) -> None:
        self.env = env
        self.fire = fire
        self.heap: list[tuple[float, int, int, str]] = []
        self.live: dict[tuple[int, str], int] = {}
        """(case, key) -> sequence number of its one live heap entry."""
        self.seq = 0
        self.wake_at = float("inf")
        self.dead = 0

    def arm(self, case: int, key: str, due: float) -> None:
        self.seq += 1
        if (case, key) in self.live:
            self.dead += 1
        self.live[(case, key)] = self.seq
        heapq.heappush(self.heap, (due, self.seq, case, key))
        if due < self.wake_at:
            self._schedule(due)

    def cancel(self, case: int, key: str) -> None:
        if self.live.pop((case, key), None) is not None:
            self.dead += 1
            if self.dead > 1024 and self.dead > len(self.live):
                self._sweep()

    def _sweep(self) -> None:
        live = self.live
        self.heap = [e for e in self.heap if live.get((e[2], e[3])) == e[1]]
        heapq.heapify(self.heap)
        self.dead = 0

    def _schedule(self, due: float) -> None:
        self.wake_at = due
        call_in(self.env, max(due - self.env._now, 0.0), partial(self._wake, due))  # noqa: SLF001

    def _wake(self, target: float, _: Call) -> None:
        if target != self.wake_at:
            return  # a later wake-up that an earlier deadline overtook
        # SimPy reaches now + (due - now), which float rounding may put a hair before due.
        limit = max(self.env._now, target)  # noqa: SLF001
        heap, live = self.heap, self.live
        self.wake_at = float("inf")
        while heap and heap[0][0] <= limit:
            _, seq, case, key = heapq.heappop(heap)
            if live.get((case, key)) == seq:
                del live[(case, key)]
                self.fire(case, key)
            else:
                self.dead -= 1
        while heap and live.get((heap[0][2], heap[0][3])) != heap[0][1]:
            heapq.heappop(heap)
            self.dead -= 1
        if heap and heap[0][0] < self.wake_at:
            self._schedule(heap[0][0])
