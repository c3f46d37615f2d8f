"""An inject read in full: who sent it, how, to whom, and its message."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from simulation.drills.screenviews import InjectRow

__all__ = ["InjectScreen"]


class InjectScreen(ModalScreen[bool]):
    """The inject's message; dismissed with True when the team acknowledges it (`a`)."""

    DEFAULT_CSS = """
    InjectScreen {
        align: center middle;
    }
    InjectScreen > #inject {
        width: 90;
        max-width: 100%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    InjectScreen .inject-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    InjectScreen .inject-buttons Button {
        margin-left: 1;
    }
    """

    BINDINGS = [Binding("a", "acknowledge", "Acknowledge"), Binding("escape", "close", "Close")]

    def __init__(self, row: InjectRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        r = self.row
        text = Text()
        text.append(f"{r.id}  {r.subject}\n", style="bold")
        text.append(f"{r.when}  {r.method}{' (fired by hand)' if r.by_hand else ''}  from "
                    f"{r.sender or '-'}  to {r.to}\n\n", style="dim")
        text.append(r.message or "(no message)")
        text.append("\n\nacknowledged" if r.acknowledged else "\n\nnot acknowledged yet",
                    style="green" if r.acknowledged else "bold yellow")
        with Vertical(id="inject"):
            yield Static(text)
            with Horizontal(classes="inject-buttons"):
                if not r.acknowledged:
                    yield Button("Acknowledge (a)", variant="warning", id="inject-ack")
                yield Button("Close (esc)", id="inject-close")

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    @on(Button.Pressed, "#inject-ack")
    def _ack(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#inject-close")
    def _close(self) -> None:
        self.dismiss(False)

    def action_acknowledge(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)
