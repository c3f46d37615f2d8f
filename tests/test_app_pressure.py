"""The drill under time pressure, each defect found when it was played as an exercise (issue
19), guarded by a pilot test that fails without its fix: focus after a filter, forms that
stop the clock, the lag warning, search by customer and product, the customer's name, sort
and "needs me now" from the top, the order form's typed quantity, the message form's long
list, the unlock form's terms and default, `a` on the newest inject, the key overlay.
Every wait is on the app's own state (tests/app_helpers.py `until`, `settle`, `jump`).
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, OptionList, Select

from tests.app_helpers import (SIZE, ManualClock, app_fixture, clock_fixture,  # noqa: F401
                               jump, pilot_test, settle, start, until)
from tui.app import MusterApp
from tui.screens import ActionForm, CaseScreen, DrillScreen
from tui.screens.drill import COMMANDS
from tui.screens.keys import KeysScreen
from tui.widgets import Board, ClockBar


async def _complaint(pilot, screen: DrillScreen) -> int:  # type: ignore[no-untyped-def]
    """Jump until the first complaint inject has opened its VIP case (赵女士's)."""
    def named() -> int | None:
        return next((cid for cid, row in screen.board_model.rows.items()
                     if row.customer == "赵女士"), None)
    while named() is None:
        assert screen.session.next_inject_at() is not None, "no complaint in the recall drill"
        await jump(pilot, screen)
    case = named()
    assert case is not None
    return case


@pilot_test
async def test_a_filter_hands_the_keys_back_to_the_drill(app: MusterApp) -> None:
    """Defect: after the tier filter was used once, every form returned focus to the
    dropdown, where space opened it instead of running the clock."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await jump(pilot, screen)
        screen.query_one("#filter-tier", Select).focus()
        await pilot.press("enter", "down", "enter")  # pick the first tier by keyboard
        await until(pilot, lambda: screen.query_one(Board).tier != "")
        assert screen.focused is screen.query_one("#board-table")
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        assert screen.paused
        await pilot.press("space")
        assert not screen.paused, "space runs the clock again, not the dropdown"


@pilot_test
async def test_a_form_stops_the_clock_and_says_so(app: MusterApp, clock: ManualClock) -> None:
    """Defect: forms did not pause the clock (a message due in 26 minutes when the form
    opened was a minute late when sent at 360x)."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("4", "space")
        clock.now += 5
        await settle(pilot)
        before = screen.session.now
        assert before > 0
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        form = app.screen
        assert "stopped" in str(form.query_one("#form-clock").content)
        assert screen.paused and screen.query_one(ClockBar).held
        clock.now += 60  # a wall minute with the form open: 6 simulated hours at 360x
        await settle(pilot)
        assert screen.session.now == before
        assert screen.resting  # no ticks under the form: nothing to repaint, no busy core
        await pilot.press("escape")
        await until(pilot, lambda: not screen.paused)
        clock.now += 5
        await settle(pilot)
        assert screen.session.now == pytest.approx(before + 30)


@pilot_test
async def test_the_clock_bar_warns_when_the_model_lags(app: MusterApp, clock: ManualClock,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Defect: the header said 360x while the clock kept 140-255x, with no warning."""
    import tui.screens.drill as drill
    monkeypatch.setattr(drill, "BUDGET_SECONDS", 0.0)  # one 5-minute slice per tick
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("4", "space")
        bar = screen.query_one(ClockBar)

        def busy() -> float:  # a loaded machine: every look at the clock finds a second gone
            clock.now += 1.0
            return clock.now
        screen.clock = busy  # about 2 s a tick ask 12 simulated minutes; one slice makes 5
        await settle(pilot, 16)
        assert bar.kept and bar.kept < 0.9 * 360
        assert "LAG" in bar.render().plain


@pilot_test
async def test_search_finds_a_customer_a_tier_and_a_batch(app: MusterApp) -> None:
    """Defect: search matched only case, state, pool and kind: "VIP" found nothing and no
    screen showed the customer's name."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        case = await _complaint(pilot, screen)
        table = screen.query_one("#board-table", DataTable)
        board = screen.query_one(Board)
        await pilot.press("slash", *"赵女士", "enter")
        await until(pilot, lambda: board.text == "赵女士")
        assert [k.value for k in table.rows] == [str(case)]
        assert str(table.get_cell(str(case), "customer")) == "赵女士"
        board.query_one("#filter-text", Input).value = "vip"
        await until(pilot, lambda: board.text == "vip")
        tiers = {str(table.get_cell(k, "tier")) for k in table.rows}
        assert tiers == {"VIP"}
        board.query_one("#filter-text", Input).value = "B2026-0118"
        await until(pilot, lambda: board.text == "B2026-0118")
        assert table.row_count and all(board.model.rows[int(str(k.value))].batch == "B2026-0118"
                                       for k in table.rows)
        board.query_one("#filter-text", Input).value = ""
        await until(pilot, lambda: board.text == "")
        table.focus()
        table.move_cursor(row=table.get_row_index(str(case)))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CaseScreen))
        assert "赵女士" in str(app.screen.query_one("#case-head").content)


