"""The operation around the cases: messages, signals, emergency levels, injects.

Part of the World (a mixin like `work.py`, so `self` is the world): owed messages are
written by the messaging role (or, operation-wide ones, left to a drill team that sends
them itself); every signal interval the world measures the aggregate signals and its policy
decides on the emergency level, whose unlocks `unlocks.py` carries out; scenario injects
and a drill's inject effects change the world at their minute.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import partial
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

import numpy as np
import simpy

from playbooks.effects import LevelChanged, MessageOwed, Revoked, Unlocked
from simulation.model.arrivals import rate_at
from simulation.model.clock import Call, call_in
from simulation.model.eventlog import EventLog
from simulation.model.staff import StaffPool, request_staff
from simulation.model.streams import Rows, pick
from simulation.scenario.model import Inject

if TYPE_CHECKING:
    from simulation.scenario.drill import InjectEffect

__all__ = ["Operation", "UNOWED"]

_C = EventLog.code
OWED, SENT, LEVEL, SIGNAL = _C("message_owed"), _C("message_sent"), _C("level"), _C("signal")
INJECT, MSEL, WITHDRAWN = _C("inject"), _C("msel"), _C("message_withdrawn")
UNOWED = 2
"""`message_sent`'s b for a message nobody owed (sent on a team's own initiative): neither
on time nor late, and never counted against what was owed."""
EFFECT_STREAM = 1000
"""Spawn keys of a drill inject's own random streams: (EFFECT_STREAM + its number, k)."""


