"""Communications owed by the team: to whom, when due, late ones marked."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from simulation.drills.screenviews import countdown
from simulation.drills.views import CommRow

__all__ = ["CommsPanel"]


class CommsPanel(Static):
    """The messages the emergency level made owed (views.communications); `m` sends one.
    Repainted when a figure changed; laid out again only when its number of lines did."""

    DEFAULT_CSS = """
    CommsPanel {
        border: round $secondary;
        height: auto;
        min-height: 3;
        max-height: 9;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Communications due (m: send)"
        self._shown: Any = None
        self._lines = -1

    def show(self, rows: list[CommRow], now: float) -> None:
        cells = []
        for r in rows:
            left, urgency = countdown(r.due, now)
            cells.append((r.obligation, r.audience, left, urgency))
        key = tuple(cells)
        if key == self._shown:
            return
        self._shown = key
        lines = len(cells) + 1 if cells else 1
        relayout, self._lines = lines != self._lines, lines
        if not cells:
            self.update(Text("nothing owed now", style="dim"), layout=relayout)
            return
        table = Table(box=None, padding=(0, 1), expand=True, show_edge=False)
        table.add_column("message", ratio=1, overflow="ellipsis", no_wrap=True,
                         header_style="bold")
        table.add_column("to", no_wrap=True, header_style="bold")
        table.add_column("due", justify="right", no_wrap=True, header_style="bold")
        for name, audience, left, urgency in cells:
            due = Text("LATE " + left[1:], style="bold red") if urgency == "late" else \
                Text("in " + left, style="red" if urgency == "urgent" else
                     "yellow" if urgency == "soon" else "")
            table.add_row(name, audience, due)
        self.update(table, layout=relayout)
