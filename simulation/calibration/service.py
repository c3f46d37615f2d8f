"""Service times, resolve times and patience, fitted to a log and written as distributions.

* Service (or resolve) time: the lognormal by maximum likelihood (mu, sigma of the logs, with
  their standard errors). It is written into the scenario only when it reproduces the
  sample's mean, median and 90th percentile within `FAMILY_TOLERANCE`; otherwise the sample
  itself is, as `EMPIRICAL_POINTS` values, each the mean of an equal-probability slice of the
  sorted sample, so the written distribution keeps the sample's mean exactly and its
  quantiles to within a slice. A queue's waits depend on the mean and spread of service, a
  ticket's figures on its median and tail: a family that misses them is worse than none.
  Assumes the times are independent draws of one distribution over the training period.
* Patience (Brown et al. 2005): a caller who gave up after waiting w shows a patience of w; a
  caller served after waiting w shows only that the patience was longer (right-censored).
  Kaplan-Meier estimates its survival (Greenwood errors) while at least `KM_AT_RISK` calls
  are still waiting; beyond that the tail is parametric: exponential (the maximum-likelihood
  rate is abandonments / total waiting time, Erlang A's assumption) or Weibull (censored
  maximum likelihood), the Weibull kept only when a likelihood-ratio test rejects the
  exponential at 5%. An exponential fit is written as `{exponential: mean}`; otherwise the
  Kaplan-Meier body with the Weibull tail is written as `EMPIRICAL_POINTS` quantiles.
  Assumes patience is independent of the wait a caller is offered (announcements and
  priority classes break that; see the notes in docs/calibration.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize
from scipy import stats as sps

from simulation.errors import SimulationError

__all__ = ["TimeFit", "PatienceFit", "fit_times", "fit_patience", "kaplan_meier",
           "FAMILY_TOLERANCE", "EMPIRICAL_POINTS", "KM_AT_RISK"]

FAMILY_TOLERANCE = 0.05
EMPIRICAL_POINTS = 200
KM_AT_RISK = 50
Z95 = 1.959963984540054
Z90 = 1.2815515655446004
MAX_MINUTES = 3660 * 1440.0


def _minutes(seconds: float) -> float:
    return round(min(seconds / 60.0, MAX_MINUTES), 4)


def _slices(sorted_values: np.ndarray, points: int = EMPIRICAL_POINTS) -> list[float]:
    """Means of `points` equal-probability slices of a sorted sample."""
    n = sorted_values.size
    edges = np.linspace(0, n, min(points, n) + 1)
    cuts = np.round(edges).astype(int)
    return [float(sorted_values[a:b].mean()) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


@dataclass(frozen=True)
class TimeFit:
    """A fitted time (seconds): the sample's figures, the lognormal's, and what is written."""

    what: str
    n: int
    mean: float
    mean_low: float
    mean_high: float
    p50: float
    p90: float
    mu: float
    mu_se: float
    sigma: float
    sigma_se: float
    family: Literal["lognormal", "empirical"]
    slices: tuple[float, ...]

    @property
    def lognormal(self) -> dict[str, float]:
        """The fitted lognormal's mean, p50 and p90 (seconds)."""
        return {"mean": math.exp(self.mu + self.sigma**2 / 2), "p50": math.exp(self.mu),
                "p90": math.exp(self.mu + Z90 * self.sigma)}

    def distribution(self) -> dict[str, Any]:
        """The scenario's distribution (minutes)."""
        if self.family == "lognormal":
            m = self.lognormal["mean"]
            sd = m * math.sqrt(math.expm1(self.sigma**2))
            return {"lognormal": {"mean": f"{_minutes(m)}m", "sd": f"{_minutes(sd)}m"}}
        return {"empirical": [_minutes(v) for v in self.slices]}


