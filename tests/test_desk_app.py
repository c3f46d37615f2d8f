"""The live desk in the app (pilot tests): keys, forms, two desks on one database, a conflict.

No fixed sleeps: each wait is a bounded loop of `pilot.pause()` until the screen shows what
it should (the desk's own workers and messages), or `app.workers.wait_for_complete()`. The
desk's clock is the test's (tests.desk_helpers.WallClock): nothing depends on the real time.
"""

from __future__ import annotations

import time

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.css.query import NoMatches
from textual.pilot import Pilot

from desk.case import service as cases
from desk.desk import Desk
from tui.app import MusterApp, make_app
from tui.screens.desk import DeskScreen
from tui.screens.deskcase import DeskCaseScreen

from tests.app_helpers import pilot_test
from tests.desk_helpers import WallClock, open_recall

SIZE = (160, 48)


def desk_app(path: Path | str, operator: str, clock: WallClock, tmp_path: Path,
             poll: float = 0.05) -> MusterApp:
    return make_app(store=tmp_path / "drills.sqlite", out_dir=tmp_path / "out", live=path,
                    operator=operator, desk_clock=clock, desk_poll=poll, running=False)


@pytest.fixture
def db(live_url: str) -> str:
    """A recall of 40 cases on each back end in turn (tests/backends.py)."""
    with Desk.open(live_url, operator="王芳", clock=WallClock()) as desk:
        open_recall(desk, 40)
    return live_url


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str,
                deadline: float = 120.0) -> None:
    """Let the app run until `condition` holds (its poll worker and timers move it); the
    generous deadline only turns a hang into a failure."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            if condition():
                return
        except NoMatches:  # a screen pushed but not composed yet
            pass
        if time.monotonic() > give_up:
            raise AssertionError(f"never happened: {what}")
        await pilot.pause()


async def opened(pilot: Pilot[Any]) -> DeskScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, DeskScreen)
                and pilot.app.screen.desk is not None, "the desk opened")
    screen = pilot.app.screen
    assert isinstance(screen, DeskScreen)
    await until(pilot, lambda: screen.query_one("#cases-table").row_count > 0, "cases shown")
    return screen


def timeline(screen: DeskScreen) -> list[str]:
    table = screen.query_one("#timeline-table")
    return [str(table.get_row_at(i)[3]) for i in range(table.row_count)]  # type: ignore[attr-defined]


def notes(app: MusterApp) -> list[str]:
    return [n.message for n in app._notifications]


@pilot_test
async def test_the_desk_shows_what_is_due_and_acts_on_keys(db: str, tmp_path: Path) -> None:
    clock = WallClock()
    app = desk_app(db, "王芳", clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        due = screen.query_one("#due-table")
        assert due.row_count > 0
        first = [str(c) for c in due.get_row_at(0)]  # type: ignore[attr-defined]
        assert "VIP专线回电" in first[2] or "update" in first[2]
        assert screen.selected_case() == "RC-0000"  # the most pressing: the first VIP case
        await pilot.press("a")
        await until(pilot, lambda: any("受理: 接待 → 登记" in t for t in timeline(screen)),
                    "the acknowledgement on the timeline")
        assert "RC-0000: acknowledged: 受理 (接待 → 登记)" in notes(app)
        await pilot.press("a")  # the same case again: refused, nothing written
        await until(pilot, lambda: any("already acknowledged" in n for n in notes(app)),
                    "the refusal")
        with Desk.open(db, operator="x", readonly=True) as check:
            assert [e.kind for e in check.store.events("case:RC-0000", after=1)] == ["fired"]


@pilot_test
async def test_forms_declare_a_level_hand_over_and_escalate_in_bulk(db: str,
                                                                     tmp_path: Path) -> None:
    clock = WallClock()
    app = desk_app(db, "王芳", clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await pilot.press("l")  # the level form: the playbook's advice is preselected (III)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.press(*"召回公告后来电激增")
        await pilot.press("enter")
        await until(pilot, lambda: screen.desk is not None
                    and screen.desk.model.operation("R1").level_name == "III", "level III")
        panel = str(screen.query_one("#op-panel").render())
        assert "level III (黄色): 召回公告后来电激增" in panel
        await pilot.press("h")  # hand the lead over
        await pilot.pause()
        await pilot.press("enter")  # incident lead
        await pilot.press("ctrl+a", "ctrl+k", *"李强", "enter", *"交接：VIP 回电", "enter")
        await until(pilot, lambda: screen.desk is not None
                    and screen.desk.model.operation("R1").lead == "李强", "the handoff")
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"tier=VIP", "enter")
        await until(pilot, lambda: screen.query_one("#cases-table").row_count == 4,
                    "the VIP cases only")
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("down", "enter")  # escalate
        await pilot.press("enter", *"VIP 批量升级", "enter")
        await pilot.pause()
        await pilot.press("y")
        await until(pilot, lambda: screen.desk is not None and all(
            screen.desk.model.case(f"RC-{i:04d}").level == "主管" for i in (0, 10, 20, 30)),
            "the four VIP cases escalated")
        assert screen.desk is not None
        assert screen.desk.model.case("RC-0001").level == "一线"  # not in the selection


@pilot_test
async def test_two_desks_see_each_other_and_a_conflict_is_refused(db: str,
                                                                  tmp_path: Path) -> None:
    clock = WallClock()
    one = desk_app(db, "王芳", clock, tmp_path)
    (tmp_path / "two").mkdir()
    two = desk_app(db, "李强", clock, tmp_path / "two", poll=3600)  # looks only when it acts
    async with one.run_test(size=SIZE) as p1, two.run_test(size=SIZE) as p2:
        s1, s2 = await opened(p1), await opened(p2)
        assert s2.desk is not None and s1.desk is not None
        await p2.press("a")  # 李强 acknowledges RC-0000
        await until(p1, lambda: s1.desk is not None
                    and "acknowledge" in s1.desk.model.case("RC-0000").met,
                    "王芳's desk sees 李强's acknowledgement")
        await until(p1, lambda: any("受理: 接待 → 登记" in t for t in timeline(s1)),
                    "on 王芳's timeline")
        seen = s2.desk.model.case("RC-0001").version
        cases.assign(s1.desk, "RC-0001", "王芳")  # 王芳 takes it; 李强's screen is behind
        assert s2.desk.model.case("RC-0001").version == seen
        s2.case_command("ack", "RC-0001")  # decided on the version 李强's screen shows
        await until(p2, lambda: any("changed meanwhile" in n for n in notes(two)),
                    "the conflict shown")
        assert s2.desk.model.case("RC-0001").owner == "王芳"  # and what changed
        with Desk.open(db, operator="x", readonly=True) as check:
            assert [e.kind for e in check.store.events("case:RC-0001", after=1)] == ["assigned"]


@pilot_test
async def test_a_case_screen_follows_the_case(db: str, tmp_path: Path) -> None:
    clock = WallClock()
    app = desk_app(db, "王芳", clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DeskCaseScreen), "the case screen")
        case_screen = app.screen
        assert isinstance(case_screen, DeskCaseScreen)
        with Desk.open(db, operator="李强", clock=WallClock()) as other:  # another desk
            cases.note(other, "RC-0000", "客户来电：周末在家")
        await until(pilot, lambda: "客户来电：周末在家" in str(
            case_screen.query_one("#desk-case-events").render()), "the note appears")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DeskScreen), "back on the desk")


@pilot_test
async def test_home_opens_the_desk_and_a_bad_database_is_said(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database at all", encoding="utf-8")
    monkeypatch.setenv("MUSTER_DB", str(bad))
    app = make_app(store=tmp_path / "drills.sqlite", out_dir=tmp_path / "out",
                   operator="王芳", desk_clock=WallClock(), running=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, DeskScreen), "the desk screen")
        await until(pilot, lambda: any("not a Muster event store" in n for n in notes(app)),
                    "the refusal")
        assert bad.read_text(encoding="utf-8") == "not a database at all"


@pilot_test
async def test_updates_are_prompted_when_due_and_user_text_is_never_markup(
        tmp_path: Path) -> None:
    from incidents.model import Incident

    path = tmp_path / "live.sqlite"
    clock = WallClock()
    with Desk.open(path, operator="王芳", clock=clock) as desk:
        open_recall(desk, 3)
        cases.open_case(desk, Incident(id="RC-[/b]", kind="recall", tier="VIP",
                                       customer="[bold red]王芳:100:", opened_at=clock.now),
                        operation="R1")
    app = desk_app(path, "王芳", clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        assert not any("Update due" in n.title for n in app._notifications)
        clock.advance(hours=1, minutes=1)  # the tactical update (every 2 h) is now owed
        screen.refresh_views()
        screen.refresh_views()  # prompted once, not at every repaint
        await pilot.pause()
        prompts = [n.message for n in app._notifications if n.title == "Update due"]
        assert len(prompts) == 1 and prompts[0].startswith(
            "tactical update: conditions, actions, needs owed since 11:00")
        table = screen.query_one("#cases-table")
        table.move_cursor(row=table.get_row_index("RC-[/b]"))
        await pilot.press("m")  # the send form shows the message: customer name and all
        await until(pilot, lambda: type(app.screen).__name__ == "ActionForm", "the form")
        shown = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "[bold red]王芳:100:" in shown and "RC-[/b]" in shown
        await pilot.press("escape")
