"""App-wide messages: screens say what happened, the app decides which screen comes next.

Widget messages (a case chosen on the board) nest in their widgets; these travel from a
screen up to the app, which routes (tui/app.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from incidents.store import EventStore
from simulation.drills.catalog import DrillInfo
from simulation.drills.record import DrillRecorder
from simulation.drills.session import DrillSession

__all__ = ["OpenBriefing", "DrillStarted", "DrillEnded", "GoHome", "OpenDesk"]


@dataclass
class OpenBriefing(Message):
    """The team picked a drill on the home screen."""

    drill: DrillInfo


@dataclass
class DrillStarted(Message):
    """A drill session is ready to play (new from the briefing, or resumed from a record).
    `store` is the record store the app opened for it and closes when the drill is over."""

    session: DrillSession
    recorder: DrillRecorder | None
    store: EventStore | None
    running: bool = True


@dataclass
class DrillEnded(Message):
    """The drill is over (played to its end, or ended by the team); its record is closed."""

    session: DrillSession
    recorder: DrillRecorder | None
    reason: str


@dataclass
class GoHome(Message):
    """Back to the home screen."""


@dataclass
class OpenDesk(Message):
    """Open the live coordination desk (from the home screen)."""
