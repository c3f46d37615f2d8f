"""The after-action review: critical tasks rated from evidence, KPIs, and a 0-100 score.

Evaluators following HSEEP rate each critical task P (performed without challenges), S (some
challenges), M (major challenges) or U (unable to be performed). Here every rating is read
off the drill's record: the decisions and their minutes, the injects, the event log. The
rules (docs/drills.md, "How a drill is rated"):

- An inject's expected action (`expect`): the first decision that matches it (same kind and
  every argument the expectation names; a higher emergency level than the one expected
  counts) taken after the inject fired; for a level, a declaration of it (or higher) still
  in force when the inject fired counts as done at once. Within `within`: P. Later but
  within `allowance` (default half of `within`): S. Later still, before the drill ended: M.
  Never: U. A decision that costs money (an unlock, a parts order) taken while the response
  runs more than 25% over `scoring.cost_plan` is M whatever its timing (the side effect the
  plan forbids).
- An emergency level, from the playbook: due `scoring.level_within` after its entry
  condition first held (the minute the autopilot, evaluating the same signals in the shadow,
  would have declared it); rated by the same P/S/M/U rule with `level_allowance`. A level
  whose condition never held is no task.
- An operation-wide message the team owed (a level made it due): sent by its due time P,
  late by at most the time it was given S, later M, never U.
- SLA attainment per tier (each milestone with a target, judged at least once): at or above
  `scoring.service_levels` P, S, M; below U.

The score is a weighted mean (weights in `scoring.weights`) of four parts out of 100: the
tasks (P 100, S 75, M 40, U 0, averaged), service (the mean attainment of the judged SLA
cells), communications (operation-wide and case messages on time) and cost (the autopilot's
cost of the same surge over the team's, capped at 100; without a counterfactual, the cost
plan over the team's cost, or the part is left out). Every part and task shows its evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from simulation.drills.session import DrillSession
from simulation.model.eventlog import KINDS
from simulation.results.metrics import compute

__all__ = ["Rating", "RATING_POINTS", "RATING_WORDS", "Evidence", "Task", "Score", "kpis",
           "metrics", "critical_tasks", "score", "KPI_LABELS", "COST_OVER_PLAN"]

Rating = Literal["P", "S", "M", "U"]
RATING_POINTS: dict[str, float] = {"P": 100.0, "S": 75.0, "M": 40.0, "U": 0.0}
RATING_WORDS = {"P": "performed without challenges", "S": "performed with some challenges",
                "M": "performed with major challenges", "U": "unable to be performed"}
COST_OVER_PLAN = 1.25
"""A response costing more than this times the plan has the side effect that makes costly
decisions major challenges."""
_COSTLY = ("activate", "order_parts")
_TIERS = ("VIP", "tier1", "tier2")


@dataclass(frozen=True)
class Evidence:
    minute: float | None
    text: str


@dataclass(frozen=True)
class Task:
    """One critical task and its rating, with the evidence that decided it."""

    id: str
    objective: str
    source: Literal["inject", "level", "message", "service"]
    title: str
    role: str
    due: float | None
    rating: Rating
    reason: str
    evidence: tuple[Evidence, ...] = ()


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

    def coverage(self) -> str:
        """"" for a drill that reached every timed inject; else what the score leaves out."""
        if not self.unplayed:
            return ""
        n = len(self.unplayed)
        return (f"ended early: {n} timed inject{'s' if n != 1 else ''} not reached "
                f"({', '.join(self.unplayed)}); the score rates only what was played")


KPI_LABELS: dict[str, tuple[str, str]] = {
    "attainment": ("SLA attainment (all judged milestones)", "share"),
    "VIP_acknowledge": ("VIP acknowledged on time", "share"),
    "time_to_acknowledge": ("mean time to acknowledge", "minutes"),
    "abandonment": ("customers who gave up", "share"),
    "peak_backlog": ("peak open backlog", "number"),
    "open_at_end": ("open at the end", "number"),
    "stock_out_hours": ("stock-out hours (all SKUs)", "hours"),
    "messages_on_time": ("messages on time", "share"),
    "labour": ("labour cost (wages)", "money"),
    "overtime": ("overtime cost", "money"),
    "contractors": ("contractor cost", "money"),
    "transfers": ("parts transfer cost", "money"),
    "penalties": ("SLA penalties", "money"),
    "cost": ("total cost", "money"),
}
"""KPI key -> (label, unit) in the order reports show them."""


def metrics(session: DrillSession) -> dict[str, Any]:
    """Every metric of the drill's world at the minute the session stands."""
    return compute(session.world.results())


