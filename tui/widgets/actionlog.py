"""The action log: every decision the team took or had refused, with its reason."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from simulation.drills.session import Outcome

__all__ = ["ActionLog"]


class ActionLog(RichLog):
    """Outcomes, newest last; a refused action is shown with why, so the team learns the
    rule it ran into rather than wondering whether the key worked."""

    DEFAULT_CSS = """
    ActionLog {
        border: round $secondary;
        border-title-color: $text;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, wrap=True, markup=False, highlight=False, max_lines=2000,
                         min_width=20)
        self.border_title = "Action log"
        self.entries: list[str] = []
        """Every line written, unwrapped (what the log says, whatever its width)."""

    def add(self, outcome: Outcome, when: str, role: str) -> None:
        line = Text(f"{when} ", style="dim")
        line.append(f"{role}: ")
        if outcome.ok:
            line.append("OK ", style="bold green")
        else:
            line.append("REFUSED ", style="bold red")
        line.append(outcome.message)
        self.entries.append(line.plain)
        self.write(line)
