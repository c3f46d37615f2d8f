"""One case of the live desk, and the post-incident review, as modal screens.

The case screen shows the case as the desk's projection has it (playbook state, level, owner,
deadlines on the playbook's calendar, messages owed, its timeline) and follows the desk's
`changed` signal, so another coordinator's change shows here too. Its keys ask the desk
screen for the action's form: every decision still runs through the one place that calls
the services.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from desk.clock import instant, local_text
from desk.projection import Changes

if TYPE_CHECKING:
    from tui.screens.desk import DeskScreen

__all__ = ["DeskCaseScreen", "ReviewScreen", "CASE_KEYS"]

CASE_KEYS = (("ack", "a", "Ack"), ("fire", "f", "Step"), ("assign", "g", "Assign"),
             ("escalate", "e", "Escalate"), ("send", "m", "Msg"), ("note", "n", "Note"),
             ("resolve", "r", "Resolve"))


class DeskCaseScreen(ModalScreen[None]):
    """A case over the desk screen (see the module docstring)."""

    DEFAULT_CSS = """
    DeskCaseScreen {
        align: center middle;
    }
    DeskCaseScreen > #desk-case {
        width: 90%;
        max-width: 120;
        height: 85%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    DeskCaseScreen #desk-case-head {
        height: auto;
        margin-bottom: 1;
    }
    DeskCaseScreen #desk-case-timeline {
        height: 1fr;
        border: round $secondary;
    }
    """

    BINDINGS = [Binding("escape", "close", "Close"),
                *(Binding(k, f"case('{name}')", label) for name, k, label in CASE_KEYS)]

    def __init__(self, desk_screen: DeskScreen, case_id: str) -> None:
        super().__init__()
        self.desk_screen, self.case_id = desk_screen, case_id

    def compose(self) -> ComposeResult:
        with Vertical(id="desk-case"):
            yield Static(id="desk-case-head")
            with VerticalScroll(id="desk-case-timeline"):
                yield Static(id="desk-case-events")

    def on_mount(self) -> None:
        self.query_one("#desk-case").border_title = f"case {self.case_id}"
        self.query_one("#desk-case").border_subtitle = "esc: close"
        self.desk_screen.changed.subscribe(self, self._changed)
        self.reload()

    def _changed(self, changes: Changes) -> None:
        if not changes or self.case_id in changes.cases:
            self.reload()

    def reload(self) -> None:
        desk = self.desk_screen.desk
        if desk is None:
            return
        now = desk.minute()
        with desk.lock:
            view = desk.model.cases.get(self.case_id)
            if view is None:
                return
            zone = view.book.zone
            inc = view.incident
            head = Text()
            head.append(f"{inc.id}  {inc.tier.value}  {inc.customer}  {inc.kind}", style="bold")
            head.append(f"\nbatch {inc.batch or '-'}  region {inc.region or '-'}  product "
                        f"{inc.product or '-'}  opened "
                        f"{local_text(inc.opened_at, zone, date=True)}")
            head.append(f"\n{view.book.name}: state {view.state}, level {view.level}, owner "
                        f"{view.owner or '-'}, version {view.version}"
                        + ("  CLOSED" if view.closed else ""))
            for key, due in sorted(view.case.timers.items(), key=lambda kv: kv[1]):
                head.append(f"\n  {key} due {local_text(instant(due), zone, date=True)}",
                            style="bold red" if due < now else "")
            for owed in view.owed:
                head.append(f"\n  owed: {owed.obligation} ({owed.audience}) by "
                            f"{local_text(instant(owed.due), zone)}: {owed.text}",
                            style="yellow")
            for problem in view.problems:
                head.append(f"\n  {problem}", style="red")
            events = Text()
            for e in desk.model.timeline.of(self.case_id):
                events.append(f"{local_text(e.at, zone, date=True)}  ", style="dim")
                events.append(f"{e.actor}: ", style="bold")
                events.append(f"{e.text}\n")
        self.query_one("#desk-case-head", Static).update(head)
        self.query_one("#desk-case-events", Static).update(events)

    def action_case(self, name: str) -> None:
        self.desk_screen.case_command(name, self.case_id)

    def action_close(self) -> None:
        self.dismiss(None)


class ReviewScreen(ModalScreen[None]):
    """The post-incident review (review.md), scrollable; the files are beside it."""

    DEFAULT_CSS = """
    ReviewScreen {
        align: center middle;
    }
    ReviewScreen > VerticalScroll {
        width: 95%;
        max-width: 130;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    """

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(self.path.read_text(encoding="utf-8"), id="review-text")

    def on_mount(self) -> None:
        scroll = self.query_one(VerticalScroll)
        scroll.border_title = str(self.path)
        scroll.border_subtitle = "esc: close"
        scroll.focus()

    def action_close(self) -> None:
        self.dismiss(None)
