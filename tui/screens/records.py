"""What the home screen opens: a past drill (check its replay, resume it) and a report."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Markdown, Static

from incidents.errors import IncidentsError
from incidents.store import EventStore
from simulation.drills.record import replay, resume
from simulation.drills.screenviews import PastDrill, key_findings
from simulation.errors import SimulationError
from tui.messages import DrillStarted

__all__ = ["PastDrillScreen", "ReportScreen"]


class PastDrillScreen(ModalScreen[None]):
    """A recorded drill: check that it replays exactly, or resume it if it was interrupted.
    Both re-run the drill from its record, which takes a moment: in a thread."""

    DEFAULT_CSS = """
    PastDrillScreen {
        align: center middle;
    }
    PastDrillScreen > #past {
        width: 90;
        max-width: 100%;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    PastDrillScreen #past-result {
        margin-top: 1;
        height: auto;
    }
    PastDrillScreen .past-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    PastDrillScreen .past-buttons Button {
        margin-left: 1;
    }
    """

    BINDINGS = [Binding("c", "check", "Check the replay"), Binding("r", "resume", "Resume"),
                Binding("escape", "close", "Close")]

    def __init__(self, past: PastDrill, store_path: Path) -> None:
        super().__init__()
        self.past, self.store_path = past, store_path

    def compose(self) -> ComposeResult:
        d = self.past
        text = Text()
        text.append(f"{d.title or d.scenario}\n", style="bold")
        text.append(f"drill {d.id[:8]} of {d.scenario}, started "
                    f"{d.started.astimezone():%Y-%m-%d %H:%M}, team {d.team or '-'}, seed "
                    f"{d.seed}, {d.events} events\n")
        text.append(f"ended: {d.ended}" if d.ended else "interrupted: it can be resumed",
                    style="green" if d.ended else "yellow")
        with Vertical(id="past"):
            yield Static(text)
            yield Static(id="past-result")
            with Horizontal(classes="past-buttons"):
                yield Button("Check the replay (c)", variant="primary", id="past-check")
                if not d.ended:
                    yield Button("Resume (r)", variant="success", id="past-resume")
                yield Button("Close (esc)", id="past-close")

    def on_mount(self) -> None:
        self.query_one("#past-check").focus()

    @on(Button.Pressed, "#past-check")
    def action_check(self) -> None:
        self.query_one("#past-result", Static).update("re-playing the drill from its record...")
        self._check()

    @on(Button.Pressed, "#past-resume")
    def action_resume(self) -> None:
        if self.past.ended:
            self.notify(f"this drill ended ({self.past.ended}); nothing to resume",
                        severity="warning")
            return
        self.query_one("#past-result", Static).update("catching up with the record...")
        self._resume()

    @on(Button.Pressed, "#past-close")
    def action_close(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="record")
    def _check(self) -> None:
        try:
            with EventStore.open(self.store_path, create=False, readonly=True) as store:
                report = replay(store, self.past.id)
        except (IncidentsError, SimulationError) as exc:
            self.app.call_from_thread(self._result, Text(str(exc), style="red"))
            return
        text = Text(f"reproduced exactly ({report.checked} event-log digests match)"
                    + (f"; {report.problem}" if report.problem else ""), style="green") \
            if report.matches else Text(f"does NOT reproduce: {report.problem}", style="red")
        self.app.call_from_thread(self._result, text)

    @work(thread=True, exclusive=True, group="record")
    def _resume(self) -> None:
        try:
            store = EventStore.open(self.store_path, create=False)
        except IncidentsError as exc:
            self.app.call_from_thread(self._result, Text(str(exc), style="red"))
            return
        try:
            session, recorder = resume(store, self.past.id)
        except (IncidentsError, SimulationError) as exc:
            store.close()
            self.app.call_from_thread(self._result, Text(str(exc), style="red"))
            return
        self.app.call_from_thread(self.post_message,
                                  DrillStarted(session, recorder, store, running=False))

    def _result(self, text: Text) -> None:
        self.query_one("#past-result", Static).update(text)


class ReportScreen(ModalScreen[None]):
    """A simulation report's key findings (f: the whole report), scrollable."""

    DEFAULT_CSS = """
    ReportScreen {
        align: center middle;
    }
    ReportScreen > VerticalScroll {
        width: 110;
        max-width: 100%;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    """

    BINDINGS = [Binding("escape", "close", "Close"), Binding("f", "full", "Whole report")]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.full = False

    def _text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8", errors="replace") if self.full else \
                key_findings(self.path)
        except OSError as exc:  # removed or unreadable since the list was made
            return f"# {self.path.parent.name}\n\nCannot read `{self.path}`: {exc.strerror}\n"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(self._text(), id="report-text")

    def on_mount(self) -> None:
        scroll = self.query_one(VerticalScroll)
        scroll.border_title = str(self.path)
        scroll.border_subtitle = "f: whole report / key findings  esc: close"
        scroll.focus()

    def action_full(self) -> None:
        self.full = not self.full
        self.query_one("#report-text", Markdown).update(self._text())

    def action_close(self) -> None:
        self.dismiss(None)
