"""Responsiveness of the drill screen with 2,000 open incidents.

1. One refresh: the drill screen advances the model one tick at 60x (a quarter of a wall
   second: a quarter of a simulated minute) and updates the screen (board cells, panels,
   clock), headless in `app.run_test`. Measured as the tick itself (`DrillScreen.step`:
   model and widget updates, wall time) and as the tick plus Textual's processing until the
   app is idle again (layout and paint), in CPU time: `pilot.pause` polls for idleness with
   short sleeps that are no work of the app (its wall time is printed too). Target: median
   at most 50 ms.
2. Keeping up at 360x: the app runs on its real timer and clock for a while; the simulated
   time it covered against what 360x asks for (6 simulated minutes a wall second). Target:
   the clock does not fall behind (at least 99% covered, less than one simulated minute
   behind at the end).

The drill state: the bundled recall drill with its base demand multiplied (`--demand`, 6x by
default) so that the surge piles up thousands of open cases, advanced until 2,000 are open.

Run: python -m benchmarks.bench_drill [--ticks 200] [--seconds 30] [--demand 6]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

from simulation.drills.session import DrillSession
from simulation.drills.views import open_cases
from simulation.scenario.loader import LoadedScenario, load_scenario, resolve_scenario

__all__ = ["big_drill", "crowded_session", "refresh_times", "keep_up", "main"]

BASE_DRILL = "drill-recall"
OPEN_TARGET = 2000
MEDIAN_TARGET_MS = 50.0
KEEP_UP_TARGET = 0.99


class ManualClock:
    """A wall clock the benchmark moves itself: each refresh covers exactly one tick."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def big_drill(folder: Path, demand: float) -> LoadedScenario:
    """The recall drill with its base demand multiplied, as a scenario file in `folder`."""
    text = resolve_scenario(BASE_DRILL).read_text(encoding="utf-8")
    rate = re.search(r"base_rate: (\d+(?:\.\d+)?)/h", text)
    if rate is None:
        raise SystemExit(f"{BASE_DRILL}: no `base_rate: N/h` line to scale")
    text = text.replace(rate.group(0), f"base_rate: {float(rate.group(1)) * demand:g}/h")
    path = folder / f"{BASE_DRILL}-x{demand:g}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def crowded_session(loaded: LoadedScenario, open_target: int = OPEN_TARGET) -> DrillSession:
    """A session advanced, an hour at a time, until `open_target` cases are open."""
    session = DrillSession(loaded, 1)
    while len(open_cases(session)) < open_target:
        if session.finished:
            raise SystemExit(f"only {len(open_cases(session))} cases open at the drill's end; "
                             "raise --demand")
        session.advance(session.now + 60.0)
    return session


async def refresh_times(session: DrillSession, ticks: int
                        ) -> tuple[list[float], list[float], list[float], list[float]]:
    """Seconds of `ticks` refreshes at 60x: the tick alone (wall), the tick until the app is
    idle again (CPU time of the process: the work of updating and painting, without the
    sleeps `pilot.pause` waits for idleness with), the same in wall time, and the CPU time
    of the ticks that repainted the board (one a second: DrillScreen's BOARD_SECONDS)."""
    from tui.app import make_app
    from tui.screens import DrillScreen

    clock = ManualClock()
    app = make_app(session=session, clock=clock, tick=3600.0)  # the benchmark drives ticks
    alone: list[float] = []
    work: list[float] = []
    idle: list[float] = []
    board: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DrillScreen)
        screen.speed, screen.paused = 60.0, False
        await pilot.pause()
        for _ in range(ticks):
            clock.now += 0.25
            start, cpu = time.perf_counter(), time.process_time()
            screen.step()
            alone.append(time.perf_counter() - start)
            await pilot.pause()
            work.append(time.process_time() - cpu)
            idle.append(time.perf_counter() - start)
            if screen._board_at == clock.now:
                board.append(work[-1])
    return alone, work, idle, board


async def keep_up(session: DrillSession, seconds: float) -> tuple[float, float, float]:
    """(simulated minutes covered, minutes 360x asked for, minutes behind at the end) on the
    app's own timer and the real clock."""
    from tui.app import make_app
    from tui.screens import DrillScreen

    app = make_app(session=session)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DrillScreen)
        screen.speed = 360.0
        screen.command_pause()  # run
        start_sim, start_wall = session.now, time.monotonic()
        await asyncio.sleep(seconds)
        covered = session.now - start_sim
        asked = 360.0 * (screen._last - start_wall) / 60.0  # to the last tick's clock
        behind = max(screen._target - session.now, 0.0)
    return covered, asked, behind


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000.0 * ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=200, help="refreshes measured at 60x")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="wall seconds run at 360x")
    parser.add_argument("--demand", type=float, default=6.0,
                        help="multiplier of the recall drill's base demand")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        loaded = big_drill(Path(tmp), args.demand)
        start = time.perf_counter()
        session = crowded_session(loaded)
        print(f"drill state: {len(open_cases(session))} open cases at simulated minute "
              f"{session.now:g} ({len(session.world.log)} events; built in "
              f"{time.perf_counter() - start:.1f} s)")
        alone, work, idle, board = asyncio.run(refresh_times(session, args.ticks))
        median = statistics.median(work) * 1000.0
        print(f"1. one refresh at 60x, {args.ticks} ticks, {len(open_cases(session))} open "
              f"cases at the end:")
        print(f"   tick (model + widget updates): median {statistics.median(alone) * 1e3:.1f} "
              f"ms, p95 {_ms(alone, 0.95):.1f} ms")
        print(f"   tick + layout and paint (CPU time until idle): median {median:.1f} ms, "
              f"p95 {_ms(work, 0.95):.1f} ms")
        print(f"   ticks that repainted the board ({len(board)}, one a second): median "
              f"{statistics.median(board) * 1e3:.1f} ms, p95 {_ms(board, 0.95):.1f} ms")
        print(f"   the same in wall time (includes pilot.pause's idle polling): median "
              f"{statistics.median(idle) * 1e3:.1f} ms, p95 {_ms(idle, 0.95):.1f} ms")
        print(f"   target: median <= {MEDIAN_TARGET_MS:g} ms: "
              f"{'OK' if median <= MEDIAN_TARGET_MS else 'MISSED'}")
        session = crowded_session(loaded)
        covered, asked, behind = asyncio.run(keep_up(session, args.seconds))
        ratio = covered / asked if asked else 0.0
        print(f"2. 360x for {args.seconds:g} s on the app's timer: {covered:.1f} simulated "
              f"minutes covered of {asked:.1f} asked (ratio {ratio:.3f}), {behind:.2f} min "
              f"behind at the end")
        ok = ratio >= KEEP_UP_TARGET and behind < 1.0
        print(f"   target: ratio >= {KEEP_UP_TARGET:g} and < 1 min behind: "
              f"{'OK' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
