"""Emergency unlocks as grants: overtime, contractor crews, parts transfers, as written.

Each entry of the lead playbook's `resources.unlocks` is a grant of its own, given when the
operation reaches its level (after its `delay`) and taken back when the operation drops below
that level. What a pool gets is worked out from the grants active now, so leaving a level
takes back exactly what it unlocked and nothing a lower level still holds:

- overtime: a (non-contractor) pool covered by an active overtime grant stays on after each
  shift end for the grant's `hours_per_day`, or, if the grant gives none, its own
  `overtime_hours_per_day`; several grants: the longest.
- contractors: a contractor pool covered by an active grant comes on duty (after its
  `activation_delay`) with at most the grant's `headcount` people within its schedule (0: the
  whole schedule); several grants: the largest crew. Without a grant it is off duty.
- parts_transfer: while any is active, backorders are covered from another warehouse.
- notify_management: nothing to run; the level change and its messages are logged.

A grant names a pool (`pool:`) or none (every pool). It covers a scenario pool of that name,
and every scenario pool filling the role of the lead playbook's pool of that name: the same
rule for overtime and contractors.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import simpy

from playbooks.effects import Revoked, Unlocked
from simulation.model.eventlog import EventLog
from simulation.model.staff import StaffPool

__all__ = ["Unlocks", "covers"]

_UNLOCK = EventLog.code("unlock")


def covers(pool: StaffPool, target: str | None, playbook: Any) -> bool:
    """Whether a grant naming `target` (a scenario pool, a playbook pool, or None for all)
    covers `pool`."""
    if target is None or target == pool.name:
        return True
    playbook_pool = playbook.resources.pools.get(target)
    return playbook_pool is not None and playbook_pool.role in pool.spec.roles


class Unlocks:
    """The grants of one run and what they give each pool and stock."""

    def __init__(self, world: Any) -> None:
        self.env: simpy.Environment = world.env
        self.world = world
        self.pending: dict[int, Unlocked] = {}
        """Unlock index -> its grant, given but not yet available (its delay runs)."""
        self.active: dict[int, Unlocked] = {}
        """Unlock index -> its grant, in force."""

    def apply(self, e: Unlocked | Revoked) -> None:
        """Carry out an Unlocked or Revoked effect of the emergency runtime."""
        world, now = self.world, self.env.now
        if isinstance(e, Unlocked):
            world.log.add(now, _UNLOCK, -1, world.names(e.resource), e.headcount,
                          e.available_at)
            self.pending[e.unlock] = e
            self.env.timeout(max(e.available_at - now, 0.0)).callbacks.append(
                partial(self._available, e))
            return
        world.log.add(now, _UNLOCK, -1, world.names(e.resource), -1, now)
        self.pending.pop(e.unlock, None)
        if self.active.pop(e.unlock, None) is not None:
            self.refresh(e.resource)

    def _available(self, e: Unlocked, _: simpy.Event) -> None:
        if self.pending.get(e.unlock) is not e:
            return  # taken back before it came into force
        del self.pending[e.unlock]
        self.active[e.unlock] = e
        self.refresh(e.resource)

    def grants(self, resource: str) -> list[Unlocked]:
        return [g for g in self.active.values() if g.resource == resource]

    def refresh(self, resource: str) -> None:
        """Give every pool or stock what the active grants of `resource` now give it."""
        lead = self.world.lead
        if resource == "overtime":
            grants = self.grants("overtime")
            for pool in self.world.pools.values():
                if pool.spec.contractor:
                    continue
                hours = [g.hours_per_day or pool.spec.overtime_hours_per_day
                         for g in grants if covers(pool, g.pool, lead)]
                pool.overtime_hours = max(hours, default=0.0)
        elif resource == "contractors":
            for pool in self.world.pools.values():
                if pool.spec.contractor:
                    self._crew(pool)
        elif resource == "parts_transfer":
            on = bool(self.grants("parts_transfer"))
            for stock in self.world.stock.values():
                if on:
                    stock.enable_transfers()
                else:
                    stock.transfers_enabled = False

    def crew(self, pool: StaffPool) -> float:
        """The most people of a contractor pool the active grants allow (0: none)."""
        sizes = [g.headcount if g.headcount > 0 else math.inf
                 for g in self.grants("contractors") if covers(pool, g.pool, self.world.lead)]
        return max(sizes, default=0.0)

    def _crew(self, pool: StaffPool) -> None:
        """Fewer contractors leave at once; more arrive after the pool's activation delay."""
        target = self.crew(pool)
        delay = pool.spec.activation_delay.wall_minutes
        if target <= pool.limit or delay <= 0:
            pool.set_limit(target)
        else:
            self.env.timeout(delay).callbacks.append(partial(self._arrive, pool))

    def _arrive(self, pool: StaffPool, _: simpy.Event) -> None:
        target = self.crew(pool)
        if target > pool.limit:
            pool.set_limit(target)
