"""Metrics of one replication: pure functions of its event log, case table and totals.

`compute(results)` never simulates; it reads what `model.run` wrote and returns a plain,
JSON-serialisable dict, so replications can be computed in worker processes and only the
small dicts travel back. Everything is columnar numpy: a million-incident log (tens of
millions of events) takes seconds, not minutes.

Conventions, chosen so that replications are comparable and the numbers mean one thing:
- The warm-up is left out of every metric: case-based ones (SLA, times, waits, abandonment,
  escalations, case messages, complaints, SLA penalties) count only incidents opened after
  `warmup`; resource totals (staff, stock, costs; operations.py) are measured from `warmup`
  on, per window (while incidents arrive, and the drain after): the empty, idle start of a
  run is not the state a planner asks about.
- Every customer is counted. A milestone is judged once per case: met on time, or failed
  (breached, or met late). A customer who gave up waiting or withdrew the case (`lost`:
  common.lost_cases) failed every milestone with a target that the case had not met by
  then: otherwise a response that lets customers go would score better than one that
  serves them. A case that closed on a path without the milestone (a claim found not to be
  in the recall needs no plan), or whose deadline had not yet come at the end, is not
  judged: nobody can say whether it would have been on time (right-censored). Each SLA cell
  also carries the served-only figure (`attainment_served`: lost customers left out), which
  is what the metric meant before this rule; it is shown beside, never instead.
- Percentiles are numpy's default (linear interpolation between order statistics).
- Keys are stable across replications (tiers, milestones, levels and audiences come from the
  playbooks, not only from what happened), so `replications.summarise` can line them up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from incidents.model import MILESTONES
from simulation.results.common import (STOCK_POINTS, TIERS, LogView, case_mask, level_order,
                                       lost_cases, playbooks, share, stats)
from simulation.results.operations import costs, stock, utilisation
from simulation.results.waiting import little, waiting

if TYPE_CHECKING:
    from simulation.model.world import Results

__all__ = ["TIERS", "compute", "level_order", "stats", "STOCK_POINTS"]


def compute(results: Results) -> dict[str, Any]:
    """Every metric of one replication, as a JSON-serialisable dict (see the module notes)."""
    log = LogView(results.log)
    cases = results.cases.columns()
    counted = cases["opened"] >= results.warmup  # per case: inside the measured window
    met, breach = _judged(log, counted)
    lost = lost_cases(results, log, cases)
    lost[~counted] = np.nan
    return {
        "run": {"scenario": results.scenario.scenario.name, "seed": int(results.seed),
                "policy": results.policy,
                "horizon_minutes": float(results.horizon), "end_minutes": float(results.end),
                "warmup_minutes": float(results.warmup), "arrivals": int(results.arrivals)},
        "incidents": _incidents(results, log, cases, counted, lost),
        "waiting": waiting(results, log, cases, counted),
        "little": little(results, log, cases),
        "sla": _sla(results, log, cases, met, breach, lost),
        "times": _times(results, log, cases, met),
        "backlog": _backlog(log),
        "utilisation": utilisation(results),
        "stock": stock(results, log),
        "escalations": _escalations(results, log, counted),
        "emergency": _emergency(results, log),
        "communications": _communications(results, log, counted),
        "complaints": _complaints(log, counted),
        "costs": costs(results, log, cases, counted, lost),
    }


def _incidents(results: Results, log: LogView, cases: dict[str, np.ndarray],
               counted: np.ndarray, lost: np.ndarray) -> dict[str, Any]:
    """Counts and time in system of the counted cases; `staff_wait`: minutes each piece of
    work waited for a member of staff (the queueing delay Wq of textbook formulas such as
    Erlang C), served work only (customers who gave up are in `waiting`); `lost`:
    customers who gave up or withdrew (common.lost_cases), in all and by tier."""
    opened = cases["opened"][counted]
    closed = cases["closed"][counted]
    done = ~np.isnan(closed)
    assigned = log("assigned")
    waits = assigned["x"][case_mask(assigned["case"], counted)]
    is_lost = ~np.isnan(lost)
    gave_up = log("abandoned")
    return {
        "opened": int(opened.size), "closed": int(done.sum()),
        "open_at_end": int((~done).sum()),
        "abandoned": int(np.unique(gave_up["case"][case_mask(gave_up["case"], counted)]).size),
        "lost": int(is_lost.sum()),
        "lost_share": share(int(is_lost.sum()), int(opened.size)),
        "lost_by_tier": {tier: int((is_lost & (cases["tier"] == t)).sum())
                         for t, tier in enumerate(TIERS)},
        "mean_time_in_system": float((closed[done] - opened[done]).mean()) if done.any()
        else None,
        "staff_wait": stats(waits),
    }


def _milestones(results: Results, log: LogView) -> list[str]:
    """Milestones of the playbooks and of every milestone or breach event (warmup cases
    included, so a milestone only they reached still gets its, empty, row)."""
    seen: set[str] = {m for pb in playbooks(results) for m in pb.lifecycle.milestones}
    for kind in ("milestone", "breach"):
        seen.update(log.names[i] for i in np.unique(log(kind)["a"]).tolist())
    return sorted(seen, key=lambda m: (MILESTONES.index(m) if m in MILESTONES else 99, m))


def _judged(log: LogView, counted: np.ndarray
            ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The milestone and breach events of counted cases. The runtime meets a milestone at
    most once per case and a deadline expires at most once, so there is nothing to dedupe."""
    met, breach = log("milestone"), log("breach")
    keep_met, keep_breach = case_mask(met["case"], counted), case_mask(breach["case"], counted)
    return ({k: v[keep_met] for k, v in met.items()},
            {k: v[keep_breach] for k, v in breach.items()})


