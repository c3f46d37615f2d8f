"""Snapshots of the screens a team sees: home, briefing, drill, case (pytest-textual-snapshot).

Deterministic by construction: the recall drill only (other bundled drills come and go), a
record store under a relative path in a temporary folder (the briefing prints the path), a
wall clock that never moves (the drill clock stays paused; it only jumps, which lands at the
same simulated minute whatever the slicing), seed 1, and no toast left on screen. Nothing
shown comes from the real time. Update with `pytest tests/test_app_snapshots.py
--snapshot-update` after checking the new pictures in the report it writes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from simulation.drills.catalog import DrillInfo, bundled_drills
from tests.app_helpers import jump, until
from tui.app import MusterApp, make_app
from tui.screens import CaseScreen, DrillScreen

SIZE = (160, 48)
SIZES = [(100, 30), (160, 48)]
"""The smallest terminal Muster supports and the usual one: layouts reflow, keys stay
reachable (the footer's overflow through ? and ctrl+p). Wider terminals only add room to
the same layout, which the pilot tests exercise at 160x48."""
sizes = pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])


def recall_only() -> list[DrillInfo]:
    drills = [d for d in bundled_drills() if d.name == "drill-recall"]
    assert drills, "the bundled recall drill is missing"
    return drills


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MusterApp:
    monkeypatch.chdir(tmp_path)
    return make_app(store=Path("records") / "drills.sqlite", out_dir=Path("out"),
                    drills=recall_only, clock=lambda: 0.0, tick=0.05, running=False,
                    review_days=0)


async def _settled(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await until(pilot, lambda: not pilot.app.screen.workers)


async def _into_drill(pilot: Pilot[Any]) -> DrillScreen:
    """Home -> briefing -> drill, three jumps (the first three injects, ten simulated hours
    in), level IV declared, toasts cleared."""
    await _settled(pilot)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, DrillScreen)
    for _ in range(3):
        await jump(pilot, screen)  # fails (never carries on) if the jump does not land
    await pilot.press("d", "enter")
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()
    return screen


@sizes
def test_home(snap_compare: Callable[..., bool], app: MusterApp, size: tuple[int, int]) -> None:
    assert snap_compare(app, terminal_size=size, run_before=_settled)


@sizes
def test_briefing(snap_compare: Callable[..., bool], app: MusterApp,
                  size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _settled(pilot)
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@sizes
def test_drill(snap_compare: Callable[..., bool], app: MusterApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await _into_drill(pilot)
        assert screen.session.now >= 600 and screen.paused

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@sizes
def test_case(snap_compare: Callable[..., bool], app: MusterApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await _into_drill(pilot)
        screen.query_one("#board-table").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, CaseScreen)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@sizes
def test_score(snap_compare: Callable[..., bool], tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]) -> None:
    """The score screen of the recall drill played by its example script (seed 1), with its
    review done: ratings, KPIs against the counterfactuals, where the report went."""
    from textual.app import App

    from simulation.drills.examples import example_script
    from simulation.drills.script import load_script, play
    from simulation.scenario.loader import load_scenario
    from tui.screens import ScoreScreen

    monkeypatch.chdir(tmp_path)
    loaded = load_scenario("drill-recall")
    (tmp_path / "actions.yaml").write_text(example_script(loaded, 1), encoding="utf-8")
    session = play(loaded, load_script(tmp_path / "actions.yaml"), 1)

    class ScoreApp(App[None]):
        CSS_PATH = str(Path(__file__).resolve().parents[1] / "tui" / "app.tcss")

        def on_mount(self) -> None:
            self.push_screen(ScoreScreen(session, None, "played to the end", Path("out"),
                                         days=0))

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, ScoreScreen)
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert screen.review is not None

    assert snap_compare(ScoreApp(), terminal_size=size, run_before=run_before)
