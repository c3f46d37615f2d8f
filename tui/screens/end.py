"""The drill-ended screen: what was played and where its record is.

One screen class in its own module so that part 2 can replace it with the score screen.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Markdown

from simulation.drills.record import DrillRecorder
from simulation.drills.screenviews import elapsed_text, level_label, sim_time
from simulation.drills.session import DrillSession
from tui.messages import GoHome

__all__ = ["DrillEndScreen"]


class DrillEndScreen(Screen[None]):
    """Shown when a drill ends (played to its end, or ended by the team)."""

    DEFAULT_CSS = """
    DrillEndScreen {
        align: center middle;
    }
    DrillEndScreen > #end {
        width: 100;
        height: auto;
        max-height: 90%;
        border: thick $success;
        padding: 0 2;
    }
    DrillEndScreen #end-buttons {
        height: auto;
        align-horizontal: right;
    }
    DrillEndScreen #end-buttons Button {
        margin-left: 1;
    }
    """

    BINDINGS = [Binding("h", "home", "Home"), Binding("q", "app.quit", "Quit")]

    def __init__(self, session: DrillSession, recorder: DrillRecorder | None,
                 reason: str) -> None:
        super().__init__()
        self.session, self.recorder, self.reason = session, recorder, reason

    def summary(self) -> str:
        s = self.session
        taken = sum(o.ok for o in s.outcomes)
        refused = len(s.outcomes) - taken
        acked = sum(f.acknowledged is not None for f in s.fired.values())
        lines = [f"# Drill ended: {self.reason}", "", f"**{s.drill.title}**", "",
                 f"- simulated clock: {sim_time(s)} ({elapsed_text(s)})",
                 f"- decisions: {taken} taken, {refused} refused; notes: {len(s.notes)}",
                 f"- injects: {len(s.fired)} fired, {acked} acknowledged",
                 f"- emergency level at the end: "
                 f"{level_label(s, s.team.declared) if s.team else '-'}", ""]
        if self.recorder is not None:
            store, sid = self.recorder.store.path, self.recorder.stream_id
            lines += ["## The record", "", f"Stored in `{store}` as drill `{sid[:8]}`. "
                      "Check that it reproduces exactly:", "",
                      f"    muster drill replay {store} --id {sid[:8]}", ""]
        else:
            lines += ["This drill was not recorded.", ""]
        return "\n".join(lines)

    def compose(self) -> ComposeResult:
        with Vertical(id="end"):
            yield Markdown(self.summary())
            with Horizontal(id="end-buttons"):
                yield Button("Home (h)", variant="primary", id="end-home")
                yield Button("Quit (q)", id="end-quit")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#end-home").focus()

    @on(Button.Pressed, "#end-home")
    def action_home(self) -> None:
        self.post_message(GoHome())

    @on(Button.Pressed, "#end-quit")
    def _quit(self) -> None:
        self.app.exit()
