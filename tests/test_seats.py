"""Seats: one drill record played from several terminals (simulation/drills/seats.py).

Determinism is the point: the clock owner applies every seat's requests at its minute and
records them, followers rebuild the same drill from the record, and the record replays
exactly, ad-hoc injects and evaluators' observations included. Requests are idempotent (a
key answered once), conflicts are refused (a decision on an older view of the same case or
level; a rating made without having seen the last one), and the CLI refuses bad seats and
bad hot washes with one located line, exit 2, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from incidents.store import ConflictError, EventStore
from simulation.drills.actions import AdHocInject, DeclareLevel, Escalate, Note
from simulation.drills.exercise import read_hotwash, read_items, record_hotwash
from simulation.drills.record import load_record, replay
from simulation.drills.review import review_record
from simulation.drills.seats import Seat, open_seat, read_ratings
from simulation.errors import SimulationError
from simulation.scenario.loader import load_scenario
from tests.app_helpers import ManualClock, clock_fixture, pilot_test, settle, until  # noqa: F401
from tui.app import make_app
from tui.cli import app as cli
from tui.screens import DrillScreen

STORM = "drill-storm"


def _seats(path: Path):  # type: ignore[no-untyped-def]
    ctl = open_seat(path, load_scenario(STORM), Seat("controller", "李强", "controller"))
    ev = open_seat(path, load_scenario(STORM), Seat("evaluator", "王芳", "evaluator"))
    pl = open_seat(path, load_scenario(STORM), Seat("player", "张伟", "incident_commander"))
    return ctl, ev, pl


def test_three_seats_one_record_that_replays_exactly(tmp_path: Path) -> None:
    ctl, ev, pl = _seats(tmp_path / "r.sqlite")
    try:
        assert (ctl.owner, ev.owner, pl.owner) == (True, False, False)
        assert ctl.stream_id == ev.stream_id == pl.stream_id
        ctl.session.advance(90)
        ctl.mark()
        key = pl.request(DeclareLevel(level="IV"))
        ev.request(Note(text="宣布等级前犹豫了", observer=True, task="S1.1"), role="evaluator")
        took = ctl.look()
        assert [o.key for o in took.outcomes][0] == key and all(o.ok for o in took.outcomes)
        adhoc = ctl.session.act(AdHocInject(subject="市长来电", message="询问进展",
                                            to="incident_commander", by="李强"),
                                role="controller")
        assert adhoc.ok and "X1" in ctl.session.fired
        ctl.session.advance(300)
        ctl.mark()
        seen = pl.look()
        assert key in [o.key for o in seen.mine] and pl.session.now == 300
        assert "X1" in pl.session.fired and pl.session.team.declared == "IV"  # type: ignore
        ev.look()
        assert len(ev.session.outcomes) == len(ctl.session.outcomes) == 3
        assert ev.session.notes[0].action["by"] == "王芳"
        ctl.session.advance(ctl.session.end)
        ctl.session.recorder.finish(ctl.session)  # type: ignore[union-attr]
        assert pl.look().ended == "finished"
        report = replay(ctl.store, ctl.stream_id)
        assert report.matches and report.problem == "", report.problem
        record = load_record(ctl.store, ctl.stream_id)
        assert [a.action.kind for a in record.actions] == ["declare_level", "note",
                                                           "adhoc_inject"]
    finally:
        for link in (ctl, ev, pl):
            link.store.close()


def test_requests_are_idempotent_and_conflicts_refused(tmp_path: Path) -> None:
    ctl, ev, pl = _seats(tmp_path / "r.sqlite")
    other = open_seat(tmp_path / "r.sqlite", load_scenario(STORM),
                      Seat("player", "刘洋", "resources_lead"))
    try:
        ctl.session.advance(600)
        ctl.mark()
        pl.look()
        other.look()
        case = next(cid for cid, c in enumerate(ctl.session.world.cases) if c is not None)
        pl.request(Escalate(case=case))
        other.request(Escalate(case=case))  # decided on the same view: one of them clashes
        took = ctl.look()
        assert len([o for o in took.outcomes if o.ok]) == 1
        answer = other.look()
        assert answer.refused and "changed after you looked" in answer.refused[0]
        # The owner restarts (a resume): no request is applied twice.
        before = len(ctl.session.outcomes)
        ctl.store.close()
        again = open_seat(tmp_path / "r.sqlite", load_scenario(STORM),
                          Seat("controller", "李强", "controller"))
        assert again.owner and len(again.session.outcomes) == before
        assert not again.look(force=True).outcomes
        again.store.close()
    finally:
        for link in (ev, pl, other):
            link.store.close()


def test_an_evaluator_rating_made_on_an_old_view_is_refused(tmp_path: Path) -> None:
    ctl, ev, pl = _seats(tmp_path / "r.sqlite")
    second = open_seat(tmp_path / "r.sqlite", load_scenario(STORM),
                       Seat("evaluator", "陈静", "evaluator"))
    try:
        ev.rate("S1.1", "S", "declared late", 0)
        with pytest.raises(ConflictError):
            second.rate("S1.1", "P", "on time", 0)  # had not seen 王芳's rating
        seen = read_ratings(second.store, second.stream_id)["S1.1"]
        second.rate("S1.1", "M", "much too late", seen.version)
        assert read_ratings(ctl.store, ctl.stream_id)["S1.1"].rating == "M"
        with pytest.raises(ConflictError):
            ev.rate("S1.1", "P", "x", seen.version)  # 陈静 rated since
    finally:
        for link in (ctl, ev, pl, second):
            link.store.close()


def test_the_report_shows_ratings_hotwash_and_improvements_across_drills(
        tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    ctl, ev, pl = _seats(path)
    try:
        ev.request(Note(text="指挥犹豫", observer=True, task="S1.1"), role="evaluator")
        ctl.look()
        ctl.session.act(AdHocInject(subject="市长来电", to="incident_commander", by="李强"),
                        role="controller")
        ev.rate("S1.1", "M", "宣布太晚", 0)
        with pytest.raises(SimulationError, match="has not ended"):
            record_hotwash(ctl.store, ctl.stream_id, by="张伟", role="incident_commander",
                           went_well="x", to_improve="y")
        ctl.session.advance(ctl.session.end)
        ctl.session.recorder.finish(ctl.session)  # type: ignore[union-attr]
        record_hotwash(pl.store, pl.stream_id, by="张伟", role="incident_commander",
                       went_well="分工清楚", to_improve="等级宣布太晚")
        assert not record_hotwash(pl.store, pl.stream_id, by="张伟", role="incident_commander",
                                  went_well="分工清楚", to_improve="等级宣布太晚")
        assert len(read_hotwash(ctl.store, ctl.stream_id)) == 1
        review_record(ctl.store, ctl.stream_id, tmp_path / "aar", days=0)
        text = (tmp_path / "aar" / "after-action.md").read_text(encoding="utf-8")
        assert "市长来电" in text and "指挥犹豫" in text and "王芳" in text
        assert "Participants: 李强 (controller), 王芳 (evaluator), 张伟 (player: " \
               "incident_commander)" in text  # the seats, once each ("not recorded" before)
        assert "## Evaluators' ratings beside the computed ones" in text and "DIFFERS" in text
        assert "## Hot wash" in text and "等级宣布太晚" in text
        items = read_items(ctl.store, scenario=STORM)
        assert items and all(i.status == "open" for i in items)
        first = ctl.stream_id
    finally:
        for link in (ctl, ev, pl):
            link.store.close()
    # The next drill of the same scenario tests the items the first one raised.
    nxt = open_seat(path, load_scenario(STORM), Seat("controller", "李强", "controller"),
                    new=True)
    try:
        assert nxt.stream_id != first
        nxt.session.advance(nxt.session.end)
        nxt.session.recorder.finish(nxt.session)  # type: ignore[union-attr]
        review_record(nxt.store, nxt.stream_id, tmp_path / "aar2", days=0)
        text = (tmp_path / "aar2" / "after-action.md").read_text(encoding="utf-8")
        assert "Improvement items from earlier drills this drill tested" in text
        tested = [i for i in read_items(nxt.store, scenario=STORM) if i.tests]
        assert tested and tested[0].tests[0]["drill"] == nxt.stream_id
    finally:
        nxt.store.close()


@pilot_test
async def test_a_player_seat_sends_requests_the_owner_applies(tmp_path: Path,
                                                              clock: ManualClock) -> None:
    """The player's terminal (a pilot) decides; the owner (driven here through its link)
    applies the request at its minute; the player's screen shows it done."""
    path = tmp_path / "r.sqlite"
    owner = open_seat(path, load_scenario(STORM), Seat("controller", "李强", "controller"))
    player = open_seat(path, load_scenario(STORM), Seat("player", "张伟", "incident_commander"))
    app = make_app(link=player, clock=clock, tick=0.05, out_dir=tmp_path / "out",
                   store=path, review_days=0)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, DrillScreen))
            screen = app.screen
            assert isinstance(screen, DrillScreen)
            shown = {b.binding.key for b in screen.active_bindings.values() if b.binding.show}
            assert "d" in shown and "c" not in shown and "space" not in shown
            owner.session.advance(120)
            owner.mark()
            await until(pilot, lambda: screen.session.now == 120)
            await pilot.press("d", "enter")
            await until(pilot, lambda: bool(player.pending))
            assert not screen.session.outcomes  # nothing decided on the follower's copy
            owner.look()
            await until(pilot, lambda: bool(screen.session.outcomes))
            assert screen.session.outcomes[-1].ok and screen.session.team.declared == "IV"  # type: ignore
            assert owner.session.outcomes[-1].action["by"] == "张伟"
    finally:
        owner.store.close()
        player.store.close()


