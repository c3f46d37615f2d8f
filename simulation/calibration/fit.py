"""Fit a scenario's demand and resolve times to an incident event log.

A planner trusts a surge drill only if its normal week looks like theirs. So we read the
opening and resolution times of real incidents and fit what the scenario language can say:
a base rate shaped by hour of day and day of week, step surges on the days that stood out,
and a resolve-time distribution. The rules, so that a reviewer can redo them by hand:

* Observed period: whole local days from the first to the last day whose arrivals reach
  5% of the busiest week's daily mean. Exports often carry a thin tail of stragglers
  (tickets opened months later); counting those days would dilute the base rate.
* Surge days: a day is a surge when its ratio to the expected count (base rate x 24 x
  weekday weight) exceeds both median + 3 x 1.4826 x MAD of all daily ratios (a robust
  3-sigma) and 1.25, and the excess is above 4.5 standard deviations of Poisson noise plus
  the error of the expected count itself. So a quiet weekend with few tickets cannot trip
  it, and pure Poisson noise flags a day with probability about 1e-5. Consecutive surge
  days merge into one period.
* Profile: fitted on the days that are not surges (the surges list accounts for them), first
  with weekday medians as the expectation, then iterated until the set of surge days is
  stable. `base_rate` is the mean arrivals per hour of those days; `hourly` and `weekly` are
  relative rates normalised to mean 1, so rate(t) = base_rate x hourly[h] x weekly[d].
* Resolve time: resolved - opened in minutes, one per incident, positive values only; the
  exponential and the lognormal are fitted by maximum likelihood and the one with the lower
  AIC (log-likelihood penalised by its parameter count) is kept.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from incidents.source import Diagnostic
from simulation.errors import SimulationError
from simulation.scenario.history import busiest_week, read_events

__all__ = [
    "ATTRIBUTION",
    "POISSON_SIGMAS",
    "ArrivalFit",
    "Calibration",
    "ResolveFit",
    "SurgePeriod",
    "calibrate",
    "fit_arrivals",
    "fit_resolve_times",
    "write_fragment",
]

ATTRIBUTION = "Data: UCI Incident management process enriched event log (ServiceNow), CC BY 4.0"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIOD_SHARE = 0.05
"""A day at either end of the log is in the observed period if it reaches this share of the
busiest week's daily mean."""
MIN_SURGE = 1.25
"""No day counts as a surge below this ratio to its expected count, however regular the rest."""
SIGMAS = 3.0
"""Robust sigmas (1.4826 x MAD) of the daily ratios above their median for a surge day."""
POISSON_SIGMAS = 4.5
"""Poisson standard deviations of excess arrivals a surge day needs as well."""
MAX_ROUNDS = 10
Z90 = 1.2815515655446004
"""The 90th percentile of the standard normal."""


@dataclass(frozen=True, slots=True)
class SurgePeriod:
    """Consecutive surge days: `factor` is arrivals / expected over them, `peak` the top day."""

    start: date
    end: date
    arrivals: int
    expected: float
    factor: float
    peak: float

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class ArrivalFit:
    """The arrival profile of an observed period (inclusive local dates `first`..`last`)."""

    first: date
    last: date
    arrivals: int
    outside: int
    base_rate: float
    hourly: tuple[float, ...]
    weekly: tuple[float, ...]
    matrix: tuple[tuple[float, ...], ...]
    """Mean arrivals per hour, [weekday mon..sun][hour 0..23], over the days without surge."""
    surges: tuple[SurgePeriod, ...]
    threshold: float
    """The surge ratio threshold the rule settled on."""
    busiest_start: date
    busiest_arrivals: int


