"""The drill screen: the clock, the injects, the board, the panels, and every decision.

The screen holds no drill rules: it advances the session from a timer, renders views
(views.py, screenviews.py) and passes the team's decisions to `session.act`, showing each
outcome. Everything that touches the session runs on the app's one thread, so a decision can
never land in the middle of an advance; an advance is cut into slices of simulated time and
stops after a budget of wall time, so a key press waits at most one slice (a jump to the next
inject, or a model that cannot keep up, continues on the next tick).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer

from simulation.drills.actions import Acknowledge
from simulation.drills.record import DrillRecorder
from simulation.drills.screenviews import (
    SPEEDS,
    BoardModel,
    duration_text,
    elapsed_text,
    filter_options,
    inject_feed,
    level_label,
    next_role,
    oldest_unacknowledged,
    role_title,
    sim_time,
    sim_time_at,
)
from simulation.drills.session import DrillSession, Outcome
from simulation.drills.views import chart, communications, resources
from tui.messages import DrillEnded
from tui.screens.actionforms import form_for
from tui.screens.case import CaseScreen
from tui.screens.forms import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.inject import InjectScreen
from tui.widgets import (
    ActionLog,
    BacklogChart,
    Board,
    ClockBar,
    CommsPanel,
    InjectFeed,
    LevelPanel,
    ResourcesPanel,
)

__all__ = ["DrillScreen", "COMMANDS"]

BUDGET_SECONDS = 0.030
"""Wall time one tick may spend advancing the model before it lets keys through."""
SLICE_MINUTES = 5.0
"""Simulated minutes per advance call within a tick."""
BOARD_SECONDS = 1.0
"""The board repaints at most this often (wall seconds) as the clock runs: repainting the
visible rows of a DataTable is the costliest part of a refresh, and a table that changes
four times a second cannot be read anyway. What the team does (a filter, a page, a
decision) repaints it at once."""

COMMANDS = (
    ("pause", "space", "Pause", "Pause or run the clock"),
    ("next_inject", "n", "Next inj", "Jump to the next inject"),
    ("acknowledge", "a", "Ack", "Acknowledge an inject: the selected one, or the oldest"),
    ("declare", "d", "Level", "Declare the emergency level: raise or lower it"),
    ("unlock", "u", "Unlock", "Activate an unlock the level allows: overtime, contractors..."),
    ("order", "o", "Order", "Order spare parts from the supplier"),
    ("message", "m", "Msg", "Send a message from the playbook's templates"),
    ("prioritise", "f", "Prio", "Prioritise a case, a tier or a kind of case"),
    ("rule", "r", "Rule", "Change the priority rule of waiting work"),
    ("escalate", "e", "Escalate", "Escalate a case: the selected one by default"),
    ("deescalate", "x", "De-esc", "De-escalate a case: the selected one by default"),
    ("move", "v", "Move", "Move a case's work to another pool"),
    ("note", "t", "Note", "Write a note in the drill's record"),
    ("observer_note", "b,T", "Obs", "Write an observer's note for the evaluation"),
    ("role", "w", "Role", "Switch the acting role"),
    ("contingency", "c", "Fire", "Fire a contingency inject: the facilitator's call"),
    ("end", "q", "End", "End the drill, after a confirmation"),
)
"""(action, keys, footer label, description) of every drill command: the bindings (the
description is their tooltip) and the command palette (the description is the title) are
both made from this one list."""

SPEED_GROUP = Binding.Group("Speed")


class DrillScreen(Screen[None]):
    """A drill being played (see the module docstring)."""

    BINDINGS = [
        *(Binding(keys, f"act_command('{name}')", label, tooltip=help_)
          for name, keys, label, help_ in COMMANDS),
        *(Binding(str(i + 1), f"speed({i})", f"{speed:g}x", group=SPEED_GROUP)
          for i, speed in enumerate(SPEEDS)),
        Binding("slash", "search", "Search", show=False),
        Binding("left_square_bracket", "page(-1)", "Previous page", show=False),
        Binding("right_square_bracket", "page(1)", "Next page", show=False),
        Binding("s", "sort", "Sort", show=False),
        Binding("question_mark,f1", "help", "Help", show=False),
    ]

    paused: var[bool] = var(True)
    speed: var[float] = var(60.0)

    def __init__(self, session: DrillSession, recorder: DrillRecorder | None, *,
                 running: bool, clock: Callable[[], float] = time.monotonic,
                 tick: float = 0.25) -> None:
        super().__init__()
        self.session, self.recorder = session, recorder
        self.clock, self.tick_seconds = clock, tick
        self.board_model = BoardModel(session)
        self.set_reactive(DrillScreen.paused, not running)
        self.set_reactive(DrillScreen.speed, float(session.drill.speed))
        self._last = clock()
        self._target = session.now
        self._jump_to: float | None = None
        self._timer: Timer | None = None
        self._over = False
        self._chart_mark = -1
        self._board_moved = True
        self._board_at = float("-inf")
        self._board_minute = float("nan")
        """The simulated minute the board last showed."""
        self._signal = session.loaded.scenario.signal_interval.wall_minutes or 60.0

    def compose(self) -> ComposeResult:
        yield ClockBar(id="clock")
        with Horizontal(id="drill-main"):
            with Vertical(id="drill-left"):
                yield Board(self.board_model, filter_options(self.session), id="board")
                yield InjectFeed(id="injects")
            with Vertical(id="drill-right"):
                yield LevelPanel(id="level")
                yield ResourcesPanel(id="resources")
                yield CommsPanel(id="comms")
                yield BacklogChart(id="chart")
                yield ActionLog(id="action-log")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        log = self.query_one(ActionLog)
        for outcome in self.session.outcomes:  # a resumed drill shows what was decided
            self._log(outcome, log)
        self.refresh_views(announce=False)
        self.query_one("#board-table").focus()
        self._last = self.clock()
        self._timer = self.set_timer(self.tick_seconds, self._tick)

    # -- the clock ---------------------------------------------------------------------------
    def _tick(self) -> None:
        """One-shot timer, re-armed after the update: refreshes never overlap."""
        self.step()
        if not self._over:
            self._timer = self.set_timer(self.tick_seconds, self._tick)

    def step(self) -> None:
        """Advance the session by the wall time since the last step (at the speed), within
        the time budget, then update the screen."""
        started = time.perf_counter()
        now = self.clock()
        elapsed, self._last = max(now - self._last, 0.0), now
        session = self.session
        if self.paused:
            self._target = session.now
        else:
            self._target = max(self._target, session.now) + self.speed * elapsed / 60.0
        goal = self._target if self._jump_to is None else self._jump_to
        stop = started + BUDGET_SECONDS
        while session.now < goal and not session.finished:
            session.advance(min(goal, session.now + SLICE_MINUTES))
            if time.perf_counter() > stop:
                break
        landed = self._jump_to is not None and (session.now >= self._jump_to
                                                or session.finished)
        if landed:
            self._jump_to = None
            self._target = session.now
        self.refresh_views(board=landed)
        if session.finished:
            self.finish("finished")

    def refresh_views(self, announce: bool = True, board: bool = True) -> None:
        """Render the session as it stands; widgets repaint only what changed. `board`:
        False lets the board wait for its next turn (BOARD_SECONDS)."""
        session = self.session
        bar = self.query_one(ClockBar)
        bar.stamp = sim_time(session)
        bar.elapsed = elapsed_text(session)
        bar.speed = self.speed
        bar.paused = self.paused
        bar.jumping = self._jump_to is not None
        bar.behind = 0.0 if self.paused or self._jump_to is not None else \
            max(self._target - session.now, 0.0)
        upcoming = session.next_inject_at()
        bar.next_inject = "none left" if upcoming is None else \
            f"{sim_time_at(session, upcoming):%a %H:%M} (in " \
            f"{duration_text(max(upcoming - session.now, 0.0))})"
        bar.role = f"{role_title(session, session.role)} ({session.role})"
        bar.title = session.drill.title
        for row in self.query_one(InjectFeed).sync(inject_feed(session)):
            if announce:
                self.notify(f"{row.subject}\nfrom {row.sender} ({row.method}) to {row.to}",
                            title=f"Inject {row.id}", severity="warning", timeout=6)
        self._board_moved |= self.board_model.sync()
        now = self.clock()
        caught_up = session.now >= self._target and self._board_minute != session.now
        if board or caught_up or now - self._board_at >= BOARD_SECONDS:
            # Once the clock has caught up, the board shows that minute at once: a clock
            # that lagged behind (a loaded machine) never leaves stale countdowns on it.
            self.query_one(Board).repaint(self._board_moved)
            self._board_moved, self._board_at = False, now
            self._board_minute = session.now
        info = session.level()
        since = "" if info.get("since") is None else \
            f"since {sim_time_at(session, info['since']):%a %H:%M}"
        self.query_one(LevelPanel).show(level_label(session, info["declared"]),
                                        level_label(session, info["recommended"]), since,
                                        info["unlocks"])
        self.query_one(ResourcesPanel).show(*resources(session))
        self.query_one(CommsPanel).show(communications(session), session.now)
        mark = int(session.now // self._signal)
        if mark != self._chart_mark:
            self._chart_mark = mark
            self.query_one(BacklogChart).show(chart(session), session.end)
        top = self.app.screen
        if isinstance(top, CaseScreen) and top.case in self.board_model.changed:
            top.reload()

    def watch_paused(self) -> None:
        if self.is_mounted:
            self.query_one(ClockBar).paused = self.paused

    def watch_speed(self) -> None:
        if self.is_mounted:
            self.query_one(ClockBar).speed = self.speed

    def action_speed(self, index: int) -> None:
        self.speed = SPEEDS[index]

    # -- decisions ---------------------------------------------------------------------------
    def act(self, action: Any) -> Outcome:
        """Take a decision now: the session decides; the outcome is shown and logged."""
        outcome = self.session.act(action)
        self._log(outcome, self.query_one(ActionLog))
        who = role_title(self.session, outcome.role)
        if outcome.ok:
            self.notify(outcome.message, title=f"Done ({who})", timeout=4)
        else:
            self.notify(outcome.message, title=f"Refused ({who})", severity="error")
        self.refresh_views()
        top = self.app.screen
        if isinstance(top, CaseScreen):
            top.reload()
        return outcome

    def _log(self, outcome: Outcome, log: ActionLog) -> None:
        log.add(outcome, f"{sim_time_at(self.session, outcome.at):%a %H:%M}",
                role_title(self.session, outcome.role))

    def _submitted(self, action: Any) -> None:
        if action is not None:
            self.act(action)

    def open_form(self, name: str, case: int | None = None) -> None:
        """The form of an action (or of a case action from the case screen)."""
        if case is None:
            case = self.query_one(Board).highlighted
        self.app.push_screen(form_for(name, self.session, case), self._submitted)

    def action_act_command(self, name: str) -> None:
        """Every command of COMMANDS goes through here (keys and the palette alike)."""
        handler = getattr(self, f"command_{name}", None)
        if handler is not None:
            handler()
        else:
            self.open_form(name)

    def command_pause(self) -> None:
        self.paused = not self.paused
        self._last = self.clock()

    def command_next_inject(self) -> None:
        upcoming = self.session.next_inject_at()
        if upcoming is None:
            self.notify("No timed inject is left in this drill.")
            return
        # The clock advanced to a minute has run that minute's events: land on it.
        self._jump_to = upcoming
        self.query_one(ClockBar).jumping = True

    def command_acknowledge(self) -> None:
        feed = self.query_one(InjectFeed)
        chosen = feed.highlighted if feed.table_has_focus else None
        if chosen is None or self.session.fired[chosen].acknowledged is not None:
            chosen = oldest_unacknowledged(self.session)
        if chosen is None:
            self.notify("Every inject so far is acknowledged.")
            return
        self.act(Acknowledge(inject=chosen))

    def command_role(self) -> None:
        self.session.role = next_role(self.session)
        self.notify(f"Acting as {role_title(self.session, self.session.role)}",
                    title="Role switched")
        self.refresh_views()

    def command_end(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.finish("ended by the team")
        self.app.push_screen(ConfirmScreen("End the drill now? Its record is closed; "
                                           "it cannot be resumed.", yes="End the drill",
                                           no="Keep playing"), answered)

    def request_case_action(self, kind: str, case: int) -> None:
        self.open_form(kind, case)

    def finish(self, reason: str) -> None:
        """The drill is over: stop the clock, close the record, let the app move on."""
        if self._over:
            return
        self._over = True
        if self._timer is not None:
            self._timer.stop()
        if self.recorder is not None:
            self.recorder.finish(self.session, reason)
        self.post_message(DrillEnded(self.session, self.recorder, reason))

    # -- navigation --------------------------------------------------------------------------
    @on(Board.CaseChosen)
    def _case(self, event: Board.CaseChosen) -> None:
        self.app.push_screen(CaseScreen(self.session, event.case, self.request_case_action))

    @on(InjectFeed.Chosen)
    def _inject(self, event: InjectFeed.Chosen) -> None:
        row = next(r for r in inject_feed(self.session) if r.id == event.inject)

        def answered(ack: bool | None) -> None:
            if ack:
                self.act(Acknowledge(inject=row.id))
        self.app.push_screen(InjectScreen(row), answered)

    def action_search(self) -> None:
        self.query_one(Board).focus_search()

    def action_page(self, pages: int) -> None:
        self.query_one(Board).page_by(pages)

    def action_sort(self) -> None:
        self.query_one(Board).cycle_sort()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def palette_commands(self) -> list[tuple[str, str, Callable[[], None]]]:
        """(title, help, callback) of every drill command, for the command palette."""
        out: list[tuple[str, str, Callable[[], None]]] = []
        for name, keys, _, help_ in COMMANDS:
            key = keys.split(",")[0]
            out.append((f"{help_} ({key})", f"key {key}",
                        lambda name=name: self.action_act_command(name)))
        for i, speed in enumerate(SPEEDS):
            out.append((f"Speed {speed:g}x ({i + 1})", f"key {i + 1}",
                        lambda i=i: self.action_speed(i)))
        return out
