"""Backtest: calibrate on training days, simulate the forecast days, compare with the log.

A forecast earns trust by beating the obvious one on days it has not seen. For each fold:

1. calibrate on the training days (pipeline.py);
2. simulate the forecast days R times. Each replication draws what the fit is unsure of, so
   the band covers a week like it, not only the Poisson noise of one fixed model: the
   availability factor from its interval (normal, sd = half-width / 1.96), each day's level
   from a gamma with mean 1 and the training days' extra-Poisson variance (dispersion phi:
   Var = phi x mean, so the squared coefficient of variation is (phi - 1) / mean; none when
   phi <= 1), and the trend's level from its standard error when the trend is used;
3. measure the same figures on the log (measure.py) and on each run; the point forecast is
   the median over the replications (arrivals: the exact expected count), the band the 2.5%
   to 97.5% range (a prediction interval of the period's figure);
4. set them beside the naive forecast: the mean of the training weeks (per weekday for
   arrivals per day; per week for the service figures), with the range of those weeks.

Staffing of the forecast days: `training` (default) uses the training days' agents per
weekday and hour: a pure forecast, knowing nothing of the forecast days. `forecast` uses the
agents seen serving on the forecast days themselves, standing in for the roster a planner
knows in advance (not a pure forecast: say so when quoting it).

Explaining a miss (calls): the forecast is run again with the forecast days' own inputs put
in one at a time: their arrivals (replayed), their agents seen serving, their service times,
and the availability refitted on them. The figure that moves the forecast to the actual names
what the training days could not know. This uses the log's future, by design.

Rolling: every fold of the same lengths that fits in the log, the origin moved by the
forecast's length; the log is taken to run to the end of the week of its last contact (a
centre closed at weekends logs nothing on them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal

import numpy as np

from simulation.calibration.build import (Variants, arrival_minutes, load_data,
                                          run_figures, scenario_data)
from simulation.calibration.contacts import Contacts, Period
from simulation.calibration.measure import figures
from simulation.calibration.pipeline import Calibrated, calibrate_contacts
from simulation.calibration.service import fit_times
from simulation.calibration.staffing import fit_availability, presence
from simulation.errors import SimulationError
from simulation.results.replications import replication_seed

__all__ = ["Fold", "Backtest", "backtest", "folds", "summary", "scalar_figures",
           "DEFAULT_REPS", "EXPLAIN_REPS"]

DEFAULT_REPS = 30
"""Replications of a forecast: 2.5% and 97.5% quantiles of 30 runs are the 1st and 29th
order statistics, rough but honest bands; more with --reps."""
EXPLAIN_REPS = 6
"""Replications of each explanation step (a mean, not a band: fewer will do)."""
Staffing = Literal["training", "forecast"]


@dataclass(frozen=True)
class Fold:
    """One training period, its forecast period, and everything compared on it."""

    train: Period
    forecast: Period
    calibrated: Calibrated
    actual: dict[str, Any]
    naive: dict[str, Any]
    """Naive forecast: 'mean' figures and the training weeks' 'weeks' figures."""
    runs: list[dict[str, Any]]
    staffing: Staffing
    explain: list[tuple[str, dict[str, Any]]]
    """(what was put in, mean figures of the runs) for the explanation steps."""
    expected: dict[str, Any]
    """The model's exact expected arrivals: 'arrivals' per day on average, 'daily', 'hourly'."""


@dataclass(frozen=True)
class Backtest:
    folds: list[Fold]
    thresholds: tuple[float, ...]
    reps: int
    seed: int
    kind: str
    source: str
    licence: str | None


