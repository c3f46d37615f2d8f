"""The emergency level panel: declared level, the autopilot's recommendation, the unlocks."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

__all__ = ["LevelPanel"]

STATE_STYLE = {"active": "bold green", "coming": "green", "allowed": "cyan", "locked": "dim"}


class LevelPanel(Static):
    """Shows what session.level() says; the recommendation is shown, never applied."""

    DEFAULT_CSS = """
    LevelPanel {
        border: round $secondary;
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Emergency level"
        self._shown: Any = None
        self.compact = False
        """A short terminal: locked unlocks are counted, not listed (u lists them all)."""

    def show(self, declared: str, recommended: str, since: str,
             unlocks: list[dict[str, Any]]) -> None:
        key = (declared, recommended, since, tuple(tuple(u.items()) for u in unlocks),
               self.compact)
        if key == self._shown:
            return
        self._shown = key
        head = Text(overflow="fold")
        head.append("declared    ")
        head.append(declared, style="bold")
        head.append(f"  {since}\n", style="dim")
        head.append("recommended ")
        differs = recommended != declared
        head.append(recommended, style="bold yellow" if differs else "bold")
        if differs:
            head.append("  (shown, never applied)", style="dim")
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True, min_width=7)
        table.add_column(ratio=1, overflow="fold")  # long names wrap, never cut to a stub
        shown = [u for u in unlocks if not self.compact or u["state"] != "locked"]
        for u in shown:
            table.add_row(Text(u["state"], style=STATE_STYLE.get(u["state"], "")),
                          f"{u['unlock']}: {u['name']}")
        if len(shown) < len(unlocks):
            table.add_row(Text("locked", style="dim"),
                          Text(f"{len(unlocks) - len(shown)} more (u lists them)", style="dim"))
        self.update(Group(head, table))
