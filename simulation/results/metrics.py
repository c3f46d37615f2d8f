"""Metrics of one replication: pure functions of its event log, case table and totals.

`compute(results)` never simulates; it reads what `model.run` wrote and returns a plain,
JSON-serialisable dict, so replications can be computed in worker processes and only the
small dicts travel back. Everything is columnar numpy: a million-incident log (tens of
millions of events) takes seconds, not minutes.

Conventions, chosen so that replications are comparable and the numbers mean one thing:
- Case-based metrics (SLA, times to milestones, escalations, case messages, complaints, SLA
  penalties, Little's law) leave out incidents opened before `warmup`: the empty, idle start
  of a run is not the steady state a planner asks about.
- A milestone is judged once per case: met on time, or failed (breached, or met late). A case
  that closed without reaching it, or whose deadline had not yet come at the end, is not
  judged: nobody can say yet whether it would have been on time (right-censored).
- Percentiles are numpy's default (linear interpolation between order statistics).
- Resource totals (staff minutes, stock movements, wages, parts) cover the whole run, warmup
  included: the organisation pays for the warmup too.
- Keys are stable across replications (tiers, milestones, levels and audiences come from the
  playbooks, not only from what happened), so `replications.summarise` can line them up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from incidents.model import MILESTONES
from simulation.model.eventlog import KINDS, EventLog

if TYPE_CHECKING:
    from simulation.model.world import Results

__all__ = ["TIERS", "compute", "level_order", "stats", "STOCK_POINTS"]

TIERS = ("VIP", "tier1", "tier2")
"""Tier names in the order of the case table's tier index."""

STOCK_POINTS = 2000
"""Longest stock-level series kept per SKU; longer ones are reduced to per-bin minima, so a
short stock-out still shows as a dip to zero."""


def stats(values: np.ndarray) -> dict[str, float | int | None]:
    """n, mean, p50, p90 and p95 of a sample (None when the sample is empty)."""
    n = int(values.size)
    if n == 0:
        return {"n": 0, "mean": None, "p50": None, "p90": None, "p95": None}
    p50, p90, p95 = np.percentile(values, [50, 90, 95])
    return {"n": n, "mean": float(values.mean()), "p50": float(p50), "p90": float(p90),
            "p95": float(p95)}


def _share(num: float, den: float) -> float | None:
    return float(num) / float(den) if den > 0 else None


def _playbooks(results: Results) -> list[Any]:
    return list(getattr(results.scenario, "playbooks", {}).values())


def level_order(results: Results) -> list[str]:
    """Emergency level names, normal first then least to most severe (the lead playbook's)."""
    pbs = getattr(results.scenario, "playbooks", {})
    lead = pbs.get(results.kinds[0]) if results.kinds else None
    if lead is None:
        return ["normal"]
    return [lead.emergency.normal, *lead.emergency.levels]


class _Log:
    """The log's columns, read per kind on demand (one pass over the kind column each), so
    each metric touches only its own events."""

    def __init__(self, log: EventLog) -> None:
        self._cols = log.columns()
        self._kind = self._cols.pop("kind")
        self.names = log.names.items
        self._index = log.names.index
        self._cache: dict[str, dict[str, np.ndarray]] = {}

    def code(self, name: str) -> int:
        """The interned index of a name; -1 if the run never used it (matches nothing)."""
        return self._index.get(name, -1)

    def __call__(self, kind: str) -> dict[str, np.ndarray]:
        if kind not in self._cache:
            idx = np.flatnonzero(self._kind == KINDS.index(kind))
            self._cache[kind] = {k: v[idx] for k, v in self._cols.items()}
        return self._cache[kind]


