"""The Textual app driven by its keys (pilot tests): every flow asserts on the drill itself.

The app runs headless on a temporary record store, with a wall clock the test moves by hand
(`ManualClock`): the drill clock advances exactly by speed x the seconds the test adds, so a
key press is checked against the simulated minute and the session's state it must produce,
never against "nothing crashed". The drill is the bundled recall drill (Chinese names).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static
from textual.widgets._footer import FooterKey

from incidents.store import EventStore
from simulation.drills.actions import DeclareLevel
from simulation.drills.catalog import bundled_drills
from simulation.drills.screenviews import countdown, obligation_choices
from simulation.drills.views import communications
from tests.app_helpers import (SIZE, ManualClock, app_fixture, clock_fixture,  # noqa: F401
                               jump, log_text, pilot_test, settle, start, until)
from tui.app import MusterApp, make_app
from tui.screens import ActionForm, BriefingScreen, CaseScreen, DrillScreen, HomeScreen
from tui.screens.drill import COMMANDS
from tui.widgets import KeyFooter


# -- home -> briefing -> drill -----------------------------------------------------------------

@pilot_test
async def test_home_briefing_drill_creates_the_record(app: MusterApp, tmp_path: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("enter")
        await pilot.pause()
        briefing = app.screen
        assert isinstance(briefing, BriefingScreen)
        briefing.query_one("#team").focus()
        await pilot.press(*"Team 7")
        await pilot.press("tab", "tab", "down", "enter")  # seed, then the role list: 2nd role
        await pilot.press("enter")  # Start has the focus after a role is picked
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DrillScreen)
        assert screen.session.role == "resources_lead"
        assert screen.paused and screen.session.now == 0
    store_file = tmp_path / "records" / "drills.sqlite"
    assert store_file.exists()
    with EventStore.open(store_file, create=False) as store:
        (info,) = store.streams("drill")
        assert info.header["team"] == "Team 7"
        assert info.header["scenario"] == "drill-recall" and info.header["seed"] == 1


@pilot_test
async def test_briefing_refuses_a_bad_seed(app: MusterApp, tmp_path: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        seed = app.screen.query_one("#seed")
        seed.value = ""  # type: ignore[attr-defined]
        seed.focus()
        await pilot.press("minus", "3")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, BriefingScreen)
    assert not (tmp_path / "records" / "drills.sqlite").exists()


# -- the clock ---------------------------------------------------------------------------------

@pilot_test
async def test_pause_speed_and_jump(app: MusterApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        session = screen.session
        clock.now += 30
        await settle(pilot)
        assert session.now == 0, "a paused clock must not advance"
        await pilot.press("space")
        await settle(pilot)
        clock.now += 10  # 10 wall seconds at 60x: 10 simulated minutes
        await settle(pilot)
        assert session.now == pytest.approx(10.0)
        await pilot.press("4")
        assert screen.speed == 360
        clock.now += 5  # 5 s at 360x: 30 simulated minutes
        await settle(pilot)
        assert session.now == pytest.approx(40.0)
        assert "M1" in session.fired  # the first inject fires at minute 30
        await pilot.press("1")
        clock.now += 60  # a minute at 1x: one simulated minute
        await settle(pilot)
        assert session.now == pytest.approx(41.0)
        await pilot.press("space")
        upcoming = session.next_inject_at()
        assert upcoming is not None
        await jump(pilot, screen)
        assert session.now == pytest.approx(upcoming)
        nxt = next(i.id for i in session.drill.injects
                   if i.at is not None and i.at.wall_minutes == upcoming)
        assert nxt in session.fired, "the jump must land just after the inject fires"
        assert screen.paused, "a jump keeps the clock paused"


# -- decisions ---------------------------------------------------------------------------------

@pilot_test
async def test_declare_a_level_and_have_one_refused(app: MusterApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        team = screen.session.team
        assert team is not None and team.declared == "normal"
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ActionForm)
        await pilot.press("enter")  # the level above the declared one: IV
        await pilot.pause()
        assert team.declared == "IV"
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("up", "enter")  # IV again: refused
        await pilot.pause()
        assert team.declared == "IV"
        last = screen.session.outcomes[-1]
        assert not last.ok and "already at IV" in last.message
        assert "REFUSED" in log_text(screen) and "already at IV" in log_text(screen)


@pilot_test
async def test_activate_an_unlock_the_level_allows(app: MusterApp,
                                                   clock: ManualClock) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        session = screen.session
        await pilot.press("u", "enter")  # nothing is allowed at the normal level
        await pilot.pause()
        assert not session.outcomes[-1].ok and "needs emergency level" in \
            session.outcomes[-1].message
        assert not session.world.unlocks.active
        await pilot.press("d", "enter")
        await pilot.pause()
        await pilot.press("u", "enter")  # the default is the first one IV allows
        await pilot.pause()
        assert session.outcomes[-1].ok, session.outcomes[-1].message
        assert 0 in session.grants
        await pilot.press("space")
        clock.now += 1
        await settle(pilot)
        assert 0 in session.world.unlocks.active
        assert session.level()["unlocks"][0]["state"] == "active"


@pilot_test
async def test_escalate_a_case_from_its_screen(app: MusterApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        session = screen.session
        await jump(pilot, screen)
        await jump(pilot, screen)
        board = screen.query_one("#board-table", DataTable)
        assert board.row_count > 0
        board.focus()
        case = screen.query_one("Board").highlighted  # type: ignore[attr-defined]
        before = session.world.cases[case].level
        await pilot.press("enter")
        await pilot.pause()
        case_screen = app.screen
        assert isinstance(case_screen, CaseScreen) and case_screen.case == case
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ActionForm)
        assert form.values()["case"] == case, "the form is for the case on screen"
        await pilot.press("enter", "enter")  # case, then "next level up"
        await pilot.pause()
        assert app.screen is case_screen
        assert session.world.cases[case].level == before + 1
        assert session.outcomes[-1].action == {"kind": "escalate", "case": case}
        assert any(t == session.now and text.startswith("escalated")
                   for t, text in case_screen.shown), case_screen.shown[-3:]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


@pilot_test
async def test_escalate_refused_for_an_unknown_case(app: MusterApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#field-case").value = "99999"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        last = screen.session.outcomes[-1]
        assert not last.ok and "unknown case 99999" in last.message


@pilot_test
async def test_send_the_message_a_level_made_owed(app: MusterApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        session = screen.session
        await jump(pilot, screen)
        screen.act(DeclareLevel(level="III"))
        await pilot.pause()
        owed = [r.obligation for r in communications(session)]
        assert owed, "level III makes a management briefing owed"
        choices = [value for _, value in obligation_choices(session)]
        assert choices[0] == owed[0], "owed messages are offered first"
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("enter", "enter")  # the first template; no case
        await pilot.pause()
        last = session.outcomes[-1]
        assert last.ok and last.action == {"kind": "send", "obligation": owed[0]}
        assert owed[0] not in [r.obligation for r in communications(session)]


@pilot_test
async def test_switch_role_and_write_notes(app: MusterApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        session = screen.session
        roles = list(session.drill.roles)
        await pilot.press("w")
        assert session.role == roles[1]
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"stock check", "enter", "enter")
        await pilot.pause()
        await jump(pilot, screen)                     # M1 fires: its task can be tagged
        await pilot.press("T")
        await pilot.pause()
        await pilot.press(*"late call", "enter", "down", "enter")
        await pilot.pause()
        team_note, observer_note = session.notes
        assert team_note.role == roles[1] and team_note.action["text"] == "stock check"
        assert team_note.action.get("task") is None
        assert observer_note.action["observer"] is True
        assert observer_note.action["text"] == "late call"
        assert observer_note.action["task"] == "M1.1"  # tagged to the critical task


@pilot_test
async def test_a_form_stays_open_until_its_values_are_valid(app: MusterApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter", "enter")  # a SKU, but no quantity
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ActionForm)
        assert "qty" in str(form.query_one("#form-error", Static).content)
        assert not screen.session.outcomes
        await pilot.press(*"500", "enter")
        await pilot.pause()
        assert app.screen is screen
        last = screen.session.outcomes[-1]
        assert last.ok and last.action["qty"] == 500
        sku = last.action["sku"]
        assert screen.session.world.stock[sku].on_order >= 500


@pilot_test
async def test_fire_a_contingency_inject(app: MusterApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        first = screen.session.drill.contingency[0].id
        await pilot.press("c", "enter")
        await pilot.pause()
        assert screen.session.fired[first].by_hand


@pilot_test
async def test_every_command_is_in_the_palette_and_the_footer(app: MusterApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        titles = [c.title for c in app.get_system_commands(screen)]
        seated = {"rate", "adhoc"}  # an evaluator's and a controller's seat only
        for name, keys, _, _ in COMMANDS:
            offered = any(f"({keys.split(',')[0]})" in t for t in titles)
            assert offered == (name not in seated), name
        shown = {b.binding.key for b in screen.active_bindings.values() if b.binding.show}
        for name, keys, _, _ in COMMANDS:
            if name not in seated:
                assert set(keys.split(",")) & shown, f"{name} is not shown in the footer"
        declare = next(c for c in app.get_system_commands(screen) if "(d)" in c.title)
        declare.callback()
        await pilot.pause()
        assert isinstance(app.screen, ActionForm)


@pilot_test
async def test_the_footer_is_rebuilt_only_when_its_keys_change(app: MusterApp) -> None:
    """Textual's footer rebuilds its ~25 key widgets on every bindings signal (a focus move,
    a form closed); ours keeps them while the keys shown are the same, and still shows
    exactly the keys the screen offers after they change."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)

        def keys() -> list[FooterKey]:
            return list(screen.query_one(KeyFooter).query(FooterKey))

        def shown() -> set[str]:  # one key per action; the palette's key is Textual's own
            return {k.action for k in keys()} - {"app.command_palette", "command_palette"}

        def offered() -> set[str]:
            return {b.binding.action for b in screen.active_bindings.values()
                    if b.binding.show} - {"app.command_palette", "command_palette"}

        before = keys()
        assert shown() == offered() and len(before) > 10
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        screen.query_one("#board-table").focus()
        await pilot.pause()
        assert keys() == before and all(a is b for a, b in zip(keys(), before)), \
            "the same keys were rebuilt"
        screen.query_one("#filter-text").focus()  # an Input: its keys join the screen's
        await until(pilot, lambda: shown() == offered())


