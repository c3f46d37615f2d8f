"""Shared helpers of the pilot tests: a wall clock the test moves, the app on a temporary
store, and the way from home to a running drill."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from simulation.drills.catalog import DrillInfo, bundled_drills
from tui.app import MusterApp, make_app
from tui.screens import BriefingScreen, DrillScreen
from tui.widgets import ActionLog

__all__ = ["SIZE", "pilot_test", "ManualClock", "recall_only", "clock_fixture", "app_fixture",
           "settle", "until", "start", "jump", "log_text"]

SIZE = (160, 48)


def pilot_test(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async pilot test on its own event loop (no asyncio plugin needed); pytest
    still sees the test's fixtures through functools.wraps."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return run


class ManualClock:
    """The app's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def recall_only() -> list[DrillInfo]:
    drills = [d for d in bundled_drills() if d.name == "drill-recall"]
    assert drills, "the bundled recall drill is missing"
    return drills


@pytest.fixture(name="clock")
def clock_fixture() -> ManualClock:
    return ManualClock()


@pytest.fixture(name="app")
def app_fixture(tmp_path: Path, clock: ManualClock) -> MusterApp:
    return make_app(store=tmp_path / "records" / "drills.sqlite", out_dir=tmp_path / "out",
                    drills=recall_only, clock=clock, tick=0.05, running=False, review_days=2)


async def settle(pilot: Pilot[Any], ticks: int = 2) -> None:
    """Let the drill clock's timer run `ticks` more times (it reads the manual clock), or
    until it rests: the screen counts its ticks, so this waits on the app itself, never on a
    fixed delay."""
    screen = next(s for s in reversed(pilot.app.screen_stack) if isinstance(s, DrillScreen))
    goal = screen.ticks + ticks
    # A paused clock under a form rests (no ticks) until its screen is back on top: resting,
    # it cannot move, so it is as settled as it will get.
    await until(pilot, lambda: screen.ticks >= goal or screen.resting)


async def until(pilot: Pilot[Any], condition: Callable[[], bool],
                deadline: float = 120.0) -> None:
    """Let the app run until `condition` holds (its own timers and workers move it); the
    generous deadline only turns a hang into a failure, it is never waited out."""
    give_up = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError("the app never reached the state the test waits for")
        await pilot.pause()


async def start(pilot: Pilot[Any]) -> DrillScreen:
    """Home -> briefing -> drill with the defaults; the drill screen."""
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, BriefingScreen)
    await pilot.press("enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, DrillScreen)
    return screen


async def jump(pilot: Pilot[Any], screen: DrillScreen) -> None:
    """Press n and wait until the clock has landed on the inject."""
    upcoming = screen.session.next_inject_at()
    await pilot.press("n")
    await until(pilot, lambda: screen._jump_to is None
                and (upcoming is None or screen.session.now >= upcoming))


def log_text(screen: DrillScreen) -> str:
    return "\n".join(screen.query_one(ActionLog).entries)
