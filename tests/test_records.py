"""Drill records: what the live drill accepted, a replay accepts; a resume never takes a
decision twice; a damaged record is refused with the event's number, never a KeyError."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from incidents.store import EventStore
from simulation.drills.actions import Acknowledge, DeclareLevel
from simulation.drills.examples import example_script
from simulation.drills.record import load_record, replay, resume, start_record
from simulation.drills.review import review_record
from simulation.drills.script import load_script, step_key, take_rest
from simulation.drills.session import DrillSession
from simulation.errors import SimulationError
from simulation.scenario.loader import load_scenario


@pytest.fixture(scope="module")
def parts():
    return load_scenario("drill-parts")


def test_an_inject_acknowledged_at_its_very_minute_replays(parts, tmp_path: Path) -> None:
    """The app steps the clock in slices of any width and jumps to the next inject (P4 at
    minute 480); acknowledged right there, the record replays, resumes and is reviewed with
    the acknowledgement taken (replay refused it: "has not come yet")."""
    rng = random.Random(7)
    with EventStore.open(tmp_path / "r.sqlite") as store:
        recorder = start_record(store, parts, 1)
        session = DrillSession(parts, 1, recorder=recorder)
        while session.now < 480:
            session.advance(min(480.0, session.now + rng.uniform(0.1, 47.3)))
        assert session.now == 480.0 and "P4" in session.fired
        assert session.act(Acknowledge(inject="P4")).ok
        session.advance(600)
        sid = recorder.stream_id
        again, _ = resume(store, sid)
        assert [o.ok for o in again.outcomes] == [True]
        recorder.finish(session)
        report = replay(store, sid)
        assert report.matches, report.problem
        review, _ = review_record(store, sid, tmp_path / "aar", days=0)
    assert [o.ok for o in review.session.outcomes] == [True]
    assert review.session.fired["P4"].acknowledged == 480.0


def _script(tmp_path: Path, loaded) -> Path:
    path = tmp_path / "actions.yaml"
    path.write_text(example_script(loaded, 1), encoding="utf-8")
    return path


def test_resume_never_takes_a_recorded_decision_twice(tmp_path: Path) -> None:
    """The recall's example script has steps that share a minute (M4's three at 19.5 h).
    Killed after the first of them was recorded, then resumed with the same script: every
    step is in the record exactly once, and the drill is the one played without the kill."""
    loaded = load_scenario("drill-recall")
    script = load_script(_script(tmp_path, loaded))
    minutes = [s.at for s in script.actions]
    shared = next(i for i in range(1, len(minutes)) if minutes[i] == minutes[i - 1])
    with EventStore.open(tmp_path / "r.sqlite") as store:
        recorder = start_record(store, loaded, 1)
        session = DrillSession(loaded, 1, recorder=recorder)
        for i, step in enumerate(script.actions[:shared]):   # the kill comes here
            session.advance(step.at)
            session.act(step.action, key=step_key(i, step))
        sid = recorder.stream_id
        again, recorder2 = resume(store, sid)
        assert again.now == minutes[shared]
        take_rest(again, script)
        recorder2.finish(again)
        record = load_record(store, sid)
        keys = [a.key for a in record.actions]
        assert keys == [step_key(i, s) for i, s in enumerate(script.actions)]
        assert replay(store, sid).matches
        whole = DrillSession(loaded, 1)
        for i, step in enumerate(script.actions):
            whole.advance(step.at)
            whole.act(step.action, key=step_key(i, step))
        whole.advance(whole.end)
    assert again.world.log.columns()["t"].size == whole.world.log.columns()["t"].size


def test_a_key_taken_once_is_not_taken_again(parts) -> None:
    """A double key press (the same idempotency key twice) is applied once."""
    session = DrillSession(parts, 1)
    session.advance(60)
    first = session.act(DeclareLevel(level="IV"), key="k1")
    second = session.act(DeclareLevel(level="IV"), key="k1")
    assert first.ok and second is first and len(session.outcomes) == 1


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.update(action={}), "unknown action None"),
    (lambda p: p.update(action={"kind": "launch_rocket"}), "unknown action 'launch_rocket'"),
    (lambda p: p.update(action={"kind": "declare_level"}), "action declare_level: level"),
    (lambda p: p.update(action="declare"), "action event without an action"),
    (lambda p: p.update(ok="yes"), "malformed ok"),
])
def test_a_damaged_action_is_refused_with_its_event_number(parts, tmp_path: Path, change,
                                                           message: str) -> None:
    with EventStore.open(tmp_path / "r.sqlite") as store:
        recorder = start_record(store, parts, 1)
        session = DrillSession(parts, 1, recorder=recorder)
        session.advance(60)
        session.act(DeclareLevel(level="IV"))
        recorder.finish(session)
        forged = store.new_stream("drill", store.header(recorder.stream_id))
        for ev in store.events(recorder.stream_id):
            payload = dict(ev.payload)
            if ev.kind == "action":
                change(payload)
            if ev.kind != "header":
                store.append(forged, ev.kind, payload, sim_minute=ev.sim_minute)
        seq = next(ev.seq for ev in store.events(forged) if ev.kind == "action")
        for read in (load_record, replay, resume):
            with pytest.raises(SimulationError) as info:
                read(store, forged)
            text = str(info.value)
            assert f"drill {forged[:8]}, event {seq}: " in text and message in text, text


@pytest.mark.parametrize("seed", ["one", None, 1.5, True])
def test_a_header_seed_that_is_no_number_is_refused(parts, tmp_path: Path, seed) -> None:
    with EventStore.open(tmp_path / "r.sqlite") as store:
        recorder = start_record(store, parts, 1)
        header = dict(store.header(recorder.stream_id), seed=seed)
        forged = store.new_stream("drill", header)
        with pytest.raises(SimulationError) as info:
            replay(store, forged)
    assert f"drill {forged[:8]}, event 1: header: seed is {seed!r}" in str(info.value)
