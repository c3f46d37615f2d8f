"""Critical tasks rated from the evidence of a drill's record (HSEEP's P / S / M / U).

Evaluators following HSEEP rate each critical task P (performed without challenges), S (some
challenges), M (major challenges) or U (unable to be performed). Here every rating is read
off the drill's record: the decisions and their minutes, the injects, the event log. The
rules (docs/drills.md, "How a drill is rated"):

- One timing rule for every task with a deadline: done by its due minute (that minute
  included) P; later by at most the allowance S; later still M; not done U. A task is judged
  only once the drill has passed its due minute plus the allowance, or once it was done: a
  drill that ends before a task could be late leaves that task unrated ("not yet due when
  the drill ended"), never U.
- An inject's expected action (`expect`): the first decision that matches it (same kind and
  every argument the expectation names; a higher emergency level than the one expected
  counts) taken at or after the inject's minute. What already stood when the inject came
  counts as done at once: a level declared (or higher) and still in force, an unlock of the
  kind expected activated and not taken back. Due `within` after the inject; allowance
  `allowance` (default half of `within`). A decision that costs money (an unlock, a parts
  order) taken while the response had already spent more than 125% of `scoring.cost_plan`
  is M whatever its timing (the side effect the plan forbids).
- An emergency level, from the playbook: due `scoring.level_within` after its entry
  condition first held (the minute the autopilot, evaluating the same signals in the shadow,
  would have declared it), allowance `level_allowance`. Done at the condition's minute if
  the level (or a higher one) was in force then; else at the first declaration of it (or
  higher) after that minute. A declaration withdrawn before the condition held counts for
  nothing. A level whose condition never held is no task.
- An operation-wide message a level made owed to the team: each send meets the oldest owed
  message of its obligation (as the model does); a message sent before it was owed meets
  nothing. Due at its due time; allowance the time it was given (due - owed). One withdrawn
  unsent (its level was lowered) is no task, unless it was already past its allowance then
  (U).
- SLA attainment per tier and milestone, every customer counted (a lost customer missed
  every milestone it had not met): at or above `scoring.service_levels` P, S, M; below U.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from simulation.drills.session import COSTLY, DrillSession, Outcome
from simulation.model.eventlog import KINDS
from simulation.model.operation import UNOWED

__all__ = ["Rating", "RATING_POINTS", "RATING_WORDS", "Evidence", "Task", "critical_tasks",
           "COST_OVER_PLAN", "TIERS", "rate", "level_at", "operation_messages", "who"]

Rating = Literal["P", "S", "M", "U"]
RATING_POINTS: dict[str, float] = {"P": 100.0, "S": 75.0, "M": 40.0, "U": 0.0}
RATING_WORDS = {"P": "performed without challenges", "S": "performed with some challenges",
                "M": "performed with major challenges", "U": "unable to be performed"}
COST_OVER_PLAN = 1.25
"""Spending more than this times the plan is the side effect that makes costly decisions
major challenges."""
TIERS = ("VIP", "tier1", "tier2")
_EPS = 1e-9


@dataclass(frozen=True)
class Evidence:
    minute: float | None
    text: str


@dataclass(frozen=True)
class Task:
    """One critical task and its rating, with the evidence that decided it; `rating` None:
    not yet due when the drill ended (listed, never rated)."""

    id: str
    objective: str
    source: Literal["inject", "level", "message", "service"]
    title: str
    role: str
    due: float | None
    rating: Rating | None
    reason: str
    evidence: tuple[Evidence, ...] = ()
    actor: str = ""
    """Who did it (the role that took the decision that met it), if anyone."""


def who(o: Outcome) -> str:
    """Who took a decision: its role, and the person when a seat recorded one."""
    by = o.action.get("by")
    return f"{o.role} ({by})" if by else o.role


def rate(done: float | None, due: float, allowance: float) -> Rating:
    """The timing rule: by `due` (included) P, within `allowance` after it S, later M,
    never U."""
    if done is None:
        return "U"
    if done <= due + _EPS:
        return "P"
    if done <= due + allowance + _EPS:
        return "S"
    return "M"


def _judged(done: float | None, due: float, allowance: float, ended: float) -> bool:
    """Whether the task can be rated: done, or the drill went on past its last chance."""
    return done is not None or ended >= due + allowance - _EPS


def _minutes(m: float | None) -> str:
    if m is None:
        return "-"
    return f"{int(m // 1440)}d {int(m % 1440 // 60):02d}:{int(m % 60):02d}"


def level_at(taken: list[Outcome], levels: list[str], minute: float) -> int:
    """The level the team had declared at `minute` (0: normal), declarations at that very
    minute included."""
    current = 0
    for o in taken:
        if o.at > minute + _EPS:
            break
        if o.action.get("kind") == "declare_level" and o.action.get("level") in levels:
            current = levels.index(o.action["level"])
    return current


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
    if exp.qty is not None and int(action.get("qty") or 0) < exp.qty:
        return False
    return True


def _standing(taken: list[Outcome], exp: Any, at: float, levels: list[str],
              inject_id: str) -> Outcome | None:
    """What already met the expectation when the inject came, or None: a level (or higher)
    declared before and still in force ("raise to III" is done if the team is at III
    already), or an unlock of the kind expected activated before and not taken back."""
    before = [o for o in taken if o.at < at - _EPS]
    if exp.action == "declare_level" and exp.level is not None and exp.level in levels:
        declared = [o for o in before if o.action.get("kind") == "declare_level"]
        if declared and level_at(taken, levels, at - 2 * _EPS) >= levels.index(exp.level):
            return declared[-1]
        return None
    if exp.action == "activate":
        for o in before:
            if o.action.get("kind") != "activate" or not _matches(
                    {**o.action, **(o.details or {})}, exp, inject_id, levels):
                continue
            unlock = (o.details or {}).get("unlock")
            revoked = any(unlock in (d.details or {}).get("revoked", ()) for d in before
                          if d.at >= o.at and d.action.get("kind") == "declare_level")
            if not revoked:
                return o
    return None


def critical_tasks(session: DrillSession, m: dict[str, Any]) -> list[Task]:
    """Every critical task of the drill, rated (see the module docstring). `m`: the
    metrics of the run judged."""
    cost_plan = session.drill.scoring.cost_plan
    ended = session.ended_at if session.ended_at is not None else session.now
    levels = session.level()["levels"]
    taken = [o for o in session.outcomes if o.ok]
    tasks = _inject_tasks(session, taken, levels, ended, cost_plan)
    tasks += _level_tasks(session, taken, levels, ended)
    tasks += _message_tasks(session, ended)
    tasks += _service_tasks(session, m)
    return tasks


def _inject_tasks(session: DrillSession, taken: list[Outcome], levels: list[str],
                  ended: float, cost_plan: float | None) -> list[Task]:
    tasks: list[Task] = []
    limit = None if cost_plan is None else COST_OVER_PLAN * cost_plan
    for inject in session.drill.all_injects():
        fired = session.fired.get(inject.id)
        if fired is None:
            continue  # a contingency inject never fired, or a timed one never reached
        for j, exp in enumerate(inject.expect):
            title = exp.task or f"{exp.action} after {inject.id}"
            due = fired.at + exp.within.wall_minutes
            allowance = (exp.allowance.wall_minutes if exp.allowance is not None
                         else exp.within.wall_minutes / 2)
            standing = _standing(taken, exp, fired.at, levels, inject.id)
            hit = standing or next(
                (o for o in taken if o.at >= fired.at - _EPS
                 and _matches({**o.action, **(o.details or {})}, exp, inject.id, levels)),
                None)
            done = None if hit is None else max(hit.at, fired.at)
            tries = [o for o in session.outcomes if not o.ok and o.at >= fired.at - _EPS
                     and o.action.get("kind") == exp.action]
            evidence = [Evidence(fired.at, f"{inject.id} ({inject.subject}) reached "
                                 f"{inject.to} at {_minutes(fired.at)}")]
            evidence += [Evidence(o.at, f"refused at {_minutes(o.at)}: {o.message}")
                         for o in tries[:3]]
            args = (f"{inject.id}.{j + 1}", exp.objective or "-", "inject", title, inject.to,
                    due)
            if not _judged(done, due, allowance, ended):
                tasks.append(Task(*args, None, "not yet due when the drill ended",
                                  tuple(evidence)))
                continue
            rating = rate(done, due, allowance)
            if standing is not None:
                evidence.append(Evidence(hit.at, f"{hit.role}: {hit.message} at "  # type: ignore[union-attr]
                                         f"{_minutes(hit.at)}, before the inject, and "  # type: ignore[union-attr]
                                         f"still in force when it came"))
                reason = "already in force when the inject came"
            elif hit is not None:
                evidence.append(Evidence(hit.at, f"{hit.role}: {hit.message} at "
                                         f"{_minutes(hit.at)} ({hit.at - fired.at:.0f} min "
                                         f"after the inject; due within "
                                         f"{exp.within.wall_minutes:.0f})"))
                reason = {"P": "on time", "S": "late, within the allowance",
                          "M": "late beyond the allowance"}[rating]
                if exp.action in COSTLY and limit is not None and hit.spent is not None \
                        and hit.spent > limit:
                    rating = "M"
                    reason = (f"taken while the response ran over its cost plan (spent "
                              f"{hit.spent:,.0f} of a plan of {cost_plan:,.0f})")
            else:
                reason = "not done by the end of the drill"
                evidence.append(Evidence(None, f"no {exp.action} matching the expectation "
                                         f"after {_minutes(fired.at)}"))
            tasks.append(Task(*args, rating, reason, tuple(evidence),
                              who(hit) if hit is not None else ""))
    return tasks


def _level_tasks(session: DrillSession, taken: list[Outcome], levels: list[str],
                 ended: float) -> list[Task]:
    if session.team is None or len(levels) < 2:
        return []
    rules = session.drill.scoring
    first: dict[int, float] = {}
    for minute, level in session.team.history:
        for k in range(1, level + 1):
            first.setdefault(k, minute)
    declared = [o for o in taken if o.action.get("kind") == "declare_level"
                and o.action.get("level") in levels]
    objective = rules.objectives.get("levels", "emergency levels")
    within, allowance = rules.level_within.wall_minutes, rules.level_allowance.wall_minutes
    out = []
    for k, held in sorted(first.items()):
        due = held + within
        standing = level_at(taken, levels, held) >= k
        later = next((o for o in declared if o.at > held + _EPS
                      and levels.index(o.action["level"]) >= k), None)
        done = held if standing else (later.at if later is not None else None)
        evidence = [Evidence(held, f"its entry condition first held at {_minutes(held)} "
                                   "(the autopilot's recommendation)")]
        for o in declared:
            if o.at <= held + _EPS:
                evidence.append(Evidence(o.at, f"{o.role}: {o.message} at {_minutes(o.at)}"))
        if later is not None and not standing:
            evidence.append(Evidence(later.at, f"declared at {_minutes(later.at)} "
                                     f"({later.at - held:+.0f} min)"))
        args = (f"level.{levels[k]}", objective, "level",
                f"declare level {levels[k]} within {within:.0f} min of its condition",
                "incident_commander", due)
        if not _judged(done, due, allowance, ended):
            out.append(Task(*args, None, "not yet due when the drill ended", tuple(evidence)))
            continue
        rating = rate(done, due, allowance)
        reason = ("in force when its condition held" if standing else
                  {"P": "declared in time", "S": "declared late, within the allowance",
                   "M": "declared late beyond the allowance", "U": "never declared"}[rating])
        actor = "" if done is None else (who(later) if later is not None and not standing
                                         else next((who(o) for o in reversed(declared)
                                                    if o.at <= held + _EPS), ""))
        out.append(Task(*args, rating, reason, tuple(evidence), actor))
    return out


def operation_messages(session: DrillSession, until: float | None = None
                       ) -> list[dict[str, Any]]:
    """Every operation-wide message owed in the run (up to `until`), in the order owed:
    name, audience (`to`), minutes `owed`, `due`, `sent` and `withdrawn` (None: not). A
    send meets the owed message of its obligation with the same due time (an autopilot's
    writer answers one message each; a team's send meets the oldest, whose due time the
    log carries), so it is never matched to a message owed after it was sent."""
    log = session.world.log
    cols = log.columns()
    names = log.names.items
    kind, case, t_col = cols["kind"], cols["case"], cols["t"]
    codes = {KINDS.index(k): k for k in ("message_owed", "message_sent", "message_withdrawn")}
    rows = np.flatnonzero((case == -1) & np.isin(kind, list(codes))).tolist()
    open_: dict[str, list[dict[str, Any]]] = {}
    items: list[dict[str, Any]] = []
    for i in rows:
        what, name, t = codes[int(kind[i])], names[int(cols["a"][i])], float(t_col[i])
        if until is not None and t > until + _EPS:
            break
        due = float(cols["x"][i])
        if what == "message_owed":
            item = {"name": name, "to": names[int(cols["b"][i])], "owed": t, "due": due,
                    "sent": None, "withdrawn": None}
            open_.setdefault(name, []).append(item)
            items.append(item)
            continue
        if what == "message_sent" and int(cols["b"][i]) == UNOWED:
            continue
        queue = open_.get(name, [])
        hit = next((it for it in queue if abs(it["due"] - due) < _EPS),
                   queue[0] if queue and what == "message_sent" else None)
        if hit is not None:
            hit["sent" if what == "message_sent" else "withdrawn"] = t
            queue.remove(hit)
    return items


def _message_tasks(session: DrillSession, ended: float) -> list[Task]:
    """Operation-wide messages owed to the team (`operation_messages`)."""
    if session.team is None:
        return []
    sends = {o.at: who(o) for o in session.outcomes if o.ok and o.action.get("kind") == "send"}
    objective = session.drill.scoring.objectives.get("communications", "communications")
    out = []
    for n, it in enumerate(operation_messages(session, ended), 1):
        due, given = it["due"], it["due"] - it["owed"]
        evidence = [Evidence(it["owed"], f"owed to {it['to']} at {_minutes(it['owed'])}, due "
                                         f"{_minutes(due)}")]
        args = (f"message.{it['name']}.{n}", objective, "message",
                f"send {it['name']} to {it['to']} by its due time", "communications_lead", due)
        done = it["sent"]
        if done is not None:
            evidence.append(Evidence(done, f"sent at {_minutes(done)}"))
        if it["withdrawn"] is not None and done is None:
            evidence.append(Evidence(it["withdrawn"], f"withdrawn at "
                                     f"{_minutes(it['withdrawn'])}: its level was lowered"))
            if it["withdrawn"] < due + given - _EPS:
                continue  # no longer owed before it could be late: no task
            out.append(Task(*args, "U", "never sent (withdrawn only after it was overdue)",
                            tuple(evidence)))
            continue
        if not _judged(done, due, given, ended):
            out.append(Task(*args, None, "not yet due when the drill ended", tuple(evidence)))
            continue
        rating = rate(done, due, given)
        out.append(Task(*args, rating, {"P": "sent on time", "S": "sent late, within the time "
                                        "it was given", "M": "sent very late",
                                        "U": "never sent"}[rating], tuple(evidence),
                        sends.get(done, "") if done is not None else ""))
    return out


def _service_tasks(session: DrillSession, m: dict[str, Any]) -> list[Task]:
    p, s, mm = session.drill.scoring.service_levels
    objective = session.drill.scoring.objectives.get("service", "service levels")
    out = []
    for tier in TIERS:
        for ms, cell in m["sla"].get(tier, {}).items():
            if not cell["judged"]:
                continue
            att = cell["attainment"]
            rating: Rating = "P" if att >= p else "S" if att >= s else "M" if att >= mm else "U"
            lost = f", {cell['lost']} lost customers counted as missed" if cell["lost"] else ""
            out.append(Task(f"service.{tier}.{ms}", objective, "service",
                            f"{tier} {ms} on time", "incident_commander", None, rating,
                            f"attainment {att:.1%} (P from {p:.0%}, S {s:.0%}, M {mm:.0%})",
                            (Evidence(None, f"{cell['on_time']} of {cell['judged']} judged "
                                            f"{ms} milestones of {tier} on time{lost}"),)))
    return out
