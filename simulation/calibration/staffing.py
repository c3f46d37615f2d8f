"""Staffing read from a log: the agents seen serving, and how available they really were.

Agents seen serving are not agents available (FORECAST.md): breaks, outbound work, after-call
work and other queues take their time, so a model staffed with everyone seen serving in an
hour answers far faster than the log did (15.5 s against 47.8 s, fed the very week's
arrivals). The rules:

* Presence: in each local hour of each day, the number of distinct agents whose service of
  some call overlaps that hour. Per weekday and hour, the mean over the training days of
  that weekday (a weekday the training lacks takes the mean of all days).
* Availability factor a: the training period is simulated with the fitted service time and
  patience, and a the root of
  g(a) = log(simulated mean wait / actual) + log(simulated abandonment / actual),
  so the simulated mean wait and abandonment are off by the same factor in opposite
  directions (both match when the patience fits); without abandonment in the log, the mean
  wait alone. The simulation is the model the factor will be used in. For a scenario of a
  typical week (what `muster calibrate` writes, and a forecast from the training days): the
  weekday-by-hour profile's arrivals (Poisson, each day at a random level as in a forecast)
  and the weekday-by-hour presence x a as shifts. For a model of particular days (a forecast
  given the forecast days' roster): the days' own arrivals replayed and their own hourly
  presence x a as a staff plan. The two differ: averaging presence and arrivals over weeks
  smooths away the hours where a week had more calls than agents, so a typical week needs a
  lower factor to wait as long as the real weeks did (queues are convex in load). The root
  is found on log a (bracketed outwards from a = 1 by factors of 1.5, or from a factor
  fitted on similar days by factors of 1.1; then the Illinois variant of false position)
  with common random numbers (the same seeds, and the same day levels, at every a).
* Its 95% interval: the standard error of log(actual mean wait) + log(actual abandonment),
  from the spread of the training days (batch means: the calls of a day are not
  independent), plus the simulation's own error at a (the spread over replications), turned
  into a range of a through the slope of g at a (over a 3% step). It leaves out the
  errors of the service-time and patience fits.
* Assumes one pool of interchangeable agents serving calls first come first served, with a
  constant share of their hours free for these calls; checked by showing, at the fitted a,
  the simulated and actual figures side by side (the service level too, which is not fitted).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from simulation.calibration.build import (Model, Variants, arrival_minutes, run_figures,
                                          scenario_data)
from simulation.calibration.contacts import Contacts, Period
from simulation.calibration.measure import figures
from simulation.errors import SimulationError
from simulation.results.replications import replication_seed

__all__ = ["Presence", "Availability", "presence", "fit_availability", "BOUNDS",
           "DEFAULT_FIT_REPS", "DAYS_FIT_REPS"]

BOUNDS = (0.05, 4.0)
"""The availability factors searched: from 5% of the agents seen to four times as many."""
TOLERANCE = 0.02
"""The search stops when the bracket is 2% wide or |g| under 0.02 (a 2% error in the
figures): inside the factor's own interval (a small team's staffing moves in steps of one
person for 5 minutes, so g is a staircase at finer scales)."""
MAX_STEPS = 6
SLOPE_STEP = 0.03
"""g's slope at the root is measured over a 3% step (common random numbers keep it smooth)."""
DEFAULT_FIT_REPS = 8
"""Replications per factor tried, typical week: its arrivals are drawn (Poisson, with the
days' levels), so it needs more than a replay to be as sure."""
DAYS_FIT_REPS = 4
"""Replications per factor tried on the period's own days (arrivals replayed)."""
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Presence:
    """Agents seen serving: per day and hour of a period, and per weekday and hour."""

    period: Period
    by_hour: np.ndarray
    weekly: np.ndarray
    agents: int

    @property
    def agent_hours(self) -> float:
        return float(self.by_hour.sum())