@pilot_test
async def test_the_controller_owner_pauses_for_everyone(tmp_path: Path,
                                                        clock: ManualClock) -> None:
    path = tmp_path / "r.sqlite"
    owner = open_seat(path, load_scenario(STORM), Seat("controller", "李强", "controller"))
    follower = open_seat(path, load_scenario(STORM), Seat("player", "张伟",
                                                          "incident_commander"))
    app = make_app(link=owner, clock=clock, tick=0.05, out_dir=tmp_path / "out", store=path,
                   review_days=0)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, DrillScreen))
            screen = app.screen
            assert isinstance(screen, DrillScreen)
            await pilot.press("4", "space")
            clock.now += 10  # 60 simulated minutes at 360x
            await settle(pilot)
            assert not screen.paused and screen.session.now >= 60
            update = follower.look()
            assert follower.control == {"paused": False, "speed": 360.0}
            assert update.control is not None and follower.session.now > 0
            follower.request(DeclareLevel(level="IV"))
            await until(pilot, lambda: any(o.ok for o in screen.session.outcomes))
            await pilot.press("i")
            await pilot.press(*"停电", "enter", "enter", "enter", "enter")
            await until(pilot, lambda: any(f.startswith("X") for f in screen.session.fired))
    finally:
        owner.store.close()
        follower.store.close()