def folds(contacts: Contacts, train: Period, forecast: Period,
          rolling: bool) -> list[tuple[Period, Period]]:
    """The (training, forecast) pairs: the one given, and with `rolling` every other of the
    same lengths that fits in the log, the origin moved by the forecast's length."""
    span = contacts.span
    if forecast.first <= train.last:
        raise SimulationError(f"--forecast {forecast} must start after --train {train} ends")
    if forecast.first > span.last:
        raise SimulationError(f"{contacts.file}: --forecast {forecast} is after the log, which "
                              f"ends {span.last}: nothing to compare with")
    pairs = [(train, forecast)]
    # A centre closed at weekends logs nothing on them: the log is taken to run to the end
    # of the week of its last contact.
    end = span.last + timedelta(days=6 - span.last.weekday())
    if rolling:
        step = timedelta(days=forecast.days)
        for k in range(-60, 61):
            if k == 0:
                continue
            t = Period(train.first + k * step, train.last + k * step)
            f = Period(forecast.first + k * step, forecast.last + k * step)
            if t.first >= span.first and f.last <= end:
                pairs.append((t, f))
        pairs.sort(key=lambda p: p[0].first)
    return pairs


def _weeks(train: Period) -> list[Period]:
    """Whole 7-day blocks of the training period from its first day (or the period itself
    when it is shorter than a week)."""
    n = train.days // 7
    if n == 0:
        return [train]
    return [Period(train.first + timedelta(days=7 * i), train.first + timedelta(days=7 * i + 6))
            for i in range(n)]


def scalar_figures(kind: str, thresholds: tuple[float, ...]) -> list[tuple[str, str]]:
    """(key, label) of the figures a table shows; `within:T` for each threshold."""
    from simulation.calibration.build import label
    if kind == "tickets":
        return [("arrivals", "arrivals per day"), ("resolve_p50", "resolve time p50"),
                ("resolve_p90", "resolve time p90")]
    return ([("arrivals", "arrivals per day"), ("mean_wait", "mean wait")]
            + [(f"within:{t:g}", f"answered within {label(t)}") for t in thresholds]
            + [("abandonment", "abandonment")])


def value(fig: dict[str, Any], key: str) -> float | None:
    """A scalar figure by key (`within:20` reads the 20-second service level)."""
    if key.startswith("within:"):
        t = float(key.split(":", 1)[1])
        return (fig.get("within") or {}).get(t)
    return fig.get(key)


def _naive(contacts: Contacts, train: Period, forecast: Period,
           thresholds: tuple[float, ...]) -> dict[str, Any]:
    weeks = [figures(contacts, w, list(thresholds)) for w in _weeks(train)]
    keys = [k for k, _ in scalar_figures(contacts.kind, thresholds)]
    mean = {}
    for k in keys:
        vals = [value(w, k) for w in weeks if value(w, k) is not None]
        mean[k] = float(np.mean(vals)) if vals else None
    t_fig = figures(contacts, train, list(thresholds))
    t_days = np.array([(train.first + timedelta(days=i)).weekday() for i in range(train.days)])
    daily = []
    for i in range(forecast.days):
        wd = (forecast.first + timedelta(days=i)).weekday()
        same = t_fig["daily"][t_days == wd]
        daily.append(float(same.mean()) if same.size else float(t_fig["daily"].mean()))
    hourly = []
    t_hours = t_fig["hourly"].reshape(train.days, 24)
    for i in range(forecast.days):
        wd = (forecast.first + timedelta(days=i)).weekday()
        same = t_hours[t_days == wd]
        hourly += list(same.mean(axis=0) if same.size else t_hours.mean(axis=0))
    mean["arrivals"] = float(np.mean(daily))
    return {"mean": mean, "weeks": weeks, "daily": np.array(daily),
            "hourly": np.array(hourly)}


