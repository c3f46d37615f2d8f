"""A drill's score: the critical tasks, and the outcomes placed between its counterfactuals.

A score must tell a team that works the surge from one that does nothing. Process alone
cannot (a team can tick every box and still lose the customers), and outcomes alone cannot
either (a quiet surge looks good whatever the team does). So the score has two halves
(docs/drills.md, "How a drill is scored", with a worked example):

- `tasks`: the critical tasks rated from evidence (ratings.py), P 100, S 75, M 40, U 0,
  averaged over the inject, level and message tasks that were due.
- four outcome parts, each measured on the team's run and on the same surge played by the
  playbook's autopilot and by no response (counterfactual.py), all three carried to their
  end after the drill (no new arrivals, every open case followed until it closes):
    service         tier-weighted SLA attainment of every customer (a lost one missed what
                    it had not met), higher is better;
    customers_lost  tier-weighted customers who gave up or withdrew, lower is better;
    cost            everything the response spent plus the price of lost service (SLA
                    penalties, lost customers, cases left open past a deadline), lower is
                    better;
    communications  operation-wide messages sent on time minus those owed and never sent
                    while the drill ran, higher is better.
  A part is 100 x (team - none) / (autopilot - none), with values oriented so that higher
  is better, limited to [-100, 100]: no response scores 0, the autopilot 100, a team that
  does better than the autopilot 100 (its margin is shown), and a team that does harm below
  0. When the autopilot is not clearly better than no response on a measure (by less than
  `FLOORS`), the decisions cannot be told apart on it: the part is left out and says why.
The score is the weighted mean of the parts present (`scoring.weights`): a team that does
nothing scores 0, the playbook followed to the letter about 100, and harm scores below 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from simulation.drills.ratings import (RATING_POINTS, TIERS, Task, critical_tasks,
                                       operation_messages)
from simulation.drills.session import DrillSession
from simulation.results.metrics import compute

if TYPE_CHECKING:
    from simulation.drills.counterfactual import Counterfactual

__all__ = ["Score", "Placement", "KPI_LABELS", "COST_KPIS", "OUTCOME_PARTS", "FLOORS",
           "metrics", "kpis", "place", "score"]

KPI_LABELS: dict[str, tuple[str, str]] = {
    "service": ("service: tier-weighted SLA attainment, every customer", "share"),
    "attainment": ("SLA attainment, all judged milestones", "share"),
    "attainment_served": ("SLA attainment, served customers only", "share"),
    "VIP_attainment": ("VIP SLA attainment", "share"),
    "customers_lost": ("customers lost (gave up or withdrew)", "number"),
    "lost_weighted": ("customers lost, tier-weighted", "number"),
    "lost_share": ("share of customers lost", "share"),
    "time_to_acknowledge": ("mean time to acknowledge", "minutes"),
    "peak_backlog": ("peak open backlog", "number"),
    "open_at_drill_end": ("open when the drill ended", "number"),
    "carry_over_hours": ("hours to clear the backlog after the end", "hours"),
    "open_at_end": ("still open after the carry-over", "number"),
    "stock_out_hours": ("stock-out hours (all SKUs)", "hours"),
    "messages_owed": ("operation-wide messages owed", "number"),
    "messages_on_time": ("operation-wide messages sent on time", "number"),
    "messages_missed": ("operation-wide messages never sent", "number"),
    "labour": ("labour cost (wages)", "money"),
    "overtime": ("overtime cost", "money"),
    "contractors": ("contractor cost", "money"),
    "parts": ("parts cost", "money"),
    "holding": ("parts holding cost", "money"),
    "transfers": ("parts transfer cost", "money"),
    "penalties": ("SLA penalties", "money"),
    "lost_customers": ("price of lost customers", "money"),
    "open_past_deadline": ("price of cases left open past a deadline", "money"),
    "cost": ("total cost with lost service", "money"),
}
"""KPI key -> (label, unit) in the order reports show them."""

COST_KPIS = ("labour", "overtime", "contractors", "parts", "holding", "transfers", "penalties",
             "lost_customers", "open_past_deadline")
"""The components of `cost`: they add up to it, every one shown."""
_COST_KEYS = {"labour": "wages", "overtime": "overtime", "contractors": "contractors",
              "parts": "parts", "holding": "holding", "transfers": "transfers",
              "penalties": "sla_penalties", "lost_customers": "lost_customers",
              "open_past_deadline": "open_past_deadline"}

OUTCOME_PARTS: dict[str, tuple[str, Callable[[dict[str, Any]], float | None]]] = {
    "service": ("service", lambda k: k["service"]),
    "customers_lost": ("customers_lost", lambda k: None if k["lost_weighted"] is None
                       else -k["lost_weighted"]),
    "cost": ("cost", lambda k: None if k["cost"] is None else -k["cost"]),
    "communications": ("communications",
                       lambda k: float(k["messages_on_time"] - k["messages_missed"])),
}
"""Outcome part -> (what it is called, its measure oriented so that higher is better)."""

FLOORS = {"service": 0.005, "customers_lost": 1.0, "cost": 1000.0, "communications": 1.0}
"""The least the autopilot must beat no response by for an outcome part to be placed:
half a point of attainment, one tier-weighted customer, 1,000 of money (or 0.5% of no
response's cost, if more), one message. Below that the decisions make no difference on
the measure in this drill, and dividing by the gap would magnify noise."""
COST_FLOOR_SHARE = 0.005


@dataclass(frozen=True)
class Placement:
    """One outcome part: its measure in the three runs and where the team stands."""

    part: str
    team: float | None
    autopilot: float | None
    none: float | None
    value: float | None
    """100 x (team - none) / (autopilot - none), in [-100, 100]; None: left out."""
    note: str


@dataclass
class Score:
    total: float
    parts: dict[str, float | None]
    weights: dict[str, float]
    tasks: list[Task] = field(default_factory=list)
    kpis: dict[str, float | None] = field(default_factory=dict)
    unplayed: tuple[str, ...] = ()
    """Timed injects the drill never reached (it ended before their minute): their tasks
    were never asked, so the score rates only what was played."""
    placements: dict[str, Placement] = field(default_factory=dict)
    windows: dict[str, dict[str, float]] = field(default_factory=dict)
    """The team's run split at the drill's end: "drill" and "carry-over" figures."""

    def coverage(self) -> str:
        """"" for a drill that reached every timed inject; else what the score leaves out."""
        if not self.unplayed:
            return ""
        n = len(self.unplayed)
        return (f"ended early: {n} timed inject{'s' if n != 1 else ''} not reached "
                f"({', '.join(self.unplayed)}); the score rates only what was played")


def metrics(session: DrillSession) -> dict[str, Any]:
    """Every metric of the drill's world at the minute the session stands."""
    return compute(session.world.results())


def _tier_weights(session: DrillSession) -> dict[str, float]:
    w = session.drill.scoring.tier_weights
    return {t: float(w.get(t, 0.0)) for t in TIERS}  # type: ignore[call-overload]


def kpis(session: DrillSession, m: dict[str, Any] | None = None) -> dict[str, float | None]:
    """The run's KPIs at the minute the session stands (see KPI_LABELS); after a carry-over
    they cover the drill and what it left behind."""
    m = m if m is not None else metrics(session)
    weights = _tier_weights(session)
    cells = [c for tier in m["sla"].values() for c in tier.values() if c["judged"]]
    on_time = sum(c["on_time"] for c in cells)
    judged = sum(c["judged"] for c in cells)
    served = sum(c["on_time"] + c["failed"] for c in cells)
    by_tier = {t: (sum(c["on_time"] for c in m["sla"][t].values()),
                   sum(c["judged"] for c in m["sla"][t].values())) for t in TIERS}
    used = {t: w for t, w in weights.items() if by_tier[t][1] and w > 0}
    service = (sum(w * by_tier[t][0] / by_tier[t][1] for t, w in used.items())
               / sum(used.values())) if used else None
    lost = m["incidents"]["lost_by_tier"]
    ack = [(m["times"][t]["acknowledge"]["mean"], m["times"][t]["acknowledge"]["n"])
           for t in TIERS if "acknowledge" in m["times"].get(t, {})]
    n_ack = sum(n for _, n in ack if n)
    costs = m["costs"]["measured"]
    backlog = m["backlog"]["open"]
    ended = session.ended_at if session.ended_at is not None else session.now
    messages = operation_messages(session)
    live = [it for it in messages if it["withdrawn"] is None or it["sent"] is not None]
    out: dict[str, float | None] = {
        "service": service,
        "attainment": on_time / judged if judged else None,
        "attainment_served": on_time / served if served else None,
        "VIP_attainment": by_tier["VIP"][0] / by_tier["VIP"][1] if by_tier["VIP"][1] else None,
        "customers_lost": float(m["incidents"]["lost"]),
        "lost_weighted": float(sum(weights[t] * lost[t] for t in TIERS)),
        "lost_share": m["incidents"]["lost_share"],
        "time_to_acknowledge": (sum(mean * n for mean, n in ack if n) / n_ack) if n_ack
        else None,
        "peak_backlog": float(max(backlog, default=0)),
        "open_at_drill_end": float(_open_at(session, ended)),
        "carry_over_hours": max(session.now - ended, 0.0) / 60.0,
        "open_at_end": float(m["incidents"]["open_at_end"]),
        "stock_out_hours": sum(s["measured"]["out_minutes"] for s in m["stock"].values()) / 60,
        "messages_owed": float(len(live)),
        "messages_on_time": float(sum(1 for it in live if it["sent"] is not None
                                      and it["sent"] <= it["due"] + 1e-9)),
        "messages_missed": float(sum(1 for it in live if it["sent"] is None
                                     and it["due"] <= ended + 1e-9)),
    }
    for key, name in _COST_KEYS.items():
        out[key] = costs[name]
    out["cost"] = costs["total"]
    return out


def _open_at(session: DrillSession, minute: float) -> int:
    """Cases open at `minute` (opened by then, not closed by then)."""
    cases = session.world.table
    return sum(1 for o, c in zip(cases.opened, cases.closed)
               if o <= minute and not c <= minute)


def windows(session: DrillSession, m: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The team's run split at the drill's end (the carry-over is the model's drain)."""
    out = {}
    for label, window in (("drill", "arrivals"), ("carry-over", "drain")):
        c = m["costs"][window]
        out[label] = {"cost": c["total"], "penalties": c["sla_penalties"],
                      "lost_customers": c["lost_customers"],
                      "minutes": (m["run"]["horizon_minutes"] - m["run"]["warmup_minutes"])
                      if window == "arrivals" else
                      m["run"]["end_minutes"] - m["run"]["horizon_minutes"]}
    return out


def place(part: str, team: dict[str, Any], auto: dict[str, Any] | None,
          none: dict[str, Any] | None) -> Placement:
    """Where the team stands on one outcome part between no response (0) and the autopilot
    (100); see the module docstring."""
    _, measure = OUTCOME_PARTS[part]
    t = measure(team)
    a = measure(auto) if auto is not None else None
    n = measure(none) if none is not None else None
    if t is None or a is None or n is None:
        return Placement(part, t, a, n, None, "not measured in every run")
    floor = FLOORS[part]
    if part == "cost":
        floor = max(floor, COST_FLOOR_SHARE * abs(n))
    gap = a - n
    if gap < floor:
        word = "no better than" if gap <= 0 else "hardly better than"
        return Placement(part, t, a, n, None, f"the autopilot is {word} no response on this "
                         "measure here: the decisions make no clear difference to it")
    value = max(-100.0, min(100.0, 100.0 * (t - n) / gap))
    note = ("as no response" if t == n else "as the autopilot" if t == a
            else "better than the autopilot" if t > a else "worse than no response" if t < n
            else "between no response and the autopilot")
    return Placement(part, t, a, n, value, note)


def score(session: DrillSession, others: dict[str, Counterfactual] | None = None, *,
          m: dict[str, Any] | None = None) -> Score:
    """Rate every critical task, measure the KPIs and score the drill (module docstring).
    `others`: the autopilot and no-response runs of the same drill (counterfactual.py);
    without them the outcome parts are left out."""
    rules = session.drill.scoring
    m = m if m is not None else metrics(session)
    values = kpis(session, m)
    tasks = critical_tasks(session, m)
    rated = [t for t in tasks if t.source in ("inject", "level", "message")
             and t.rating is not None]
    parts: dict[str, float | None] = {
        "tasks": (sum(RATING_POINTS[t.rating] for t in rated) / len(rated))  # type: ignore[index]
        if rated else None}
    placements: dict[str, Placement] = {}
    others = others or {}
    auto, none = others.get("autopilot"), others.get("none")
    for part in OUTCOME_PARTS:
        p = place(part, values, auto.kpis if auto else None, none.kpis if none else None)
        placements[part] = p
        parts[part] = p.value
    weights = {k: float(rules.weights.get(k, 0.0)) for k in parts}  # type: ignore[call-overload]
    used = {k: w for k, w in weights.items() if parts[k] is not None and w > 0}
    total = (sum(parts[k] * w for k, w in used.items()) / sum(used.values())  # type: ignore
             if used else 0.0)
    unplayed = tuple(i.id for i in session.drill.injects
                     if i.at is not None and i.id not in session.fired)
    return Score(round(total, 1), parts, weights, tasks, values, unplayed, placements,
                 windows(session, m))
