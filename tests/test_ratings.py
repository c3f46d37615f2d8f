"""Every rating rule at its boundaries, and the rating errors found by playing, each worked
out by hand from docs/drills.md and the recall drill's MSEL (drill-recall.yaml):

    M1 30m IV within 2h | M2 6h overtime within 2h | M4 18h III within 2h, overtime for
    现场技术组 and contractors within 3h | M5 19.5h 管理层简报 within 1h | M8 2d acknowledge
    within 30m (allowance: half of it, 15 min)

A rule's minute boundaries are tested on both sides: exactly at the deadline, one minute
after, exactly at the end of the allowance, one minute after that.
"""

from __future__ import annotations

import pytest

from simulation.drills.actions import Acknowledge, Activate, DeclareLevel, OrderParts, Send
from simulation.drills.ratings import critical_tasks, rate
from simulation.drills.scoring import metrics, score
from simulation.drills.session import DrillSession
from simulation.scenario.loader import load_scenario, scenario_from_text, scenarios_dir

M8 = 2 * 1440.0


@pytest.fixture(scope="module")
def loaded():
    return load_scenario("drill-recall")


def _task(session: DrillSession, task_id: str):
    return next(t for t in critical_tasks(session, metrics(session)) if t.id == task_id)


def _acknowledged_at(loaded, minute: float | None, until: float) -> DrillSession:
    session = DrillSession(loaded, 1)
    if minute is not None:
        session.advance(minute)
        assert session.act(Acknowledge(inject="M8")).ok
    session.advance(until)
    return session


@pytest.mark.parametrize(("after", "rating"), [
    (0, "P"),        # at the inject's minute
    (30, "P"),       # exactly at the deadline: on time (a deadline moved a minute early fails)
    (31, "S"),       # one minute after
    (45, "S"),       # exactly at the end of the allowance (half of `within` by default)
    (46, "M"),       # one minute after that (an allowance of the whole window says S)
])
def test_the_timing_rule_at_its_boundaries(loaded, after: float, rating: str) -> None:
    session = _acknowledged_at(loaded, M8 + after, M8 + 60)
    assert _task(session, "M8.1").rating == rating


def test_the_rule_itself_at_its_boundaries() -> None:
    assert [rate(d, 100.0, 10.0) for d in (99.0, 100.0, 101.0, 110.0, 111.0, None)] == \
        ["P", "P", "S", "S", "M", "U"]


@pytest.mark.parametrize(("ended", "rating"), [
    (M8 + 10, None),   # ended before the deadline: not rated, never U
    (M8 + 44, None),   # late but the allowance not over: still not rated
    (M8 + 45, "U"),    # the allowance over, nothing done: unable to be performed
])
def test_a_task_is_rated_only_once_it_could_be_late(loaded, ended: float, rating) -> None:
    task = _task(_acknowledged_at(loaded, None, ended), "M8.1")
    assert task.rating == rating
    if rating is None:
        assert task.reason == "not yet due when the drill ended"


def test_a_task_not_due_is_left_out_of_the_score(loaded) -> None:
    """Ended 30 min after M1 (due within 2 h): the level task is not rated, so the tasks
    part is the mean of nothing rated (None), not 0."""
    session = DrillSession(loaded, 1)
    session.advance(60)
    result = score(session)
    assert next(t for t in result.tasks if t.id == "M1.1").rating is None
    assert result.parts["tasks"] is None


@pytest.mark.parametrize(("declared_at", "reason"), [
    (18 * 60 - 1, "already in force when the inject came"),
    (18 * 60, "on time"),        # at the inject's very minute: taken after it, not standing
])
def test_a_standing_level_is_one_declared_before_the_inject(loaded, declared_at: float,
                                                           reason: str) -> None:
    session = DrillSession(loaded, 1)
    session.advance(declared_at)
    assert session.act(DeclareLevel(level="III")).ok
    session.advance(18 * 60 + 200)
    task = _task(session, "M4.1")
    assert (task.rating, task.reason) == ("P", reason)


