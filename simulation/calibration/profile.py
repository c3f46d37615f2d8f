"""Arrivals as a weekday-by-hour profile, with a trend and intervals.

Call centres are shaped by weekday and hour together: a bank that closes on Friday afternoon
and opens on Saturday evening has a Friday and a Saturday unlike its other days, which an
hourly x weekly product cannot say (it put 233 calls a week into a closed Friday afternoon).
So the profile is the 7 x 24 table of mean arrivals per hour, each weekday estimated from
its own days of the training period.

The rules, so that a reviewer can redo them:

* Cell (weekday w, hour h): the mean count over the training days that are weekday w. Its
  95% interval is the exact (Garwood) Poisson interval of the summed count, divided by the
  days, widened by the square root of the dispersion (below) when counts vary more than
  Poisson. A weekday the training period lacks takes the mean of the days it has (noted).
* Trend: a Poisson regression of the daily totals on weekday effects and a straight line in
  time (log scale, IRLS), so weekly growth is exp(slope x 7 days) - 1. Its 95% interval uses
  the dispersion phi = Pearson chi-square / (days - parameters), when above 1. It is used in
  forecasts only when that interval excludes zero (Taylor 2008: beyond a few days an average
  is hard to beat, and a trend read from two or three weeks is mostly noise); it needs more
  days than parameters (at least 9 days covering every weekday twice for a meaningful one).
* Assumes: arrivals are a Poisson process whose rate depends on the weekday and hour and
  drifts at most smoothly in level (no holidays or surges inside the training period: cut
  them out with --train). The dispersion is reported so that this can be checked: phi well
  above 1 says the days differ by more than chance. One week of training cannot tell (as
  many weekday effects as days): the dispersion is then unknown and taken as Poisson.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy import stats as sps

from simulation.calibration.contacts import Contacts, Period
from simulation.calibration.columns import EPOCH
from simulation.errors import SimulationError

__all__ = ["ArrivalProfile", "fit_profile", "daily_counts", "hourly_counts", "Z95"]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class ArrivalProfile:
    """The fitted arrival profile of a training period (see the module notes)."""

    period: Period
    matrix: np.ndarray
    """[weekday mon..sun, hour] mean arrivals per hour over the training days."""
    low: np.ndarray
    high: np.ndarray
    """95% interval of each cell of `matrix`."""
    seen: tuple[int, ...]
    """Training days of each weekday."""
    trend: float
    """Relative change of the level per week (exp(slope x 7) - 1)."""
    trend_low: float
    trend_high: float
    trend_used: bool
    dispersion: float
    """Pearson chi-square / df of the daily totals under the weekday + trend model; NaN
    when the days are too few to tell (no more days than parameters: one week)."""
    slope: float
    """Log-level change per day."""
    slope_se: float
    centre: float
    """Middle of the training period, days since EPOCH (the trend is zero there)."""
    arrivals: int

    @property
    def base_rate(self) -> float:
        """Mean arrivals per hour over a week of the profile."""
        return float(self.matrix.mean())

    def level(self, day: date) -> float:
        """The trend's multiplier on `day` (1 when the trend is not used)."""
        if not self.trend_used:
            return 1.0
        return math.exp(self.slope * ((day - EPOCH.date()).days + 0.5 - self.centre))

    def level_sd(self, day: date) -> float:
        """The sd of log(level) on `day` (0 when the trend is not used)."""
        if not self.trend_used:
            return 0.0
        return self.slope_se * abs((day - EPOCH.date()).days + 0.5 - self.centre)

    def day_factors(self, period: Period, rng: np.random.Generator) -> list[float] | None:
        """Random levels of the period's days: gamma with mean 1 and the training days'
        extra-Poisson variance (Var = dispersion x mean, so CV^2 = (dispersion - 1) / mean);
        None when the days vary no more than Poisson."""
        if not self.dispersion > 1:  # at most Poisson, or unknown (NaN)
            return None
        out = []
        for mu in self.expected(period).sum(axis=1):
            cv2 = (self.dispersion - 1) / max(float(mu), 1.0)
            out.append(float(rng.gamma(1 / cv2, cv2)) if mu > 0 else 1.0)
        return out

    def expected(self, period: Period) -> np.ndarray:
        """[day, hour] expected arrivals on the period's days (profile x trend level)."""
        out = np.empty((period.days, 24))
        for i in range(period.days):
            d = period.first + timedelta(days=i)
            out[i] = self.matrix[d.weekday()] * self.level(d)
        return out


