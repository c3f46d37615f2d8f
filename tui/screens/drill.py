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
    newest_unacknowledged,
    next_role,
    role_title,
    sim_time,
    sim_time_at,
)
from simulation.drills.seats import SeatLink
from simulation.drills.seatviews import eeg_rows, msel_rows
from simulation.drills.session import DrillSession, Outcome
from simulation.drills.views import chart, communications, resources
from tui.messages import DrillEnded
from tui.screens.actionforms import form_for
from tui.screens.case import CaseScreen
from tui.screens.forms import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.inject import InjectScreen
from tui.screens.keys import KeysScreen
from tui.screens.seating import SeatCommands
from tui.widgets import (
    ActionLog,
    BacklogChart,
    Board,
    ClockBar,
    CommsPanel,
    EegPanel,
    InjectFeed,
    LevelPanel,
    MselPanel,
    ResourcesPanel,
)
from tui.widgets.keyfooter import KeyFooter

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
MARK_SECONDS = 0.5
"""A seated drill's clock owner writes a clock mark at most this often (wall seconds) while
the clock runs, so the other seats follow it closely."""
LAG_SHARE = 0.9
"""The clock bar warns when the model keeps less than this share of the chosen speed."""
LAG_TICKS = 12
"""Ticks the kept speed is measured over (about three seconds)."""

COMMANDS = (
    ("pause", "space", "Pause", "Pause or run the clock"),
    ("next_inject", "n", "Next inj", "Jump to the next inject"),
    ("needs_me", "h", "Needs me", "What needs me now: the cases breaching soonest, at the top"),
    ("acknowledge", "a", "Ack", "Acknowledge an inject: the selected one, or the newest"),
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
    ("contingency", "c", "Fire", "Fire a contingency inject: the controller's call"),
    ("adhoc", "i", "Ad hoc", "Controller: send an ad-hoc inject (not in the MSEL)"),
    ("rate", "g", "Rate", "Evaluator: rate the selected critical task P/S/M/U"),
    ("end", "q", "End", "End the drill, after a confirmation"),
)
"""(action, keys, footer label, description) of every drill command: the bindings (the
description is their tooltip) and the command palette (the description is the title) are
both made from this one list."""