def test_a_declaration_withdrawn_before_the_condition_held_counts_for_nothing(loaded) -> None:
    """III declared at 60 and lowered to IV at 120 (recall seed 1): when III's condition
    first holds, hours later, the team is at IV: the level task is not done by that old
    declaration (it was rated P). Raised again 100 min after the condition: M."""
    session = DrillSession(loaded, 1)
    session.advance(60)
    assert session.act(DeclareLevel(level="III")).ok
    session.advance(120)
    assert session.act(DeclareLevel(level="IV")).ok
    while not any(level >= 2 for _, level in session.team.history):
        session.advance(session.now + 60)
    held = next(at for at, level in session.team.history if level >= 2)
    session.advance(held + 100)
    assert session.act(DeclareLevel(level="III")).ok
    session.advance(held + 200)
    task = _task(session, "level.III")
    assert held > 120 and task.rating == "M", (held, task)
    assert "+100 min" in " ".join(e.text for e in task.evidence)


def test_a_message_sent_before_it_was_owed_meets_nothing(loaded) -> None:
    """管理层简报 sent at 600 (nobody owed it), III declared at 700 (owed, due 820), never
    sent again: the owed message is U, not met by the earlier send."""
    session = DrillSession(loaded, 1)
    session.advance(600)
    assert "not owed yet" in session.act(Send(obligation="管理层简报")).message
    session.advance(700)
    assert session.act(DeclareLevel(level="III")).ok
    session.advance(1000)
    messages = [t for t in critical_tasks(session, metrics(session)) if t.source == "message"]
    assert [(t.rating, t.reason) for t in messages] == [("U", "never sent")]
    share = metrics(session)["communications"]
    assert share["unowed"] == 1 and share["on_time_share"] <= 1.0


def test_a_message_owed_again_is_met_by_the_send_after_it(loaded) -> None:
    """III at 60 (briefing owed, due 180), sent at 100: P. Lowered to IV at 200, raised to
    III again at 300 (owed again, due 420), sent one minute later: P as well, citing that
    send (it was rated M, citing a later one)."""
    session = DrillSession(loaded, 1)
    for minute, action in ((60, DeclareLevel(level="III")), (100, Send(obligation="管理层简报")),
                           (200, DeclareLevel(level="IV")), (300, DeclareLevel(level="III")),
                           (301, Send(obligation="管理层简报"))):
        session.advance(minute)
        assert session.act(action).ok
    session.advance(700)
    messages = [t for t in critical_tasks(session, metrics(session)) if t.source == "message"]
    assert [t.rating for t in messages] == ["P", "P"]
    assert "sent at 0d 05:01" in " ".join(e.text for e in messages[1].evidence)


def test_lowering_the_level_withdraws_what_it_made_owed(loaded) -> None:
    """III at 60 makes the briefing owed (due 180); lowered to IV at 90, before it was
    due: no longer owed (the screen's list and the log say so), and no task."""
    session = DrillSession(loaded, 1)
    session.advance(60)
    assert session.act(DeclareLevel(level="III")).ok
    assert [m.obligation for m, _ in session.world.operation_owed] == ["管理层简报"]
    session.advance(90)
    assert session.act(DeclareLevel(level="IV")).ok
    assert session.world.operation_owed == []
    session.advance(400)
    assert session.world.log.select("message_withdrawn")["t"].tolist() == [90.0]
    assert not [t for t in critical_tasks(session, metrics(session)) if t.source == "message"]


def test_an_unlock_active_when_the_inject_comes_counts_at_once(loaded) -> None:
    """M2 (6 h) expects overtime. Overtime for 客服组 activated at 120, before M2: done at
    once (P), citing it, not the overtime for 现场技术组 activated 19 hours later (it was
    rated M for that one)."""
    session = DrillSession(loaded, 1)
    session.advance(60)
    assert session.act(DeclareLevel(level="IV")).ok
    session.advance(120)
    assert session.act(Activate(resource="overtime", pool="客服组")).ok
    session.advance(19 * 60 + 120)
    assert session.act(DeclareLevel(level="III")).ok
    assert session.act(Activate(resource="overtime", pool="现场技术组")).ok
    session.advance(20 * 60 + 120)
    task = _task(session, "M2.1")
    assert (task.rating, task.reason) == ("P", "already in force when the inject came")
    assert "客服组" in " ".join(e.text for e in task.evidence)


