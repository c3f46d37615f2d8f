"""The service figures of a period, measured one way on the log and on a simulated run.

A backtest compares a forecast with what happened; that means nothing unless both sides are
the same figure. The definitions (the call-centre ones, stated once):

* offered: calls that reached the agents (served, or gave up while waiting, however soon);
* mean wait: over offered calls, of the wait until served or until giving up (a call served
  at once waited 0) -- Erlang A's E[Q]/lambda, `mean_wait_all` of results/waiting.py;
* abandonment: calls that gave up / offered (`abandonment` of results/waiting.py);
* answered within T: calls served after waiting at most T / offered, so a call that gave up
  counts as not answered within T, however soon it gave up (`service_level` of
  results/waiting.py). No short abandons are left out: the log cannot tell a misdial from
  an impatient caller, and leaving some out would need the same rule on both sides.
* arrivals per day and per hour: contacts offered (calls) or opened (tickets) on each local
  day and hour;
* resolve time (tickets): opening to resolution, median and 90th percentile, over the
  tickets opened in the period and resolved.

The simulated side reads the run's event log (`assigned` and `abandoned` events: the same
columns results/waiting.py reads), so the totals are waiting.py's figures exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.calibration.contacts import Contacts, Period
from simulation.results.common import LogView

if TYPE_CHECKING:
    from simulation.model.world import Results

__all__ = ["figures", "simulated_figures", "FIGURES"]

FIGURES = ("arrivals", "mean_wait", "abandonment", "resolve_p50", "resolve_p90")
"""The scalar figures (with `within` per threshold besides)."""


def _service(wait: np.ndarray, served: np.ndarray, abandoned: np.ndarray,
             thresholds: list[float]) -> dict[str, Any]:
    offered = served | abandoned
    n = int(offered.sum())
    if n == 0:
        return {"offered": 0, "mean_wait": None, "abandonment": None,
                "within": {t: None for t in thresholds}}
    w = wait[offered]
    return {"offered": n, "mean_wait": float(w.mean()),
            "abandonment": float(abandoned[offered].mean()),
            "within": {t: float((served & (wait <= t + 1e-9))[offered].mean())
                       for t in thresholds}}


def _resolve(times: np.ndarray) -> dict[str, float | None]:
    t = times[np.isfinite(times)]
    if t.size == 0:
        return {"resolve_p50": None, "resolve_p90": None}
    p50, p90 = np.percentile(t, [50, 90])
    return {"resolve_p50": float(p50), "resolve_p90": float(p90)}


def figures(contacts: Contacts, period: Period, thresholds: list[float]) -> dict[str, Any]:
    """The period's figures from the log (see the module notes); times in seconds."""
    c = contacts.between(period)
    lo, _ = period.seconds()
    hours = np.bincount(((c.arrival - lo) // 3600).astype(np.int64),
                        minlength=period.days * 24)[: period.days * 24]
    out: dict[str, Any] = {"hourly": hours.astype(float),
                           "daily": hours.reshape(period.days, 24).sum(axis=1).astype(float),
                           "arrivals": float(len(c)) / period.days}
    if c.kind == "calls":
        out |= _service(c.wait, c.served, c.abandoned, thresholds)
        day = ((c.arrival - lo) // 86400).astype(np.int64)
        out["daily_wait"] = np.array([
            float(c.wait[(day == d) & c.offered].mean()) if ((day == d) & c.offered).any()
            else np.nan for d in range(period.days)])
    else:
        out |= _resolve(np.where(c.served, c.service, np.nan))
    return out


def simulated_figures(results: Results, days: int, thresholds: list[float],
                      kind: str) -> dict[str, Any]:
    """The same figures of one simulated run whose minute 0 is the period's first midnight."""
    log = LogView(results.log)
    opened = results.cases.columns()["opened"]
    hours = np.bincount((opened // 60).astype(np.int64)[opened < days * 1440],
                        minlength=days * 24)[: days * 24].astype(float)
    out: dict[str, Any] = {"hourly": hours, "daily": hours.reshape(days, 24).sum(axis=1),
                           "arrivals": float(hours.sum()) / days}
    if kind == "calls":
        served, gave_up = log("assigned"), log("abandoned")
        n = opened.size
        wait = np.full(n, np.nan)
        is_served = np.zeros(n, dtype=bool)
        is_abandoned = np.zeros(n, dtype=bool)
        wait[served["case"]] = served["x"] * 60.0
        is_served[served["case"]] = True
        wait[gave_up["case"]] = gave_up["x"] * 60.0
        is_abandoned[gave_up["case"]] = True
        out |= _service(np.nan_to_num(wait), is_served, is_abandoned, thresholds)
        day = (opened // 1440).astype(np.int64)
        offered = is_served | is_abandoned
        out["daily_wait"] = np.array([
            float(wait[(day == d) & offered].mean()) if ((day == d) & offered).any()
            else np.nan for d in range(days)])
    else:
        met = log("milestone")
        code = log.code("resolve")
        out |= _resolve(met["x"][met["a"] == code] * 60.0 if code >= 0 else np.empty(0))
    return out