def hourly_counts(contacts: Contacts, period: Period) -> np.ndarray:
    """[day, hour] arrivals on the period's local days."""
    lo, _ = period.seconds()
    inside = contacts.between(period).arrival
    index = ((inside - lo) // 3600.0).astype(np.int64)
    return np.bincount(index, minlength=period.days * 24)[: period.days * 24].reshape(
        period.days, 24)


def daily_counts(contacts: Contacts, period: Period) -> np.ndarray:
    """Arrivals per local day of the period."""
    return hourly_counts(contacts, period).sum(axis=1)


def _garwood(total: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact 95% Poisson interval of a summed count, per day."""
    low = np.where(total > 0, sps.chi2.ppf(0.025, 2 * total) / 2, 0.0)
    high = sps.chi2.ppf(0.975, 2 * total + 2) / 2
    return low / days, high / days


def _poisson_trend(y: np.ndarray, weekday: np.ndarray, t: np.ndarray
                   ) -> tuple[float, float, float]:
    """(slope per day, its SE under Poisson, Pearson dispersion) of log E[y] = a_w + b t."""
    present = sorted(set(weekday.tolist()))
    cols = [(weekday == w).astype(float) for w in present]
    x = np.column_stack(cols + [t - t.mean()])
    p = x.shape[1]
    if y.size <= p or y.sum() == 0:
        return 0.0, math.inf, math.nan
    mu = np.maximum(y.astype(float), 0.5)
    beta = np.zeros(p)
    for _ in range(50):
        eta = np.log(mu)
        z = eta + (y - mu) / mu
        w = mu
        xtw = x.T * w
        try:
            new = np.linalg.solve(xtw @ x, xtw @ z)
        except np.linalg.LinAlgError:
            return 0.0, math.inf, math.nan
        mu = np.exp(np.clip(x @ new, -50, 50))
        if np.max(np.abs(new - beta)) < 1e-10:
            beta = new
            break
        beta = new
    cov = np.linalg.inv((x.T * mu) @ x)
    dispersion = float(np.sum((y - mu) ** 2 / mu) / (y.size - p))
    return float(beta[-1]), float(math.sqrt(cov[-1, -1])), dispersion


def fit_profile(contacts: Contacts, period: Period) -> ArrivalProfile:
    """The weekday-by-hour profile and trend of the contacts that arrived in `period`."""
    counts = hourly_counts(contacts, period)
    if counts.sum() == 0:
        raise SimulationError(f"{contacts.file}: no arrivals in the training period {period}")
    days = np.array([(period.first + timedelta(days=i)) for i in range(period.days)])
    weekday = np.array([d.weekday() for d in days])
    seen = tuple(int((weekday == w).sum()) for w in range(7))
    total = np.zeros((7, 24))
    for w in range(7):
        if seen[w]:
            total[w] = counts[weekday == w].sum(axis=0)
    n_days = np.array(seen, dtype=float)
    mean_day = counts.mean(axis=0)
    matrix = np.where(n_days[:, None] > 0, total / np.maximum(n_days, 1)[:, None], mean_day)
    t = np.array([(d - EPOCH.date()).days + 0.5 for d in days])
    slope, se, dispersion = _poisson_trend(counts.sum(axis=1), weekday, t)
    widen = math.sqrt(max(dispersion, 1.0)) if math.isfinite(dispersion) else 1.0
    low, high = _garwood(total, np.maximum(n_days, 1)[:, None])
    low = np.maximum(matrix - (matrix - low) * widen, 0.0)
    high = matrix + (high - matrix) * widen
    missing = n_days == 0
    low[missing], high[missing] = 0.0, np.inf
    se_used = se * widen
    if math.isfinite(se_used):
        trend, lo, hi = (math.expm1(7 * slope), math.expm1(7 * (slope - Z95 * se_used)),
                         math.expm1(7 * (slope + Z95 * se_used)))
        used = lo > 0 or hi < 0
    else:
        trend, lo, hi, used = 0.0, -math.inf, math.inf, False
    return ArrivalProfile(period=period, matrix=matrix, low=low, high=high, seen=seen,
                          trend=trend, trend_low=lo, trend_high=hi, trend_used=used,
                          dispersion=dispersion, slope=slope if used else 0.0,
                          slope_se=se_used if used else 0.0, centre=float(t.mean()),
                          arrivals=int(counts.sum()))