def _sla(results: Results, log: LogView, cases: dict[str, np.ndarray],
         met: dict[str, np.ndarray], breach: dict[str, np.ndarray], lost: np.ndarray
         ) -> dict[str, dict[str, dict[str, Any]]]:
    """Attainment per tier and milestone: on time / judged, where failed is breached (met
    late or never), met late without a breach event, or not met by a customer who was lost
    (`lost`: the minute, NaN if not) while the milestone had a target for the case.

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
    target = _targets(results, milestones)  # kind x tier x milestone: has a time limit
    missed = np.zeros(n * m, dtype=bool)
    gone = ~np.isnan(lost)
    if gone.any():
        rows = target[cases["kind"][gone].astype(np.int64), cases["tier"][gone].astype(np.int64)]
        missed.reshape(n, m)[gone] = rows
        missed &= ~on_time & ~failed
    cell = (np.repeat(cases["tier"].astype(np.int64), m) * m
            + np.tile(np.arange(m, dtype=np.int64), n))  # tier x milestone of each flag

    def count(flag: np.ndarray) -> np.ndarray:
        return np.bincount(cell[flag], minlength=len(TIERS) * m).reshape(len(TIERS), m)

    c_on, c_failed, c_breached = count(on_time), count(failed), count(breached)
    c_lost = count(missed)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for t, tier in enumerate(TIERS):
        out[tier] = {}
        for j, ms in enumerate(milestones):
            served = int(c_on[t, j] + c_failed[t, j])
            judged = served + int(c_lost[t, j])
            out[tier][ms] = {"attainment": share(int(c_on[t, j]), judged),
                             "on_time": int(c_on[t, j]), "failed": int(c_failed[t, j]),
                             "breached": int(c_breached[t, j]), "lost": int(c_lost[t, j]),
                             "judged": judged,
                             "attainment_served": share(int(c_on[t, j]), served)}
    return out


def _targets(results: Results, milestones: list[str]) -> np.ndarray:
    """Whether a case of each kind and tier has a time limit for each milestone (one its
    playbook's lifecycle can reach): what a lost customer counts as missed."""
    out = np.zeros((max(len(results.kinds), 1), len(TIERS), len(milestones)), dtype=bool)
    pbs = getattr(results.scenario, "playbooks", {})
    for k, kind in enumerate(results.kinds):
        pb = pbs.get(kind)
        if pb is None:
            continue
        for t, tier in enumerate(TIERS):
            for ms in pb.sla.for_tier(tier):
                if ms in pb.lifecycle.milestones and ms in milestones:
                    out[k, t, milestones.index(ms)] = True
    return out


def _times(results: Results, log: LogView, cases: dict[str, np.ndarray],
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


def _backlog(log: LogView) -> dict[str, list[float]]:
    """The signal samples: open backlog, arrivals in each interval and as a rate per hour."""
    sig = log("signal")
    t = sig["t"]
    width = np.diff(np.concatenate([[0.0], t])) if t.size else t
    per_hour = np.where(width > 0, sig["b"] * 60.0 / np.where(width > 0, width, 1.0), 0.0)
    return {"minute": t.tolist(), "open": sig["a"].astype(int).tolist(),
            "arrivals": sig["b"].astype(int).tolist(), "arrivals_per_hour": per_hour.tolist()}


def _escalations(results: Results, log: LogView, counted: np.ndarray) -> dict[str, Any]:
    """Escalation events by the level they raised a case to (counted cases only)."""
    ev = log("escalated")
    codes = ev["a"][case_mask(ev["case"], counted)]
    levels: list[str] = []
    for pb in playbooks(results):
        levels += [lv for lv in pb.escalation.levels[1:] if lv not in levels]
    found, counts = np.unique(codes, return_counts=True)
    by = {lv: 0 for lv in levels}
    for code, c in zip(found.tolist(), counts.tolist()):
        by[log.names[code]] = int(c)
    hit = np.zeros(counted.shape, dtype=bool)
    hit[ev["case"][case_mask(ev["case"], counted)]] = True
    escalated_cases = int(hit.sum())
    return {"by_level": by, "total": int(codes.size), "cases": escalated_cases}


def _emergency(results: Results, log: LogView) -> dict[str, Any]:
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


def _communications(results: Results, log: LogView, counted: np.ndarray) -> dict[str, Any]:
    """Messages owed, sent and sent by their due time, overall and per audience.

    Operation-wide messages (case -1) always count; case messages only for counted cases.
    A message withdrawn before it was sent (its level was lowered) is no longer owed; one
    sent on a team's own initiative, owed by nobody, is counted apart (`unowed`), never as
    sent on time. The on-time share is over messages owed, so an unsent message counts as
    not on time, and it never exceeds 1: each send meets one owed message.
    """
    owed = log("message_owed")
    sent = log("message_sent")
    gone = log("message_withdrawn")
    names = log.names
    audience_of = np.full(max(len(names), 1), -2, dtype=np.int64)  # obligation -> audience
    audience_of[owed["a"]] = owed["b"]
    keep_owed = (owed["case"] < 0) | case_mask(owed["case"], counted)
    keep_sent = (sent["case"] < 0) | case_mask(sent["case"], counted)
    aud_owed = np.concatenate([owed["b"][keep_owed], gone["b"]])
    weight = np.concatenate([np.ones(int(keep_owed.sum()), dtype=np.int64),
                             -np.ones(gone["b"].size, dtype=np.int64)])
    flag = sent["b"][keep_sent]
    aud_sent = audience_of[sent["a"][keep_sent]]
    was_owed, sent_on_time = flag != 2, flag == 1
    audiences: list[str] = []
    for pb in playbooks(results):
        audiences += [o.audience for o in pb.communications.values()
                      if o.audience not in audiences]
    audiences += [names[a] for a in np.unique(aud_owed).tolist() if names[a] not in audiences]

    def row(n_owed: int, n_sent: int, n_on_time: int, n_unowed: int) -> dict[str, Any]:
        return {"owed": n_owed, "sent": n_sent, "on_time": n_on_time, "unowed": n_unowed,
                "on_time_share": share(n_on_time, n_owed)}

    by: dict[str, Any] = {}
    for aud in audiences:
        code = log.code(aud)
        mine = aud_sent == code
        by[aud] = row(int(weight[aud_owed == code].sum()), int((mine & was_owed).sum()),
                      int((mine & sent_on_time).sum()), int((mine & ~was_owed).sum()))
    return {**row(int(weight.sum()), int(was_owed.sum()), int(sent_on_time.sum()),
                  int((~was_owed).sum())), "by_audience": by}


def _complaints(log: LogView, counted: np.ndarray) -> dict[str, Any]:
    ev = log("complaint")
    n = int(case_mask(ev["case"], counted).sum())
    return {"generated": n, "per_1000_incidents": share(1000.0 * n, float(counted.sum()))}