def test_bad_seats_and_hotwash_exit_2_with_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    store = tmp_path / "r.sqlite"
    result = runner.invoke(cli, ["drill", STORM, "--seat", "umpire", "--record", str(store)])
    assert result.exit_code == 2 and "--seat: no seat 'umpire'" in result.output
    assert not store.exists()
    result = runner.invoke(cli, ["drill", "hotwash", str(tmp_path / "none.sqlite"), "--as",
                                 "x", "--role", "controller", "--went-well", "y"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    ctl = open_seat(store, load_scenario(STORM), Seat("controller", "李强", "controller"))
    sid = ctl.stream_id
    ctl.store.close()
    before = store.read_bytes()
    result = runner.invoke(cli, ["drill", "hotwash", str(store), "--as", "张伟", "--role",
                                 "incident_commander", "--went-well", "好"])
    assert result.exit_code == 2 and "has not ended" in result.output
    assert len(result.output.strip().splitlines()) == 1
    with EventStore.open(store, create=False, readonly=True) as s:
        assert not list(s.events(sid, kinds="hotwash"))
    assert store.read_bytes() == before
    result = runner.invoke(cli, ["improvements", "update", "nothing", "--status", "maybe",
                                 "--store", str(store)])
    assert result.exit_code == 2 and "--status" in result.output
    result = runner.invoke(cli, ["improvements", "update", "nothing", "--status", "done",
                                 "--store", str(store)])
    assert result.exit_code == 2 and "no improvement item 'nothing'" in result.output
