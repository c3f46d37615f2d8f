"""What calibration fitted, written as a whole scenario, and run on a period.

Everything fitted goes into the scenario, not into a side file: the weekday-by-hour profile
(`demand.profile`) at the forecast period's trend level, the service or resolve time
(`mix.<kind>.durations`), the patience (`mix.<kind>.patience`), the staffing per weekday and
hour (shifts of the agents seen serving x the availability factor), the calendar's time
zone, and the service-level thresholds. The bundled one-stage playbook `contact-service`
carries it, so `muster simulate`, `muster size` and `muster size --plan hourly` take the
scenario as it is. A ticket log knows no staffing: its resolve time is a delay the pool never
makes longer (enough resolvers that nobody waits), so simulated resolve times are the
fitted ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any, Literal

import numpy as np
import yaml

from simulation.calibration.contacts import Period
from simulation.calibration.measure import simulated_figures
from simulation.calibration.profile import ArrivalProfile
from simulation.calibration.service import PatienceFit, TimeFit
from simulation.calibration.columns import zone
from incidents.model import MAX_HEADCOUNT
from simulation.scenario.loader import LoadedScenario, scenario_from_text

__all__ = ["Model", "Variants", "scenario_data", "load_data", "run_figures", "shifts", "plan_steps",
           "start_of", "arrival_minutes", "PLAYBOOK", "POOL", "STEP_MINUTES", "label",
           "duration_text"]

PLAYBOOK = "contact-service"
POOL = "agents"
STEP_MINUTES = 5
"""Resolution of fractional staffing: 10.4 agents in an hour are 11 for 25 minutes, 10 for
35 (shifts), or 10 and 11 in turn by 5-minute steps (a staff plan)."""
CALL_DRAIN = "2h"
"""After the period, calls still waiting are followed this long, so every one is counted."""


def duration_text(seconds: float) -> str:
    """A duration in the unit people use for it: 167 s, 12.5 min, 30.2 h, 11.8 d."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def label(seconds: float) -> str:
    """A threshold as people write it: 20s, 2m, 1h."""
    if seconds < 60 or seconds % 60:
        return f"{seconds:g}s"
    if seconds < 3600 or seconds % 3600:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"


@dataclass(frozen=True)
class Model:
    """Everything calibration fitted, ready to be written as a scenario."""

    kind: Literal["calls", "tickets"]
    source: str
    tz: str
    train: Period
    profile: ArrivalProfile
    service: TimeFit
    """Service time (calls) or resolve time (tickets), seconds."""
    patience: PatienceFit | None = None
    weekly_presence: np.ndarray | None = None
    """[weekday, hour] agents seen serving, mean over the training days."""
    availability: float = 1.0
    thresholds: tuple[float, ...] = ()
    licence: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def staffing(self, availability: float | None = None) -> np.ndarray | None:
        """[weekday, hour] agents available: presence x availability."""
        if self.weekly_presence is None:
            return None
        a = self.availability if availability is None else availability
        return self.weekly_presence * a


def shifts(matrix: np.ndarray) -> list[dict[str, Any]]:
    """Shifts giving each weekday-hour its (fractional) headcount, in STEP_MINUTES: the
    whole part all hour, one more person for the fraction's share of the hour."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    out: list[dict[str, Any]] = []
    for d in range(7):
        steps: list[int] = []
        for h in range(24):
            x = max(float(matrix[d][h]), 0.0)
            whole = int(math.floor(x))
            extra = int(round((x - whole) * 60 / STEP_MINUTES))
            per_hour = 60 // STEP_MINUTES
            steps += [whole + 1] * extra + [whole] * (per_hour - extra)
        start = 0
        for i in range(1, len(steps) + 1):
            if i == len(steps) or steps[i] != steps[start]:
                if steps[start] > 0:
                    a, b = start * STEP_MINUTES, i * STEP_MINUTES
                    out.append({"days": days[d], "start": f"{a // 60:02d}:{a % 60:02d}",
                                "end": "24:00" if b == 1440 else f"{b // 60:02d}:{b % 60:02d}",
                                "headcount": steps[start]})
                start = i
    return out


def plan_steps(by_hour: np.ndarray) -> list[int]:
    """Per STEP_MINUTES headcounts whose running total follows `by_hour` (error diffusion),
    so each hour's mean is its fractional headcount."""
    per_hour = 60 // STEP_MINUTES
    out: list[int] = []
    carry = 0.0
    for x in np.repeat(np.maximum(np.asarray(by_hour, dtype=float).ravel(), 0.0), per_hour):
        carry += x
        n = int(round(carry))
        out.append(n)
        carry -= n
    return out


def _ticket_pool(model: Model) -> int:
    """Resolvers enough that no ticket waits: 3x the open tickets at the peak rate, + 50."""
    peak = float(model.profile.matrix.max())
    hours = model.service.mean / 3600.0 if model.service.family == "lognormal" else \
        float(np.mean(model.service.slices)) / 3600.0
    return int(min(MAX_HEADCOUNT, math.ceil(3 * peak * hours + 50)))