class Operation:
    """The operation half of the World (see the module docstring)."""

    # -- messages ----------------------------------------------------------------------------
    def owe(self, cid: int, msg: MessageOwed, tier_rank: int) -> None:
        now = self.env._now  # noqa: SLF001
        self.push((now, OWED, cid, self.names(msg.obligation), self.names(msg.audience),
                   msg.due))
        if cid < 0 and not self.policy.routine_operation_messages:
            self.operation_owed.append((msg, now))  # the team sends these itself
            return
        if self.message_queue is None:
            self.push((now, SENT, cid, self.names(msg.obligation), 1, msg.due))
            return
        self.seq += 1
        request_staff(self.message_queue, (-9, tier_rank, msg.due), self.seq,
                      partial(self._write, cid, msg))

    def send_operation_message(self, obligation: str, audience: str, due: float | None) -> None:
        """A team sent an operation-wide message now: it meets the oldest owed message of
        that obligation (on time if by `due`); with `due` None nobody owed it, it was sent on
        the team's own initiative (logged with due = now and never counted as owed)."""
        now = self.env.now
        for i, (m, _) in enumerate(self.operation_owed):
            if m.obligation == obligation:
                del self.operation_owed[i]
                break
        self.log.add(now, SENT, -1, self.names(obligation),
                     UNOWED if due is None else int(now <= due), due if due is not None else now)

    def withdraw_operation_message(self, msg: MessageOwed) -> None:
        """An owed operation-wide message is no longer owed (the level that made it owed was
        lowered before it was sent): it leaves the team's list and is logged as withdrawn."""
        self.operation_owed = [(m, t) for m, t in self.operation_owed if m is not msg]
        self.log.add(self.env.now, WITHDRAWN, -1, self.names(msg.obligation),
                     self.names(msg.audience), msg.due)

    def _write(self, cid: int, msg: MessageOwed, pool: StaffPool) -> None:
        """Somebody of the messaging role writes the message; late if after its due time."""
        minutes = self.loaded.scenario.messages.duration.sample(self.streams.messages)
        pool.started_sum += self.env._now  # noqa: SLF001
        call_in(self.env, minutes, partial(self._sent, cid, msg, pool, minutes))

    def _sent(self, cid: int, msg: MessageOwed, pool: StaffPool, minutes: float,
              _: Call) -> None:
        now = self.env._now  # noqa: SLF001
        pool.finished(now, minutes)
        self.push((now, SENT, cid, self.names(msg.obligation), int(now <= msg.due), msg.due))

    # -- signals, injects, emergency levels --------------------------------------------------
    def signals(self) -> dict[str, float]:
        """The aggregate signals emergency levels react to, measured now."""
        now = self.env.now
        for times, window in ((self.breach_times, 1440.0), (self.complaint_times, 1440.0)):
            while times and times[0] < now - window:
                times.popleft()
        opened = self.table.opened  # in opening order, so sorted: no record per arrival
        return {
            "open_backlog": float(self.open_count),
            "arrivals_per_hour": float(len(opened) - bisect_left(opened, now - 60.0)),
            "sla_breaches_24h": float(len(self.breach_times)),
            "stock_outs": float(sum(1 for s in self.stock.values() if s.on_hand == 0)),
            "complaints_24h": float(len(self.complaint_times)),
            "escalated_cases": float(self.escalated_open),
        }

    def on_signal(self) -> None:
        """A signal interval has passed: measure, log, and let the policy decide."""
        now = self.env.now
        measured = self.signals()
        opened = len(self.case_kind)  # every case opened, complaints included
        arrived, self._last_arrived = opened - self._last_arrived, opened
        self.log.add(now, SIGNAL, -1, self.open_count, arrived, measured["sla_breaches_24h"])
        if not self.frozen:
            self.emergency_effects(self.policy.on_signals(measured, now))
        if len(self.log.buffer) > EventLog.FLUSH_AT:  # arrivals flush too, but may have ended
            self.log.flush()

    def inject(self, index: int, inject: Inject) -> Callable[[], None] | None:
        """An inject comes due: change the world; return how to undo it after its duration,
        if it lasts. Demand spikes are part of the arrivals (drawn up front): only logged."""
        self.log.add(self.env.now, INJECT, -1, index)
        if inject.kind == "staff_absence":
            pool = self.pools[inject.pool]  # type: ignore[index]
            pool.set_absent(pool.absent + inject.headcount)
            return partial(self._back, pool, inject.headcount)
        if inject.kind == "stock_loss":
            self.stock[inject.sku].lose(inject.qty)  # type: ignore[index]
        elif inject.kind == "crm_outage":
            self.slowdown = inject.slowdown
            self.slowdown_until = self.env.now + inject.duration.wall_minutes
        return None

    @staticmethod
    def _back(pool: StaffPool, headcount: int) -> None:
        pool.set_absent(max(0, pool.absent - headcount))

    def emergency_effects(self, effects: tuple) -> None:
        """Carry out what an emergency-level change means: log it, grant or take back
        unlocks (unlocks.py), owe the operation-wide messages."""
        now = self.env.now
        for e in effects:
            if isinstance(e, LevelChanged):
                self.log.add(now, LEVEL, -1, self.names(e.dest), self.names(e.source))
            elif isinstance(e, (Unlocked, Revoked)):
                self.unlocks.apply(e)
            elif isinstance(e, MessageOwed):
                self.owe(-1, e, 0)

    # -- drill injects -----------------------------------------------------------------------
    def apply_effect(self, number: int, effect: InjectEffect | None) -> None:
        """A drill inject (number `number` of the drill's list) fires now: log it and change
        the world as its effect says. Random draws come from streams of the inject's own
        (its number, not the order of firing), so the same inject fired at the same minute
        does the same thing in a team's run and in its counterfactuals."""
        world: Any = self
        now = world.env.now
        world.log.add(now, MSEL, -1, number)
        if effect is None:
            return
        if effect.kind == "demand_spike":
            self._extra_arrivals(number, effect.factor - 1.0, effect.duration.wall_minutes)
        elif effect.kind == "staff_absence":
            pool = world.pools[effect.pool]
            pool.set_absent(pool.absent + effect.headcount)
            world.env.timeout(effect.duration.wall_minutes).callbacks.append(
                lambda _: self._back(pool, effect.headcount))
        elif effect.kind == "stock_loss":
            world.stock[effect.sku].lose(effect.qty)
        elif effect.kind == "crm_outage":
            world.slowdown = effect.slowdown
            world.slowdown_until = now + effect.duration.wall_minutes
        elif effect.kind == "complaint":
            rows = Rows(np.random.SeedSequence(world.seed, spawn_key=(EFFECT_STREAM + number, 0)),
                        world.row_width)
            world.open_case(self._effect_kind(effect), effect.tier, now, rows.take(),
                            effect.customer)

    def _effect_kind(self, effect: InjectEffect) -> str:
        world: Any = self
        if effect.case_kind is not None:
            return effect.case_kind
        complaints = world.loaded.scenario.complaints.kind
        return complaints if complaints in world.loaded.mix else world.kinds[0]

    def _extra_arrivals(self, number: int, excess: float, minutes: float) -> None:
        """More arrivals on top of the usual ones for `minutes`: the usual rate times
        `excess`, drawn by thinning (a superposed Poisson process, so the total is the rate
        times 1 + excess), each case drawn like any other."""
        world: Any = self
        sc = world.loaded.scenario
        now = world.env.now
        seq = np.random.SeedSequence(world.seed, spawn_key=(EFFECT_STREAM + number, 1))
        gen = np.random.Generator(np.random.PCG64(seq))
        demand = sc.arrival_demand()
        zone = ZoneInfo(world.loaded.calendar.timezone)
        grid = np.linspace(now, now + minutes, 200)
        bound = float(rate_at(demand, grid, sc.start, zone).max(initial=0.0)) * excess * 1.5
        if bound <= 0:
            return
        n = gen.poisson(bound * minutes / 60.0)
        times = np.sort(gen.uniform(now, now + minutes, n))
        keep = gen.uniform(0.0, bound, n) < rate_at(demand, times, sc.start, zone) * excess
        rows = Rows(np.random.SeedSequence(world.seed, spawn_key=(EFFECT_STREAM + number, 2)),
                    world.row_width)
        for at in times[keep].tolist():
            world.env.timeout(at - now).callbacks.append(partial(self._extra, rows))

    def _extra(self, rows: Rows, _: simpy.Event) -> None:
        world: Any = self
        if world.arrivals_closed:
            return
        row = rows.take()
        block, last = row[0], row[1] + world.row_width - 1
        kinds, kind_cum = world.kinds, world._kind_cum
        kind = kinds[0] if kind_cum is None else pick(kinds, kind_cum, block[last])
        tiers, cum = world._tier_cum[kind]
        world.open_case(kind, tiers[0] if cum is None else pick(tiers, cum, block[last - 1]),
                        world.env.now, row)
