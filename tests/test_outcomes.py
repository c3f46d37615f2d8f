"""A drill's outcomes: carried to their end, placed between its counterfactuals, priced in full.

The placement rule (docs/drills.md) is checked on numbers worked out by hand; the runs on the
bundled recall drill check the properties the score rests on: a passive team *is* no
response, counterfactuals fire the team's contingency injects, the carry-over closes every
case without new arrivals, and every cost the total counts is shown.
"""

from __future__ import annotations

import pytest

from simulation.drills.actions import DeclareLevel, FireInject, Send
from simulation.drills.counterfactual import counterfactual, counterfactuals
from simulation.drills.review import review_session
from simulation.drills.scoring import COST_KPIS, FLOORS, kpis, metrics, place, score
from simulation.drills.session import DrillSession, log_digest
from simulation.scenario.loader import load_scenario


@pytest.fixture(scope="module")
def loaded():
    return load_scenario("drill-recall")


def _k(service: float, lost: float, cost: float, on_time: int = 0, missed: int = 0) -> dict:
    return {"service": service, "lost_weighted": lost, "cost": cost,
            "messages_on_time": on_time, "messages_missed": missed}


AUTO, NONE = _k(0.95, 100, 1_000_000, 2), _k(0.85, 150, 1_200_000, 0)


@pytest.mark.parametrize(("team", "expected"), [
    (_k(0.85, 150, 1_200_000, 0), 0.0),            # no response: 0
    (_k(0.95, 100, 1_000_000, 2), 100.0),          # the autopilot: 100
    (_k(0.90, 125, 1_100_000, 1), 50.0),           # halfway
    (_k(0.99, 60, 900_000, 3), 100.0),             # better than the autopilot: capped at 100
    (_k(0.75, 200, 1_400_000, 0, 2), -100.0),      # worse than none by the whole gap
    (_k(0.60, 400, 3_000_000, 0, 9), -100.0),      # far worse: the floor of -100
])
def test_an_outcome_is_placed_between_no_response_and_the_autopilot(team: dict,
                                                                    expected: float) -> None:
    for part in ("service", "customers_lost", "cost", "communications"):
        p = place(part, team, AUTO, NONE)
        assert p.value == pytest.approx(expected), (part, p)


def test_a_part_the_decisions_cannot_move_is_left_out() -> None:
    """The autopilot less than the floor better than no response (or worse): no part."""
    for part, floor in FLOORS.items():
        auto = dict(AUTO)
        same = _k(0.95, 100, 1_000_000, 2)
        if part == "service":
            auto["service"] = same["service"] = NONE["service"] + floor * 0.9
        elif part == "customers_lost":
            auto["lost_weighted"] = NONE["lost_weighted"] - floor * 0.9
        elif part == "cost":
            auto["cost"] = NONE["cost"] * (1 - 0.004)     # under 0.5% cheaper
        else:
            auto["messages_on_time"] = 0
        p = place(part, same, auto, NONE)
        assert p.value is None and "no clear difference" in p.note, (part, p)
    worse = place("cost", AUTO, NONE, AUTO)                # "autopilot" dearer than "none"
    assert worse.value is None and "no better than" in worse.note


def test_a_passive_team_is_no_response_event_for_event(loaded) -> None:
    """`actions: []` and the no-response counterfactual are the same run: same event log,
    so every outcome part places the passive team at exactly 0, and so does its score."""
    team = DrillSession(loaded, 3)
    team.advance(team.end)
    team.carry_over()
    none = counterfactual(loaded, 3, "none", [])
    assert log_digest(team.world) == log_digest(none.session.world)
    result = score(team, counterfactuals(team))
    assert result.total == 0.0
    assert all(v == 0.0 for v in result.parts.values() if v is not None)


def test_counterfactuals_fire_the_contingency_injects_the_team_fired(loaded) -> None:
    """C1 (a demand spike) fired by hand at 10 h: both counterfactuals fire it at the same
    minute, and get its extra customers: the same arrivals as the team's run."""
    team = DrillSession(loaded, 2)
    team.advance(600)
    assert team.act(FireInject(inject="C1")).ok
    team.advance(team.end)
    others = counterfactuals(team, carry=False)
    for policy, c in others.items():
        assert c.session.fired["C1"].at == 600 and c.session.fired["C1"].by_hand, policy
        assert c.session.world.results().arrivals == team.world.results().arrivals, policy
    quiet = counterfactual(loaded, 2, "none", [], team.end, carry=False)
    assert quiet.session.world.results().arrivals < team.world.results().arrivals


def test_the_carry_over_closes_every_case_without_new_customers(loaded) -> None:
    """Ended at 30 h: nobody arrives after it (complaints about open cases aside), every
    case closes, the run's horizon is the drill's end, and the measured windows are the
    drill and the carry-over."""
    session = DrillSession(loaded, 1)
    session.advance(30 * 60)
    assert session.act(DeclareLevel(level="III")).ok
    session.carry_over()
    world = session.world
    assert session.ended_at == 30 * 60 and world.horizon == 30 * 60
    assert world.open_count == 0 and session.now > 30 * 60
    opened = world.log.select("opened")
    complaints = set(world.log.select("complaint")["case"].tolist())
    late = [c for t, c in zip(opened["t"].tolist(), opened["case"].tolist()) if t > 30 * 60]
    assert set(late) <= complaints
    m = metrics(session)
    assert m["run"]["horizon_minutes"] == 30 * 60 and m["run"]["end_minutes"] == session.now
    assert m["incidents"]["open_at_end"] == 0
    assert world.log.select("level")["t"].max() <= 30 * 60   # no decision after the end


def test_every_cost_is_shown_and_adds_up(loaded) -> None:
    review = review_session(_played(loaded))
    for values in (review.score.kpis, *(c.kpis for c in review.others.values())):
        assert sum(values[k] for k in COST_KPIS) == pytest.approx(values["cost"])
        assert values["lost_customers"] > 0                   # losing customers is not free
    assert review.score.kpis["parts"] > 0                     # parts cost when ordered


def test_shares_never_exceed_one_when_a_team_sends_unowed_messages(loaded) -> None:
    """The storm's 100.1%: messages sent on the team's initiative counted as on time."""
    session = DrillSession(load_scenario("drill-storm"), 1)
    session.advance(60)
    for name in ("public-notice", "crisis-briefing", "surge-briefing"):
        assert session.act(Send(obligation=name)).ok
    session.advance(session.end)
    m = metrics(session)
    com = m["communications"]
    assert com["unowed"] == 3 and com["on_time"] <= com["sent"] <= com["owed"]
    shares = [com["on_time_share"], *(a["on_time_share"] for a in com["by_audience"].values())]
    shares += [c["attainment"] for t in m["sla"].values() for c in t.values()]
    assert all(s is None or 0.0 <= s <= 1.0 for s in shares)
    values = kpis(session, m)
    assert all(0.0 <= values[k] <= 1.0 for k in ("service", "attainment", "lost_share")
               if values[k] is not None)


def _played(loaded) -> DrillSession:
    session = DrillSession(loaded, 1)
    for minute, action in ((90, DeclareLevel(level="IV")), (19 * 60, DeclareLevel(level="III")),
                           (20 * 60, Send(obligation="管理层简报"))):
        session.advance(minute)
        assert session.act(action).ok
    session.advance(session.end)
    return session
