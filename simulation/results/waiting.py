"""Waiting for staff: waits, customers who gave up, service level, and Little's law.

Every piece of work that could not start at once waited in a queue and ended its wait in one
of two ways: served (an `assigned` event, x = minutes waited) or abandoned (an `abandoned`
event, x = minutes waited when the customer gave up). Per tier, over the counted cases (those
opened after the warm-up):

- `offered`: waits that ended, served or abandoned, plus work started at once (a wait of 0);
- `abandonment`: abandoned / offered, the P(abandon) of queueing theory (Erlang A);
- `asa`: the average speed of answer, the mean wait of served work;
- `wait`: mean and percentiles of the wait of served work;
- `mean_wait_all`: the mean wait of everything offered, abandoned waits included (E[Q]/lambda
  by Little's law on the queue, the "mean wait" of Erlang A);
- `service_level`: per threshold the scenario names, the share of offered work served within
  it. A customer who gave up counts as not served within it, whenever they gave up.

Little's law is checked with two independent measurements over [warm-up, horizon): L, the
time-average of the backlog sampled by the signal process, against lambda x W, the arrival
rate times the mean time in system of the cases that arrived in the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.results.common import TIERS, LogView, case_mask, share, stats

if TYPE_CHECKING:
    from simulation.model.world import Results

__all__ = ["service_levels", "waiting", "little", "threshold_label"]


def threshold_label(minutes: float) -> str:
    """A service-level threshold as people write it: 20s, 45m, 2h, 3d."""
    seconds = round(minutes * 60.0, 6)
    if seconds < 60 or not float(seconds / 60).is_integer():
        return f"{seconds:g}s"
    if minutes < 60 or not float(minutes / 60).is_integer():
        return f"{minutes:g}m"
    if minutes < 2880 or not float(minutes / 1440).is_integer():
        return f"{minutes / 60:g}h"
    return f"{minutes / 1440:g}d"


def service_levels(durations: Any) -> list[tuple[str, float]]:
    """(label, minutes) of each service-level threshold, labelled as the scenario writes it
    (`60s` stays `60s`), shortest first; a threshold written twice counts once."""
    seen: dict[float, str] = {}
    for d in durations or []:
        seen.setdefault(float(d.wall_minutes), str(d))
    return sorted(((label, m) for m, label in seen.items()), key=lambda lm: lm[1])


def _thresholds(results: Results) -> list[tuple[str, float]]:
    return service_levels(getattr(results.scenario.scenario, "service_level", None))


def waiting(results: Results, log: LogView, cases: dict[str, np.ndarray],
            counted: np.ndarray) -> dict[str, Any]:
    """Per tier and for all tiers: waits, abandonment, average speed of answer and the
    service level at the scenario's thresholds (see the module notes)."""
    served, gave_up = log("assigned"), log("abandoned")
    keep_s, keep_a = case_mask(served["case"], counted), case_mask(gave_up["case"], counted)
    s_wait, s_tier = served["x"][keep_s], cases["tier"][served["case"][keep_s]]
    a_wait, a_tier = gave_up["x"][keep_a], cases["tier"][gave_up["case"][keep_a]]
    a_case = gave_up["case"][keep_a]
    thresholds = _thresholds(results)
    opened_by_tier = np.bincount(cases["tier"][counted].astype(np.int64), minlength=3)

    def row(sw: np.ndarray, aw: np.ndarray, cases_gave_up: int, opened: int) -> dict[str, Any]:
        offered = sw.size + aw.size
        every = np.concatenate([sw, aw])
        return {"offered": int(offered), "served": int(sw.size), "abandoned": int(aw.size),
                "abandonment": share(aw.size, offered),
                "cases_abandoned": int(cases_gave_up),
                "case_abandonment": share(cases_gave_up, opened),
                "asa": float(sw.mean()) if sw.size else None,
                "mean_wait_all": float(every.mean()) if every.size else None,
                "wait": stats(sw),
                "service_level": {label: share(int((sw <= t + 1e-9).sum()), offered)
                                  for label, t in thresholds}}

    out: dict[str, Any] = {}
    for t, tier in enumerate(TIERS):
        mine = a_tier == t
        out[tier] = row(s_wait[s_tier == t], a_wait[mine], int(np.unique(a_case[mine]).size),
                        int(opened_by_tier[t]))
    out["all"] = row(s_wait, a_wait, int(np.unique(a_case).size), int(counted.sum()))
    return out


def little(results: Results, log: LogView, cases: dict[str, np.ndarray]) -> dict[str, Any]:
    """Little's law over [warm-up, horizon): the sampled backlog's time-average L against
    lambda x W; `gap` is (L - lambda W) / (lambda W)."""
    lo, hi = results.warmup, results.horizon
    sig = log("signal")
    inside = (sig["t"] > lo) & (sig["t"] <= hi)
    sampled = sig["a"][inside].astype(float)
    opened, closed = cases["opened"], cases["closed"]
    arrived = (opened >= lo) & (opened < hi)
    stay = np.where(np.isnan(closed), results.end, closed)[arrived] - opened[arrived]
    lam = share(int(arrived.sum()), hi - lo)
    w = float(stay.mean()) if stay.size else None
    l_sampled = float(sampled.mean()) if sampled.size else None
    lw = lam * w if lam is not None and w is not None else None
    return {"L_sampled": l_sampled, "arrival_rate_per_minute": lam, "mean_time_in_system": w,
            "lambda_w": lw, "samples": int(sampled.size),
            "gap": (l_sampled - lw) / lw if l_sampled is not None and lw else None}