@dataclass(frozen=True, slots=True)
class ResolveFit:
    """Time to resolve, in minutes: both fits, the one kept, and the sample's own statistics."""

    family: Literal["lognormal", "exponential"]
    mean: float
    sd: float
    mu: float
    sigma: float
    loglik_lognormal: float
    loglik_exponential: float
    n: int
    sample_mean: float
    p50: float
    p90: float
    dropped: int
    """Incidents without a positive resolve time (unresolved, or resolved before opening)."""
    percentiles: tuple[float, ...] = ()
    """p0, p1, ..., p100 of the sample: an empirical distribution when no family fits."""

    @property
    def misleading(self) -> bool:
        """The chosen family's mean is more than twice off the sample's (a heavy tail)."""
        ratio = self.mean / self.sample_mean if self.sample_mean > 0 else 1.0
        return not 0.5 <= ratio <= 2.0

    def fitted(self, family: Literal["lognormal", "exponential"]) -> dict[str, float]:
        """Mean, sd, p50 and p90 of either fitted distribution, to set beside the sample's."""
        if family == "exponential":
            m = self.sample_mean
            return {"mean": m, "sd": m, "p50": m * math.log(2), "p90": m * math.log(10)}
        mean = math.exp(self.mu + self.sigma**2 / 2)
        return {"mean": mean, "sd": mean * math.sqrt(math.expm1(self.sigma**2)),
                "p50": math.exp(self.mu), "p90": math.exp(self.mu + Z90 * self.sigma)}


@dataclass(frozen=True, slots=True)
class Calibration:
    """Everything `muster calibrate` learnt from one event log."""

    source: str
    incidents: int
    arrivals: ArrivalFit
    resolve: ResolveFit
    warnings: tuple[Diagnostic, ...] = ()

    def to_scenario_fragment(self) -> dict[str, Any]:
        """The `demand:` section a scenario can paste, plus what it was calibrated on."""
        a, r = self.arrivals, self.resolve
        if r.misleading and r.percentiles:
            # A lognormal with sigma 3 has a mean ten times the sample's: replay the sample's
            # own shape instead, as 101 percentiles.
            resolve: dict[str, Any] = {"empirical": [round(v, 1) for v in r.percentiles]}
        elif r.family == "lognormal":
            resolve = {"lognormal": {"mean": f"{r.mean:.1f}m", "sd": f"{r.sd:.1f}m"}}
        else:
            resolve = {"exponential": {"mean": f"{r.mean:.1f}m"}}
        return {
            "demand": {
                "base_rate": round(a.base_rate, 4),
                "hourly": [round(w, 4) for w in a.hourly],
                "weekly": [round(w, 4) for w in a.weekly],
                "surges": [{"kind": "step", "start": s.start.isoformat(),
                            "duration": f"{s.days}d", "factor": round(s.factor, 3)}
                           for s in a.surges],
            },
            "calibration": {
                "source": Path(self.source).name,
                "incidents": self.incidents,
                "period": [a.first.isoformat(), a.last.isoformat()],
                "busiest_week": {"start": a.busiest_start.isoformat(),
                                 "arrivals": a.busiest_arrivals},
                "resolve_time": resolve,
                "resolve_time_stats": {"mean": round(r.sample_mean, 1), "p50": round(r.p50, 1),
                                       "p90": round(r.p90, 1), "n": r.n},
            },
        }


def _mad_threshold(ratios: np.ndarray) -> float:
    med = float(np.median(ratios))
    mad = float(np.median(np.abs(ratios - med)))
    return max(med + SIGMAS * 1.4826 * mad, MIN_SURGE)


def _surge_days(counts: np.ndarray, expected: np.ndarray,
                support: np.ndarray) -> tuple[np.ndarray, float]:
    """Surge flags per day; `support` = arrivals the day's expectation was estimated from.

    The excess of a day over its expectation has variance expected (Poisson) plus
    expected^2 / support (the expectation is itself an estimate).
    """
    ratios = counts / np.maximum(expected, 1.0)
    threshold = _mad_threshold(ratios)
    sd = np.sqrt(np.maximum(expected, 1.0) * (1.0 + expected / np.maximum(support, 1.0)))
    return (ratios > threshold) & (counts - expected > POISSON_SIGMAS * sd), threshold


def _support(counts: np.ndarray, weekday: np.ndarray, keep: np.ndarray) -> np.ndarray:
    per_weekday = np.bincount(weekday[keep], weights=counts[keep], minlength=7)
    return per_weekday[weekday]


