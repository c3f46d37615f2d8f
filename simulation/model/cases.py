"""How a case moves: arrivals open it, the playbook runtime's steps are carried out on it.

Part of the World (a mixin like `work.py`, so `self` is the world). Arrivals are a chain of
light events on SimPy's queue (clock.py), one per distinct arrival time, over blocks of
arrival times (arrivals.py); each arrival takes its case's row of uniforms (streams.py) and
opens the case. `apply` carries out what a runtime step says (log the move, arm and cancel
deadlines, meet milestones, owe messages, close) and returns the work the case needs next.

Steps the runtime returns prebuilt (a quiet move: the move and the new state's work; a close
with nothing to cancel; an opening that arms nothing: `Runtime.prebuilt`) are the whole
story of a plain queue's case. Each such step is applied the general way the first time,
which interns its names in the order they are first logged, and then as a prepared program:
the move's codes, its outside events, its work, its close.
"""

from __future__ import annotations

from array import array
from heapq import heappush
from itertools import accumulate
from typing import Any, Iterable

import numpy as np
import simpy
from simpy.events import NORMAL

from incidents.model import Incident, Tier
from playbooks.effects import (Arm, Breached, Cancel, Closed, Deescalated, Escalated,
                               MessageOwed, MilestoneMet, Transitioned, WorkRequested)
from playbooks.runtime import Case, Step
from simulation.model.clock import Call, call_in
from simulation.model.eventlog import EventLog
from simulation.model.staff import WorkQueue
from simulation.model.streams import ATTRIBUTES, PATIENCE, pick
from simulation.scenario.dispatch import pool_skills

__all__ = ["Cases", "TIER_INDEX"]

_C = EventLog.code
OPENED, STATE, MILESTONE, BREACH = _C("opened"), _C("state"), _C("milestone"), _C("breach")
ESCALATED, CLOSED, COMPLAINT = _C("escalated"), _C("closed"), _C("complaint")
DEESCALATED = _C("deescalated")
TIER_INDEX = {Tier.VIP: 0, Tier.TIER1: 1, Tier.TIER2: 2}
NAN = float("nan")