def test_an_unlock_taken_back_before_the_inject_does_not_stand(loaded) -> None:
    session = DrillSession(loaded, 1)
    session.advance(60)
    assert session.act(DeclareLevel(level="IV")).ok
    assert session.act(Activate(resource="overtime", pool="客服组")).ok
    session.advance(120)
    assert session.act(DeclareLevel(level="normal")).ok
    session.advance(6 * 60 + 200)
    assert _task(session, "M2.1").rating == "U"


def test_the_cost_plan_judges_a_decision_by_what_was_spent_before_it(tmp_path) -> None:
    """A cost plan between what the response had spent at the overtime activation (at 7 h)
    and at the parts order (at 12 h), times 1.25: the order is M (over the plan), the
    activation keeps its P, though the drill's final total is far over the plan (the rule
    used the final total from minute 0 and rated both M)."""
    text = (scenarios_dir() / "drill-recall.yaml").read_text(encoding="utf-8")
    probe = DrillSession(load_scenario("drill-recall"), 1)
    spent = {}
    for minute, action in ((60, DeclareLevel(level="IV")),
                           (7 * 60, Activate(resource="overtime", pool="客服组")),
                           (12 * 60, OrderParts(sku="FLR-OAK-1210", qty=6000))):
        probe.advance(minute)
        spent[minute] = probe.act(action).spent
    low, high = spent[7 * 60], spent[12 * 60]
    assert low is not None and high is not None and high > low > 0
    plan = (low + high) / 2 / 1.25
    variant = text.replace("  length: 3d\n", f"  length: 3d\n  scoring: {{cost_plan: {plan}}}\n")
    loaded = scenario_from_text(variant, file=str(tmp_path / "d.yaml"), base=scenarios_dir())
    session = DrillSession(loaded, 1)
    for minute, action in ((60, DeclareLevel(level="IV")),
                           (7 * 60, Activate(resource="overtime", pool="客服组")),
                           (12 * 60, OrderParts(sku="FLR-OAK-1210", qty=6000))):
        session.advance(minute)
        assert session.act(action).ok
    session.advance(16 * 60)
    assert session.spent() > 1.25 * plan
    assert _task(session, "M2.1").rating == "P"
    order = _task(session, "M3.1")
    assert order.rating == "M" and "over its cost plan" in order.reason


def test_service_levels_at_their_thresholds(loaded) -> None:
    """Attainment exactly at a threshold earns that rating (`>=`); a hair below, the next."""
    session = DrillSession(loaded, 1)
    cells = {"acknowledge": 0.95, "initial_plan": 0.9499, "resolve": 0.90}
    lows = {"acknowledge": 0.80, "initial_plan": 0.7999, "resolve": 1.0}

    def m(values: dict[str, float]) -> dict:
        tier = {k: {"judged": 10_000, "attainment": v, "on_time": round(v * 10_000),
                    "lost": 0} for k, v in values.items()}
        return {"sla": {"VIP": tier, "tier1": {}, "tier2": {}}}

    def ratings(values: dict[str, float]) -> list[str | None]:
        return [t.rating for t in critical_tasks(session, m(values)) if t.source == "service"]

    assert ratings(cells) == ["P", "S", "S"]
    assert ratings(lows) == ["M", "U", "P"]


def test_a_drill_never_advances_past_its_end(loaded) -> None:
    session = DrillSession(loaded, 1)
    session.advance(session.end + 500)
    assert session.now == session.end and session.finished
    session.carry_over()
    assert session.ended_at == session.end
    refused = session.act(DeclareLevel(level="IV"))
    assert not refused.ok and refused.message == "the drill has ended"