@pilot_test
async def test_sort_and_needs_me_start_at_the_top(app: MusterApp) -> None:
    """Defect: `s` kept the scroll position, hiding the top rows; "what needs me now" was
    several keys away."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        for _ in range(3):
            await jump(pilot, screen)
        table = screen.query_one("#board-table", DataTable)
        assert table.row_count > 40
        table.focus()
        await pilot.press("ctrl+end")  # DataTable: to the last row (end: last column)
        await until(pilot, lambda: table.scroll_y > 0)
        await pilot.press("s")
        await until(pilot, lambda: screen.query_one(Board).sort == "case")
        await until(pilot, lambda: table.scroll_y == 0 and table.cursor_row == 0)
        screen.query_one("#filter-tier", Select).value = "tier2"
        await pilot.press("h")
        board = screen.query_one(Board)
        await until(pilot, lambda: board.sort == "deadline" and board.tier == "")
        first = board.model.page(sort="deadline")[0][0]
        assert board.highlighted == first.case and table.cursor_row == 0
        assert screen.focused is table


@pilot_test
async def test_the_order_form_takes_the_quantity_typed_after_enter(app: MusterApp) -> None:
    """Defect: "qty: Input should be a valid integer" stood beside a typed 1500 (the error of
    an earlier submit without a quantity, never cleared); the quantity typed is taken."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        form = app.screen
        await pilot.press("enter", "enter")  # a double Enter: submitted without a quantity
        error = form.query_one("#form-error")
        await until(pilot, lambda: "qty" in str(error.content))
        await pilot.press(*"1500")
        await until(pilot, lambda: str(error.content) == "")  # no stale error beside 1500
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen)
        last = screen.session.outcomes[-1]
        assert last.ok and last.action["qty"] == 1500, last.message


@pilot_test
async def test_the_message_form_shows_every_template_and_names_the_one_sent(
        app: MusterApp) -> None:
    """Defect: the recall's 11 templates showed as 10 rows (End picked a hidden one), and
    the outcome did not say which template was sent."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        options = app.screen.query_one(OptionList)
        assert options.option_count >= 11
        await pilot.press("end")
        await until(pilot, lambda: options.highlighted == options.option_count - 1)
        await pilot.pause()
        region = options.scrollable_content_region
        assert options.scroll_y + region.height >= options.option_count, \
            "the last template is scrolled into view"
        chosen = app.screen.fields[0].options[-1][1]  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen)
        assert screen.session.outcomes[-1].message.startswith(f"sent {chosen} to")


@pilot_test
async def test_the_unlock_form_shows_terms_and_never_defaults_to_an_active_one(
        app: MusterApp) -> None:
    """Defect: the unlock form showed neither cost nor delay and defaulted to an unlock
    already active when nothing was allowed."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("d", "enter")  # IV allows the hotline overtime only
        await until(pilot, lambda: len(screen.session.outcomes) == 1)
        await pilot.press("u", "enter")
        await until(pilot, lambda: len(screen.session.outcomes) == 2)
        assert screen.session.outcomes[-1].ok
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        form = app.screen
        labels = [label for label, _ in form.fields[0].options]  # type: ignore[attr-defined]
        assert any("a day" in label for label in labels) and any("after" in label
                                                                 for label in labels)
        default = form.values()["unlock"]
        state = next(u["state"] for u in screen.session.level()["unlocks"]
                     if u["unlock"] == default)
        assert state not in ("active", "coming")


@pilot_test
async def test_a_acknowledges_the_newest_inject_or_the_feed_s_row(app: MusterApp) -> None:
    """After n, `a` acknowledges the inject that just came (the newest unacknowledged); with
    the feed focused, the row under its cursor."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        session = screen.session
        await jump(pilot, screen)
        await jump(pilot, screen)
        first, second = sorted(session.fired.values(), key=lambda f: f.at)
        await pilot.press("a")
        await until(pilot, lambda: second.acknowledged is not None)
        assert first.acknowledged is None
        await jump(pilot, screen)
        feed = screen.query_one("#inject-table", DataTable)
        feed.focus()
        feed.move_cursor(row=feed.get_row_index(first.inject.id))
        await pilot.press("a")
        await until(pilot, lambda: first.acknowledged is not None)
        third = max(session.fired.values(), key=lambda f: f.at)
        assert third.acknowledged is None


@pilot_test
async def test_every_key_is_reachable_at_100x30(app: MusterApp) -> None:
    """Defect: at 100x30 the footer was cut after "x D": Move, Note, Obs, Role, Fire, End
    and the speeds were nowhere. `?` lists every key and runs the one chosen."""
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await start(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen))
        keys = app.screen
        listed = {action for _, _, action in keys.keys}  # type: ignore[attr-defined]
        for name, _, _, _ in COMMANDS:
            if name not in ("rate", "adhoc"):
                assert f"act_command('{name}')" in listed, name
        assert any(a.startswith("speed(") for a in listed)
        index = next(i for i, (_, _, a) in enumerate(keys.keys)  # type: ignore[attr-defined]
                     if a == "act_command('end')")
        options = keys.query_one(OptionList)
        options.highlighted = index
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not keys and app.screen is not screen)
        assert "End the drill" in str(app.screen.query_one("#confirm-yes").label)
