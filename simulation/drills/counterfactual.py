"""What the team's decisions were worth: the same drill played by the autopilot and by nobody.

Both counterfactuals are the same drill on the same seed: the same arrivals, customers and
work times (common random numbers, model/streams.py), the same timed injects, and the
contingency injects the facilitator fired, at the same minutes (their effects draw from the
inject's own streams). Only the decisions differ: the playbook's autopilot takes what the
team held (levels and their unlocks, operation-wide messages), and with no response none of
it happens. "What your decisions were worth" is each KPI of the team's run minus the same
KPI of a counterfactual.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulation.drills.actions import FireInject
from simulation.drills.scoring import kpis
from simulation.drills.session import DrillSession
from simulation.scenario.loader import LoadedScenario

__all__ = ["Counterfactual", "counterfactual", "counterfactuals", "worth"]


@dataclass(frozen=True)
class Counterfactual:
    policy: str
    kpis: dict[str, float | None]
    session: DrillSession


def counterfactual(loaded: LoadedScenario, seed: int, policy: str,
                   contingency: list[tuple[float, str]], until: float | None = None
                   ) -> Counterfactual:
    """The drill under `policy` ("autopilot" or "none"), contingency injects fired at the
    given (minute, inject id), run to `until` (default: the drill's end)."""
    session = DrillSession(loaded, seed, policy=policy)  # type: ignore[arg-type]
    for minute, inject in sorted(contingency):
        session.advance(minute)
        outcome = session.act(FireInject(inject=inject))
        assert outcome.ok, outcome.message  # the team's run fired it at this minute
    session.advance(until if until is not None else session.end)
    return Counterfactual(policy, kpis(session), session)


def counterfactuals(team: DrillSession) -> dict[str, Counterfactual]:
    """The autopilot and no-response runs of a team's finished (or stopped) drill."""
    fired = [(f.at, f.inject.id) for f in team.fired.values() if f.by_hand]
    return {p: counterfactual(team.loaded, team.seed, p, fired, team.now)
            for p in ("autopilot", "none")}


def worth(team: dict[str, float | None],
          other: dict[str, float | None]) -> dict[str, float | None]:
    """Each KPI of the team's run minus the other's (None where either is undefined)."""
    return {k: (team[k] - other[k]) if team.get(k) is not None and other.get(k) is not None
            else None for k in team}  # type: ignore[operator]