def _profile(counts: np.ndarray, by_hour: np.ndarray, weekday: np.ndarray,
             keep: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """base rate, hourly and weekly weights (mean 1) and the 7x24 matrix from the kept days."""
    if not keep.any():
        keep = np.ones_like(keep)
    base = float(counts[keep].sum()) / (24.0 * int(keep.sum()))
    mean_day = float(counts[keep].mean())
    per_day = np.full(7, mean_day)
    matrix = np.tile(by_hour[keep].mean(axis=0), (7, 1))
    for w in range(7):
        sel = keep & (weekday == w)
        if sel.any():  # a weekday never seen (period under a week) keeps the overall mean
            per_day[w] = counts[sel].mean()
            matrix[w] = by_hour[sel].mean(axis=0)
    hours = by_hour[keep].sum(axis=0).astype(float)
    hourly = hours / hours.mean() if hours.sum() > 0 else np.ones(24)
    weekly = per_day / per_day.mean() if per_day.sum() > 0 else np.ones(7)
    return base, hourly, weekly, matrix


def fit_arrivals(opened: Sequence[datetime]) -> ArrivalFit:
    """The hour-of-day x day-of-week profile, base rate and surges of arrival times.

    Hours and days are the local ones of the timestamps (their own time zone).
    """
    if not opened:
        raise SimulationError("no arrivals to calibrate on")
    start, week_total = busiest_week(opened)
    ordinals = np.fromiter((t.toordinal() for t in opened), np.int64, len(opened))
    hours = np.fromiter((t.hour for t in opened), np.int64, len(opened))
    origin = int(ordinals.min())
    daily = np.bincount(ordinals - origin)
    active = np.flatnonzero(daily >= PERIOD_SHARE * week_total / 7.0)
    lo, hi = int(active[0]), int(active[-1])
    n_days = hi - lo + 1
    inside = (ordinals - origin >= lo) & (ordinals - origin <= hi)
    day_index = ordinals[inside] - origin - lo
    by_hour = np.bincount(day_index * 24 + hours[inside], minlength=n_days * 24)
    by_hour = by_hour.reshape(n_days, 24)
    counts = by_hour.sum(axis=1).astype(float)
    weekday = (np.arange(n_days) + origin + lo - 1) % 7  # ordinal 1 (0001-01-01) is a Monday

    medians = np.array([np.median(counts[weekday == w]) if (weekday == w).any()
                        else counts.mean() for w in range(7)])
    everything = np.ones(n_days, dtype=bool)
    flags, threshold = _surge_days(counts, medians[weekday],
                                   _support(counts, weekday, everything))
    for _ in range(MAX_ROUNDS):
        base, hourly, weekly, matrix = _profile(counts, by_hour, weekday, ~flags)
        expected = base * 24.0 * weekly[weekday]
        new_flags, threshold = _surge_days(counts, expected, _support(counts, weekday, ~flags))
        if np.array_equal(new_flags, flags):
            break
        flags = new_flags
    else:
        base, hourly, weekly, matrix = _profile(counts, by_hour, weekday, ~flags)
        expected = base * 24.0 * weekly[weekday]

    first_day = date.fromordinal(origin + lo)
    surges: list[SurgePeriod] = []
    i = 0
    while i < n_days:
        if not flags[i]:
            i += 1
            continue
        j = i
        while j + 1 < n_days and flags[j + 1]:
            j += 1
        got, want = float(counts[i:j + 1].sum()), float(expected[i:j + 1].sum())
        ratios = counts[i:j + 1] / np.maximum(expected[i:j + 1], 1.0)
        surges.append(SurgePeriod(first_day + timedelta(days=i), first_day + timedelta(days=j),
                                  int(got), want, got / max(want, 1.0), float(ratios.max())))
        i = j + 1
    return ArrivalFit(
        first=first_day, last=first_day + timedelta(days=n_days - 1),
        arrivals=int(inside.sum()), outside=int(len(opened) - inside.sum()),
        base_rate=base, hourly=tuple(map(float, hourly)), weekly=tuple(map(float, weekly)),
        matrix=tuple(tuple(map(float, row)) for row in matrix), surges=tuple(surges),
        threshold=threshold, busiest_start=start, busiest_arrivals=week_total)


def fit_resolve_times(minutes: Sequence[float]) -> ResolveFit:
    """Exponential and lognormal maximum-likelihood fits to positive resolve times (minutes).

    NaN (unresolved), zero and negative times are dropped and counted. For the lognormal, the
    MLE is the mean and (1/n) variance of the logs.
    """
    x = np.asarray(minutes, dtype=float)
    positive = x[np.isfinite(x) & (x > 0)]
    n = int(positive.size)
    if n < 2:
        raise SimulationError(f"need at least 2 positive resolve times to fit; found {n}")
    mean = float(positive.mean())
    logs = np.log(positive)
    mu, sigma = float(logs.mean()), float(logs.std())
    ll_exp = -n * math.log(mean) - n
    if sigma > 0:
        ll_log = float(-logs.sum() - n / 2 * math.log(2 * math.pi * sigma**2) - n / 2)
    else:
        ll_log = math.inf  # every time equal: a degenerate lognormal fits perfectly
    lognormal = 2 * 2 - 2 * ll_log < 2 * 1 - 2 * ll_exp  # lower AIC wins
    fit = ResolveFit(
        family="lognormal" if lognormal else "exponential", mean=mean, sd=mean,
        mu=mu, sigma=sigma, loglik_lognormal=ll_log, loglik_exponential=ll_exp, n=n,
        sample_mean=mean, p50=float(np.percentile(positive, 50)),
        p90=float(np.percentile(positive, 90)), dropped=int(len(minutes) - n),
        percentiles=tuple(float(v) for v in np.percentile(positive, np.arange(101))))
    chosen = fit.fitted(fit.family)
    return dataclasses.replace(fit, mean=chosen["mean"], sd=chosen["sd"])


def calibrate(
    path: str | Path,
    *,
    opened: str = "opened_at",
    resolved: str = "resolved_at",
    id_column: str | None = "number",
    fmt: str = "%d/%m/%Y %H:%M",
    tz: str = "UTC",
) -> Calibration:
    """Read an event log (CSV, or .zip/.gz of one) and fit demand and resolve times to it."""
    events = read_events(path, column=opened, resolved=resolved, fmt=fmt,
                         id_column=id_column, tz=tz)
    arrivals = fit_arrivals(events.opened)
    durations = [(end - start).total_seconds() / 60.0 if end is not None else math.nan
                 for start, end in zip(events.opened, events.resolved)]
    try:
        resolve = fit_resolve_times(durations)
    except SimulationError as exc:
        raise SimulationError([Diagnostic(events.file, 1, 1, "error",
                                          f"{resolved}: {exc}")]) from None
    return Calibration(source=events.file, incidents=len(events.opened), arrivals=arrivals,
                       resolve=resolve, warnings=tuple(events.warnings))


def write_fragment(calibration: Calibration, out_path: str | Path, *,
                   attribution: str | None = ATTRIBUTION) -> Path:
    """Write the scenario fragment as YAML under a comment saying where it came from."""
    a = calibration.arrivals
    header = [
        "# Demand calibrated by `muster calibrate`: paste `demand:` into a scenario.",
        f"# Source: {Path(calibration.source).name} ({calibration.incidents} incidents, "
        f"period {a.first.isoformat()}..{a.last.isoformat()}, {a.outside} outside it ignored)",
        f"# Written: {date.today().isoformat()}",
    ]
    if attribution:
        header.append(f"# {attribution}")
    body = yaml.safe_dump(calibration.to_scenario_fragment(), sort_keys=False,
                          allow_unicode=True, default_flow_style=None, width=100)
    out = Path(out_path)
    try:
        out.write_text("\n".join(header) + "\n" + body, encoding="utf-8")
    except OSError as exc:
        raise SimulationError(f"{out}: cannot write: {exc.strerror or exc}") from None
    return out