def fit_times(seconds: np.ndarray, what: str = "service time") -> TimeFit:
    """Fit positive times (NaN and non-positive ones are not times: dropped)."""
    x = np.asarray(seconds, dtype=float)
    x = np.sort(x[np.isfinite(x) & (x > 0)])
    n = int(x.size)
    if n < 10:
        raise SimulationError(f"{what}: need at least 10 positive times to fit, found {n}")
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())
    mean = float(x.mean())
    half = Z95 * float(x.std(ddof=1)) / math.sqrt(n)
    p50, p90 = (float(v) for v in np.percentile(x, [50, 90]))
    fit = TimeFit(what=what, n=n, mean=mean, mean_low=max(mean - half, 0.0),
                  mean_high=mean + half, p50=p50, p90=p90, mu=mu,
                  mu_se=sigma / math.sqrt(n), sigma=sigma, sigma_se=sigma / math.sqrt(2 * n),
                  family="lognormal", slices=tuple(_slices(x)))
    ln = fit.lognormal
    close = all(abs(ln[k] / v - 1) <= FAMILY_TOLERANCE
                for k, v in (("mean", mean), ("p50", p50), ("p90", p90)) if v > 0)
    if not close or sigma == 0:
        fit = TimeFit(**{**fit.__dict__, "family": "empirical"})
    return fit


def kaplan_meier(wait: np.ndarray, event: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(event times, survival just after each, Greenwood sd, at risk) of right-censored
    data; an event and a censoring at the same time: the event first."""
    order = np.argsort(wait, kind="stable")
    t, e = wait[order], event[order]
    times, index = np.unique(t[e], return_index=False, return_inverse=False), None
    del index
    at_risk = t.size - np.searchsorted(t, times, side="left")
    deaths = np.array([0]) if times.size == 0 else np.bincount(
        np.searchsorted(times, t[e]), minlength=times.size)
    if times.size == 0:
        return times, np.ones(0), np.zeros(0), at_risk
    frac = 1.0 - deaths / at_risk
    surv = np.cumprod(frac)
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)),
                                   0.0))
    return times, surv, surv * np.sqrt(green), at_risk


@dataclass(frozen=True)
class PatienceFit:
    """Patience (seconds) from censored waits (see the module notes)."""

    n: int
    abandoned: int
    exp_mean: float
    exp_low: float
    exp_high: float
    weibull_shape: float
    weibull_scale: float
    shape_low: float
    shape_high: float
    lr_p: float
    """p-value of the likelihood-ratio test of exponential (shape 1) against Weibull."""
    tail: Literal["exponential", "weibull"]
    km_times: np.ndarray
    km_surv: np.ndarray
    km_sd: np.ndarray
    cut: float
    """Kaplan-Meier is kept up to this wait (at least KM_AT_RISK still waiting)."""
    abandonment: float
    mean_wait: float

    @property
    def quick_check(self) -> float:
        """theta x E[wait], the P(abandon) of exponential patience (Brown et al.)."""
        return self.mean_wait / self.exp_mean if self.exp_mean > 0 else math.nan

    def survival(self, t: np.ndarray) -> np.ndarray:
        """The written patience's survival at `t` (seconds): Kaplan-Meier, then the tail."""
        t = np.asarray(t, dtype=float)
        if self.tail == "exponential":
            return np.exp(-t / self.exp_mean)
        k, lam = self.weibull_shape, self.weibull_scale
        s_cut = self._s_cut()
        km = np.ones_like(t)
        idx = np.searchsorted(self.km_times, t, side="right") - 1
        km = np.where(idx >= 0, self.km_surv[np.maximum(idx, 0)], 1.0)
        tail = s_cut * np.exp(-((t / lam) ** k) + (self.cut / lam) ** k)
        return np.where(t <= self.cut, km, tail)

    def _s_cut(self) -> float:
        inside = self.km_times <= self.cut
        return float(self.km_surv[inside][-1]) if inside.any() else 1.0

    def quantiles(self, points: int = EMPIRICAL_POINTS) -> list[float]:
        """The written patience's quantiles at (i + 0.5) / points, seconds."""
        u = (np.arange(points) + 0.5) / points
        if self.tail == "exponential":
            return list(-np.log1p(-u) * self.exp_mean)
        k, lam = self.weibull_shape, self.weibull_scale
        s_cut = self._s_cut()
        inside = self.km_times <= self.cut
        times, surv = self.km_times[inside], self.km_surv[inside]
        out = []
        for q in u:
            if 1.0 - q >= s_cut:  # in the Kaplan-Meier body: first time S drops to 1 - q
                i = int(np.searchsorted(-surv, -(1.0 - q), side="right"))
                out.append(float(times[i]) if i < times.size else self.cut)
            else:
                rest = (1.0 - q) / s_cut
                out.append(lam * ((self.cut / lam) ** k - math.log(rest)) ** (1.0 / k))
        return out

    def distribution(self) -> dict[str, Any]:
        """The scenario's `patience` (minutes)."""
        if self.tail == "exponential":
            return {"exponential": f"{_minutes(self.exp_mean)}m"}
        return {"empirical": [_minutes(v) for v in self.quantiles()]}


def _weibull(t: np.ndarray, e: np.ndarray) -> tuple[float, float, float, float]:
    """Censored Weibull MLE: (shape, scale, log-likelihood, sd of log shape)."""
    d = int(e.sum())
    logt = np.log(t)

    def nll(theta: np.ndarray) -> float:
        k, lam = math.exp(theta[0]), math.exp(theta[1])
        z = (t / lam) ** k
        return -float(d * (math.log(k) - k * math.log(lam)) + (k - 1) * logt[e].sum()
                      - z.sum())

    start = np.array([0.0, math.log(t.sum() / max(d, 1))])
    res = optimize.minimize(nll, start, method="Nelder-Mead",
                            options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 4000})
    k, lam = math.exp(res.x[0]), math.exp(res.x[1])
    h = 1e-4
    f0 = res.fun
    second = (nll(res.x + [h, 0]) - 2 * f0 + nll(res.x - [h, 0])) / h**2
    return k, lam, -float(res.fun), 1.0 / math.sqrt(second) if second > 0 else math.inf