def scenario_data(model: Model, period: Period, *, name: str | None = None,
                  availability: float | None = None, level: float = 1.0,
                  day_factors: Sequence[float] | None = None,
                  plan: np.ndarray | None = None, description: str = "") -> dict[str, Any]:
    """The scenario of `period` (see the module notes).

    `level` multiplies the profile (the trend's level on the period); `day_factors`, one per
    day, make a day busier or quieter than the profile (a backtest's draw of day-to-day
    variation); `plan` ([day, hour] agents seen serving) replaces the weekly staffing over
    the period (the training period's own days, when fitting availability)."""
    tz = zone(model.tz)
    start = datetime.combine(period.first, time(0, 0)).replace(tzinfo=tz)
    a = model.availability if availability is None else availability
    m = model.profile.matrix
    kind = model.kind
    entry: dict[str, Any] = {"playbook": PLAYBOOK, "tiers": {"tier2": 1},
                             "durations": {"service": model.service.distribution()}}
    if model.patience is not None:
        entry["patience"] = model.patience.distribution()
    data: dict[str, Any] = {
        "muster": 1,
        "name": name or f"calibrated-{kind}",
        "title": f"{kind.capitalize()} of {model.source}, {period}",
        "description": description,
        "start": start.isoformat(),
        "horizon": f"{period.days}d",
        "drain": CALL_DRAIN if kind == "calls" else _drain_days(model, period),
        "calendar": {"name": model.tz, "timezone": model.tz,
                     "working_hours": "mon-sun 00:00-24:00"},
        "demand": {"base_rate": round(float(m.mean()) * level, 6),
                   "profile": [[round(float(v), 4) for v in row] for row in m]},
        "mix": {kind: entry},
    }
    if day_factors is not None:
        data["demand"]["surges"] = [
            {"kind": "step", "start": f"{i}d", "duration": "1d", "factor": round(float(f), 6)}
            for i, f in enumerate(day_factors) if abs(f - 1.0) > 1e-6 and f > 0]
    if kind == "calls" and model.weekly_presence is not None:
        pool: dict[str, Any] = {"roles": ["agent"],
                                "shifts": shifts(model.weekly_presence * a)}
        if not pool["shifts"]:
            pool = {"roles": ["agent"], "headcount": 1}
        if plan is not None:
            pool["plan"] = {"step": f"{STEP_MINUTES}m", "headcount": plan_steps(plan * a)}
        data["staffing"] = {POOL: pool}
    else:
        data["staffing"] = {POOL: {"roles": ["agent"], "headcount": _ticket_pool(model)}}
    if model.thresholds:
        data["service_level"] = [label(t) for t in model.thresholds]
    data["messages"] = {"role": None}
    return data


def _drain_days(model: Model, period: Period) -> str:
    """Long enough for every ticket to be resolved (the longest time written), so the
    figures are not cut short; within the limit of a run."""
    from simulation.scenario.limits import MAX_RUN_DAYS

    longest = max(model.service.slices) if model.service.slices else model.service.p90
    if model.service.family == "lognormal":  # its 99.9th percentile
        longest = math.exp(model.service.mu + 3.09 * model.service.sigma)
    days = math.ceil(longest / 86400.0) + 1
    return f"{max(min(days, MAX_RUN_DAYS - period.days), 1)}d"


def load_data(data: dict[str, Any], replay: np.ndarray | None = None) -> LoadedScenario:
    """The scenario of `data`, loaded and checked; with `replay` (minutes since the start)
    the arrivals are those instead of the profile's."""
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    loaded = scenario_from_text(text, file=f"<{data['name']}>")
    if replay is not None:
        horizon = loaded.scenario.horizon.wall_minutes
        loaded = replace(loaded, replay=tuple(float(t) for t in np.sort(replay)
                                              if 0 <= t < horizon))
    return loaded


class Variants:
    """Scenarios differing from the first one loaded only in demand and staffing (an
    availability factor, day levels, a staff plan), built without writing and re-reading
    YAML or re-checking the playbooks: a fit builds hundreds. The first is loaded and
    checked in full (`load_data`); the others validate just the two sections they change."""

    def __init__(self) -> None:
        self.first: LoadedScenario | None = None

    def load(self, data: dict[str, Any], replay: np.ndarray | None = None) -> LoadedScenario:
        from simulation.scenario.model import Demand, PoolSpec

        if self.first is None:
            self.first = load_data(data)
            loaded = self.first
        else:
            staffing = {k: PoolSpec.model_validate(v) for k, v in data["staffing"].items()}
            scenario = self.first.scenario.model_copy(update={
                "demand": Demand.model_validate(data["demand"]), "staffing": staffing})
            loaded = replace(self.first, scenario=scenario, staffing=staffing)
        if replay is not None:
            horizon = loaded.scenario.horizon.wall_minutes
            loaded = replace(loaded, replay=tuple(float(t) for t in np.sort(replay)
                                                  if 0 <= t < horizon))
        return loaded


def run_figures(scenarios: Sequence[LoadedScenario], seeds: Sequence[int], days: int,
                thresholds: Sequence[float], kind: str,
                tick: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    """The figures of each (scenario, seed) pair's run (measure.simulated_figures)."""
    from simulation.model.world import run  # the SimPy model only when something runs

    out = []
    for loaded, seed in zip(scenarios, seeds):
        out.append(simulated_figures(run(loaded, seed), days, list(thresholds), kind))
        if tick is not None:
            tick()
    return out


def start_of(period: Period, tz: str) -> datetime:
    """The period's first local midnight."""
    return datetime.combine(period.first, time(0, 0)).replace(tzinfo=zone(tz))


def arrival_minutes(arrival: np.ndarray, period: Period) -> np.ndarray:
    """Wall-clock seconds -> minutes since the period's first midnight."""
    lo, _ = period.seconds()
    return (np.asarray(arrival) - lo) / 60.0
