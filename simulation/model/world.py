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
from playbooks.effects import MessageOwed
from playbooks.emergency import EmergencyRuntime
from playbooks.runtime import Case, Runtime
from simulation.model.arrivals import _offset, arrival_blocks
from simulation.model.cases import Cases
from simulation.model.clock import run_until
from simulation.model.eventlog import CaseTable, EventLog
from simulation.model.policies import Policy, make_policy
from simulation.model.staff import StaffPool, WorkQueue, weekly_profile
from simulation.model.stock import Stock
from simulation.model.streams import Streams, row_width
from simulation.model.timers import TimerWheel
from simulation.model.unlocks import Unlocks
from simulation.model.operation import Operation
from simulation.model.work import Work
from simulation.model.world_events import (headcounts, inject_process, shift_process,
                                           signal_process)
from simulation.scenario.loader import LoadedScenario
from simulation.scenario.model import Surge

__all__ = ["Results", "World", "run", "WINDOWS", "Progress"]

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


class World(Cases, Work, Operation):
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
        self._prebuilt = frozenset(id(t) for r in self.runtimes.values() for t in r.prebuilt())
        """ids of the effect tuples the runtimes return prebuilt (they live as long as the
        runtimes do)."""
        self._programs: dict[int, tuple] = {}
        """id(prebuilt effect tuple) -> its program (cases.py), once applied."""
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
            demand = sc.arrival_demand()
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


def run(loaded: LoadedScenario, seed: int = 1, *, policy: Policy | None = None,
        policy_name: str | None = None, progress: Progress | None = None) -> Results:
    """Simulate one replication of a scenario; the same seed gives the same results.

    `policy` (an object) or `policy_name` ("autopilot", "none") overrides the scenario's
    decision policy. `progress` (optional) is called with the fraction of simulated time
    done as the run advances; a KeyboardInterrupt raised meanwhile stops the run."""
    world = World(loaded, seed, policy, policy_name)
    world.advance(world.end, progress)
    return world.results()