def presence(contacts: Contacts, period: Period) -> Presence:
    """Presence of the agents seen serving in `period` (see the module notes)."""
    lo, hi = period.seconds()
    slots = period.days * 24
    seen: set[tuple[int, int]] = set()
    ok = contacts.served & (contacts.agent >= 0) & np.isfinite(contacts.start) \
        & np.isfinite(contacts.end)
    for agent, s, e in zip(contacts.agent[ok], contacts.start[ok], contacts.end[ok]):
        if e < lo or s >= hi:
            continue
        first = int((max(s, lo) - lo) // 3600)
        last = int((min(max(e, s), hi - 1e-6) - lo) // 3600)
        for h in range(first, min(last, slots - 1) + 1):
            seen.add((int(agent), h))
    counts = np.zeros(slots)
    for _, h in seen:
        counts[h] += 1
    by_hour = counts.reshape(period.days, 24)
    weekday = np.array([(period.first + timedelta(days=i)).weekday()
                        for i in range(period.days)])
    weekly = np.array([by_hour[weekday == w].mean(axis=0) if (weekday == w).any()
                       else by_hour.mean(axis=0) for w in range(7)])
    return Presence(period=period, by_hour=by_hour, weekly=weekly,
                    agents=len({a for a, _ in seen}))


@dataclass(frozen=True)
class Availability:
    """The fitted availability factor, its interval, and the fit's check."""

    factor: float
    low: float
    high: float
    actual: dict
    """Training figures from the log (measure.figures)."""
    simulated: dict
    """Mean simulated figures at `factor` over the fit's replications."""
    curve: tuple[tuple[float, float, float | None], ...]
    """(a, simulated mean wait, simulated abandonment) at every factor tried."""
    reps: int
    days: bool = False
    """Fitted on the period's own days (replayed arrivals, hourly presence), not a typical
    week."""
    note: str = ""


def _mean(runs: list[dict]) -> dict:
    out = {}
    for key in ("mean_wait", "abandonment", "arrivals"):
        vals = [r[key] for r in runs if r.get(key) is not None]
        out[key] = float(np.mean(vals)) if vals else None
    out["within"] = {t: float(np.mean([r["within"][t] for r in runs]))
                     for t in runs[0].get("within", {})}
    return out


def _daily_se(contacts: Contacts, period: Period, use_b: bool) -> float:
    """SE of log(mean wait) (+ log(abandonment)) of the period, from its days' batches."""
    lo, _ = period.seconds()
    c = contacts.between(period)
    off = c.offered
    day = ((c.arrival - lo) // 86400).astype(np.int64)[off]
    w, b = c.wait[off], c.abandoned[off].astype(float)
    n = np.bincount(day, minlength=period.days).astype(float)
    have = n > 0
    if have.sum() < 2:
        return math.inf
    sw = np.bincount(day, weights=w, minlength=period.days)
    sb = np.bincount(day, weights=b, minlength=period.days)
    total = n.sum()
    W, B = sw.sum() / total, sb.sum() / total
    rw = (sw - n * W)[have] / total / max(W, 1e-12)
    rb = (sb - n * B)[have] / total / max(B, 1e-12) if use_b else 0.0
    r = rw + rb
    k = int(have.sum())
    return float(math.sqrt(k / (k - 1) * np.sum(r**2)))


def fit_availability(model: Model, contacts: Contacts, seen: Presence, *,
                     days: bool = False, reps: int | None = None, seed: int = 1,
                     start: float = 1.0,
                     tick: Callable[[], None] | None = None) -> Availability:
    """The availability factor of the training period (see the module notes): of the
    typical week (`days` false), or of the period's own days (`days` true)."""
    reps = reps or (DAYS_FIT_REPS if days else DEFAULT_FIT_REPS)
    period = seen.period
    actual = figures(contacts, period, list(model.thresholds))
    w_star, b_star = actual.get("mean_wait"), actual.get("abandonment")
    if not w_star or w_star <= 0:
        raise SimulationError(f"{contacts.file}: nobody waited in the training period "
                              f"{period}: the log says nothing of how many agents were "
                              "available (any number would do)")
    use_b = bool(b_star and b_star > 0 and model.patience is not None)
    train = contacts.between(period)
    replay = arrival_minutes(train.arrival[train.offered], period) if days else None
    seeds = [replication_seed(seed, i) for i in range(reps)]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(10**6 + 1,)))
    factors = [model.profile.day_factors(period, rng) for _ in range(reps)]
    curve: list[tuple[float, float, float | None]] = []
    per_rep: dict[float, np.ndarray] = {}
    runs_at: dict[float, list[dict]] = {}

    variants = Variants()
    noise = [0.0]  # the simulation's standard error of g at the last factor tried

    def g(a: float) -> float:
        if days:
            loaded = [variants.load(scenario_data(model, period, availability=a,
                                                  plan=seen.by_hour, name="availability-fit"),
                                    replay)] * reps
        else:
            loaded = [variants.load(scenario_data(model, period, availability=a,
                                                  day_factors=f, name="availability-fit"))
                      for f in factors]
        runs = run_figures(loaded, seeds, period.days, model.thresholds, "calls", tick)
        m = _mean(runs)
        curve.append((a, m["mean_wait"] or 0.0, m["abandonment"]))
        per_rep[a] = np.array([_g(r, w_star, b_star, use_b) for r in runs])
        runs_at[a] = runs
        noise[0] = float(per_rep[a].std(ddof=1) / math.sqrt(reps)) if reps > 1 else 0.0
        return _g(m, w_star, b_star, use_b)

    a, note = _root(g, start, noise)
    if a not in runs_at:
        g(a)
    g(a * (1 + SLOPE_STEP))
    slope = (float(per_rep[a * (1 + SLOPE_STEP)].mean()) - float(per_rep[a].mean())) / (
        a * SLOPE_STEP)
    sim_se = float(np.std(per_rep[a], ddof=1) / math.sqrt(reps)) if reps > 1 else 0.0
    se = math.sqrt(_daily_se(contacts, period, use_b) ** 2 + sim_se**2)
    half = Z95 * se / abs(slope) if slope else math.inf
    return Availability(factor=a, low=max(a - half, 0.0), high=a + half, actual=actual,
                        simulated=_mean(runs_at[a]), curve=tuple(curve), reps=reps,
                        days=days, note=note)


def _root(g: Callable[[float], float], start: float = 1.0,
          noise: list[float] | None = None) -> tuple[float, str]:
    """The root of the decreasing g on log a, searched from `start` (a factor fitted before
    on similar days saves steps), and a note when it lies at a bound. It stops when |g| is
    under TOLERANCE or under the simulation's own standard error of g (`noise[0]`, updated
    by g): closer than that is chasing noise."""
    noise = noise or [0.0]
    lo_b, hi_b = BOUNDS
    x0 = min(max(start, lo_b), hi_b)
    g0 = g(x0)
    step = (1.5 if start == 1.0 else 1.1) ** (1 if g0 > 0 else -1)
    x1, g1 = x0, g0
    while (g1 > 0) == (g0 > 0):
        x0, g0 = x1, g1
        x1 = min(max(x1 * step, lo_b), hi_b)
        g1 = g(x1)
        if (g1 > 0) == (g0 > 0) and x1 in (lo_b, hi_b):
            if g1 > 0:
                return x1, (f"even {hi_b:.0f}x the agents seen serving wait longer than the "
                            "log: check the service times and the arrivals")
            return x1, (f"even {lo_b:.0%} of the agents seen serving wait less than the log: "
                        "the log's waits are not explained by staffing")
    (lo, g_lo), (hi, g_hi) = sorted([(x0, g0), (x1, g1)])
    side = 0
    for _ in range(MAX_STEPS):
        if hi / lo - 1 < TOLERANCE:
            break
        u, v = math.log(lo), math.log(hi)
        x = math.exp(u + (v - u) * g_lo / (g_lo - g_hi))
        gx = g(x)
        if abs(gx) < max(TOLERANCE, noise[0]):
            return x, ""
        if gx > 0:
            lo, g_lo = x, gx
            if side == 1:
                g_hi /= 2  # Illinois: the end that stays halves its weight
            side = 1
        else:
            hi, g_hi = x, gx
            if side == -1:
                g_lo /= 2
            side = -1
    u, v = math.log(lo), math.log(hi)
    x = math.exp(u + (v - u) * g_lo / (g_lo - g_hi)) if g_lo != g_hi else math.sqrt(lo * hi)
    g(x)
    return x, ""


def _g(m: dict, w_star: float, b_star: float | None, use_b: bool) -> float:
    w = max(m.get("mean_wait") or 0.0, 1e-9)
    out = math.log(w / w_star)
    if use_b and b_star:
        out += math.log(max(m.get("abandonment") or 0.0, 1e-9) / b_star)
    return out
