"""The SimPy world: incidents walk their playbooks against staff on shift and parts on the shelf.

`run(loaded, seed)` is the whole model: a pure function of the scenario, the seed and the
policy. Each incident asks the playbook runtime what to do next: work to be done (parts from
stock, then a member of staff for a sampled duration, see `work.py`), or a wait for a
deadline or an outside event. A case is not a SimPy process but a chain of callbacks on
SimPy's event calendar (the arrival, the end of each job), which costs a fraction of a
generator per case; deadlines wait in one timer heap (`timers.py`). Every change is written
to the event log; metrics are computed from it.

A drill steps the same world forward with `advance(to)`, in any increments: stepping never
changes the order of events, so one seed and one set of decisions give one event log.
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

import numpy as np
import simpy

from incidents.distributions import Distribution
from incidents.model import Incident, Tier
from playbooks.effects import (Arm, Breached, Cancel, Closed, Deescalated, Escalated,
                               MessageOwed, MilestoneMet, Transitioned,
                               WorkRequested)
from playbooks.emergency import EmergencyRuntime
from playbooks.runtime import Case, Runtime, Step
from simulation.model.arrivals import _offset, arrival_blocks
from simulation.model.clock import Call, call_at, call_in, run_until
from simulation.model.eventlog import CaseTable, EventLog
from simulation.model.policies import Policy, make_policy
from simulation.model.staff import StaffPool, WorkQueue, weekly_profile
from simulation.model.stock import Stock
from simulation.model.streams import ATTRIBUTES, PATIENCE, Streams, pick, row_width
from simulation.model.timers import TimerWheel
from simulation.model.unlocks import Unlocks
from simulation.model.operation import Operation
from simulation.model.work import Work
from simulation.model.world_events import (headcounts, inject_process, shift_process,
                                           signal_process)
from simulation.scenario.dispatch import pool_skills
from simulation.scenario.loader import LoadedScenario
from simulation.scenario.model import Demand, Surge

__all__ = ["Results", "World", "run", "WINDOWS", "Progress"]

_C = EventLog.code
OPENED, STATE, MILESTONE, BREACH = _C("opened"), _C("state"), _C("milestone"), _C("breach")
ESCALATED, OWED, SENT, CLOSED = (_C("escalated"), _C("message_owed"), _C("message_sent"),
                                 _C("closed"))
LEVEL, COMPLAINT, SIGNAL, INJECT = _C("level"), _C("complaint"), _C("signal"), _C("inject")
DEESCALATED = _C("deescalated")
TIERS = ("VIP", "tier1", "tier2")
TIER_INDEX = {Tier.VIP: 0, Tier.TIER1: 1, Tier.TIER2: 2}
NAN = float("nan")
WINDOWS = ("warmup", "arrivals", "drain")
"""The measured windows of a run: [0, warmup), [warmup, horizon) while incidents arrive, and
[horizon, end] while the open ones are followed. Metrics leave the warm-up out."""
Progress = Callable[[float], None]
"""Called with the simulated fraction done (0..1) as a run advances."""


@dataclass
class Results:
    """What one replication produced: the event log, the case table and resource totals.

    `pools[name]` and `stock[sku]` hold fixed facts (wage, contractor, costs, levels) and,
    under "windows", the running totals measured over each of `WINDOWS`."""

    scenario: LoadedScenario
    seed: int
    log: EventLog
    cases: CaseTable
    kinds: tuple[str, ...]
    pools: dict[str, dict[str, Any]]
    stock: dict[str, dict[str, Any]]
    horizon: float
    end: float
    warmup: float
    arrivals: int
    open_at_end: int = 0
    policy: str = "autopilot"
    extra: dict[str, float] = field(default_factory=dict)


class World(Work, Operation):
    """Everything one replication shares: clock, randomness, runtimes, staff, stock, log."""

    def __init__(self, loaded: LoadedScenario, seed: int, policy: Policy | None = None,
                 policy_name: str | None = None) -> None:
        sc = loaded.scenario
        self.loaded = loaded
        self.seed = seed
        self.env = simpy.Environment()
        self.row_width = row_width(loaded)
        self.streams = Streams(seed, self.row_width)
        self.spill = self.streams.spill
        self.log = EventLog()
        self.push = self.log.push
        self.names = self.log.names
        self.table = CaseTable()
        self.kinds = tuple(loaded.mix)
        self.horizon = sc.horizon.wall_minutes
        self.end = self.horizon + sc.drain.wall_minutes
        self.warmup = min(sc.warmup.wall_minutes, self.horizon)
        self.runtimes = {k: Runtime(pb, epoch=sc.start) for k, pb in loaded.playbooks.items()}
        lead = self.lead = loaded.playbooks[self.kinds[0]]
        emergency = EmergencyRuntime(lead, epoch=sc.start) if lead.emergency.levels else None
        self.policy = policy or make_policy(policy_name or sc.policy, emergency)
        self.key = {k: self.policy.priority(tuple(pb.resources.priority))
                    for k, pb in loaded.playbooks.items()}
        """kind -> sort key of its waiting work (smaller first)."""
        # Per case, indexed by case number:
        self.cases: list[Case | None] = []
        self.case_kind: list[str] = []
        self.version: list[int] = []
        """Bumped on every move: work in progress for an older state is moot."""
        self.blocks: list[array[float] | None] = []
        """The block holding the case's row of uniforms (streams.py); None once closed."""
        self.cursor: list[int] = []
        """Index in its block of the case's next path uniform: the row is read from its end
        down to its first PATIENCE slots (`u`); 0 once closed."""
        self.patience_drawn: dict[int, int] = {}
        """case -> patience slots used (the first PATIENCE of its row)."""
        self.timers = TimerWheel(self.env, self._expire)
        self.open_count = 0
        self.escalated_open = 0
        self.complaints_opened = 0
        self.breach_times: deque[float] = deque()
        self.complaint_times: deque[float] = deque()
        self.complained: set[int] = set()
        self.slowdown_until = -1.0
        self.slowdown = 1.0
        self.seq = 0
        local = sc.start.astimezone(ZoneInfo(loaded.calendar.timezone))
        self.week_minute = (local.weekday() * 1440 + local.hour * 60 + local.minute
                            + local.second / 60)
        """The local minute of the week (calendar time zone) at model minute 0."""
        self._last_arrived = 0
        self.snapshots: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
        """Window edge ("start", "warmup", "horizon", "end") -> pools/stock -> totals."""
        self._build_stock()
        self._build_staff()
        self.unlocks = Unlocks(self)
        self._state_index = {k: {s: self.names(s) for s in pb.lifecycle.states}
                             for k, pb in loaded.playbooks.items()}
        self._events = {k: self._scheduled_events(k) for k in self.kinds}
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
        self._codes: dict[int, tuple] = {}
        """id(prebuilt effect: a Transitioned or a Closed) -> (the effect, kept alive; its
        interned codes...), coded the first time it is applied (names are interned in the
        order they are first logged)."""
        self._setup_work()
        self._started = False
        # Hooks a drill uses (simulation/drills/); a plain run leaves them empty.
        self.boost: Callable[[int], int] | None = None
        """case -> how far a team moved it forward (larger first), or None: nobody does."""
        self.pinned: dict[int, str] = {}
        """case -> the pool a team moved it to."""
        self._solo: dict[str, WorkQueue] = {}
        self.touched: set[int] | None = None
        """Cases changed since the last look (a drill's board), or None: not watched."""
        self.serving: dict[int, str] = {}
        """case -> pool whose member works on it now (only while watched)."""
        self.operation_owed: list[tuple[MessageOwed, float]] = []
        """Operation-wide messages owed to a team that sends them itself."""
        self.arrivals_closed = False
        """No customer arrives any more (a drill's carry-over)."""
        self.frozen = False
        """The policy decides nothing more (a drill's carry-over)."""
        self._cleared: simpy.Event | None = None
        """Succeeds when the last open case closes during a carry-over."""

    # -- construction ------------------------------------------------------------------------
    def _build_staff(self) -> None:
        self.pools: dict[str, StaffPool] = {}
        for name, spec in self.loaded.staffing.items():
            pool = StaffPool(self.env, name, self.names(name), spec, self.log)
            self.pools[name] = pool

    def _build_stock(self) -> None:
        self.stock: dict[str, Stock] = {}
        costs: dict[str, float] = {}
        for pb in self.loaded.playbooks.values():
            for sku, part in pb.parts.items():
                costs.setdefault(sku, part.unit_cost)
        for sku, spec in self.loaded.scenario.parts.items():
            cost = spec.unit_cost if spec.unit_cost is not None else costs.get(sku, 0.0)
            self.stock[sku] = Stock(self.env, sku, self.names(sku), spec, cost,
                                    self.streams.stock, self.log)

    def _scheduled_events(self, kind: str) -> dict[str, list[tuple[str, Distribution]]]:
        """state -> [(trigger, delay distribution)] for the outside events the scenario fires."""
        events = self.loaded.mix[kind].events
        out: dict[str, list[tuple[str, Distribution]]] = {}
        for state, st in self.loaded.playbooks[kind].lifecycle.states.items():
            hits = [(t, events[t]) for t in st.on if t in events]
            if hits:
                out[state] = hits
        return out

    # -- running -----------------------------------------------------------------------------
    def begin(self) -> None:
        """Start the world's processes: shifts, arrivals, signals, injects, window edges.

        What the hot path pays for is decided here, once: a world a drill watches (`touched`
        or `boost` set before this call) marks the cases every step changes and records
        every waiting job; a plain run does neither (`Work.watch`)."""
        if self._started:
            return
        self._started = True
        if self.touched is not None or self.boost is not None:
            self.watch()
            self.apply = self._apply_watched  # type: ignore[method-assign]
        sc = self.loaded.scenario
        env = self.env
        for pool in self.pools.values():
            plan = pool.spec.plan
            steps = (plan.step.wall_minutes, plan.headcount) if plan is not None else None
            env.process(shift_process(env, pool, headcounts(weekly_profile(pool.spec),
                                                             self.week_minute, steps)))
        if self.loaded.replay is not None:
            blocks: Iterable[np.ndarray] = [np.asarray(self.loaded.replay, dtype=float)]
        else:
            spikes = [Surge(kind="step", start=i.at, factor=i.factor, duration=i.duration)
                      for i in sc.injects if i.kind == "demand_spike"]
            demand = sc.demand if sc.queue is None else Demand(base_rate=sc.queue.arrival_rate)
            blocks = arrival_blocks(demand, self.horizon, sc.start,
                                    ZoneInfo(self.loaded.calendar.timezone),
                                    self.streams.arrivals, spikes)
        self.start_arrivals(blocks)
        env.process(signal_process(env, sc.signal_interval.wall_minutes, lambda: self.end,
                                   self.on_signal))
        for i, inject in enumerate(sc.injects):
            env.process(inject_process(env, _offset(inject.at, sc.start),
                                       inject.duration.wall_minutes, partial(self.inject, i,
                                                                             inject)))
        self.snapshots["start"] = self._totals()
        for stock in self.stock.values():
            stock.start()
        for edge, at in (("warmup", self.warmup), ("horizon", self.horizon)):
            env.timeout(at).callbacks.append(partial(self._snapshot, edge))

    def advance(self, to: float, progress: Progress | None = None, steps: int = 200) -> None:
        """Run the world up to minute `to` (never past the end), that minute included: every
        event due at or before `to` has happened, none after, and the clock stands at `to`
        exactly. With `progress`, in about `steps` slices, reporting the fraction done.

        Inclusive, so that a decision taken at an inject's very minute sees the inject,
        whoever steps the clock and in whatever increments (a drill's screen, a script, a
        replay): one rule for all of them, so a record always replays."""
        self.begin()
        to = min(to, self.end)
        if progress is None:
            self._run_to(to)
            return
        env = self.env
        width = max(self.end / steps, 1e-9)
        while env.now < to:
            self._run_to(min(to, env.now + width))
            progress(env.now / self.end if self.end > 0 else 1.0)

    def _run_to(self, to: float) -> None:
        env = self.env
        run_until(env, to)
        if env.now < to:
            # SimPy moves its clock only by events; a world stepped to a minute stands there
            # (its own `run(until=...)` computes the stop as now + (to - now), which floats
            # may round off the minute asked for).
            env._now = to  # noqa: SLF001

    def _snapshot(self, edge: str, _: simpy.Event | None = None) -> None:
        if edge not in self.snapshots:  # a carry-over may have closed the window early
            self.snapshots[edge] = self._totals()

    def carry_over(self, limit: float) -> None:
        """End the arrivals and the decisions now, then follow every open case until it is
        closed, or for `limit` minutes at most; the run ends there.

        A drill that ends (at its length or early) leaves a backlog; judging only what
        happened before the end would make a team that lets work pile up look as good as
        one that clears it. From now on nobody new arrives (complaints about cases already
        open still come: they are the backlog's consequences), the policy decides nothing
        more (levels, unlocks and the queues' order stay as they stand), and staff go on
        working their shifts. This minute becomes the run's horizon, so the measured
        windows are the drill (`arrivals`) and the carry-over (`drain`)."""
        env = self.env
        self.begin()
        now = env.now
        self.arrivals_closed = True
        self._blocks, self._times, self._next = iter(()), [], 0
        self.frozen = True
        self.warmup = min(self.warmup, now)
        self._snapshot("warmup")
        self._snapshot("horizon")
        self.horizon = now
        self.end = now + limit
        if self.open_count > 0 and limit > 0:
            self._cleared = env.event()
            env.run(until=self._cleared | env.timeout(limit))
        self.end = env.now

    def _totals(self) -> dict[str, dict[str, dict[str, float]]]:
        return {"pools": {n: p.totals() for n, p in self.pools.items()},
                "stock": {s: st.totals() for s, st in self.stock.items()}}

    def results(self) -> Results:
        """Close the books at the current minute (the end of a run) and collect them."""
        self.log.flush()
        edges = dict(self.snapshots)
        edges.setdefault("warmup", edges["start"])
        edges.setdefault("horizon", self._totals())
        edges["end"] = self._totals()
        bounds = {"warmup": ("start", "warmup"), "arrivals": ("warmup", "horizon"),
                  "drain": ("horizon", "end")}

        def windows(group: str, name: str) -> dict[str, dict[str, float]]:
            return {w: {k: edges[b][group][name][k] - edges[a][group][name][k]
                        for k in edges[b][group][name]} for w, (a, b) in bounds.items()}

        pools = {n: {"wage_per_hour": p.spec.wage_per_hour, "contractor": p.spec.contractor,
                     "windows": windows("pools", n)} for n, p in self.pools.items()}
        stock = {s: {"unit_cost": st.unit_cost, "initial": st.spec.initial,
                     "on_hand": st.on_hand,
                     "reorder_point": float(st.spec.policy.s if st.spec.policy.s is not None
                                            else (st.spec.policy.level or 0)),
                     "windows": windows("stock", s)} for s, st in self.stock.items()}
        return Results(scenario=self.loaded, seed=self.seed, log=self.log, cases=self.table,
                       kinds=self.kinds, pools=pools, stock=stock, horizon=self.horizon,
                       end=self.env.now, warmup=self.warmup,
                       arrivals=len(self.case_kind) - self.complaints_opened,
                       open_at_end=self.open_count, policy=self.policy.name)

    # -- incidents ---------------------------------------------------------------------------
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
                event = Call()
                event.callbacks = self._arrive_cbs
                call_at(self.env, now + (self._times[self._next] - now), event)
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
        push = self.push
        work = None
        for e in step.effects:
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
                push((now, CLOSED, cid, codes[1], 0, now - case.opened))
                self.table.closed[cid] = now
                self.open_count -= 1
                if self.open_count == 0 and self._cleared is not None \
                        and not self._cleared.triggered:
                    self._cleared.succeed()
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
            self.cases[cid] = None  # the log and the case table keep all the metrics need
            self.blocks[cid] = None
            self.cursor[cid] = 0  # a small int: no object kept per closed case
            if self.patience_drawn:
                self.patience_drawn.pop(cid, None)
        return work

    def _apply_watched(self, cid: int, step: Step, now: float) -> WorkRequested | None:
        """`apply`, and the case is marked changed (a drill's board redraws it)."""
        self.touched.add(cid)  # type: ignore[union-attr]
        return World.apply(self, cid, step, now)

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


def run(loaded: LoadedScenario, seed: int = 1, *, policy: Policy | None = None,
        policy_name: str | None = None, progress: Progress | None = None) -> Results:
    """Simulate one replication of a scenario; the same seed gives the same results.

    `policy` (an object) or `policy_name` ("autopilot", "none") overrides the scenario's
    decision policy. `progress` (optional) is called with the fraction of simulated time
    done as the run advances; a KeyboardInterrupt raised meanwhile stops the run."""
    world = World(loaded, seed, policy, policy_name)
    world.advance(world.end, progress)
    return world.results()
