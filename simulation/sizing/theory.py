"""The steady-state answers beside the simulated one, for a varied staffing pool.

An Erlang calculator asks for one arrival rate and answers for one interval in steady
state. Here the rate is the pool's own: the pieces of work reaching the queues it may serve,
per hour, estimated from a few replications of the best-resourced configuration (each case
brings the same mean number of them in every hour, so the hourly rate is the scenario's
case arrival rate times that mean, which keeps the peak free of replication noise). The
formulas are asked for the busiest hour (the peak) and for the mean hour while incidents
arrive, with the mean work time and, for Erlang A, the customers' mean patience.

A formula answers in servers on duty for that work; the answer shown is the pool's level
whose schedule puts that many on duty (with the other pools that serve the same queues, as
scheduled; contractors, who only come when an emergency level unlocks them, are not
counted) in that hour, or on average over the hours of arrivals.

Targets a formula can judge are queue measures; an SLA attainment target ("VIP
initial_plan attainment >= 95%") is given to the formulas as a planner with an Erlang
calculator would: the share of the pool's work served within the milestone's SLA time
(wall-clock, or its nominal length in working time), which ignores priorities and the rest
of the path, and is said so.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Sequence
from zoneinfo import ZoneInfo

import numpy as np

from simulation.model.arrivals import rate_at
from simulation.model.world import run
from simulation.results.replications import replication_seed
from simulation.results.waiting import service_levels
from simulation.scenario.loader import LoadedScenario
from simulation.scenario.model import Surge
from simulation.sizing.erlang import Measure, smallest_servers, sqrt_staffing
from simulation.sizing.executors import Runner, base_of
from simulation.sizing.hourly import mean_patience
from simulation.sizing.measures import waits_of, work_pools, wait_metric
from simulation.sizing.spec import Knob, Target
from simulation.sizing.variants import configure, hourly_schedule, pool_spec

__all__ = ["PoolLoad", "TheoryRow", "formula_target", "pool_load", "theory_rows",
           "load_batch", "STAFF_KINDS"]

STAFF_KINDS = ("headcount", "shift", "servers")
"""Knobs that set how many people of a pool are on shift (what the formulas size)."""
LOAD_SEEDS = 2_000_000
"""Seed indices of the load-measuring replications (apart from the search's)."""


@dataclass(frozen=True)
class PoolLoad:
    """The load on one pool's queues, as the formulas need it (rates per minute)."""

    pool: str
    peak_rate: float
    mean_rate: float
    peak_hour: int
    """Hour index (from the scenario start) of the busiest hour."""
    mean_work: float
    patience: float | None
    hours: tuple[int, int]
    """First and last hour of the arrivals window."""


@dataclass(frozen=True)
class TheoryRow:
    method: str
    when: str
    servers: int | None
    level: float | None
    note: str = ""


def formula_target(target: Target, loaded: LoadedScenario
                   ) -> tuple[Measure, float, float, bool, str] | None:
    """(measure, limit, tau, higher is better, note) a formula can answer for this
    target, or None."""
    name = target.metric
    if name.startswith("pool."):
        pool = next((p for p in loaded.staffing if name.startswith(f"pool.{p}.")), "")
        name = name[len(f"pool.{pool}."):]
    for tier in ("VIP.", "tier1.", "tier2."):
        name = name.removeprefix(tier)
    for scope in ("waiting.all.", "waiting.VIP.", "waiting.tier1.", "waiting.tier2."):
        name = name.removeprefix(scope)
    lower = target.op == "<="
    direct: dict[str, Measure] = {"delay": "delay", "asa": "asa", "abandonment": "abandonment",
                                  "mean_wait_all": "mean_wait_all"}
    if name in direct and lower:
        return direct[name], target.threshold, 0.0, False, ""
    if name.startswith("wait.p(>") and lower:
        found = wait_metric(name, loaded)
        assert found is not None
        return "wait>", target.threshold, found[1], False, ""
    if name.startswith("service_level.") and not lower:
        tau = next((m for label, m in service_levels(loaded.scenario.service_level)
                    if name.endswith(f"service_level.{label}")), None)
        if tau is not None:
            return "wait>", 1.0 - target.threshold, tau, False, ""
    if target.metric.startswith("sla.") and target.metric.endswith(".attainment") and \
            not lower:
        _, tier, milestone, _ = target.metric.split(".")
        lead = loaded.playbooks[next(iter(loaded.mix))]
        limit = getattr(lead.sla, tier, {}).get(milestone)
        if limit is None or limit.is_working:
            return None  # no SLA time, or one in working time: no wall-clock wait to give
        minutes = limit.wall_minutes
        return ("wait>", 1.0 - target.threshold, minutes, False,
                f"proxy: the pool's work served within the {milestone} time "
                f"({limit}) for {target.threshold:.0%} of it, first come first served")
    return None


def load_batch(shared: Any, knobs: tuple[Knob, ...], levels: tuple[float, ...],
               items: list[tuple[int, int]], pool: str) -> list[dict[str, Any]]:
    """Worker: replications measuring the load on a pool's queues (all cases)."""
    loaded = configure(base_of(shared), knobs, levels)
    queues = work_pools(loaded)
    states = {s for (_, s), pools in queues.items() if pool in pools}
    out = []
    for i, seed in items:
        start = time.perf_counter()
        results = run(loaded, seed)
        waits = waits_of(results, None, counted_only=False)
        offered = int(waits.eligible[pool].sum())
        done = results.log.select("work_done")
        codes = [results.log.names.index[s] for s in states if s in results.log.names.index]
        mine = np.isin(done["b"], codes)
        out.append({"i": i, "offered": offered, "cases": int(results.arrivals),
                    "work": float(done["x"][mine].sum()), "jobs": int(mine.sum()),
                    "seconds": time.perf_counter() - start})
    return out


def pool_load(base: LoadedScenario, knobs: Sequence[Knob], levels: Sequence[float],
              pool: str, runner: Runner, seed: int, reps: int = 4) -> PoolLoad:
    """Measure the load on `pool`'s queues (see the module notes)."""
    shared = runner.share(base)
    items = [(LOAD_SEEDS, replication_seed(seed, LOAD_SEEDS + k)) for k in range(reps)]
    for k, item in enumerate(items):
        runner.submit(("load", k), load_batch, shared, tuple(knobs), tuple(levels), [item],
                      pool)
    records: list[dict[str, Any]] = []
    while len(records) < reps:
        for _, batch in runner.collect(0.2):
            records += batch
    per_case = sum(r["offered"] for r in records) / max(sum(r["cases"] for r in records), 1)
    jobs = sum(r["jobs"] for r in records)
    mean_work = sum(r["work"] for r in records) / jobs if jobs else 0.0
    sc = base.scenario
    lo_h = int(min(sc.warmup.wall_minutes, sc.horizon.wall_minutes) // 60)
    hi_h = max(lo_h + 1, int(math.ceil(sc.horizon.wall_minutes / 60)))
    hourly = _case_rates(base, hi_h)[lo_h:hi_h] * per_case
    peak = int(np.argmax(hourly))
    return PoolLoad(pool, float(hourly[peak]) / 60, float(hourly.mean()) / 60, lo_h + peak,
                    mean_work, mean_patience(base), (lo_h, hi_h))


def _case_rates(loaded: LoadedScenario, hours: int) -> np.ndarray:
    """Expected cases opened in each hour from minute 0 (replayed history: counted)."""
    sc = loaded.scenario
    if loaded.replay is not None:
        counts = np.bincount((np.asarray(loaded.replay) // 60).astype(int), minlength=hours)
        return counts[:hours].astype(float)
    t = np.arange(hours * 60) + 0.5
    zone = ZoneInfo(loaded.calendar.timezone)
    spikes: list[Surge] = []
    for inj in sc.injects:
        if inj.kind == "demand_spike":
            spikes.append(Surge(kind="step", start=inj.at, factor=inj.factor,
                                duration=inj.duration))
    rate = rate_at(sc.arrival_demand(), t, sc.start, zone, spikes)
    return rate.reshape(hours, 60).mean(axis=1)


def _on_duty(base: LoadedScenario, knob: Knob, level: float, others: Sequence[Knob],
             other_levels: Sequence[float], hours: int, pool: str) -> np.ndarray:
    loaded = configure(base, [*others, knob], [*other_levels, level])
    return np.asarray(hourly_schedule(loaded, pool_spec(loaded, pool), hours))


def theory_rows(base: LoadedScenario, knobs: Sequence[Knob], levels: Sequence[float],
                index: int, target: Target, load: PoolLoad) -> tuple[list[TheoryRow], str]:
    """The formulas' answers for knob `index` (its pool's staffing), the other knobs at
    `levels`, for one target; and the proxy note, if any."""
    knob = knobs[index]
    others = [k for j, k in enumerate(knobs) if j != index]
    other_levels = [v for j, v in enumerate(levels) if j != index]
    spec = formula_target(target, base)
    if spec is None:
        return [], f"no steady-state formula answers {target.metric}"
    measure, limit, tau, higher, note = spec
    hours = load.hours[1]
    lo, hi = load.hours
    pool = load.pool
    sharing = {p for pools in work_pools(base).values() if pool in pools for p in pools}
    sharing.discard(pool)
    extra = np.zeros(hours)
    for p in sharing:
        spec_p = pool_spec(base, p)
        if not spec_p.contractor:
            extra += np.asarray(hourly_schedule(base, spec_p, hours))

    def level_for(servers: int | None, peak: bool) -> float | None:
        if servers is None:
            return None

        def enough(v: float) -> bool:
            duty = _on_duty(base, knob, v, others, other_levels, hours, pool) + extra
            have = duty[load.peak_hour] if peak else duty[lo:hi].mean()
            return have >= servers - 1e-9

        top = float(knob.values[-1])
        while not enough(top):
            if top >= 100_000:
                return None
            top = min(top * 2 + 1, 100_000)
        bottom = 0.0
        if enough(bottom):
            return bottom
        while top - bottom > 1:  # enough(top), not enough(bottom); whole people
            mid = math.floor((top + bottom) / 2)
            if enough(mid):
                top = mid
            else:
                bottom = mid
        return top

    rows: list[TheoryRow] = []
    for when, lam in (("peak hour", load.peak_rate), ("average hour", load.mean_rate)):
        peak = when == "peak hour"
        if measure != "abandonment":  # nobody abandons in Erlang C: no answer to give
            c = smallest_servers("C", measure, limit, lam, load.mean_work, None, tau, higher)
            rows.append(TheoryRow("Erlang C", when, c, level_for(c, peak)))
        if load.patience is not None:
            a = smallest_servers("A", measure, limit, lam, load.mean_work, load.patience,
                                 tau, higher)
            rows.append(TheoryRow("Erlang A", when, a, level_for(a, peak)))
        sq = sqrt_staffing(measure, limit, lam, load.mean_work, load.patience, tau, higher)
        if sq is not None:
            rows.append(TheoryRow("square-root", when, sq[0], level_for(sq[0], peak),
                                  f"beta = {sq[1]:.2f}"))
    return rows, note