def kpis(session: DrillSession, m: dict[str, Any] | None = None) -> dict[str, float | None]:
    """The drill's KPIs at the minute the session stands (see KPI_LABELS)."""
    m = m if m is not None else metrics(session)
    cells = [c for tier in m["sla"].values() for c in tier.values() if c["judged"]]
    on_time = sum(c["on_time"] for c in cells)
    judged = sum(c["judged"] for c in cells)
    ack = [(m["times"][t]["acknowledge"]["mean"], m["times"][t]["acknowledge"]["n"])
           for t in _TIERS if "acknowledge" in m["times"].get(t, {})]
    n_ack = sum(n for _, n in ack if n)
    costs = m["costs"]["measured"]
    vip = m["sla"].get("VIP", {}).get("acknowledge", {})
    backlog = m["backlog"]["open"]
    return {
        "attainment": on_time / judged if judged else None,
        "VIP_acknowledge": vip.get("attainment"),
        "time_to_acknowledge": (sum(mean * n for mean, n in ack if n) / n_ack) if n_ack
        else None,
        "abandonment": m["waiting"]["all"]["abandonment"],
        "peak_backlog": float(max(backlog, default=0)),
        "open_at_end": float(m["incidents"]["open_at_end"]),
        "stock_out_hours": sum(s["measured"]["out_minutes"] for s in m["stock"].values()) / 60,
        "messages_on_time": m["communications"]["on_time_share"],
        "labour": costs["wages"], "overtime": costs["overtime"],
        "contractors": costs["contractors"], "transfers": costs["transfers"],
        "penalties": costs["sla_penalties"], "cost": costs["total"],
    }


def _rate(done: float | None, due: float, allowance: float) -> Rating:
    if done is None:
        return "U"
    if done <= due + 1e-9:
        return "P"
    if done <= due + allowance + 1e-9:
        return "S"
    return "M"


def _matches(action: dict[str, Any], exp: Any, inject_id: str, levels: list[str]) -> bool:
    if action.get("kind") != exp.action:
        return False
    if exp.action == "declare_level" and exp.level is not None:
        got = action.get("level")
        return got in levels and levels.index(got) >= levels.index(exp.level)
    if exp.action == "acknowledge":
        return action.get("inject") == inject_id
    for name in ("resource", "sku", "obligation", "pool"):
        want = getattr(exp, name)
        if want is not None and action.get(name) is not None and action.get(name) != want:
            return False
        if want is not None and action.get(name) is None and name != "pool":
            return False
    if exp.audience is not None and action.get("audience") != exp.audience:
        return False
    return True


def _standing(taken: list[Any], exp: Any, at: float, levels: list[str]) -> Any:
    """The declaration that already had the expected level (or a higher one) in force when
    the inject came, or None: "raise to III" is done if the team is at III already."""
    if exp.action != "declare_level" or exp.level is None or exp.level not in levels:
        return None
    before = [o for o in taken if o.action.get("kind") == "declare_level" and o.at < at - 1e-9]
    if not before:
        return None
    last = before[-1]
    level = last.action.get("level")
    return last if level in levels and levels.index(level) >= levels.index(exp.level) \
        else None


def _minutes(m: float | None) -> str:
    if m is None:
        return "-"
    return f"{int(m // 1440)}d {int(m % 1440 // 60):02d}:{int(m % 60):02d}"