SPEED_GROUP = Binding.Group("Speed")
class DrillScreen(SeatCommands, Screen[None]):
    """A drill being played (see the module docstring)."""

    BINDINGS = [
        Binding("question_mark", "keys", "Keys", tooltip="Every key of this screen, runnable"),
        *(Binding(keys, f"act_command('{name}')", label, tooltip=help_)
          for name, keys, label, help_ in COMMANDS),
        *(Binding(str(i + 1), f"speed({i})", f"{speed:g}x", group=SPEED_GROUP)
          for i, speed in enumerate(SPEEDS)),
        Binding("slash", "search", "Search", show=False),
        Binding("left_square_bracket", "page(-1)", "Previous page", show=False),
        Binding("right_square_bracket", "page(1)", "Next page", show=False),
        Binding("s", "sort", "Sort", show=False),
        Binding("f1", "help", "Help", show=False),
    ]

    paused: var[bool] = var(True)
    speed: var[float] = var(60.0)

    def __init__(self, session: DrillSession, recorder: DrillRecorder | None, *,
                 running: bool, clock: Callable[[], float] = time.monotonic,
                 tick: float = 0.25, link: SeatLink | None = None) -> None:
        super().__init__()
        self.session, self.recorder = session, recorder
        self.link = link
        """The seat at a seated drill (simulation/drills/seats.py), or None: one terminal."""
        self.seat = link.seat.seat if link is not None else ""
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
        self._kept: list[tuple[float, float]] = []
        """(wall, simulated minute) of the last ticks the clock ran: the speed it kept."""
        self._held = False
        """The clock was paused for a form (it runs again when the form closes)."""
        self._marked = float("-inf")
        self._mark_minute = session.now
        self.ticks = 0
        self.resting = False
        """Clock ticks run so far (tests wait on it instead of on the wall clock)."""
        self.kept_speed: float | None = None
        """The speed the model kept over the last few seconds (None: not measured)."""

    def compose(self) -> ComposeResult:
        yield ClockBar(id="clock")
        with Horizontal(id="drill-main"):
            with Vertical(id="drill-left"):
                yield Board(self.board_model, filter_options(self.session), id="board")
                if self.seat == "controller":
                    yield MselPanel(id="msel")
                elif self.seat == "evaluator":
                    yield EegPanel(id="eeg")
                else:
                    yield InjectFeed(id="injects")
            with Vertical(id="drill-right"):
                yield LevelPanel(id="level")
                yield ResourcesPanel(id="resources")
                yield CommsPanel(id="comms")
                yield BacklogChart(id="chart")
                yield ActionLog(id="action-log")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        log = self.query_one(ActionLog)
        for outcome in self.session.outcomes:  # a resumed drill shows what was decided
            self._log(outcome, log)
        self.refresh_views(announce=False)
        if self.link is not None:
            self.sub_title = f"{self.link.seat.label()}  " + (
                "owns the clock" if self.link.owner else "follows the clock owner")
        self.query_one("#board-table").focus()
        self._fit(self.size.width, self.size.height)
        self._last = self.clock()
        self._timer = self.set_timer(self.tick_seconds, self._tick)

    # -- any terminal from 100x30 up -----------------------------------------------------------
    def on_resize(self, event: Any) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Reflow for the terminal: a narrower side column below 140 cells, the chart
        dropped and the feed and log shortened below 40 lines; the board keeps the columns
        that fit, by priority (widgets/board.py)."""
        self.set_class(width < 140, "narrow")
        self.set_class(height < 40, "short")
        right = 38 if width < 140 else 52
        self.query_one(Board).fit(width - right)
        self.query_one(LevelPanel).compact = height < 40
        self.query_one(ResourcesPanel).compact = width < 140
        for feed in self.query(InjectFeed):
            feed.fit(width < 140)
        if self.is_mounted:
            self.refresh_views(announce=False)

    # -- the clock ---------------------------------------------------------------------------
    def _tick(self) -> None:
        """One-shot timer, re-armed after the update: refreshes never overlap. At one
        terminal, a paused clock under a form or overlay cannot move: the timer rests until
        the screen is back on top (on_screen_resume). Each tick under a modal screen costs a
        full repaint of the modal over its background (Textual repaints a dirty background
        screen whole), which kept a core busy while a form was open."""
        self.step()
        self.ticks += 1
        if self._over:
            return
        if self.link is None and self.paused and self.app.screen is not self:
            self.resting = True
            return
        self._timer = self.set_timer(self.tick_seconds, self._tick)

    def on_screen_resume(self) -> None:
        if self.resting and not self._over:
            self.resting = False
            self._last = self.clock()
            self._timer = self.set_timer(self.tick_seconds, self._tick)

    def step(self) -> None:
        """Advance the session by the wall time since the last step (at the speed), within
        the time budget, then update the screen. A seat that follows the clock owner
        advances only as far as the record says; the owner answers the others' requests."""
        link = self.link
        if link is not None and not link.owner:
            self._seat_update(link.look())
            self.refresh_views(board=False)
            if link.ended is not None:
                self.finish(link.ended)
            return
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
        self._measure(now)
        if link is not None:
            self._seat_update(link.look())
            moved = session.now != self._mark_minute
            if moved and (landed or now - self._marked >= MARK_SECONDS):
                link.mark()  # followers move on (a jump lands for them at once)
                self._marked, self._mark_minute = now, session.now
        self.refresh_views(board=landed)
        if session.finished:
            self.finish("finished")

    def _measure(self, now: float) -> None:
        """The speed the model kept over the last ticks the clock ran (not while paused or
        jumping): the clock bar warns when it falls short of the chosen speed."""
        if self.paused or self._jump_to is not None:
            self._kept.clear()
            self.kept_speed = None
            return
        self._kept.append((now, self.session.now))
        del self._kept[:-LAG_TICKS]
        (w0, m0), (w1, m1) = self._kept[0], self._kept[-1]
        self.kept_speed = (m1 - m0) * 60.0 / (w1 - w0) if w1 - w0 >= 1.0 else None

    def refresh_views(self, announce: bool = True, board: bool = True) -> None:
        """Render the session as it stands; widgets repaint only what changed. `board`:
        False lets the board wait for its next turn (BOARD_SECONDS)."""
        session = self.session
        bar = self.query_one(ClockBar)
        bar.stamp = sim_time(session)
        bar.elapsed = elapsed_text(session)
        bar.speed = self.speed
        bar.kept = self.kept_speed if self.kept_speed is not None \
            and self.kept_speed < LAG_SHARE * self.speed else 0.0
        bar.paused = self.paused
        bar.held = self._held
        bar.jumping = self._jump_to is not None
        bar.behind = 0.0 if self.paused or self._jump_to is not None else \
            max(self._target - session.now, 0.0)
        upcoming = session.next_inject_at()
        bar.next_inject = "none left" if upcoming is None else \
            f"{sim_time_at(session, upcoming):%a %H:%M} (in " \
            f"{duration_text(max(upcoming - session.now, 0.0))})"
        bar.role = self.link.seat.label() if self.link is not None and \
            self.seat != "player" else f"{role_title(session, session.role)} ({session.role})"
        bar.title = session.drill.title
        if self.seat == "controller":
            self.query_one(MselPanel).show(msel_rows(session))
        elif self.seat == "evaluator":
            ratings = self.link.ratings() if self.link is not None else {}
            self.query_one(EegPanel).show(eeg_rows(session, ratings))
        else:
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
        if self.board_model.changed or self.session.version != getattr(self, "_told", -1):
            self._told = self.session.version
            self.app.case_changed.publish(self.board_model.changed)  # type: ignore[attr-defined]

    def watch_paused(self) -> None:
        if self.is_mounted:
            self.query_one(ClockBar).paused = self.paused

    def watch_speed(self) -> None:
        if self.is_mounted:
            self.query_one(ClockBar).speed = self.speed

    # -- decisions ---------------------------------------------------------------------------
    def act(self, action: Any) -> Outcome | None:
        """Take a decision now: the session decides; the outcome is shown and logged. At a
        seat that follows the clock owner it is sent as a request (None): its outcome comes
        back through the record."""
        link = self.link
        if link is not None:
            action = action.model_copy(update={"by": link.seat.person})
            if not link.owner:
                try:
                    link.request(action, role=self._acting())
                except ValueError as exc:  # the store refused the write: say why
                    self.notify(str(exc), title="Not sent", severity="error")
                    return None
                self.notify(f"{self.session.describe(action)}: sent to the clock owner; "
                            "taken at the minute it arrives", title="Sent", timeout=3)
                return None
        outcome = self.session.act(action, role=self._acting())
        self._log(outcome, self.query_one(ActionLog))
        self._announce(outcome)
        self.refresh_views()
        self.app.case_changed.publish(None)  # type: ignore[attr-defined]
        return outcome

    def _acting(self) -> str:
        """The role a decision is taken in: a controller's or evaluator's seat, else the
        acting drill role."""
        return self.seat if self.seat in ("controller", "evaluator") else self.session.role

    def _announce(self, outcome: Outcome) -> None:
        who = outcome.action.get("by") or role_title(self.session, outcome.role)
        if outcome.ok:
            self.notify(outcome.message, title=f"Done ({who})", timeout=4)
        else:
            self.notify(outcome.message, title=f"Refused ({who})", severity="error")

    def _log(self, outcome: Outcome, log: ActionLog) -> None:
        log.add(outcome, f"{sim_time_at(self.session, outcome.at):%a %H:%M}",
                outcome.action.get("by") or role_title(self.session, outcome.role))

    def open_form(self, name: str, case: int | None = None) -> None:
        """The form of an action (or of a case action from the case screen). The clock
        stops while it is open if the drill says so (at one terminal); every form says
        whether the clock runs."""
        if case is None:
            case = self.query_one(Board).highlighted
        form = form_for(name, self.session, case)
        self._push_form(form, self._submitted)

    def _push_form(self, form: Any, done: Callable[[Any], None]) -> None:
        hold = self.link is None and self.session.drill.forms_pause and not self.paused
        if hold:
            self._held, self.paused = True, True
        form.clock_note = ("The clock is stopped while this form is open." if hold or
                           self._held else "The clock is paused." if self.paused else
                           "The clock keeps running while this form is open.")

        def closed(result: Any) -> None:
            if hold:
                self._held, self.paused = False, False
                self._last = self.clock()
            done(result)
        self.app.push_screen(form, closed)

    def _submitted(self, action: Any) -> None:
        if action is not None:
            self.act(action)

    def action_act_command(self, name: str) -> None:
        """Every command of COMMANDS goes through here (keys and the palette alike)."""
        if self.check_action("act_command", (name,)) is False:
            self.notify(f"not at the {self.seat}'s seat", severity="warning")
            return
        handler = getattr(self, f"command_{name}", None)
        if handler is not None:
            handler()
        else:
            self.open_form(name)

    def command_next_inject(self) -> None:
        upcoming = self.session.next_inject_at()
        if upcoming is None:
            self.notify("No timed inject is left in this drill.")
            return
        # The clock advanced to a minute has run that minute's events: land on it.
        self._jump_to = upcoming
        self.query_one(ClockBar).jumping = True

    def command_acknowledge(self) -> None:
        """The inject under the feed's cursor when the feed has the focus; else the newest
        one not acknowledged (the one that just came in)."""
        feed = self.query_one(InjectFeed)
        chosen = feed.highlighted if feed.table_has_focus else None
        if chosen is None or self.session.fired[chosen].acknowledged is not None:
            chosen = newest_unacknowledged(self.session)
        if chosen is None:
            self.notify("Every inject so far is acknowledged.")
            return
        self.act(Acknowledge(inject=chosen))

    def command_needs_me(self) -> None:
        """What needs me now: filters off, soonest deadline first, the top row selected."""
        board = self.query_one(Board)
        board.needs_me()
        top = board.highlighted
        self.notify("Soonest deadlines first" + (f": case {top} at the top" if top is not None
                                                   else "; no open case"), timeout=3)

    def command_role(self) -> None:
        self.session.role = next_role(self.session)
        self.notify(f"Acting as {role_title(self.session, self.session.role)}",
                    title="Role switched")
        self.refresh_views()

    def command_end(self) -> None:
        def answered(yes: bool | None) -> None:
            if not yes:
                return
            if self.link is not None and not self.link.owner:
                self.link.request_control(end="ended by the controller")
                return
            self.finish("ended by the team" if self.link is None else
                        "ended by the controller")
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
        if self.recorder is not None and (self.link is None or self.link.owner):
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

    @on(MselPanel.Chosen)
    def _msel(self, event: MselPanel.Chosen) -> None:
        """Enter on a contingency inject waiting aside fires it; on a fired one reads it."""
        from simulation.drills.actions import FireInject
        row = next(r for r in msel_rows(self.session) if r.id == event.key)
        if row.contingency and not row.fired:
            def answered(yes: bool | None) -> None:
                if yes:
                    self.act(FireInject(inject=row.id))
            self.app.push_screen(ConfirmScreen(f"Fire contingency inject {row.id} now? "
                                               f"{row.subject}", yes="Fire it",
                                               no="Not now"), answered)
        elif row.fired:
            feed = next(r for r in inject_feed(self.session) if r.id == row.id)
            self.app.push_screen(InjectScreen(feed))

    @on(EegPanel.Chosen)
    def _eeg(self, event: EegPanel.Chosen) -> None:
        self.command_rate()

    def action_keys(self) -> None:
        """Every key of this screen (the footer shows what fits), each runnable from here."""
        self.app.push_screen(KeysScreen(self))

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
            if self.check_action("act_command", (name,)) is False:
                continue  # not at this seat
            key = keys.split(",")[0]
            out.append((f"{help_} ({key})", f"key {key}",
                        lambda name=name: self.action_act_command(name)))
        for i, speed in enumerate(SPEEDS):
            if self.check_action("speed", (i,)) is False:
                break
            out.append((f"Speed {speed:g}x ({i + 1})", f"key {i + 1}",
                        lambda i=i: self.action_speed(i)))
        return out
