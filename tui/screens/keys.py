"""The key overlay (`?`): every key of the screen beneath, whatever the footer had room for.

A narrow terminal's footer shows the first keys only; this overlay lists them all, with what
each does, and Enter runs the one chosen, so every action stays one look away at any size
(the command palette, ctrl+p, finds them by name too).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

__all__ = ["KeysScreen", "screen_keys"]


def screen_keys(screen: Screen[object]) -> list[tuple[str, str, str]]:
    """(key, what it does, action) of every binding the screen offers now, in its order."""
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for key, active in screen.active_bindings.items():
        b = active.binding
        if not active.enabled or b.action in seen or b.action.startswith("app."):
            continue
        if active.node is not screen:
            continue
        seen.add(b.action)
        keys = [k for k in (b.key.split(",") if "," in b.key else [key])]
        shown = ", ".join(screen.app.get_key_display(Binding(k, b.action)) for k in keys)
        out.append((shown, b.tooltip or b.description or b.action, b.action))
    return out


class KeysScreen(ModalScreen[None]):
    """The keys of the screen beneath (escape closes; enter runs the highlighted one)."""

    DEFAULT_CSS = """
    KeysScreen {
        align: center middle;
    }
    KeysScreen > Vertical {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    KeysScreen OptionList {
        height: auto;
        max-height: 1fr;
    }
    """

    BINDINGS = [Binding("escape,question_mark", "close", "Close")]

    def __init__(self, beneath: Screen[object]) -> None:
        super().__init__()
        self.beneath = beneath
        self.keys = screen_keys(beneath)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Keys (enter runs one; ctrl+p finds any command by name)",
                              style="bold"))
            width = max((len(k) for k, _, _ in self.keys), default=4)
            yield OptionList(*(Option(Text(f"{k:<{width}}  {what}"), id=str(i))
                               for i, (k, what, _) in enumerate(self.keys)), id="keys")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _run(self, event: OptionList.OptionSelected) -> None:
        action = self.keys[int(str(event.option.id))][2]
        self.dismiss(None)
        self.app.call_later(self.beneath.run_action, action)

    def action_close(self) -> None:
        self.dismiss(None)