def critical_tasks(session: DrillSession, *, over_plan_from: float | None = None,
                   m: dict[str, Any] | None = None) -> list[Task]:
    """Every critical task of the drill, rated (see the module docstring). `over_plan_from`
    is the minute from which the response ran over its cost plan (None: never)."""
    drill = session.drill
    levels = session.level()["levels"]
    taken = [o for o in session.outcomes if o.ok]
    tasks: list[Task] = []
    for inject in drill.all_injects():
        fired = session.fired.get(inject.id)
        for j, exp in enumerate(inject.expect):
            title = exp.task or f"{exp.action} after {inject.id}"
            tid = f"{inject.id}.{j + 1}"
            objective = exp.objective or "-"
            if fired is None:
                continue  # a contingency inject never fired: nothing was asked
            due = fired.at + exp.within.wall_minutes
            allowance = (exp.allowance.wall_minutes if exp.allowance is not None
                         else exp.within.wall_minutes / 2)
            hit = _standing(taken, exp, fired.at, levels) or next(
                (o for o in taken if o.at >= fired.at - 1e-9
                 and _matches({**o.action, **(o.details or {})}, exp, inject.id, levels)),
                None)
            tries = [o for o in session.outcomes if not o.ok and o.at >= fired.at
                     and o.action.get("kind") == exp.action]
            evidence = [Evidence(fired.at, f"{inject.id} ({inject.subject}) reached "
                                 f"{inject.to} at {_minutes(fired.at)}")]
            evidence += [Evidence(o.at, f"refused at {_minutes(o.at)}: {o.message}")
                         for o in tries[:3]]
            rating = _rate(max(hit.at, fired.at) if hit else None, due, allowance)
            if hit is not None and hit.at < fired.at - 1e-9:  # the level already stood
                evidence.append(Evidence(hit.at, f"{hit.role}: {hit.message} at "
                                         f"{_minutes(hit.at)}, before the inject, and still "
                                         f"in force when it came"))
                reason = "already in force when the inject came"
            elif hit is not None:
                evidence.append(Evidence(hit.at, f"{hit.role}: {hit.message} at "
                                         f"{_minutes(hit.at)} ({hit.at - fired.at:.0f} min "
                                         f"after the inject; due within "
                                         f"{exp.within.wall_minutes:.0f})"))
                reason = {"P": "on time", "S": "late, within the allowance",
                          "M": "late beyond the allowance"}[rating]
                if exp.action in _COSTLY and over_plan_from is not None \
                        and hit.at >= over_plan_from:
                    rating, reason = "M", "taken while the response ran over its cost plan"
            else:
                reason = "not done by the end of the drill"
                evidence.append(Evidence(None, f"no {exp.action} matching the expectation "
                                         f"after {_minutes(fired.at)}"))
            tasks.append(Task(tid, objective, "inject", title, inject.to, due, rating, reason,
                              tuple(evidence)))
    tasks += _level_tasks(session, taken, levels)
    tasks += _message_tasks(session)
    tasks += _service_tasks(session, m if m is not None else metrics(session))
    return tasks


def _level_tasks(session: DrillSession, taken: list[Any], levels: list[str]) -> list[Task]:
    if session.team is None or len(levels) < 2:
        return []
    rules = session.drill.scoring
    first: dict[int, float] = {}
    for minute, level in session.team.history:
        for k in range(1, level + 1):
            first.setdefault(k, minute)
    declared = [(o.at, levels.index(o.action["level"])) for o in taken
                if o.action.get("kind") == "declare_level"]
    objective = rules.objectives.get("levels", "emergency levels")
    out = []
    for k, held in sorted(first.items()):
        due = held + rules.level_within.wall_minutes
        done = next((at for at, lv in declared if lv >= k), None)
        rating = _rate(done, due, rules.level_allowance.wall_minutes)
        evidence = [Evidence(held, f"its entry condition first held at {_minutes(held)} "
                                   "(the autopilot's recommendation)")]
        if done is not None:
            evidence.append(Evidence(done, f"declared at {_minutes(done)} "
                                     f"({done - held:+.0f} min)"))
        reason = {"P": "declared in time", "S": "declared late, within the allowance",
                  "M": "declared late beyond the allowance",
                  "U": "never declared"}[rating]
        out.append(Task(f"level.{levels[k]}", objective, "level",
                        f"declare level {levels[k]} within "
                        f"{rules.level_within.wall_minutes:.0f} min of its condition",
                        "incident_commander", due, rating, reason, tuple(evidence)))
    return out