@pilot_test
async def test_board_filters_by_tier_and_text(app: MusterApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        for _ in range(4):
            await jump(pilot, screen)
        board = screen.query_one("Board")
        table = screen.query_one("#board-table", DataTable)
        tiers = {str(table.get_cell(k, "tier")) for k in table.rows}
        assert len(tiers) > 1
        screen.query_one("#filter-tier").value = "tier1"  # type: ignore[attr-defined]
        await pilot.pause()
        assert table.row_count > 0
        assert {str(table.get_cell(k, "tier")) for k in table.rows} == {"tier1"}
        some = next(iter(table.rows)).value
        await pilot.press("slash", *str(some))
        await pilot.pause()
        assert str(some) in {k.value for k in table.rows}
        assert all(str(some) in f"{k.value} {table.get_cell(k, 'state')} "
                                f"{table.get_cell(k, 'pool')}" for k in table.rows)
        assert board.text == str(some)  # type: ignore[attr-defined]


@pilot_test
async def test_board_cells_follow_the_clock(app: MusterApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        session = screen.session
        await jump(pilot, screen)
        await jump(pilot, screen)
        table = screen.query_one("#board-table", DataTable)
        before = {k.value: str(table.get_cell(k, "deadline")) for k in table.rows}
        await pilot.press("space")
        start_minute = session.now
        clock.now += 90  # 90 simulated minutes at 60x, however long the machine takes
        await until(pilot, lambda: session.now >= start_minute + 90)
        await pilot.press("space")
        await until(pilot, lambda: screen._board_minute == session.now)
        now = session.now
        shown = [str(r.key.value) for r in table.ordered_rows]
        page, total = screen.board_model.page()
        assert shown == [str(r.case) for r in page][:len(shown)] and total == len(page)
        changed = 0
        for row in page:
            key = str(row.case)
            due = countdown(row.deadline, now)[0]
            assert str(table.get_cell(key, "deadline")) == due
            assert str(table.get_cell(key, "state")) == row.state
            assert str(table.get_cell(key, "pool")) == row.pool
            changed += before.get(key) not in (None, due)
        assert changed, "no countdown moved in 90 simulated minutes"


@pytest.mark.parametrize("drill", [d.name for d in bundled_drills()])
@pilot_test
async def test_every_form_on_every_bundled_drill(drill: str, tmp_path: Path,
                                                 clock: ManualClock) -> None:
    """No screen assumes one drill: every action form opens on each bundled drill and its
    defaults (with the text a form needs typed in) reach the session, taken or refused."""
    chosen = [d for d in bundled_drills() if d.name == drill]
    app = make_app(store=tmp_path / "drills.sqlite", out_dir=tmp_path / "out",
                   drills=lambda: chosen, clock=clock, tick=0.05, running=False)
    typed = {"o": "10", "t": "checked", "T": "observed"}
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await jump(pilot, screen)
        await jump(pilot, screen)
        screen.query_one("#board-table").focus()
        for key in ("d", "u", "o", "m", "f", "r", "e", "x", "v", "t", "T", "c"):
            before = len(screen.session.outcomes)
            await pilot.press(key)
            await pilot.pause()
            form = app.screen
            assert isinstance(form, ActionForm), key
            if key in typed:
                field = "qty" if key == "o" else "text"
                form.query_one(f"#field-{field}").value = typed[key]  # type: ignore[attr-defined]
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is screen, (key, str(form.query_one("#form-error",
                                                                   Static).content))
            assert len(screen.session.outcomes) == before + 1, key
        assert any(o.ok for o in screen.session.outcomes)
