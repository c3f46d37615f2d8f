"""What a drill screen does at a seat of a seated drill (simulation/drills/seats.py).

The drill screen mixes this in: which commands each seat offers (HSEEP: controllers run the
exercise, evaluators observe and rate, players decide), the clock controls that travel to
the clock owner, the answers the record brings back, and the evaluators' rating form. At a
single terminal (no seat) every command is there, as before.
"""

from __future__ import annotations

from typing import Any

from incidents.store import ConflictError
from simulation.drills.screenviews import SPEEDS
from simulation.drills.seats import SeatLink, Update
from simulation.drills.seatviews import eeg_rows
from tui.screens.actionforms import rating_form
from tui.widgets import ActionLog, EegPanel

__all__ = ["SeatCommands", "SEAT_COMMANDS", "CONTROL"]

SEAT_COMMANDS = {
    "controller": {"pause", "next_inject", "contingency", "adhoc", "note", "end"},
    "evaluator": {"observer_note", "rate", "needs_me"},
    "player": {"needs_me", "acknowledge", "declare", "unlock", "order", "message", "prioritise",
               "rule", "escalate", "deescalate", "move", "note"},
}
"""What each seat of a seated drill may do (HSEEP: controllers run the exercise,
evaluators observe and rate, players decide); a drill played at one terminal has them all,
the rating of an evaluator's seat aside."""
CONTROL = {"pause", "next_inject", "end"}
"""Commands that move the clock for everyone: the controller's (or the clock owner's while
no controller has joined)."""


class SeatCommands:
    """Mixed into DrillScreen (which provides the attributes used here)."""

    link: SeatLink | None
    seat: str
    paused: bool
    speed: float

    def _seat_update(self, update: Update) -> None:
        """What the record brought: others' decisions logged, answers to this seat's
        requests shown, the controller's clock adopted (the owner publishes it)."""
        log = self.query_one(ActionLog)
        for outcome in update.outcomes:
            self._log(outcome, log)
        for outcome in update.mine:
            self._announce(outcome)
        for message in update.refused:
            self.notify(message, title="Refused (conflict)", severity="error", timeout=8)
        for who in update.joined:
            self.notify(f"{who} joined the drill", timeout=4)
        if update.control is not None:
            control = update.control
            if "end" in control and self.link is not None and self.link.owner:
                self.finish(str(control["end"]) or "ended by the controller")
                return
            paused = bool(control.get("paused", self.paused))
            speed = float(control.get("speed", self.speed))
            if (paused, speed) != (self.paused, self.speed):
                self.paused, self.speed = paused, speed
                self._last = self.clock()
                if self.link is not None and self.link.owner:
                    self.link.publish(self.paused, self.speed)
        if update.outcomes or update.control is not None:
            self.refresh_views()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A seated drill offers each seat what it may do (SEAT_COMMANDS); at one terminal
        every command but an evaluator's rating and the ad-hoc inject of a controller's
        seat is there (the contingency key remains the facilitator's)."""
        if action == "act_command":
            name = str(parameters[0])
        elif action == "speed":
            name = "pause"
        else:
            return True
        if self.link is None:
            return name not in ("rate", "adhoc")
        if name in CONTROL and not self.link.may_control():
            return False
        if name == "next_inject" and not self.link.owner:
            return False
        return name in SEAT_COMMANDS.get(self.seat, set()) or (
            name in CONTROL and self.link.may_control())

    def action_speed(self, index: int) -> None:
        self._control(speed=SPEEDS[index])

    def command_pause(self) -> None:
        self._control(paused=not self.paused)

    def _control(self, **change: Any) -> None:
        """Pause, run or change the speed: here, or for every seat (the controller)."""
        link = self.link
        if link is not None and not link.may_control():
            self.notify("only the controller runs the clock for everyone", severity="warning")
            return
        if link is not None and not link.owner:
            link.request_control(**change)
            self.notify("sent to the clock owner", timeout=2)
            return
        self._held = False
        self.paused = bool(change.get("paused", self.paused))
        self.speed = float(change.get("speed", self.speed))
        self._last = self.clock()
        if link is not None:
            link.publish(self.paused, self.speed)

    def command_rate(self) -> None:
        """The evaluator rates the task under the EEG's cursor (a second evaluator must have
        seen the first rating: the store refuses a rating made on an older view)."""
        link = self.link
        panel = self.query_one(EegPanel)
        task = panel.highlighted
        if link is None or task is None:
            return
        row = next(r for r in eeg_rows(self.session, link.ratings()) if r.task == task)
        guide = (f"{row.objective}" + (f" ({row.capability})" if row.capability else "")
                 + f"\nTask: {row.text}\nExpected: {row.expected}\nDue: {row.due}"
                 + (f"\nRated {row.rating} by {row.by}: {row.note}" if row.rating else ""))

        def rated(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            try:
                link.rate(task, result[0], result[1], row.version)
            except ConflictError as exc:
                self.notify(exc.reason if hasattr(exc, "reason") else str(exc),
                            title="Refused (conflict)", severity="error", timeout=8)
                return
            self.notify(f"{task} rated {result[0]}", title="Rated", timeout=3)
            self.refresh_views()
        self._push_form(rating_form(self.session, task, guide, row.rating), rated)

