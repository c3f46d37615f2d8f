"""Configurations: a scenario with its varied resources set, and what each one costs.

A variant is built from the loaded base scenario without reading a file or reloading a
playbook (`with_scenario`), so a worker makes thousands of them cheaply, and every
configuration compared on a seed runs the very same playbooks.

Cost. The cost that ranks configurations is the planned cost, computed from the
configuration alone, never from a run:
- wages for every person-hour on the schedule (shifts, `plan`, round-the-clock headcount)
  over the measured window (warm-up to the end of the drain);
- parts held: the stock each SKU commits (its initial units, or the order-up-to position of
  its reorder policy if higher) at its unit cost, times a holding rate per year, over the
  same window;
- for a varied overtime allowance or contractor crew, the most it can cost (every shift end
  followed by the overtime hours; the crew on duty all its scheduled hours).
Why not the simulated cost: searching cheapest first needs the cost before simulating, and a
run's cost also counts what serving customers costs (parts fitted, overtime and contractors
the emergency levels call in): a configuration that lets more customers give up fits fewer
parts and looks cheaper. Those reactive costs are estimated by simulation and shown beside
each configuration; they are outcomes, not choices.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace
from typing import Any, Sequence
from zoneinfo import ZoneInfo

import numpy as np

from incidents.sla import Duration
from simulation.errors import SimulationError
from simulation.model.staff import weekly_profile
from simulation.model.unlocks import covers
from simulation.model.world_events import headcounts
from simulation.scenario.loader import QUEUE_POOL, LoadedScenario
from simulation.scenario.model import PartSpec, PoolSpec, ReorderPolicy, Scenario, StaffPlan
from simulation.sizing.spec import Knob

__all__ = ["with_scenario", "with_plan", "configure", "planned_cost", "schedule_minutes",
           "week_minute", "pool_spec", "hourly_schedule", "DEFAULT_HOLDING_RATE"]

DEFAULT_HOLDING_RATE = 0.25
"""Cost of holding a part for a year, as a share of its unit cost (capital, space, risk of
obsolescence): the textbook 20-30%."""


def with_scenario(loaded: LoadedScenario, scenario: Scenario,
                  staffing: dict[str, PoolSpec] | None = None,
                  playbooks: dict | None = None) -> LoadedScenario:
    """`loaded` with a changed scenario, its effective staffing and mix rebuilt the way the
    loader builds them (a `queue` scenario's one pool from `queue.servers`), playbooks kept
    (or replaced by `playbooks`). `staffing` overrides the effective staffing (a plan for
    the textbook queue's pool, which the scenario itself cannot hold)."""
    if staffing is None:
        if scenario.queue is not None:
            old = loaded.staffing.get(QUEUE_POOL)
            staffing = {QUEUE_POOL: PoolSpec(roles=["server"], headcount=scenario.queue.servers,
                                             plan=old.plan if old is not None else None)}
        else:
            staffing = dict(scenario.staffing)
    mix = dict(loaded.mix) if scenario.queue is not None else dict(scenario.mix)
    return dataclasses.replace(loaded, scenario=scenario, staffing=staffing, mix=mix,
                               playbooks=dict(playbooks if playbooks is not None
                                              else loaded.playbooks))


def pool_spec(loaded: LoadedScenario, pool: str) -> PoolSpec:
    if pool not in loaded.staffing:
        raise SimulationError(f"unknown pool {pool!r}")
    return loaded.staffing[pool]


def _replace_pool(loaded: LoadedScenario, pool: str, spec: PoolSpec) -> LoadedScenario:
    sc = loaded.scenario
    if sc.queue is not None:
        staffing = dict(loaded.staffing)
        staffing[pool] = spec
        queue = sc.queue.model_copy(update={"servers": spec.headcount or sc.queue.servers})
        return with_scenario(loaded, sc.model_copy(update={"queue": queue}), staffing)
    pools = dict(sc.staffing)
    pools[pool] = spec
    return with_scenario(loaded, sc.model_copy(update={"staffing": pools}))


def with_plan(loaded: LoadedScenario, pool: str, step_minutes: float,
              counts: Sequence[int]) -> LoadedScenario:
    """`loaded` with an explicit on-duty headcount for `pool` per step from minute 0 (the
    scenario's `plan:`), the pool's shifts taking over after it."""
    spec = pool_spec(loaded, pool)
    plan = StaffPlan(step=Duration.parse(f"{step_minutes:g}m"),
                     headcount=[int(c) for c in counts])
    return _replace_pool(loaded, pool, spec.model_copy(update={"plan": plan}))


def _scaled(spec: PoolSpec, value: int) -> PoolSpec:
    """A pool of `value` people: its round-the-clock headcount, or, for a pool on shifts,
    its largest shift's headcount with every shift (and plan step) scaled in proportion,
    rounded half up, so the shape of its week is kept."""
    if spec.headcount is not None and not spec.shifts:
        return spec.model_copy(update={"headcount": value})
    peak = max((s.headcount for s in spec.shifts), default=0)
    if peak <= 0:
        shifts = [s.model_copy(update={"headcount": value}) for s in spec.shifts]
        return spec.model_copy(update={"shifts": shifts})
    factor = value / peak

    def scale(n: int) -> int:
        return int(math.floor(n * factor + 0.5 + 1e-9))

    shifts = [s.model_copy(update={"headcount": scale(s.headcount)}) for s in spec.shifts]
    update: dict = {"shifts": shifts}
    if spec.plan is not None:
        update["plan"] = spec.plan.model_copy(
            update={"headcount": [scale(n) for n in spec.plan.headcount]})
    return spec.model_copy(update=update)


def _crew(loaded: LoadedScenario, pool: str, value: int) -> LoadedScenario:
    """A contractor pool whose crew is `value` people: every contractors grant of the lead
    playbook that covers it brings the whole schedule, and the schedule holds `value`."""
    spec = pool_spec(loaded, pool)
    shifts = [s.model_copy(update={"headcount": value}) for s in spec.shifts]
    new_spec = spec.model_copy(update={"shifts": shifts} if shifts else {"headcount": value})
    lead_kind = next(iter(loaded.mix))
    lead = loaded.playbooks[lead_kind]
    probe: Any = SimpleNamespace(name=pool, spec=spec)  # what `covers` reads of a pool
    unlocks = [u.model_copy(update={"headcount": 0})
               if u.resource == "contractors" and covers(probe, u.pool, lead) else u
               for u in lead.resources.unlocks]
    resources = lead.resources.model_copy(update={"unlocks": unlocks})
    playbooks = {k: (pb.model_copy(update={"resources": resources}) if pb is lead else pb)
                 for k, pb in loaded.playbooks.items()}
    changed = _replace_pool(loaded, pool, new_spec)
    return dataclasses.replace(changed, playbooks=playbooks)


def _policy(policy: ReorderPolicy, param: str, value: int) -> ReorderPolicy:
    data = {k: getattr(policy, k) for k in ("type", "s", "S", "Q", "level")}
    data[param] = value
    try:
        return ReorderPolicy.model_validate(data)
    except ValueError as exc:
        raise SimulationError(f"policy {param} = {value}: {exc}") from None


def configure(base: LoadedScenario, knobs: Sequence[Knob],
              levels: Sequence[float]) -> LoadedScenario:
    """The base scenario with each knob set to its level."""
    loaded = base
    for knob, level in zip(knobs, levels):
        value = int(level) if knob.integer else float(level)
        sc = loaded.scenario
        if knob.kind == "servers":
            if sc.queue is None:
                raise SimulationError("queue.servers: this scenario is not a textbook queue")
            queue = sc.queue.model_copy(update={"servers": value})
            loaded = with_scenario(loaded, sc.model_copy(update={"queue": queue}))
        elif knob.kind == "headcount":
            loaded = _replace_pool(loaded, knob.name, _scaled(pool_spec(loaded, knob.name),
                                                              int(value)))
        elif knob.kind == "shift":
            spec = pool_spec(loaded, knob.name)
            shifts = list(spec.shifts)
            shifts[knob.index] = shifts[knob.index].model_copy(update={"headcount": value})
            loaded = _replace_pool(loaded, knob.name, spec.model_copy(update={"shifts": shifts}))
        elif knob.kind == "overtime":
            spec = pool_spec(loaded, knob.name)
            loaded = _replace_pool(loaded, knob.name,
                                   spec.model_copy(update={"overtime_hours_per_day": value}))
        elif knob.kind == "crew":
            loaded = _crew(loaded, knob.name, int(value))
        else:
            parts = dict(sc.parts)
            part = parts[knob.name]
            if knob.kind == "initial":
                parts[knob.name] = part.model_copy(update={"initial": int(value)})
            elif knob.param == "level":
                # Sizing a base-stock level means starting at it too (the steady state),
                # not ordering up to it at time 0 and waiting a lead time for the units.
                parts[knob.name] = part.model_copy(update={
                    "policy": _policy(part.policy, "level", int(value)), "initial": int(value)})
            else:
                parts[knob.name] = part.model_copy(
                    update={"policy": _policy(part.policy, knob.param, int(value))})
            loaded = with_scenario(loaded, sc.model_copy(update={"parts": parts}))
    return loaded


# -- planned cost ----------------------------------------------------------------------------

def week_minute(loaded: LoadedScenario) -> float:
    """The local minute of the week (calendar time zone) at model minute 0, as the model
    computes it."""
    local = loaded.scenario.start.astimezone(ZoneInfo(loaded.calendar.timezone))
    return local.weekday() * 1440 + local.hour * 60 + local.minute + local.second / 60


def _changes(loaded: LoadedScenario, spec: PoolSpec, end: float) -> list[tuple[float, int]]:
    """(minute, headcount from then on) of a pool's schedule up to `end`."""
    plan = spec.plan
    steps = (plan.step.wall_minutes, list(plan.headcount)) if plan is not None else None
    out: list[tuple[float, int]] = []
    for at, count in headcounts(weekly_profile(spec), week_minute(loaded), steps):
        if at >= end:
            break
        out.append((at, count))
    return out


def schedule_minutes(loaded: LoadedScenario, spec: PoolSpec, lo: float, hi: float) -> float:
    """Scheduled person-minutes of a pool in [lo, hi)."""
    changes = _changes(loaded, spec, hi)
    total = 0.0
    for k, (at, count) in enumerate(changes):
        nxt = changes[k + 1][0] if k + 1 < len(changes) else hi
        a, b = max(at, lo), min(nxt, hi)
        if b > a:
            total += count * (b - a)
    return total


def hourly_schedule(loaded: LoadedScenario, spec: PoolSpec, hours: int,
                    step: float = 60.0) -> list[float]:
    """Mean scheduled headcount of a pool in each step from minute 0 (one pass over the
    schedule's changes)."""
    end = hours * step
    changes = _changes(loaded, spec, end)
    times = np.array([at for at, _ in changes] + [end], dtype=float)
    levels = np.array([count for _, count in changes], dtype=float)
    area = np.concatenate([[0.0], np.cumsum(levels * np.diff(times))])  # at each change

    def integral(t: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(levels) - 1)
        return area[k] + levels[k] * (t - times[k])

    edges = np.arange(hours + 1) * step
    return (np.diff(integral(edges)) / step).tolist()


def _overtime_allowance(loaded: LoadedScenario, spec: PoolSpec, lo: float, hi: float) -> float:
    """Most overtime person-minutes: at every drop of the schedule in [lo, hi), the people
    leaving stay `overtime_hours_per_day` longer."""
    extra = spec.overtime_hours_per_day * 60.0
    changes = _changes(loaded, spec, hi)
    total = 0.0
    for k in range(1, len(changes)):
        at, count = changes[k]
        drop = changes[k - 1][1] - count
        if drop > 0 and at >= lo:
            total += drop * min(extra, hi - at)
    return total


def _committed(part: PartSpec) -> int:
    """Units a SKU's configuration commits: its initial stock, or the order-up-to position
    of its reorder policy if that is higher."""
    policy = part.policy
    top = {"sS": policy.S, "sQ": (policy.s or 0) + (policy.Q or 0),
           "base_stock": policy.level, "none": 0}[policy.type] or 0
    return max(part.initial, int(top))


def unit_costs(loaded: LoadedScenario) -> dict[str, float]:
    """Unit cost of each SKU: the scenario's, else the first playbook's (as the model)."""
    costs: dict[str, float] = {}
    for pb in loaded.playbooks.values():
        for sku, part in pb.parts.items():
            costs.setdefault(sku, part.unit_cost)
    return {sku: (spec.unit_cost if spec.unit_cost is not None else costs.get(sku, 0.0))
            for sku, spec in loaded.scenario.parts.items()}


def planned_cost(loaded: LoadedScenario, knobs: Sequence[Knob] = (),
                 holding_rate: float = DEFAULT_HOLDING_RATE) -> dict[str, float]:
    """The planned cost of a configuration (see the module notes), by part and in total."""
    sc = loaded.scenario
    lo = min(sc.warmup.wall_minutes, sc.horizon.wall_minutes)
    hi = sc.horizon.wall_minutes + sc.drain.wall_minutes
    rates = sc.costs
    wages = allowance = 0.0
    varied = {(k.kind, k.name) for k in knobs}
    for name, spec in loaded.staffing.items():
        if spec.contractor:
            if ("crew", name) in varied:
                allowance += schedule_minutes(loaded, spec, lo, hi) / 60 * rates.contractor_rate
            continue
        wages += schedule_minutes(loaded, spec, lo, hi) / 60 * spec.wage_per_hour
        if ("overtime", name) in varied:
            allowance += (_overtime_allowance(loaded, spec, lo, hi) / 60 * spec.wage_per_hour
                          * (1 + rates.overtime_premium))
    unit = unit_costs(loaded)
    years = (hi - lo) / (365.0 * 1440.0)
    held = sum(_committed(part) * unit.get(sku, 0.0) for sku, part in sc.parts.items())
    holding = held * holding_rate * years
    return {"wages": wages, "parts_held": holding, "allowances": allowance,
            "total": wages + holding + allowance}
