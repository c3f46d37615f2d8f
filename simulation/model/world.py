"""The SimPy model: incidents walk their playbooks against staff on shift and parts on the shelf.

`run(loaded, seed)` is the whole model: a pure function of the scenario and the seed. Each
incident asks the playbook runtime what to do next: work to be done (parts from stock, then a
member of staff of a role for a sampled duration), or a wait for a deadline or an outside
event. A case is not a SimPy process but a chain of callbacks on SimPy's event calendar (the
arrival, the end of each job), which costs a fraction of a generator per case; deadlines wait
in one timer heap (`timers.py`). Every change is written to the event log; metrics are
computed from it.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate
from functools import partial
from typing import Callable, Iterator, Sequence, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import simpy

from incidents.distributions import Distribution
from incidents.model import Incident, Tier
from playbooks.effects import (Arm, Breached, Cancel, Closed, Escalated, LevelChanged,
                               MessageOwed, MilestoneMet, Revoked, Transitioned, Unlocked,
                               WorkRequested)
from playbooks.emergency import EmergencyRuntime
from playbooks.runtime import Case, Runtime, Step
from simulation.model.arrivals import _offset, draw_arrivals
from simulation.model.eventlog import CaseTable, EventLog
from simulation.scenario.loader import LoadedScenario
from simulation.model.policies import Policy, make_policy
from simulation.model.resources import RoleQueue, StaffPool, Stock, request_role, weekly_profile
from simulation.scenario.model import Demand, Inject, Surge
from simulation.model.timers import TimerWheel
from simulation.model.world_events import (count_since, inject_process, shift_process,
                                           signal_process)

__all__ = ["Results", "World", "run"]

_C = EventLog.code
OPENED, STATE, ASSIGNED, WORK_DONE, PARTS_WAIT = (_C("opened"), _C("state"), _C("assigned"),
                                                  _C("work_done"), _C("parts_wait"))
MILESTONE, BREACH, ESCALATED, OWED, SENT = (_C("milestone"), _C("breach"), _C("escalated"),
                                            _C("message_owed"), _C("message_sent"))
CLOSED, LEVEL, UNLOCK, COMPLAINT = _C("closed"), _C("level"), _C("unlock"), _C("complaint")
SIGNAL, INJECT = _C("signal"), _C("inject")
TIERS = ("VIP", "tier1", "tier2")
TIER_INDEX = {Tier.VIP: 0, Tier.TIER1: 1, Tier.TIER2: 2}
T = TypeVar("T")


def _draw(items: Sequence[T], cumulative: list[float], rng: random.Random) -> T:
    """One of `items`, weighted by their `cumulative` weights: what `random.choices` does with
    `cum_weights` (the same draws from the same generator), without its per-call set-up."""
    return items[min(bisect(cumulative, rng.random() * cumulative[-1]), len(items) - 1)]


@dataclass
class Results:
    """What one replication produced: the event log, the case table and resource totals."""

    scenario: LoadedScenario
    seed: int
    log: EventLog
    cases: CaseTable
    kinds: tuple[str, ...]
    pools: dict[str, dict[str, float]]
    stock: dict[str, dict[str, float]]
    horizon: float
    end: float
    warmup: float
    arrivals: int
    open_at_end: int = 0
    extra: dict[str, float] = field(default_factory=dict)


class World:
    """Everything one replication shares: clock, randomness, runtimes, staff, stock, log."""

    def __init__(self, loaded: LoadedScenario, seed: int, policy: Policy | None = None) -> None:
        sc = loaded.scenario
        self.loaded = loaded
        self.env = simpy.Environment()
        seeds = np.random.SeedSequence(seed).spawn(2)
        self.np_rng = np.random.Generator(np.random.PCG64(seeds[0]))
        self.rng = random.Random(int(seeds[1].generate_state(1)[0]))
        self.log = EventLog()
        self.push = self.log.push
        self.names = self.log.names
        self.table = CaseTable()
        self.kinds = tuple(loaded.mix)
        self.runtimes = {k: Runtime(pb, epoch=sc.start) for k, pb in loaded.playbooks.items()}
        lead = self.lead = loaded.playbooks[self.kinds[0]]
        emergency = EmergencyRuntime(lead, epoch=sc.start) if lead.emergency.levels else None
        self.policy = policy or make_policy(sc.policy, emergency)
        self.key = {k: self.policy.priority(tuple(pb.resources.priority))
                    for k, pb in loaded.playbooks.items()}
        """kind -> sort key of its waiting work (smaller first)."""
        self.cases: list[Case | None] = []
        self.case_kind: list[str] = []
        self.timers = TimerWheel(self.env, self._expire)
        self.version: list[int] = []
        self.open_count = 0
        self.escalated_open = 0
        self.arrival_times: list[float] = []
        self.breach_times: list[float] = []
        self.complaint_times: list[float] = []
        self.complained: set[int] = set()
        self.slowdown_until = -1.0
        self.slowdown = 1.0
        self.seq = 0
        local = sc.start.astimezone(ZoneInfo(loaded.calendar.timezone))
        self.week_minute = (local.weekday() * 1440 + local.hour * 60 + local.minute
                            + local.second / 60)
        """The local minute of the week (calendar time zone) at model minute 0."""
        self._last_arrivals = 0
        self._build_staff()
        self._build_stock()
        self._state_index = {k: {s: self.names(s) for s in pb.lifecycle.states}
                             for k, pb in loaded.playbooks.items()}
        self._outcomes = {k: {s: (list(st.outcomes),
                                  list(accumulate(o.p for o in st.outcomes.values())))
                              for s, st in pb.lifecycle.states.items() if st.outcomes}
                          for k, pb in loaded.playbooks.items()}
        """kind -> state -> (outcome triggers, cumulative probabilities)."""
        self._events = {k: self._scheduled_events(k) for k in self.kinds}
        self.part_p = {k: dict(e.parts) for k, e in loaded.mix.items()}
        self._codes: dict[int, tuple] = {}
        """id(prebuilt effect) -> (the effect, kept alive; its interned codes...)."""
        self._work: dict[int, tuple] = {}
        """id(prebuilt WorkRequested) -> its job record (`_job`), which keeps it alive."""
        self.templates = {k: Incident.model_construct(
            id="", kind=k, title="", customer="", tier=Tier.TIER2, severity=e.severity,
            channel="phone", region=e.region, product="", sku="", batch="",
            opened_at=sc.start, affected_customers=1) for k, e in loaded.mix.items()}
        self._kind = {k: (i, self.names(k), self.runtimes[k],
                          (tuple(range(len(e.products))),
                           list(accumulate(x.share for x in e.products))) if e.products else None)
                      for i, (k, e) in enumerate(loaded.mix.items())}
        """kind -> (index, name code, runtime, (product numbers, cumulative shares) or None):
        what opening a case of the kind needs, looked up once."""
        self._incidents: dict[tuple, Incident] = {}
        """(kind, tier, product number, customer) -> the incident record those cases share."""

    # -- construction ------------------------------------------------------------------------
    def _build_staff(self) -> None:
        self.pools: dict[str, StaffPool] = {}
        self.roles: dict[str, RoleQueue] = {}
        for i, (name, spec) in enumerate(self.loaded.staffing.items()):
            pool = StaffPool(self.env, name, self.names(name), spec, self.log)
            self.pools[name] = pool
            for role in spec.roles:
                queue = self.roles.setdefault(role, RoleQueue(role))
                queue.pools.append(pool)
                pool.queues.append(queue)
            self.env.process(shift_process(self.env, pool, weekly_profile(spec), self.week_minute))

    def _build_stock(self) -> None:
        self.stock: dict[str, Stock] = {}
        costs: dict[str, float] = {}
        for pb in self.loaded.playbooks.values():
            for sku, part in pb.parts.items():
                costs.setdefault(sku, part.unit_cost)
        for sku, spec in self.loaded.scenario.parts.items():
            cost = spec.unit_cost if spec.unit_cost is not None else costs.get(sku, 0.0)
            self.stock[sku] = Stock(self.env, sku, self.names(sku), spec, cost, self.sample,
                                    self.log)

    def _scheduled_events(self, kind: str) -> dict[str, list[tuple[str, Distribution]]]:
        """state -> [(trigger, delay distribution)] for the outside events the scenario fires."""
        events = self.loaded.mix[kind].events
        out: dict[str, list[tuple[str, Distribution]]] = {}
        for state, st in self.loaded.playbooks[kind].lifecycle.states.items():
            hits = [(t, events[t]) for t in st.on if t in events]
            if hits:
                out[state] = hits
        return out

    def sample(self, dist: Distribution) -> float:
        return dist.sample(self.rng)

    # -- incidents ---------------------------------------------------------------------------
    def start_arrivals(self, times: np.ndarray) -> None:
        """Open each incident at its time: one SimPy timeout per distinct arrival time,
        chained by callbacks (a generator process would cost a resume per arrival)."""
        mix = self.loaded.mix
        self._times = times.tolist()
        self._next, self._count = 0, len(self._times)
        many = len(self.kinds) > 1
        self._kind_cum = list(accumulate(mix[k].share for k in self.kinds)) if many else None
        self._tier_cum = {k: (list(mix[k].tiers), list(accumulate(mix[k].tiers.values()))
                              if len(mix[k].tiers) > 1 else None) for k in self.kinds}
        if self._times:
            self.env.timeout(max(self._times[0], 0.0)).callbacks.append(self._arrive)

    def _arrive(self, _: simpy.Event) -> None:
        env, times, rng = self.env, self._times, self.rng
        now, i = env.now, self._next
        n = self._count
        kinds, kind_cum, tier_cum = self.kinds, self._kind_cum, self._tier_cum
        while True:  # the arrival this timeout was for, and any others due by now
            i += 1
            kind = kinds[0] if kind_cum is None else _draw(kinds, kind_cum, rng)
            tiers, cum = tier_cum[kind]
            tier = tiers[0] if cum is None else _draw(tiers, cum, rng)
            self.open_case(kind, tier, now)
            if i == n or times[i] > now:
                break
        self._next = i
        if i < n:
            env.timeout(times[i] - now).callbacks.append(self._arrive)
        if len(self.log.buffer) > EventLog.FLUSH_AT:
            self.log.flush()

    def open_case(self, kind: str, tier: Tier, now: float, customer: str = "",
                  origin: int = -1) -> int:
        index, code, runtime, products = self._kind[kind]
        cid = len(self.case_kind)
        product = -1 if products is None else _draw(products[0], products[1], self.rng)
        incident = (self._incidents.get((kind, tier, product, customer))
                    or self._incident(kind, tier, product, customer))
        self.cases.append(None)
        self.case_kind.append(kind)
        self.version.append(0)
        tier_index = TIER_INDEX[tier]
        self.table.add(index, tier_index, now)
        self.push((now, OPENED, cid, code, tier_index, 0.0))
        self.arrival_times.append(now)
        self.open_count += 1
        if origin >= 0:
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

    # -- work: parts, then staff, then time; all callbacks on SimPy's event calendar ---------
    def start(self, cid: int, kind: str, work: WorkRequested, now: float) -> None:
        """The case needs `work` done now: take its parts, then wait for a member of staff."""
        if work.parts:
            self._parts(cid, kind, work, 0, self.version[cid])
        else:
            self._request(cid, kind, work, self.version[cid], now)

    def _parts(self, cid: int, kind: str, work: WorkRequested, i: int, version: int) -> None:
        parts = work.parts
        override = self.part_p[kind]
        while i < len(parts):
            sku, qty, p = parts[i]
            i += 1
            stock = self.stock.get(sku)
            if stock is None or self.rng.random() >= override.get(sku, p):
                continue  # not needed this time, or no stock kept (treated as unlimited)
            since = self.env.now
            resume = partial(self._parts_arrived, cid, kind, work, i, version, stock.index,
                             qty, since)
            if not stock.take(qty, resume):
                return  # backordered: resumes when the units arrive
        self._request(cid, kind, work, version, self.env.now)

    def _parts_arrived(self, cid: int, kind: str, work: WorkRequested, i: int, version: int,
                       sku: int, qty: int, since: float) -> None:
        self.push((self.env.now, PARTS_WAIT, cid, sku, qty, self.env.now - since))
        self._parts(cid, kind, work, i, version)

    def _job(self, kind: str, work: WorkRequested) -> tuple:
        """What starting and finishing a prebuilt WorkRequested needs, looked up once:
        (work, kind, state code, role queue, duration sampler, outcome triggers, their
        cumulative probabilities, runtime)."""
        triggers, cumulative = self._outcomes[kind][work.state]
        job = self._work[id(work)] = (work, kind, self._state_index[kind][work.state],
                                      self.roles[work.role], work.duration.sample, triggers,
                                      cumulative, self.runtimes[kind])
        return job

    def _request(self, cid: int, kind: str, work: WorkRequested, version: int,
                 now: float) -> None:
        """Start the work with a free member of a pool filling its role, or queue it.

        The priority key is computed only when the job has to wait."""
        job = self._work.get(id(work)) or self._job(kind, work)
        queue = job[3]
        for pool in queue.pools:
            if pool.busy < pool.capacity:
                pool.busy += 1
                self._begin(cid, job, version, now, pool, now)
                return
        self.seq += 1
        heapq.heappush(queue.heap, (self.key[kind](self.cases[cid]), self.seq,
                                    partial(self._begin, cid, job, version, now)))

    def _begin(self, cid: int, job: tuple, version: int, asked: float, pool: StaffPool,
               now: float = -1.0) -> None:
        if now < 0:  # started later by a pool's dispatch, not at once by `_request`
            now = self.env.now
        if self.version[cid] != version:  # moved on (a timer) while it waited for staff
            pool.give_back()
            return
        self.push((now, ASSIGNED, cid, pool.index, job[2], now - asked))
        minutes = job[4](self.rng)
        if now < self.slowdown_until:
            minutes *= self.slowdown
        pool.started_sum += now
        self.env.timeout(minutes).callbacks.append(
            partial(self._done, cid, job, version, pool, minutes))

    def _done(self, cid: int, job: tuple, version: int, pool: StaffPool, minutes: float,
              _: simpy.Event) -> None:
        now = self.env.now
        pool.finished(now, minutes)
        self.push((now, WORK_DONE, cid, pool.index, job[2], minutes))
        case = self.cases[cid]
        if self.version[cid] != version or case is None:
            return  # a timer moved the case meanwhile; whoever moved it started the new work
        _, kind, _, _, _, triggers, cumulative, runtime = job
        trigger = triggers[0] if len(triggers) == 1 else _draw(triggers, cumulative, self.rng)
        nxt = self.apply(cid, runtime.fire(case, trigger, now), now)
        if nxt is not None:
            self.start(cid, kind, nxt, now)

    # -- effects -----------------------------------------------------------------------------
    def apply(self, cid: int, step: Step, now: float) -> WorkRequested | None:
        """Carry out a step's effects at minute `now` (the clock, passed down rather than read
        again); return the work the case now needs, if any."""
        case = step.case
        self.cases[cid] = case
        push = self.push
        kind = self.case_kind[cid]
        work = None
        for e in step.effects:
            t = type(e)
            if t is Transitioned:
                self.version[cid] += 1  # work in progress for the old state is now moot
                codes = self._codes.get(id(e))
                if codes is None:  # effects are prebuilt and long-lived: code each once
                    codes = self._codes[id(e)] = (e, self._state_index[kind][e.dest],
                                                  self.names(e.trigger),
                                                  self._events[kind].get(e.dest))
                _, dest, trig, events = codes
                push((now, STATE, cid, dest, trig, 0.0))
                if events:
                    for trigger, delay in events:
                        self._schedule_event(cid, trigger, now + delay.sample(self.rng))
            elif t is WorkRequested:
                work = e
            elif t is Arm:
                self.timers.arm(cid, e.key, e.due)
            elif t is Cancel:
                self.timers.cancel(cid, e.key)
            elif t is Closed:
                push((now, CLOSED, cid, self._state_index[kind][e.state], 0, now - case.opened))
                self.table.closed[cid] = now
                self.open_count -= 1
                if self.table.level[cid] > 0:
                    self.escalated_open -= 1
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
            elif t is MessageOwed:
                self.owe(cid, e, TIER_INDEX[case.incident.tier])
        if case.closed:
            self.cases[cid] = None  # the log and the case table keep all the metrics need
        return work

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

        self.env.timeout(at - self.env.now).callbacks.append(fire)

    def _wake(self, cid: int, work: WorkRequested | None, now: float) -> None:
        if work is not None:
            self.start(cid, self.case_kind[cid], work, now)

    def _maybe_complain(self, cid: int, case: Case) -> None:
        rule = self.loaded.scenario.complaints
        if rule.probability <= 0 or cid in self.complained or rule.kind not in self.loaded.mix:
            return
        if self.case_kind[cid] == rule.kind:
            return  # a complaint about a complaint is the same complaint
        if self.rng.random() < rule.probability:
            self.complained.add(cid)
            self.open_case(rule.kind, case.incident.tier, self.env.now, case.incident.customer,
                           origin=cid)

    # -- messages and emergency levels -------------------------------------------------------
    def owe(self, cid: int, msg: MessageOwed, tier_rank: int) -> None:
        self.log.add(self.env.now, OWED, cid, self.names(msg.obligation),
                     self.names(msg.audience), msg.due)
        role = self.loaded.scenario.messages.role
        if role is None or role not in self.roles:
            self.log.add(self.env.now, SENT, cid, self.names(msg.obligation), 1, msg.due)
            return
        self.seq += 1
        request_role(self.roles[role], (-9, tier_rank, msg.due), self.seq,
                     partial(self._write, cid, msg))

    def _write(self, cid: int, msg: MessageOwed, pool: StaffPool) -> None:
        """Somebody of the messaging role writes the message; late if after its due time."""
        minutes = self.sample(self.loaded.scenario.messages.duration)
        pool.started_sum += self.env.now
        self.env.timeout(minutes).callbacks.append(partial(self._sent, cid, msg, pool, minutes))

    def _sent(self, cid: int, msg: MessageOwed, pool: StaffPool, minutes: float,
              _: simpy.Event) -> None:
        pool.finished(self.env.now, minutes)
        self.log.add(self.env.now, SENT, cid, self.names(msg.obligation),
                     int(self.env.now <= msg.due), msg.due)

    def signals(self) -> dict[str, float]:
        """The aggregate signals emergency levels react to, measured now."""
        now = self.env.now
        return {
            "open_backlog": float(self.open_count),
            "arrivals_per_hour": float(count_since(self.arrival_times, now, 60.0)),
            "sla_breaches_24h": float(count_since(self.breach_times, now, 1440.0)),
            "stock_outs": float(sum(1 for s in self.stock.values() if s.on_hand == 0)),
            "complaints_24h": float(count_since(self.complaint_times, now, 1440.0)),
            "escalated_cases": float(self.escalated_open),
        }

    def on_signal(self) -> None:
        """A signal interval has passed: measure, log, and let the policy decide."""
        now = self.env.now
        measured = self.signals()
        arrived = len(self.arrival_times) - self._last_arrivals
        self._last_arrivals = len(self.arrival_times)
        self.log.add(now, SIGNAL, -1, self.open_count, arrived, measured["sla_breaches_24h"])
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
        now = self.env.now
        for e in effects:
            if isinstance(e, LevelChanged):
                self.log.add(now, LEVEL, -1, self.names(e.dest), self.names(e.source))
            elif isinstance(e, Unlocked):
                self.log.add(now, UNLOCK, -1, self.names(e.resource), e.headcount, e.available_at)
                self.env.process(self._unlock(e))
            elif isinstance(e, Revoked):
                self.log.add(now, UNLOCK, -1, self.names(e.resource), -1, now)
                self._revoke(e)
            elif isinstance(e, MessageOwed):
                self.owe(-1, e, 0)

    def _unlock(self, e: Unlocked) -> Iterator[simpy.Event]:
        yield self.env.timeout(max(e.available_at - self.env.now, 0.0))
        if e.resource == "overtime":
            for pool in self.pools.values():
                if e.pool in (None, pool.name):
                    pool.overtime = True
        elif e.resource == "contractors":
            pools = [p for p in self.pools.values()
                     if p.spec.contractor and self._serves(p, e.pool)]
            for pool in pools:
                self.env.process(self._activate(pool))
        elif e.resource == "parts_transfer":
            for stock in self.stock.values():
                stock.enable_transfers()

    def _serves(self, pool: StaffPool, target: str | None) -> bool:
        """Whether an unlock naming `target` (a playbook pool, or a scenario pool) covers it."""
        if target is None or target == pool.name:
            return True
        playbook_pool = self.lead.resources.pools.get(target)
        return playbook_pool is not None and playbook_pool.role in pool.spec.roles

    def _activate(self, pool: StaffPool) -> Iterator[simpy.Event]:
        delay = pool.spec.activation_delay.wall_minutes
        if delay:
            yield self.env.timeout(delay)
        pool.set_active(True)

    def _revoke(self, e: Revoked) -> None:
        if e.resource == "overtime":
            for pool in self.pools.values():
                pool.overtime = False
        elif e.resource == "contractors":
            for pool in self.pools.values():
                if pool.spec.contractor:
                    pool.set_active(False)
        elif e.resource == "parts_transfer":
            for stock in self.stock.values():
                stock.transfers_enabled = False


def run(loaded: LoadedScenario, seed: int = 1, *, policy: Policy | None = None) -> Results:
    """Simulate one replication of a scenario; the same seed gives the same results."""
    sc = loaded.scenario
    world = World(loaded, seed, policy)
    horizon = sc.horizon.wall_minutes
    end = horizon + sc.drain.wall_minutes
    if loaded.replay is not None:
        times = np.asarray(loaded.replay, dtype=float)
    else:
        spikes = [Surge(kind="step", start=i.at, factor=i.factor, duration=i.duration)
                  for i in sc.injects if i.kind == "demand_spike"]
        demand = sc.demand if sc.queue is None else Demand(base_rate=sc.queue.arrival_rate)
        times = draw_arrivals(demand, horizon, sc.start, ZoneInfo(loaded.calendar.timezone),
                              world.np_rng, spikes)
    world.start_arrivals(times)
    world.env.process(signal_process(world.env, sc.signal_interval.wall_minutes, end,
                                     world.on_signal))
    for i, inject in enumerate(sc.injects):
        world.env.process(inject_process(world.env, _offset(inject.at, sc.start),
                                         inject.duration.wall_minutes,
                                         partial(world.inject, i, inject)))
    world.env.run(until=end)
    world.log.flush()
    for pool in world.pools.values():
        pool.close()
    for stock in world.stock.values():
        stock.close()
    return Results(
        scenario=loaded, seed=seed, log=world.log, cases=world.table, kinds=world.kinds,
        pools={n: {"busy_minutes": p.busy_minutes, "capacity_minutes": p.capacity_minutes,
                   "overtime_minutes": p.overtime_minutes,
                   "wage_per_hour": p.spec.wage_per_hour, "contractor": float(p.spec.contractor)}
               for n, p in world.pools.items()},
        stock={s: {"demand_units": st.demand_units, "filled_units": st.filled_units,
                   "consumed_units": st.consumed_units, "out_minutes": st.out_minutes,
                   "on_hand": st.on_hand, "transfers": st.transfers,
                   "transfer_cost": st.transfer_cost, "unit_cost": st.unit_cost,
                   "initial": st.spec.initial,
                   "reorder_point": float(st.spec.policy.s if st.spec.policy.s is not None
                                          else (st.spec.policy.level or 0))}
               for s, st in world.stock.items()},
        horizon=horizon, end=end, warmup=sc.warmup.wall_minutes, arrivals=len(times),
        open_at_end=world.open_count)
