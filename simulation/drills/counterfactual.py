"""What the team's decisions were worth: the same drill played by the autopilot and by nobody.

Both counterfactuals are the same drill on the same seed: the same arrivals, customers and
work times (common random numbers, model/streams.py), the same timed injects, and the
contingency injects the facilitator fired, at the same minutes (their effects draw from the
inject's own streams). Only the command post's decisions differ:
- "autopilot": the playbook decides what the team would (levels and their unlocks as soon as
  the signals call for them, operation-wide messages written by the front line);
- "none": no response, a command post that decides nothing. The front line works every case
  by the playbook's routine exactly as under a team (escalated cases first, customer
  messages, reorder policies), so a team that does nothing *is* this run, event for event.
All three runs end where the team's drill ended and are then carried to their end the same
way (session.py `carry_over`): no new arrivals, no new decision, every open case followed
until it closes; the backlog a drill leaves behind is judged in all of them.
"What your decisions were worth" is each KPI of the team's run minus the same KPI of a
counterfactual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from simulation.drills.actions import ACTION_TYPES, FireInject
from simulation.drills.scoring import kpis, metrics
from simulation.drills.session import DrillSession
from simulation.errors import SimulationError
from simulation.scenario.loader import LoadedScenario

__all__ = ["Counterfactual", "counterfactual", "counterfactuals", "worth", "replay_decisions",
           "by_hand", "POLICIES"]

POLICIES = ("autopilot", "none")


@dataclass(frozen=True)
class Counterfactual:
    policy: str
    kpis: dict[str, float | None]
    session: DrillSession
    metrics: dict[str, Any]


def counterfactual(loaded: LoadedScenario, seed: int, policy: str,
                   contingency: Iterable[tuple[float, str | dict[str, Any]]], until: float | None = None,
                   carry: bool = True) -> Counterfactual:
    """The drill under `policy` ("autopilot" or "none"), contingency injects fired at the
    given (minute, inject id), run to `until` (default: the drill's end), then carried to
    its end (unless `carry` is False)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown counterfactual {policy!r}: {', '.join(POLICIES)}")
    session = DrillSession(loaded, seed, policy="autopilot" if policy == "autopilot"
                           else "team")
    for minute, inject in sorted(contingency, key=lambda c: c[0]):
        session.advance(minute)
        action = FireInject(inject=inject) if isinstance(inject, str) else \
            ACTION_TYPES[inject["kind"]].model_validate(
                {k: v for k, v in inject.items() if k not in ("role", "by")})
        outcome = session.act(action)
        if not outcome.ok:  # the team's run fired it at this minute: so must this one
            raise SimulationError(f"counterfactual {policy}: inject {inject!r} at minute "
                                  f"{minute:g}: {outcome.message}")
    session.advance(until if until is not None else session.end)
    if carry:
        session.carry_over()
    m = metrics(session)
    return Counterfactual(policy, kpis(session, m), session, m)


def counterfactuals(team: DrillSession, carry: bool = True) -> dict[str, Counterfactual]:
    """The autopilot and no-response runs of a team's finished (or stopped) drill."""
    until = team.ended_at if team.ended_at is not None else team.now
    fired = by_hand(team)
    return {p: counterfactual(team.loaded, team.seed, p, fired, until, carry)
            for p in POLICIES}


def by_hand(team: DrillSession) -> list[tuple[float, str | dict[str, Any]]]:
    """The injects the exercise's staff sent by hand, at their minutes: contingency injects
    by id, ad-hoc ones as the action that wrote them (the counterfactuals send the same)."""
    out: list[tuple[float, str | dict[str, Any]]] = []
    for o in team.outcomes:
        if o.ok and o.action.get("kind") == "fire_inject":
            out.append((o.at, str(o.action["inject"])))
        elif o.ok and o.action.get("kind") == "adhoc_inject":
            out.append((o.at, dict(o.action)))
    return out


def replay_decisions(loaded: LoadedScenario, seed: int,
                     decisions: Iterable[tuple[float, dict[str, Any], str | None]],
                     until: float) -> DrillSession:
    """A fresh session with the decisions (minute, action body, role) applied at their
    minutes (each taken or refused as the rules say on this seed), run to `until`: the one
    rule by which a drill is rebuilt, whether from a record, a live session or on another
    seed."""
    session = DrillSession(loaded, seed)
    for minute, body, role in decisions:
        session.advance(minute)
        session.act(ACTION_TYPES[body["kind"]].model_validate(body), role=role or None)
    session.advance(until)
    return session


def worth(team: dict[str, float | None],
          other: dict[str, float | None]) -> dict[str, float | None]:
    """Each KPI of the team's run minus the other's (None where either is undefined)."""
    return {k: (team[k] - other[k]) if team.get(k) is not None and other.get(k) is not None
            else None for k in team}  # type: ignore[operator]