class Cases:
    """The case half of the World (see the module docstring)."""

    # Attributes the World sets up (declared for readers and type checkers).
    env: simpy.Environment
    cases: list[Case | None]
    case_kind: list[str]
    version: list[int]
    blocks: list[array[float] | None]
    cursor: list[int]
    row_width: int
    waiting: dict[int, list[Any]]
    _codes: dict[int, tuple]
    _programs: dict[int, tuple]
    _prebuilt: frozenset[int]

    # -- arrivals and opening ---------------------------------------------------------------------------
    def start_arrivals(self, blocks: Iterable[np.ndarray]) -> None:
        """Open each incident at its time: one SimPy timeout per distinct arrival time,
        chained by callbacks (a generator process would cost a resume per arrival); the
        times come a block at a time (arrivals.py)."""
        mix = self.loaded.mix
        many = len(self.kinds) > 1
        self._kind_cum = list(accumulate(mix[k].share for k in self.kinds)) if many else None
        self._tier_cum = {k: (list(mix[k].tiers), list(accumulate(mix[k].tiers.values()))
                              if len(mix[k].tiers) > 1 else None) for k in self.kinds}
        self._blocks = iter(blocks)
        self._times: list[float] = []
        self._next = 0
        self._arrive_cbs = (self._arrive,)
        if self._refill():
            call_in(self.env, max(self._times[0], 0.0), self._arrive)

    def _refill(self) -> bool:
        """Move to the next block holding arrivals; False when there are no more."""
        for block in self._blocks:
            if block.size:
                self._times, self._next = block.tolist(), 0
                return True
        self._times, self._next = [], 0
        return False

    def _arrive(self, _: simpy.Event) -> None:
        if self.arrivals_closed:
            return
        now = self.env._now  # noqa: SLF001
        rows = self.streams.cases
        kinds, kind_cum, tier_cum = self.kinds, self._kind_cum, self._tier_cum
        width = self.row_width
        last = width - 1
        while True:  # the arrival this event was for, and any others due by now
            self._next += 1
            first = rows.next  # rows.take(), written out on the hot path
            if first == len(rows.block):
                first = rows.refill()
            rows.next = first + width
            block = rows.block
            row = (block, first)
            kind = kinds[0] if kind_cum is None else pick(kinds, kind_cum, block[first + last])
            tiers, cum = tier_cum[kind]
            self.open_case(kind, tiers[0] if cum is None else pick(tiers, cum,
                                                                   block[first + last - 1]),
                           now, row)
            if self._next == len(self._times) and not self._refill():
                break  # arrivals are over
            if self._times[self._next] > now:
                event = Call()  # call_at, written out: SimPy's place for now + delay
                event.callbacks = self._arrive_cbs
                env = self.env
                heappush(env._queue, (now + (self._times[self._next] - now), NORMAL,  # noqa
                                      next(env._eid), event))  # noqa: SLF001
                break
        if len(self.log.buffer) > EventLog.FLUSH_AT:
            self.log.flush()

    def open_case(self, kind: str, tier: Tier, now: float, row: tuple[array[float], int],
                  customer: str = "", origin: int = -1) -> int:
        """Open a case of `kind` and `tier` now; `row` is its row of uniforms (`Rows.take`:
        a block and the row's first index), the last ATTRIBUTES of them for its kind, tier
        and product."""
        index, code, runtime, products = self._kind[kind]
        cid = len(self.case_kind)
        block, first = row
        last = first + self.row_width - 1
        product = -1 if products is None else pick(products[0], products[1], block[last - 2])
        incident = (self._incidents.get((kind, tier, product, customer))
                    or self._incident(kind, tier, product, customer))
        self.cases.append(None)
        self.case_kind.append(kind)
        self.version.append(0)
        self.blocks.append(block)
        self.cursor.append(last - ATTRIBUTES)
        tier_index = TIER_INDEX[tier]
        table = self.table  # table.add(index, tier_index, now), written out
        table.kind.append(index)
        table.tier.append(tier_index)
        table.opened.append(now)
        table.closed.append(NAN)
        table.level.append(0)
        self.push((now, OPENED, cid, code, tier_index, 0.0))
        self.open_count += 1
        if origin >= 0:
            self.complaints_opened += 1
            self.push((now, COMPLAINT, cid, origin, 0, 0.0))
            self.complaint_times.append(now)
        work = self.apply(cid, runtime.open(incident, now), now)
        if work is not None:
            self.start(cid, kind, work, now)
        return cid

    def _incident(self, kind: str, tier: Tier, product: int, customer: str) -> Incident:
        """The incident record of cases of this kind, tier, product and customer.

        Cases with the same attributes share one immutable record, built the first time:
        everything the runtime reads of an incident (tier, severity, product...) is the same
        for them, and the case number, which the event log carries, tells them apart. A
        simulation opens hundreds of thousands of cases; a record each would cost more than
        the playbook steps they take."""
        entry = self.loaded.mix[kind]
        fields: dict[str, object] = {"tier": tier, "customer": customer}
        if product >= 0:
            p = entry.products[product]
            fields.update(product=p.name, sku=p.sku, batch=p.batch)
        fields["id"] = f"sim:{kind}:{tier.value}:{fields.get('sku') or '-'}"
        record = self._incidents[(kind, tier, product, customer)] = self.templates[
            kind].model_copy(update=fields)
        return record

    def u(self, cid: int) -> float:
        """The case's next uniform for a draw along its path (streams.py): its row from the
        end down to the patience slots, then the spill generator. Rows start at multiples of
        the row width in their block, so the cursor's place in its row is `k % width`."""
        k = self.cursor[cid]
        if k % self.row_width >= PATIENCE:
            self.cursor[cid] = k - 1
            return self.blocks[cid][k]  # type: ignore[index]
        return self.spill.random()

    def u_patience(self, cid: int) -> float:
        """The case's next uniform for a patience draw (its row's first slots)."""
        k = self.patience_drawn.get(cid, 0)
        if k < PATIENCE:
            self.patience_drawn[cid] = k + 1
            cursor = self.cursor[cid]
            return self.blocks[cid][cursor - cursor % self.row_width + k]  # type: ignore[index]
        return self.spill.random()

    # -- effects -----------------------------------------------------------------------------
    def apply(self, cid: int, step: Step, now: float) -> WorkRequested | None:
        """Carry out a step's effects at minute `now` (the clock, passed down rather than read
        again); return the work the case now needs, if any."""
        case = step.case
        self.cases[cid] = case
        effects = step.effects
        program = self._programs.get(id(effects))
        if program is not None:  # a prebuilt step seen before (module docstring)
            _, dest, trig, events, work, closed = program
            self.version[cid] += 1  # work in progress for the old state is now moot
            if self.waiting and cid in self.waiting:
                self.withdraw(cid)
            self.push((now, STATE, cid, dest, trig, 0.0))
            if events:
                for trigger, delay in events:
                    self._schedule_event(cid, trigger, now + delay.quantile(self.u(cid)))
            if closed >= 0:
                self._close(cid, case, now, closed)
                self._release(cid)
            return work
        push = self.push
        work = None
        for e in effects:
            t = type(e)
            if t is Transitioned:
                self.version[cid] += 1  # work in progress for the old state is now moot
                if self.waiting and cid in self.waiting:
                    self.withdraw(cid)
                codes = self._codes.get(id(e))
                if codes is None:  # effects are prebuilt and long-lived: code each once
                    kind = self.case_kind[cid]
                    codes = self._codes[id(e)] = (e, self._state_code(kind, e.dest),
                                                  self.names(e.trigger),
                                                  self._events[kind].get(e.dest))
                _, dest, trig, events = codes
                push((now, STATE, cid, dest, trig, 0.0))
                if events:
                    for trigger, delay in events:
                        self._schedule_event(cid, trigger, now + delay.quantile(self.u(cid)))
            elif t is WorkRequested:
                work = e
            elif t is Arm:
                self.timers.arm(cid, e.key, e.due)
            elif t is Cancel:
                self.timers.cancel(cid, e.key)
            elif t is Closed:
                codes = self._codes.get(id(e))
                if codes is None:  # prebuilt too (one per final state)
                    codes = self._codes[id(e)] = (e, self._state_code(self.case_kind[cid],
                                                                      e.state))
                self._close(cid, case, now, codes[1])
            elif t is MilestoneMet:
                push((now, MILESTONE, cid, self.names(e.milestone), int(e.on_time),
                      now - case.opened))
            elif t is Breached:
                push((now, BREACH, cid, self.names(e.milestone), 0, e.due))
                self.breach_times.append(now)
                self._maybe_complain(cid, case)
            elif t is Escalated:
                if case.level > 0 and self.table.level[cid] == 0:
                    self.escalated_open += 1
                self.table.level[cid] = case.level
                push((now, ESCALATED, cid, self.names(e.dest), self.names(e.source),
                      float(self.names(e.rule))))
                if self.waiting and cid in self.waiting:
                    self.requeue(cid, case)
            elif t is MessageOwed:
                self.owe(cid, e, TIER_INDEX[case.incident.tier])
            elif t is Deescalated:
                if case.level == 0 and self.table.level[cid] > 0:
                    self.escalated_open -= 1
                self.table.level[cid] = case.level
                push((now, DEESCALATED, cid, self.names(e.dest), self.names(e.source),
                      float(self.names(e.rule))))
                if self.waiting and cid in self.waiting:
                    self.requeue(cid, case)
        if case.closed:
            self._release(cid)
        if id(effects) in self._prebuilt:
            self._programs[id(effects)] = self._program(effects)
        return work

    def _program(self, effects: tuple) -> tuple:
        """A prebuilt step, applied once the general way (so its codes are interned), as
        (the step's effects, kept alive; state code, trigger code, outside events, work or
        None, closing state code or -1)."""
        _, dest, trig, events = self._codes[id(effects[0])]
        work = next((e for e in effects if type(e) is WorkRequested), None)
        closed = next((self._codes[id(e)][1] for e in effects if type(e) is Closed), -1)
        return effects, dest, trig, events, work, closed

    def _close(self, cid: int, case: Case, now: float, state: int) -> None:
        """The case closed now in the state coded `state`."""
        self.push((now, CLOSED, cid, state, 0, now - case.opened))
        self.table.closed[cid] = now
        self.open_count -= 1
        if self.open_count == 0 and self._cleared is not None and not self._cleared.triggered:
            self._cleared.succeed()
        if self.table.level[cid] > 0:
            self.escalated_open -= 1

    def _release(self, cid: int) -> None:
        """A closed case's objects go: the log and the case table keep all metrics need."""
        self.cases[cid] = None
        self.blocks[cid] = None
        self.cursor[cid] = 0  # a small int: no object kept per closed case
        if self.patience_drawn:
            self.patience_drawn.pop(cid, None)

    def _apply_watched(self, cid: int, step: Step, now: float) -> WorkRequested | None:
        """`apply`, and the case is marked changed (a drill's board redraws it)."""
        self.touched.add(cid)  # type: ignore[union-attr]
        return Cases.apply(self, cid, step, now)

    def queue_key(self, cid: int, kind: str, case: Case) -> Any:
        """The sort key of the case's waiting work: the policy's, behind a team's boost."""
        key = self.key[kind](case)
        return key if self.boost is None else (-self.boost(cid), key)

    def pinned_queue(self, cid: int, job: tuple) -> WorkQueue:
        """The queue of the pool a team moved the case to, if that pool may do this work
        (its role and skill; a team may override the playbook's `serves`); the work's own
        queue otherwise."""
        name = self.pinned.get(cid)
        work = job[0]
        pool = self.pools.get(name) if name is not None else None
        if pool is None or work.role not in pool.spec.roles or (
                work.skill is not None and work.skill not in pool_skills(
                    pool.name, pool.spec, self.loaded.playbooks)):
            return job[3]
        queue = self._solo.get(pool.name)
        if queue is None:
            queue = self._solo[pool.name] = WorkQueue(pool.name)
            queue.pools = [pool]
            pool.queues.append(queue)
        return queue

    def _state_code(self, kind: str, state: str) -> int:
        """The interned code of a state name (states outside the playbook, such as the
        `abandoned` of a case that gave up, are interned on first use)."""
        code = self._state_index[kind].get(state)
        if code is None:
            code = self._state_index[kind][state] = self.names(state)
        return code

    def _expire(self, cid: int, key: str) -> None:
        """A deadline came due (the timer wheel only calls for live ones)."""
        case = self.cases[cid]
        kind = self.case_kind[cid]
        now = self.env.now
        self._wake(cid, self.apply(cid, self.runtimes[kind].expire(case, key, now), now), now)

    def _schedule_event(self, cid: int, trigger: str, at: float) -> None:
        version = self.version[cid]

        def fire(_: simpy.Event) -> None:
            case = self.cases[cid]
            if self.version[cid] != version or case is None or case.closed:
                return  # the case moved on before the event came
            kind = self.case_kind[cid]
            now = self.env.now
            work = self.apply(cid, self.runtimes[kind].fire(case, trigger, now), now)
            self._wake(cid, work, now)

        call_in(self.env, at - self.env._now, fire)  # noqa: SLF001

    def _wake(self, cid: int, work: WorkRequested | None, now: float) -> None:
        if work is not None:
            self.start(cid, self.case_kind[cid], work, now)

    def _maybe_complain(self, cid: int, case: Case) -> None:
        rule = self.loaded.scenario.complaints
        if rule.probability <= 0 or cid in self.complained or rule.kind not in self.loaded.mix:
            return
        if self.case_kind[cid] == rule.kind:
            return  # a complaint about a complaint is the same complaint
        if self.streams.complain.random() < rule.probability:
            self.complained.add(cid)
            self.open_case(rule.kind, case.incident.tier, self.env.now,
                           self.streams.complaints.take(), case.incident.customer, origin=cid)