def _draws(cal: Calibrated, forecast: Period, rng: np.random.Generator
           ) -> tuple[float, float, list[float] | None]:
    """One replication's availability, trend level and day factors (module notes)."""
    model = cal.model
    a = model.availability
    if cal.availability is not None and math.isfinite(cal.availability.high):
        sd = (cal.availability.high - cal.availability.low) / (2 * 1.959963984540054)
        a = max(float(rng.normal(a, sd)), 0.05 * a)
    p = model.profile
    level = p.level(forecast.first + timedelta(days=forecast.days // 2))
    if p.trend_used:
        level *= math.exp(float(rng.normal(0.0, p.level_sd(forecast.last))))
    factors = p.day_factors(forecast, rng)
    return a, level, factors


def backtest(contacts: Contacts, pairs: list[tuple[Period, Period]], *,
             thresholds: tuple[float, ...], reps: int, seed: int, staffing: Staffing,
             explain: bool, licence: str | None = None,
             progress: Callable[[str, int], Callable[[], None]] | None = None) -> Backtest:
    """Run every fold (module notes). `progress(label, total)` returns a tick function."""
    out = []
    for train, forecast in pairs:
        fold_name = f"({train} -> {forecast})"

        def ticker(what: str, total: int, fold_name: str = fold_name
                   ) -> Callable[[], None] | None:
            return progress(f"{what} {fold_name}", total) if progress else None

        cal = calibrate_contacts(contacts, train, thresholds=thresholds, seed=seed,
                                 days=staffing == "forecast", licence=licence,
                                 tick=ticker("fitting availability", 0))
        actual = figures(contacts, forecast, list(thresholds))
        naive = _naive(contacts, train, forecast, thresholds)
        runs = _forecast_runs(cal, contacts, forecast, reps, seed, staffing,
                              ticker("simulating the forecast", reps))
        steps = _explain(cal, contacts, forecast, seed, ticker("explaining", 0)) \
            if explain and contacts.kind == "calls" else []
        hourly = _expected(cal, forecast)
        out.append(Fold(train=train, forecast=forecast, calibrated=cal, actual=actual,
                        naive=naive, runs=runs, staffing=staffing, explain=steps,
                        expected={"arrivals": float(hourly.sum()) / forecast.days,
                                  "daily": hourly.sum(axis=1), "hourly": hourly.ravel()}))
    return Backtest(folds=out, thresholds=thresholds, reps=reps, seed=seed,
                    kind=contacts.kind, source=contacts.file, licence=licence)


def _expected(cal: Calibrated, forecast: Period) -> np.ndarray:
    """[day, hour] expected arrivals of the forecast: profile x the trend's level (the level
    of the period's middle day, as the runs use)."""
    p = cal.model.profile
    return p.matrix[[(forecast.first + timedelta(days=i)).weekday()
                     for i in range(forecast.days)]] * p.level(
        forecast.first + timedelta(days=forecast.days // 2))


def _forecast_runs(cal: Calibrated, contacts: Contacts, forecast: Period, reps: int,
                   seed: int, staffing: Staffing,
                   tick: Callable[[], None] | None) -> list[dict[str, Any]]:
    model = cal.model
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(10**6,)))
    plan = presence(contacts, forecast).by_hour if staffing == "forecast" and \
        model.kind == "calls" else None
    scenarios, seeds = [], []
    variants = Variants()
    for r in range(reps):
        a, level, factors = _draws(cal, forecast, rng)
        data = scenario_data(model, forecast, availability=a, level=level,
                             day_factors=factors, plan=plan, name="forecast")
        scenarios.append(variants.load(data))
        seeds.append(replication_seed(seed, r))
    return run_figures(scenarios, seeds, forecast.days, model.thresholds, model.kind, tick)


def _explain(cal: Calibrated, contacts: Contacts, forecast: Period, seed: int,
             tick: Callable[[], None] | None) -> list[tuple[str, dict[str, Any]]]:
    """The forecast with the forecast days' own inputs put in one at a time."""
    model = cal.model
    days = contacts.between(forecast)
    replay = arrival_minutes(days.arrival[days.offered], forecast)
    seen = presence(contacts, forecast)
    seeds = [replication_seed(seed, r) for r in range(EXPLAIN_REPS)]
    steps: list[tuple[str, dict[str, Any]]] = []

    def run(what: str, m: Any, plan: np.ndarray | None, arrivals: np.ndarray | None) -> None:
        loaded = load_data(scenario_data(m, forecast, plan=plan, name="explain"), arrivals)
        runs = run_figures([loaded] * len(seeds), seeds, forecast.days, m.thresholds,
                           m.kind, tick)
        steps.append((what, _mean_figures(runs, m.thresholds)))

    run("the forecast's model, no draws", model, None, None)
    run("+ the forecast days' arrivals (replayed)", model, None, replay)
    if not seen.agents or days.served.sum() < 10 or cal.presence is None:
        return steps
    on_days = model
    if not _fitted_on_days(cal):
        own = fit_availability(model, contacts, cal.presence, days=True, seed=seed,
                               start=model.availability, tick=tick)
        on_days = replace(model, availability=own.factor)
    run(f"+ their agents seen serving, hour by hour (availability {on_days.availability:.3f}, "
        "fitted the same way on the training days)", on_days, seen.by_hour, replay)
    service = fit_times(days.service[days.served], "service time")
    own_service = replace(on_days, service=service)
    run("+ their service times", own_service, seen.by_hour, replay)
    refit = fit_availability(own_service, contacts, seen, days=True, seed=seed,
                             start=on_days.availability, tick=tick)
    run(f"+ their own availability ({refit.factor:.3f})",
        replace(own_service, availability=refit.factor), seen.by_hour, replay)
    return steps


def _fitted_on_days(cal: Calibrated) -> bool:
    """Whether the calibration's availability was fitted on the training days themselves."""
    return cal.availability is not None and cal.availability.days


def _mean_figures(runs: list[dict[str, Any]], thresholds: tuple[float, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("arrivals", "mean_wait", "abandonment", "resolve_p50", "resolve_p90"):
        vals = [r[key] for r in runs if r.get(key) is not None]
        out[key] = float(np.mean(vals)) if vals else None
    out["within"] = {t: float(np.mean([r["within"][t] for r in runs if "within" in r]))
                     for t in thresholds} if runs and "within" in runs[0] else {}
    return out


def _relative(x: float | None, actual: float | None) -> float | None:
    """(x - actual) / actual, or None when either is missing or the actual is 0."""
    return (x - actual) / actual if x is not None and actual else None


def summary(fold: Fold) -> list[dict[str, Any]]:
    """One row per scalar figure: actual, Muster's point forecast and 95% band, naive and
    its range, each error relative to the actual, and who is closer.

    The point forecast is the median of the replications (for arrivals, the model's exact
    expected count): waits are convex in the availability drawn per replication, so their
    mean sits above the forecast at the fitted availability, the median does not."""
    rows = []
    kind = fold.calibrated.model.kind
    for key, name in scalar_figures(kind, fold.calibrated.model.thresholds):
        actual = value(fold.actual, key)
        sims = np.array([v for v in (value(r, key) for r in fold.runs) if v is not None])
        mean = float(np.median(sims)) if sims.size else None
        if key == "arrivals":
            mean = fold.expected["arrivals"]  # exact; the runs' mean only estimates it
        low, high = (float(v) for v in np.percentile(sims, [2.5, 97.5])) if sims.size \
            else (None, None)
        naive = fold.naive["mean"].get(key)
        weeks = [value(w, key) for w in fold.naive["weeks"]]
        weeks = [w for w in weeks if w is not None]
        if key == "arrivals":
            weeks = [float(w["daily"].mean()) for w in fold.naive["weeks"]]

        e_m, e_n = _relative(mean, actual), _relative(naive, actual)
        rows.append({"key": key, "figure": name, "actual": actual, "muster": mean,
                     "low": low, "high": high, "naive": naive,
                     "naive_low": min(weeks) if weeks else None,
                     "naive_high": max(weeks) if weeks else None,
                     "muster_error": e_m, "naive_error": e_n,
                     "inside": (low <= actual <= high) if actual is not None and low is not None
                     else None,
                     "better": None if e_m is None or e_n is None else
                     ("muster" if abs(e_m) < abs(e_n) - 1e-12 else
                      "naive" if abs(e_n) < abs(e_m) - 1e-12 else "tie")})
    return rows