def fit_patience(wait: np.ndarray, abandoned: np.ndarray) -> PatienceFit:
    """Patience from the waits (seconds) of offered calls and whether each gave up."""
    w = np.asarray(wait, dtype=float)
    e = np.asarray(abandoned, dtype=bool)
    keep = np.isfinite(w) & (w >= 0)
    w, e = w[keep], e[keep]
    d = int(e.sum())
    if d < 5:
        raise SimulationError(f"patience: need at least 5 calls that gave up to fit it, "
                              f"found {d}")
    exposure = float(w.sum())
    exp_mean = exposure / d
    # 95% interval of the mean: d ~ Poisson given the exposure (exact chi-square bounds).
    lo = exposure / (sps.chi2.ppf(0.975, 2 * d + 2) / 2)
    hi = exposure / (sps.chi2.ppf(0.025, 2 * d) / 2)
    # A wait of 0 has no likelihood under a Weibull: it is taken as half the smallest wait
    # above 0 (half a second when the log counts whole seconds).
    positive = w[w > 0]
    t = np.where(w > 0, w, 0.5 * float(positive.min()) if positive.size else 0.5)
    ll_exp = -d * math.log(exp_mean) - float(t.sum()) / exp_mean
    k, lam, ll_w, sd_logk = _weibull(t, e)
    lr = max(2 * (ll_w - ll_exp), 0.0)
    p = float(sps.chi2.sf(lr, 1))
    times, surv, sd, at_risk = kaplan_meier(w, e)
    enough = at_risk >= KM_AT_RISK
    cut = float(times[enough][-1]) if enough.any() else 0.0
    return PatienceFit(
        n=int(w.size), abandoned=d, exp_mean=exp_mean, exp_low=lo, exp_high=hi,
        weibull_shape=k, weibull_scale=lam, shape_low=k * math.exp(-Z95 * sd_logk),
        shape_high=k * math.exp(Z95 * sd_logk), lr_p=p,
        tail="weibull" if p < 0.05 else "exponential", km_times=times, km_surv=surv,
        km_sd=sd, cut=cut, abandonment=d / w.size, mean_wait=float(w.mean()))
