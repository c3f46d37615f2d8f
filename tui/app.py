"""The Muster app: routes between screens; the screens do the work.

`make_app` builds the app for the CLI and the tests alike (the record store, the output
folder, the drill catalog and the clock are injectable, so tests run on a temporary store
with a clock they move by hand). `run_app` is what `muster` opens in a terminal;
`run_drill_app` opens straight on a resumed drill (`muster drill resume`); `run_live_app` on
the live coordination desk (`muster live`), which the home screen also opens (key v).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal

from incidents.store import EventStore
from simulation.drills.catalog import DrillInfo, bundled_drills
from simulation.drills.otherdays import DEFAULT_DAYS
from simulation.drills.record import DEFAULT_STORE, DrillRecorder
from simulation.drills.seats import SeatLink, recorder_of
from simulation.drills.session import DrillSession
from simulation.errors import SimulationError
from tui.messages import DrillEnded, DrillStarted, GoHome, OpenBriefing, OpenDesk
from tui.screens import BriefingScreen, DrillScreen, HelpScreen, HomeScreen, ScoreScreen

__all__ = ["AppConfig", "MusterApp", "make_app", "run_app", "run_drill_app", "run_live_app",
           "run_seat_app"]


@dataclass(frozen=True)
class AppConfig:
    """Where the app reads and writes, and how its clock runs."""

    store: Path = DEFAULT_STORE
    """The drill record store (created, with its folder, when the first drill starts)."""
    out_dir: Path = Path("muster-out")
    """Where simulation reports are looked for (OUT_DIR/*/report.md)."""
    drills: Callable[[], Sequence[DrillInfo]] = bundled_drills
    clock: Callable[[], float] = field(default=time.monotonic)
    """Wall-clock seconds (monotonic): the drill clock measures elapsed time with it."""
    tick: float = 0.25
    """Seconds between drill-clock updates."""
    running: bool = True
    """Whether a drill started from its briefing starts with the clock running."""
    review_days: int = DEFAULT_DAYS
    """Other days the score screen replays the team's decisions on (0: none)."""
    live: Path | str | None = None
    """The live desk's database (a file, or a postgresql:// URL): the app opens on the desk
    (`muster live`); None: home."""
    operator: str = ""
    """Who is at the live desk (default: MUSTER_OPERATOR, else the login name)."""
    desk_clock: Callable[[], datetime] | None = None
    """The live desk's wall clock (default: the real time, UTC)."""
    desk_poll: float = 0.25
    """Seconds between the live desk's looks at the database."""


class MusterApp(App[None]):
    """Home -> briefing -> drill -> score -> home; a resumed drill opens directly."""

    CSS_PATH = "app.tcss"
    TITLE = "Muster"
    BINDINGS = [Binding("f1", "help", "Help", show=False),
                Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]

    def __init__(self, config: AppConfig, session: DrillSession | None = None,
                 recorder: DrillRecorder | None = None, link: SeatLink | None = None) -> None:
        super().__init__()
        self.config = config
        self._resumed = session, recorder
        self.link = link
        """The seat this terminal holds at a seated drill (`muster drill NAME --seat`)."""
        self._store: EventStore | None = None
        """The record store the app opened for the drill being played (closed after)."""
        self.case_changed: Signal[set[int] | None] = Signal(self, "case-changed")
        """Published by the drill screen: the cases that changed (None: a decision, any may
        have); a case screen open over it reloads when its case is among them."""

    def on_mount(self) -> None:
        self.push_screen(HomeScreen(self.config.store, self.config.out_dir,
                                    self.config.drills))
        if self.config.live is not None:
            self._open_desk(self.config.live)
        session, recorder = self._resumed
        if self.link is not None:
            self._store = self.link.store
            self.push_screen(self._drill_screen(self.link.session, recorder_of(self.link),
                                                running=False, link=self.link))
            seat = self.link.seat
            self.notify(f"{seat.label()} at drill {self.link.stream_id[:8]}: "
                        + ("you own the clock" if self.link.owner else
                           "the clock is the owner's") + "; ? lists your keys.",
                        title="Seat taken", timeout=8)
        elif session is not None:
            self.push_screen(self._drill_screen(session, recorder, running=False))
            self.notify(f"Resumed at {session.now:g} simulated minutes; every decision "
                        "taken before is kept. Space runs the clock.", title="Drill resumed")

    def on_unmount(self) -> None:
        self._close_store()

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _drill_screen(self, session: DrillSession, recorder: DrillRecorder | None, *,
                      running: bool, link: SeatLink | None = None) -> DrillScreen:
        return DrillScreen(session, recorder, running=running, clock=self.config.clock,
                           tick=self.config.tick, link=link)

    def _home(self) -> HomeScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, HomeScreen)), None)

    def _pop_to(self, kind: type[Screen[None]]) -> None:
        while not isinstance(self.screen, kind) and len(self.screen_stack) > 1:
            self.pop_screen()

    # -- routes ------------------------------------------------------------------------------
    @on(OpenBriefing)
    def _briefing(self, message: OpenBriefing) -> None:
        try:
            screen = BriefingScreen(message.drill, self.config.store)
        except SimulationError as exc:  # the drill file has errors: FILE:LINE:COL lines
            self.notify(str(exc), title=f"{message.drill.name} cannot be played",
                        severity="error", timeout=20)
            return
        self.push_screen(screen)

    @on(DrillStarted)
    def _started(self, message: DrillStarted) -> None:
        self._close_store()
        self._store = message.store
        self._pop_to(HomeScreen)
        running = message.running and self.config.running
        self.push_screen(self._drill_screen(message.session, message.recorder,
                                            running=running))
        self.notify("space pauses or runs the clock ("
                    + ("it stops while a form is open" if message.session.drill.forms_pause
                       else "it keeps running while a form is open")
                    + "); ? lists the keys; ctrl+p finds any command by name.",
                    title="Drill started" if running else "Drill ready (paused)", timeout=8)

    @on(DrillEnded)
    def _ended(self, message: DrillEnded) -> None:
        self._pop_to(DrillScreen)
        self.switch_screen(ScoreScreen(message.session, message.recorder, message.reason,
                                       self.config.out_dir, self.config.review_days,
                                       link=self.link))

    @on(GoHome)
    def _go_home(self) -> None:
        self._close_store()
        self._pop_to(HomeScreen)
        home = self._home()
        if home is not None:
            home.refresh_lists()

    @on(OpenDesk)
    def _desk(self) -> None:
        from tui.live_common import default_db
        path = self.config.live or default_db()
        try:
            if isinstance(path, Path):  # a file (a server's URL names no folder)
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # the desk screen says why the database cannot be opened
        self._open_desk(path)

    def _open_desk(self, path: Path | str) -> None:
        from desk.clock import system_clock
        from tui.live_common import default_operator
        from tui.screens.desk import DeskScreen
        self.push_screen(DeskScreen(path, self.config.operator or default_operator(),
                                    clock=self.config.desk_clock or system_clock,
                                    poll=self.config.desk_poll, out_dir=self.config.out_dir))

    # -- everywhere --------------------------------------------------------------------------
    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette offers every drill command while a drill is on screen."""
        commands = getattr(screen, "palette_commands", None)  # the drill and the live desk
        if commands is not None:
            for title, help_, callback in commands():
                yield SystemCommand(title, help_, callback)
        yield from super().get_system_commands(screen)


def make_app(*, store: Path = DEFAULT_STORE, out_dir: Path = Path("muster-out"),
             drills: Callable[[], Sequence[DrillInfo]] = bundled_drills,
             clock: Callable[[], float] = time.monotonic, tick: float = 0.25,
             running: bool = True, session: DrillSession | None = None,
             recorder: DrillRecorder | None = None, live: Path | str | None = None,
             operator: str = "", desk_clock: Callable[[], datetime] | None = None,
             desk_poll: float = 0.25, review_days: int = DEFAULT_DAYS,
             link: SeatLink | None = None) -> MusterApp:
    """The app, for the CLI and the tests alike (see the module docstring)."""
    config = AppConfig(store=store, out_dir=out_dir, drills=drills, clock=clock, tick=tick,
                       running=running, live=live, operator=operator, desk_clock=desk_clock,
                       desk_poll=desk_poll, review_days=review_days)
    return MusterApp(config, session, recorder, link)


def run_app() -> None:
    """`muster` in a terminal: the home screen."""
    make_app().run()


def run_drill_app(session: DrillSession, recorder: DrillRecorder | None) -> None:
    """A resumed drill, straight on the drill screen (its store stays the caller's)."""
    make_app(session=session, recorder=recorder).run()


def run_seat_app(link: SeatLink, out_dir: Path = Path("muster-out")) -> None:
    """`muster drill NAME --seat ...`: straight on the drill at this seat."""
    make_app(link=link, out_dir=out_dir, store=Path(link.store.path)).run()


def run_live_app(db: Path | str, operator: str) -> None:
    """`muster live`: straight on the coordination desk (escape goes home)."""
    make_app(live=db, operator=operator).run()
