"""The drill engine: who decides what, exact replays, scripts and records.

The bundled recall drill is the stage. Every expectation is read off the drill and playbook
files or worked out here: the session must take the decisions the team takes and no others,
refuse what is not allowed (changing nothing), and one seed with one list of decisions must
give one event log, however the clock is stepped.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.store import EventStore
from simulation.drills.actions import (Acknowledge, Activate, DeclareLevel, Deescalate,
                                       Escalate, FireInject, MoveCase, OrderParts, Prioritise,
                                       Send)
from simulation.drills.record import load_record, replay, resume, start_record
from simulation.drills.examples import example_script
from simulation.drills.script import load_script, play
from simulation.drills.session import DrillSession, log_digest
from simulation.errors import SimulationError
from simulation.scenario.loader import load_scenario


@pytest.fixture(scope="module")
def loaded():
    return load_scenario("drill-recall")


DECISIONS = [  # (minute, action): a small strategy, taken in this order
    (60.0, DeclareLevel(level="IV")),
    (420.0, Activate(resource="overtime", pool="客服组")),
    (660.0, OrderParts(sku="FLR-OAK-1210", qty=3000)),
    (1500.0, DeclareLevel(level="III")),
    (1500.0, Activate(resource="contractors")),
    (1560.0, Prioritise(tier="VIP")),
]


def play_with_steps(loaded, steps: list[float], decisions=DECISIONS) -> str:
    """Play the decisions, advancing the clock in the given increments between them."""
    session = DrillSession(loaded, 7)
    pending = list(decisions)
    k = 0
    while session.now < 1800:
        target = min(session.now + steps[k % len(steps)], 1800)
        k += 1
        while pending and pending[0][0] <= target:
            minute, action = pending.pop(0)
            session.advance(minute)
            assert session.act(action).ok, action
        session.advance(target)
    return log_digest(session.world)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(st.lists(st.floats(min_value=0.5, max_value=300.0), min_size=1, max_size=6))
def test_one_seed_and_one_set_of_decisions_give_one_event_log(steps: list[float]) -> None:
    """However the clock is stepped (a tick per second at 1x or an hour at a time), the same
    decisions at the same minutes give the same event log, byte for byte."""
    loaded = load_scenario("drill-recall")
    assert play_with_steps(loaded, steps) == play_with_steps(loaded, [1800.0])


def test_a_different_decision_gives_a_different_log(loaded) -> None:
    """The digest sees decisions: without the order of parts, the log differs."""
    other = [d for d in DECISIONS if not isinstance(d[1], OrderParts)]
    assert play_with_steps(loaded, [60.0]) != play_with_steps(loaded, [60.0], other)


def test_the_team_decides_levels_the_playbook_only_recommends(loaded) -> None:
    """With no decisions the level stays normal while the autopilot's recommendation climbs,
    nothing is unlocked, and the messages a level would owe are never sent by anyone."""
    session = DrillSession(loaded, 3)
    session.advance(session.end)
    assert session.team.declared == "normal"
    assert session.team.recommended != "normal"
    assert not session.world.unlocks.active and not session.world.unlocks.pending
    level = session.world.log.select("level")
    assert level["t"].size == 0


def test_declaring_a_level_unlocks_nothing_by_itself(loaded) -> None:
    session = DrillSession(loaded, 3)
    session.advance(90)
    assert session.act(DeclareLevel(level="III")).ok
    assert not session.world.unlocks.active and not session.world.unlocks.pending
    owed = [m.obligation for m, _ in session.world.operation_owed]
    assert owed == ["管理层简报"]  # the briefing the playbook owes on level III
    session.advance(90 + 180)      # its 2 h deadline passes: owed still, and late
    assert [m.obligation for m, _ in session.world.operation_owed] == ["管理层简报"]
    sent = session.act(Send(obligation="管理层简报"))
    assert sent.ok and "late" in sent.message and not session.world.operation_owed
    log = session.world.log.select("message_sent")
    assert log["b"].tolist()[-1] == 0  # recorded as sent late


def test_unlocks_need_their_level_and_lowering_takes_them_back(loaded) -> None:
    session = DrillSession(loaded, 3)
    session.advance(120)
    refused = session.act(Activate(resource="contractors"))
    assert not refused.ok and "needs emergency level III" in refused.message
    assert session.act(DeclareLevel(level="III")).ok
    assert session.act(Activate(resource="contractors")).ok
    assert session.act(Activate(resource="overtime", pool="客服组")).ok   # level IV's
    again = session.act(Activate(resource="overtime", pool="客服组"))
    assert not again.ok and "already active" in again.message
    session.advance(120 + 24 * 60 + 30)   # the partner crew arrives after its 24 h delay
    crew = session.world.pools["合作服务商"]
    assert crew.limit == 6                 # level III's 6, not the schedule's 15
    lowered = session.act(DeclareLevel(level="IV"))
    assert lowered.ok and "contractors" in lowered.message
    assert crew.limit == 0                 # taken back with level III
    assert session.world.pools["客服组"].overtime_hours == 2.0   # IV's overtime stays


def test_refusals_change_nothing(loaded) -> None:
    session = DrillSession(loaded, 5)
    session.advance(600)
    before = log_digest(session.world)
    for action in (Escalate(case=10**6), Deescalate(case=0), OrderParts(sku="FLR-OAK", qty=5),
                   MoveCase(case=0, pool="nobody"), Acknowledge(inject="M9"),
                   FireInject(inject="M1"), Send(obligation="公开申明"),
                   DeclareLevel(level="V"), Activate(unlock=99)):
        outcome = session.act(action)
        assert not outcome.ok, action
    assert log_digest(session.world) == before
    assert "did you mean" in session.act(OrderParts(sku="FLR-OAK-121", qty=1)).message


def test_cases_escalate_deescalate_and_move_by_hand(loaded) -> None:
    session = DrillSession(loaded, 5)
    session.advance(900)
    world = session.world
    waiting = sorted(world.waiting)
    assert waiting, "the surge leaves work waiting by minute 900"
    cid = waiting[0]
    assert session.act(Escalate(case=cid)).ok
    assert world.table.level[cid] == 1
    assert session.act(Deescalate(case=cid)).ok and world.table.level[cid] == 0
    kind = world.case_kind[cid]
    role = world.waiting[cid][5][0].role
    other = next(p for p in world.pools.values() if role in p.spec.roles
                 and p.name not in [q.name for q in world.waiting[cid][5][3].pools[:1]])
    moved = session.act(MoveCase(case=cid, pool=other.name))
    assert moved.ok and world.pinned[cid] == other.name, (kind, moved.message)


def test_prioritised_cases_are_served_first(loaded) -> None:
    """Move tier 2 ahead of everyone at minute 700: at the service desk, tier 2 work then
    waits less than before and VIP work more (the reverse of the playbook's own order); at
    the technicians, VIP work now waits behind all tier 2 work."""
    def desk_waits(boost: bool) -> tuple[float, float, int]:
        session = DrillSession(loaded, 11)
        session.advance(700)
        if boost:
            assert session.act(Prioritise(tier="tier2")).ok
        session.advance(2200)
        world = session.world
        a = world.log.select("assigned")
        desk = world.log.names.index["客服组"]
        tech = world.log.names.index["现场技术组"]
        tier = world.table.tier
        after = a["t"] > 700
        by = {0: [], 2: []}
        vip_at_techs = 0
        for x, c, pool in zip(a["x"][after], a["case"][after], a["a"][after]):
            if pool == desk and tier[c] in by:
                by[tier[c]].append(x)
            vip_at_techs += int(pool == tech and tier[c] == 0)
        return sum(by[0]) / len(by[0]), sum(by[2]) / len(by[2]), vip_at_techs
    vip, low, served = desk_waits(False)
    vip_b, low_b, served_b = desk_waits(True)
    assert vip < low and vip_b > vip and low_b < low
    assert served > 0 and served_b < served


def test_inject_effects_change_the_world(loaded) -> None:
    session = DrillSession(loaded, 2)
    stock = session.world.stock["FLR-OAK-1210"]
    session.advance(599)
    before = stock.on_hand
    session.advance(601)   # M3 at 10 h: 1500 boards lost
    assert "M3" in session.fired and stock.on_hand <= max(before - 1500, 0) + 50
    session.advance(1199)
    opened = len(session.world.cases)
    session.advance(1201)  # M4 at 20 h: a VIP complaint case opens
    new = range(opened, len(session.world.cases))
    assert any(session.world.table.tier[c] == 0 for c in new)
    session.advance(1441)  # M5 at 1 d: four technicians off sick
    assert session.world.pools["现场技术组"].absent == 4


def test_a_contingency_inject_fired_by_hand_adds_the_same_arrivals_everywhere(loaded) -> None:
    """C1 doubles demand for 6 h. Its extra arrivals come from the inject's own stream:
    fired at the same minute in two sessions (even with different decisions before), it
    opens cases at the same minutes."""
    def extra(decide: bool) -> list[float]:
        session = DrillSession(loaded, 4)
        session.advance(300)
        if decide:
            session.act(DeclareLevel(level="IV"))
        base = len(session.world.cases)
        assert session.act(FireInject(inject="C1")).ok
        session.advance(300 + 360)
        opened = session.world.table.columns()["opened"]
        return sorted(opened[base:].tolist())
    quiet = extra(False)
    assert len(quiet) > 5 and extra(True)[:5] == quiet[:5]


def test_example_script_plays_through_and_replays_from_its_record(loaded, tmp_path) -> None:
    text = example_script(loaded, 1)
    path = tmp_path / "actions.yaml"
    path.write_text(text, encoding="utf-8")
    script = load_script(path)
    assert len(script.actions) >= 10
    with EventStore.open(tmp_path / "r.sqlite") as store:
        recorder = start_record(store, loaded, 1, team="测试组")
        session = play(loaded, script, 1, recorder=recorder)
        recorder.finish(session)
        record = load_record(store, recorder.stream_id)
        assert record.header["team"] == "测试组" and record.end is not None
        assert len(record.actions) == len(script.actions)
        report = replay(store, recorder.stream_id)
    assert report.matches and report.checked == len(script.actions) + 1, report


def test_replay_catches_a_record_that_does_not_match(loaded, tmp_path) -> None:
    """A record whose decisions were different from what its digests say fails replay at
    the first decision it affects."""
    with EventStore.open(tmp_path / "r.sqlite") as store:
        recorder = start_record(store, loaded, 1)
        session = DrillSession(loaded, 1, recorder=recorder)
        session.advance(60)
        session.act(DeclareLevel(level="IV"))
        session.advance(500)
        session.act(OrderParts(sku="FLR-OAK-1210", qty=100))
        session.advance(600)
        recorder.finish(session)
        # A second stream claims the same digests for another order.
        header = store.header(recorder.stream_id)
        forged = store.new_stream("drill", header)
        for ev in store.events(recorder.stream_id):
            payload = dict(ev.payload)
            if ev.kind == "action" and payload["action"]["kind"] == "order_parts":
                payload["action"] = {**payload["action"], "qty": 999}
            if ev.kind != "header":
                store.append(forged, ev.kind, payload, sim_minute=ev.sim_minute)
        good, bad = replay(store, recorder.stream_id), replay(store, forged)
    assert good.matches
    assert not bad.matches and "minute 500" in bad.problem


def test_resume_keeps_every_decision_taken_before(loaded, tmp_path) -> None:
    with EventStore.open(tmp_path / "r.sqlite") as store:
        recorder = start_record(store, loaded, 9)
        session = DrillSession(loaded, 9, recorder=recorder)
        for minute, action in DECISIONS[:3]:
            session.advance(minute)
            session.act(action)
        session.advance(800)      # ... and the terminal closes here: no end in the record
        digest = log_digest(session.world)
        again, _ = resume(store, recorder.stream_id)
        assert again.now == 800 and log_digest(again.world) == digest
        assert [o.action for o in again.outcomes] == [o.action for o in session.outcomes]
        assert again.team.declared == "IV"


SCRIPT = textwrap.dedent("""\
    muster: 1
    actions:
      - {at: 1h, kind: declare_level, level: IV}
      - {at: 2h, kind: declre_level, level: III}
      - {at: 1h, kind: order_parts, sku: FLR-OAK-1210, qty: 0}
    """)


def test_a_bad_script_is_refused_at_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SCRIPT, encoding="utf-8")
    with pytest.raises(SimulationError) as info:
        load_script(path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{path}:4:") and "did you mean 'declare_level'" in lines[0]
    assert any(line.startswith(f"{path}:5:") and "time order" in line for line in lines)
    assert any(line.startswith(f"{path}:5:") and "qty" in line for line in lines)


def test_a_decision_the_drill_refuses_is_an_error_at_its_line(loaded, tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("actions:\n  - {at: 1h, kind: escalate, case: 123456}\n",
                    encoding="utf-8")
    with pytest.raises(SimulationError) as info:
        play(loaded, load_script(path), 1)
    assert str(info.value).startswith(f"{path}:2:") and "unknown case 123456" in str(info.value)