def _message_tasks(session: DrillSession) -> list[Task]:
    """Operation-wide messages owed to the team, from the event log."""
    if session.team is None:
        return []
    cols = session.world.log.columns()
    names = session.world.log.names.items
    kind, case = cols["kind"], cols["case"]
    owed = (kind == KINDS.index("message_owed")) & (case == -1)
    sent = (kind == KINDS.index("message_sent")) & (case == -1)
    sent_at: dict[str, list[float]] = {}
    for t, a in zip(cols["t"][sent].tolist(), cols["a"][sent].tolist()):
        sent_at.setdefault(names[a], []).append(t)
    objective = session.drill.scoring.objectives.get("communications", "communications")
    out, used = [], {k: 0 for k in sent_at}
    for t, a, b, due in zip(cols["t"][owed].tolist(), cols["a"][owed].tolist(),
                            cols["b"][owed].tolist(), cols["x"][owed].tolist()):
        name = names[a]
        times = [s for s in sent_at.get(name, []) if s >= t]
        k = used.get(name, 0)
        done = times[k] if k < len(times) else None
        if done is not None:
            used[name] = k + 1
        rating = _rate(done, due, due - t)
        evidence = [Evidence(t, f"owed to {names[b]} at {_minutes(t)}, due {_minutes(due)}")]
        if done is not None:
            evidence.append(Evidence(done, f"sent at {_minutes(done)}"))
        out.append(Task(f"message.{name}.{len(out) + 1}", objective, "message",
                        f"send {name} to {names[b]} by its due time", "communications_lead",
                        due, rating, {"P": "sent on time", "S": "sent late, within the time "
                                      "it was given", "M": "sent very late",
                                      "U": "never sent"}[rating], tuple(evidence)))
    return out


def _service_tasks(session: DrillSession, m: dict[str, Any]) -> list[Task]:
    p, s, mm = session.drill.scoring.service_levels
    objective = session.drill.scoring.objectives.get("service", "service levels")
    out = []
    for tier in _TIERS:
        for ms, cell in m["sla"].get(tier, {}).items():
            if not cell["judged"]:
                continue
            att = cell["attainment"]
            rating: Rating = "P" if att >= p else "S" if att >= s else "M" if att >= mm else "U"
            out.append(Task(f"service.{tier}.{ms}", objective, "service",
                            f"{tier} {ms} on time", "incident_commander", None, rating,
                            f"attainment {att:.1%} (P from {p:.0%}, S {s:.0%}, M {mm:.0%})",
                            (Evidence(None, f"{cell['on_time']} of {cell['judged']} judged "
                                            f"{ms} milestones of {tier} on time"),)))
    return out


def score(session: DrillSession, *, baseline_cost: float | None = None) -> Score:
    """Rate every critical task, measure the KPIs and score the drill (module docstring).
    `baseline_cost`: the autopilot's cost of the same surge (a counterfactual run)."""
    rules = session.drill.scoring
    m = metrics(session)
    values = kpis(session, m)
    cost = values["cost"] or 0.0
    over_from = None
    if rules.cost_plan is not None and cost > COST_OVER_PLAN * rules.cost_plan:
        over_from = 0.0
    tasks = critical_tasks(session, over_plan_from=over_from, m=m)
    rated = [t for t in tasks if t.source in ("inject", "level", "message")]
    parts: dict[str, float | None] = {
        "tasks": (sum(RATING_POINTS[t.rating] for t in rated) / len(rated)) if rated else None,
        "service": 100 * values["attainment"] if values["attainment"] is not None else None,
        "communications": 100 * values["messages_on_time"]
        if values["messages_on_time"] is not None else None,
        "cost": None,
    }
    reference = baseline_cost if baseline_cost is not None else rules.cost_plan
    if reference is not None:
        parts["cost"] = 100.0 if cost <= 0 else min(100.0, 100.0 * reference / cost)
    weights = {k: float(rules.weights.get(k, 0.0)) for k in parts}  # type: ignore[call-overload]
    used = {k: w for k, w in weights.items() if parts[k] is not None and w > 0}
    total = (sum(parts[k] * w for k, w in used.items()) / sum(used.values())  # type: ignore
             if used else 0.0)
    unplayed = tuple(i.id for i in session.drill.injects
                     if i.at is not None and i.id not in session.fired)
    return Score(round(total, 1), parts, weights, tasks, values, unplayed)