def compute(results: Results) -> dict[str, Any]:
    """Every metric of one replication, as a JSON-serialisable dict (see the module notes)."""
    log = _Log(results.log)
    cases = results.cases.columns()
    counted = cases["opened"] >= results.warmup  # per case: inside the measured window
    met, breach = _judged(log, counted)
    return {
        "run": {"scenario": results.scenario.scenario.name, "seed": int(results.seed),
                "horizon_minutes": float(results.horizon), "end_minutes": float(results.end),
                "warmup_minutes": float(results.warmup), "arrivals": int(results.arrivals)},
        "incidents": _incidents(results, log, cases, counted),
        "sla": _sla(results, log, cases, met, breach),
        "times": _times(results, log, cases, met),
        "backlog": _backlog(log),
        "utilisation": _utilisation(results),
        "stock": _stock(results, log),
        "escalations": _escalations(results, log, counted),
        "emergency": _emergency(results, log),
        "communications": _communications(results, log, counted),
        "complaints": _complaints(log, counted),
        "costs": _costs(results, log, cases, counted),
    }


def _case_mask(case: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """Events of counted cases (operation-wide events, case -1, are not case events)."""
    ok = case >= 0
    out = np.zeros(case.shape, dtype=bool)
    out[ok] = counted[case[ok]]
    return out


def _incidents(results: Results, log: _Log, cases: dict[str, np.ndarray],
               counted: np.ndarray) -> dict[str, Any]:
    """Counts, time in system, and both sides of Little's law L = lambda x W.

    Over the window [warmup, end], L is the time-average number of counted incidents in the
    system (from the case table, open ones until the end), lambda their arrival rate and W
    their mean time in the window: L = lambda W holds exactly, which checks the log. The
    backlog sampled by the signal process (all incidents) is given beside it as an
    independent estimate of L. `staff_wait`: minutes each piece of work waited for a member
    of staff (the queueing delay Wq of textbook formulas such as Erlang C).
    """
    opened = cases["opened"][counted]
    closed = cases["closed"][counted]
    done = ~np.isnan(closed)
    window = results.end - results.warmup
    stay = np.minimum(np.where(done, closed, results.end), results.end) - opened
    sig = log("signal")
    sampled = sig["a"][sig["t"] >= results.warmup].astype(float)
    assigned = log("assigned")
    waits = assigned["x"][_case_mask(assigned["case"], counted)]
    lam = _share(opened.size, window)
    w = float(stay.mean()) if stay.size else None
    return {
        "opened": int(opened.size), "closed": int(done.sum()),
        "open_at_end": int((~done).sum()),
        "mean_time_in_system": float((closed[done] - opened[done]).mean()) if done.any()
        else None,
        "mean_number_in_system": _share(float(stay.sum()), window),
        "mean_number_in_system_sampled": float(sampled.mean()) if sampled.size else None,
        "arrival_rate_per_minute": lam,
        "mean_time_in_window": w,
        "little_lambda_w": lam * w if lam is not None and w is not None else None,
        "staff_wait": stats(waits),
    }


def _milestones(results: Results, log: _Log) -> list[str]:
    """Milestones of the playbooks and of every milestone or breach event (warmup cases
    included, so a milestone only they reached still gets its, empty, row)."""
    seen: set[str] = {m for pb in _playbooks(results) for m in pb.lifecycle.milestones}
    for kind in ("milestone", "breach"):
        seen.update(log.names[i] for i in np.unique(log(kind)["a"]).tolist())
    return sorted(seen, key=lambda m: (MILESTONES.index(m) if m in MILESTONES else 99, m))


def _judged(log: _Log, counted: np.ndarray
            ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The milestone and breach events of counted cases. The runtime meets a milestone at
    most once per case and a deadline expires at most once, so there is nothing to dedupe."""
    met, breach = log("milestone"), log("breach")
    keep_met, keep_breach = _case_mask(met["case"], counted), _case_mask(breach["case"], counted)
    return ({k: v[keep_met] for k, v in met.items()},
            {k: v[keep_breach] for k, v in breach.items()})


def _sla(results: Results, log: _Log, cases: dict[str, np.ndarray],
         met: dict[str, np.ndarray], breach: dict[str, np.ndarray]
         ) -> dict[str, dict[str, dict[str, Any]]]:
    """Attainment per tier and milestone: on time / (on time + failed), failed being
    breached (met late or never) or met late without a breach event.

    Per (case, milestone) flags in dense boolean arrays and one bincount per count: no
    sorting, so a million cases take well under a second.
    """
    names = log.names
    milestones = _milestones(results, log)
    slot = np.full(max(len(names), 1), -1, dtype=np.int64)  # interned name -> column
    for j, ms in enumerate(milestones):
        if log.code(ms) >= 0:
            slot[log.code(ms)] = j
    m = len(milestones)
    n = len(cases["tier"])

    def flags(ev: dict[str, np.ndarray], keep: np.ndarray) -> np.ndarray:
        out = np.zeros(n * m, dtype=bool)
        out[ev["case"][keep].astype(np.int64) * m + slot[ev["a"][keep]]] = True
        return out

    on_time = flags(met, met["b"] == 1)
    breached = flags(breach, np.ones(breach["case"].shape, dtype=bool))
    failed = flags(met, met["b"] == 0) | breached
    on_time &= ~failed  # a breach outranks a later "on time"
    cell = (np.repeat(cases["tier"].astype(np.int64), m) * m
            + np.tile(np.arange(m, dtype=np.int64), n))  # tier x milestone of each flag

    def count(flag: np.ndarray) -> np.ndarray:
        return np.bincount(cell[flag], minlength=len(TIERS) * m).reshape(len(TIERS), m)

    c_on, c_failed, c_breached = count(on_time), count(failed), count(breached)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for t, tier in enumerate(TIERS):
        out[tier] = {}
        for j, ms in enumerate(milestones):
            judged = int(c_on[t, j] + c_failed[t, j])
            out[tier][ms] = {"attainment": _share(int(c_on[t, j]), judged),
                             "on_time": int(c_on[t, j]), "failed": int(c_failed[t, j]),
                             "breached": int(c_breached[t, j]), "judged": judged}
    return out


def _times(results: Results, log: _Log, cases: dict[str, np.ndarray],
           met: dict[str, np.ndarray]) -> dict[str, dict[str, dict[str, Any]]]:
    """Minutes from opening to each milestone (met on time or late), per tier."""
    tier = cases["tier"][met["case"]] if met["case"].size else met["case"]
    milestones = _milestones(results, log)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for t, name in enumerate(TIERS):
        out[name] = {}
        for ms in milestones:
            code = log.code(ms)
            out[name][ms] = stats(met["x"][(tier == t) & (met["a"] == code)])
    return out


def _backlog(log: _Log) -> dict[str, list[float]]:
    """The signal samples: open backlog, arrivals in each interval and as a rate per hour."""
    sig = log("signal")
    t = sig["t"]
    width = np.diff(np.concatenate([[0.0], t])) if t.size else t
    per_hour = np.where(width > 0, sig["b"] * 60.0 / np.where(width > 0, width, 1.0), 0.0)
    return {"minute": t.tolist(), "open": sig["a"].astype(int).tolist(),
            "arrivals": sig["b"].astype(int).tolist(), "arrivals_per_hour": per_hour.tolist()}


def _utilisation(results: Results) -> dict[str, dict[str, Any]]:
    return {name: {"busy_minutes": float(p["busy_minutes"]),
                   "capacity_minutes": float(p["capacity_minutes"]),
                   "overtime_minutes": float(p["overtime_minutes"]),
                   "utilisation": _share(p["busy_minutes"], p["capacity_minutes"])}
            for name, p in results.pools.items()}


def _stock_series(t: np.ndarray, level: np.ndarray, initial: float,
                  end: float) -> dict[str, list[float]]:
    t = np.concatenate([[0.0], t])
    level = np.concatenate([[float(initial)], level])
    last = np.concatenate([t[1:] != t[:-1], [True]])  # moves at one minute: the level after
    t, level = t[last], level[last]
    if t.size > STOCK_POINTS and end > 0:
        bins = np.minimum((t / end * STOCK_POINTS).astype(np.int64), STOCK_POINTS - 1)
        starts = np.flatnonzero(np.concatenate([[True], bins[1:] != bins[:-1]]))
        level = np.minimum.reduceat(level, starts)
        t = bins[starts] * (end / STOCK_POINTS)
    return {"minute": t.tolist(), "on_hand": level.tolist()}


def _stock(results: Results, log: _Log) -> dict[str, dict[str, Any]]:
    """Per SKU: fill rate (units filled from the shelf at once / units asked for), stock-out
    minutes, movements, and the on-hand level over time."""
    ev = log("stock")
    waits = log("parts_wait")
    out: dict[str, dict[str, Any]] = {}
    for sku, s in results.stock.items():
        code = log.code(sku)
        # The level is rebuilt from the movements rather than read from x: a receipt's x is
        # logged before the backorders it fills are served; each such fill is one
        # parts_wait event (same minute, b units), so the running sum is the true level.
        mine, served = ev["a"] == code, waits["a"] == code
        t = np.concatenate([ev["t"][mine], waits["t"][served]])
        delta = np.concatenate([ev["b"][mine], -waits["b"][served]]).astype(float)
        order = np.argsort(t, kind="stable")
        level = float(s["initial"]) + np.cumsum(delta[order])
        out[sku] = {
            "demand_units": float(s["demand_units"]), "filled_units": float(s["filled_units"]),
            "fill_rate": _share(s["filled_units"], s["demand_units"]),
            "consumed_units": float(s["consumed_units"]), "out_minutes": float(s["out_minutes"]),
            "out_share": _share(s["out_minutes"], results.end),
            "on_hand_end": float(s["on_hand"]), "transfers": float(s["transfers"]),
            "initial": float(s["initial"]), "reorder_point": float(s["reorder_point"]),
            "series": _stock_series(t[order], level, s["initial"], results.end),
        }
    return out


def _escalations(results: Results, log: _Log, counted: np.ndarray) -> dict[str, Any]:
    """Escalation events by the level they raised a case to (counted cases only)."""
    ev = log("escalated")
    codes = ev["a"][_case_mask(ev["case"], counted)]
    levels: list[str] = []
    for pb in _playbooks(results):
        levels += [lv for lv in pb.escalation.levels[1:] if lv not in levels]
    found, counts = np.unique(codes, return_counts=True)
    by = {lv: 0 for lv in levels}
    for code, c in zip(found.tolist(), counts.tolist()):
        by[log.names[code]] = int(c)
    hit = np.zeros(counted.shape, dtype=bool)
    hit[ev["case"][_case_mask(ev["case"], counted)]] = True
    escalated_cases = int(hit.sum())
    return {"by_level": by, "total": int(codes.size), "cases": escalated_cases}


def _emergency(results: Results, log: _Log) -> dict[str, Any]:
    """The operation-wide level over time: changes, the highest reached, minutes at each."""
    ev = log("level")
    order = level_order(results)
    for code in ev["a"].tolist():
        name = log.names[code]
        if name not in order:
            order.append(name)
    names = [log.names[c] for c in ev["a"].tolist()]
    times = [0.0, *ev["t"].tolist(), float(results.end)]
    current = [order[0], *names]
    minutes = {lv: 0.0 for lv in order}
    for i, lv in enumerate(current):
        minutes[lv] += max(times[i + 1] - times[i], 0.0)
    top = max((order.index(n) for n in current), default=0)
    return {"levels": order,
            "timeline": [{"minute": t, "level": n} for t, n in zip(ev["t"].tolist(), names)],
            "changes": len(names), "max_rank": top, "max_level": order[top],
            "minutes_at_level": minutes}


def _communications(results: Results, log: _Log, counted: np.ndarray) -> dict[str, Any]:
    """Messages owed, sent and sent by their due time, overall and per audience.

    Operation-wide messages (case -1) always count; case messages only for counted cases.
    The on-time share is over messages owed, so an unsent message counts as not on time.
    """
    owed = log("message_owed")
    sent = log("message_sent")
    names = log.names
    audience_of = np.full(max(len(names), 1), -2, dtype=np.int64)  # obligation -> audience
    audience_of[owed["a"]] = owed["b"]
    keep_owed = (owed["case"] < 0) | _case_mask(owed["case"], counted)
    keep_sent = (sent["case"] < 0) | _case_mask(sent["case"], counted)
    aud_owed = owed["b"][keep_owed]
    aud_sent = audience_of[sent["a"][keep_sent]]
    sent_on_time = sent["b"][keep_sent] == 1
    audiences: list[str] = []
    for pb in _playbooks(results):
        audiences += [o.audience for o in pb.communications.values()
                      if o.audience not in audiences]
    audiences += [names[a] for a in np.unique(aud_owed).tolist() if names[a] not in audiences]

    def row(n_owed: int, n_sent: int, n_on_time: int) -> dict[str, Any]:
        return {"owed": n_owed, "sent": n_sent, "on_time": n_on_time,
                "on_time_share": _share(n_on_time, n_owed)}

    by: dict[str, Any] = {}
    for aud in audiences:
        code = log.code(aud)
        mine = aud_sent == code
        by[aud] = row(int((aud_owed == code).sum()), int(mine.sum()),
                      int((mine & sent_on_time).sum()))
    return {**row(int(aud_owed.size), int(aud_sent.size), int(sent_on_time.sum())),
            "by_audience": by}


def _complaints(log: _Log, counted: np.ndarray) -> dict[str, Any]:
    ev = log("complaint")
    n = int(_case_mask(ev["case"], counted).sum())
    return {"generated": n, "per_1000_incidents": _share(1000.0 * n, float(counted.sum()))}


def _costs(results: Results, log: _Log, cases: dict[str, np.ndarray],
           counted: np.ndarray) -> dict[str, Any]:
    """What the run cost, by kind.

    A pool's capacity minutes include its overtime minutes, so base pay is for capacity minus
    overtime and overtime is paid at rate x (1 + premium), never twice. Contractors are paid
    the scenario's contractor rate for the hours they are on duty; staff their pool's wage.
    SLA penalties: each breached milestone of a counted case x the tier's penalty.
    """
    costs = results.scenario.scenario.costs
    wages = contractors = overtime = 0.0
    for p in results.pools.values():
        rate = costs.contractor_rate if p["contractor"] else p["wage_per_hour"]
        base = max(p["capacity_minutes"] - p["overtime_minutes"], 0.0) / 60.0 * rate
        if p["contractor"]:
            contractors += base
        else:
            wages += base
        overtime += p["overtime_minutes"] / 60.0 * rate * (1.0 + costs.overtime_premium)
    parts = sum(s["consumed_units"] * s["unit_cost"] for s in results.stock.values())
    transfers = sum(s["transfer_cost"] for s in results.stock.values())
    breach = log("breach")
    tiers = cases["tier"][breach["case"][_case_mask(breach["case"], counted)]]
    penalty_rate = {getattr(k, "value", k): float(v) for k, v in costs.sla_penalty.items()}
    by_tier = {tier: float((tiers == t).sum()) * penalty_rate.get(tier, 0.0)
               for t, tier in enumerate(TIERS)}
    out = {"wages": wages, "contractors": contractors, "overtime": overtime,
           "parts": float(parts), "transfers": float(transfers),
           "sla_penalties": float(sum(by_tier.values()))}
    return {**out, "total": float(sum(out.values())), "sla_penalties_by_tier": by_tier}
