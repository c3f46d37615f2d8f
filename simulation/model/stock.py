"""Spare parts on the shelf inside the SimPy world: reorder policies, backorders, transfers.

Units are taken when work needs them; a case waits (a backorder, FIFO) when the shelf is empty.
Reorders follow (s,S), (s,Q) or base-stock policies on the inventory position (on hand + on
order + in transfer - backordered), with random supplier lead times; once an emergency level
unlocks transfers, backorders are also covered from another warehouse, faster and dearer.
"""

from __future__ import annotations

import random
from collections import deque
from functools import partial
from typing import Callable

import simpy

from simulation.model.eventlog import EventLog
from simulation.scenario.model import PartSpec

__all__ = ["Stock", "STOCK_TOTALS"]

_STOCK = EventLog.code("stock")
_ORDER = EventLog.code("order")
_TRANSFER = EventLog.code("transfer")

STOCK_TOTALS = ("demand_units", "filled_units", "consumed_units", "out_minutes", "transfers",
                "transfer_cost", "ordered_units", "held_unit_minutes")
"""Running totals a stock keeps; a snapshot of them at a window's edges measures the window."""


class Stock:
    """One SKU on the shelf, with its reorder policy and backorders."""

    def __init__(self, env: simpy.Environment, sku: str, index: int, spec: PartSpec,
                 unit_cost: float, rng: random.Random, log: EventLog) -> None:
        self.env = env
        self.sku = sku
        self.index = index
        self.spec = spec
        self.unit_cost = unit_cost
        self.rng = rng
        """Draws supplier lead times (a stream of its own: see streams.py)."""
        self.log = log
        self.on_hand = spec.initial
        self.on_order = 0
        self.pipeline: list[list[float]] = []
        """[arrival minute, units] of each supplier order on its way."""
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
        self.ordered_units = 0
        """Units ordered from the supplier so far (policy and team orders)."""
        self.held_unit_minutes = 0.0
        self._held_at = 0.0
        """Units on the shelf integrated over time (the holding cost's base), up to
        `_held_at`."""

    def start(self) -> None:
        """Continuous review starts at time 0: a shelf that starts low orders at once (after
        the run's opening snapshot, so the order is the run's to pay for)."""
        if self.spec.lead_time is not None:
            self._reorder(0)

    @property
    def position(self) -> int:
        return self.on_hand + self.on_order + self.in_transfer - self.backordered

    def take(self, qty: int, filled: Callable[[], None]) -> bool:
        """Take `qty` units; True if on the shelf now, else `filled()` is called when they are."""
        self.demand_units += qty
        if self.on_hand >= qty and not self.backorders:
            self._hold()
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
        if policy.type == "base_stock":  # up to the level: one for each taken, once there
            self._order(policy.level - self.position)  # type: ignore[operator]
        elif policy.type == "sS":
            if self.position <= policy.s:  # type: ignore[operator]
                self._order(policy.S - self.position)  # type: ignore[operator]
        elif policy.type == "sQ":
            short = policy.s - self.position  # type: ignore[operator]
            if short >= 0:  # as many batches of Q as it takes to rise above s
                self._order((short // policy.Q + 1) * policy.Q)  # type: ignore[operator]

    def order(self, qty: int) -> None:
        """Order `qty` units from the supplier now, beyond the reorder policy (a team's
        decision); they arrive after a lead time drawn like any other."""
        self._order(qty)

    def _order(self, qty: int) -> None:
        if qty <= 0:
            return
        if self.spec.lead_time is None:
            raise ValueError(f"part {self.sku!r} has no supplier lead time in the scenario: "
                             "it cannot be ordered")
        self.on_order += qty
        self.ordered_units += qty
        lead = self.spec.lead_time.sample(self.rng)
        self.log.add(self.env.now, _ORDER, -1, self.index, qty, self.env.now + lead)
        entry = [self.env.now + lead, qty]
        self.pipeline.append(entry)
        self.env.timeout(lead).callbacks.append(partial(self._deliver, qty, True, entry))

    def enable_transfers(self) -> None:
        self.transfers_enabled = True
        if self.backorders:
            self._transfer()

    def _transfer(self) -> None:
        """Cover the backorders that what is on its way would not meet sooner: supplier
        deliveries due before a transfer could arrive count, later ones do not (a transfer
        exists to beat the supplier's lead time)."""
        horizon = self.env.now + self.spec.transfer_lead_time.wall_minutes
        sooner = sum(qty for at, qty in self.pipeline if at <= horizon)
        uncovered = self.backordered - sooner - self.in_transfer
        if uncovered <= 0:
            return
        self.in_transfer += uncovered
        self.transfers += 1
        self.transfer_cost += self.spec.transfer_cost
        self.log.add(self.env.now, _TRANSFER, -1, self.index, uncovered, self.spec.transfer_cost)
        lead = self.spec.transfer_lead_time.wall_minutes
        self.env.timeout(lead).callbacks.append(partial(self._deliver, uncovered, False, None))

    def _deliver(self, qty: int, supplier: bool, entry: list[float] | None,
                 _: simpy.Event) -> None:
        """Units ordered from the supplier (or transferred) arrive after their lead time."""
        if supplier:
            self.on_order -= qty
            self.pipeline.remove(entry)
        else:
            self.in_transfer -= qty
        self.receive(qty)

    def receive(self, qty: int) -> None:
        self._hold()
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
        self._hold()
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

    def _hold(self) -> None:
        """Account the units on the shelf up to now (before they change)."""
        now = self.env.now
        self.held_unit_minutes += self.on_hand * (now - self._held_at)
        self._held_at = now

    def close(self) -> None:
        """Account stock-out and holding time up to now (the end of the run, or a window's
        edge)."""
        self._hold()
        if self._out_since is not None:
            self.out_minutes += self.env.now - self._out_since
            self._out_since = self.env.now

    def totals(self) -> dict[str, float]:
        """The running totals up to now, a stock-out in progress included."""
        self.close()
        return {name: float(getattr(self, name)) for name in STOCK_TOTALS}
