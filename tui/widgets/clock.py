"""The drill clock bar: simulated date and time, speed, running or paused, what comes next."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

__all__ = ["ClockBar"]


class ClockBar(Widget):
    """One line at the top of the drill screen. The screen sets its reactive fields after
    each tick; the bar repaints only when one of them changed."""

    DEFAULT_CSS = """
    ClockBar {
        height: auto;
        max-height: 2;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    stamp: reactive[str] = reactive("")
    """The simulated date and time."""
    elapsed: reactive[str] = reactive("")
    speed: reactive[float] = reactive(60.0)
    paused: reactive[bool] = reactive(True)
    behind: reactive[float] = reactive(0.0)
    """Simulated minutes the model is behind the clock (0 when it keeps up)."""
    kept: reactive[float] = reactive(0.0)
    """The speed the model kept when it falls short of the chosen one (0: it keeps up)."""
    held: reactive[bool] = reactive(False)
    """Paused because a form is open (it runs again when the form closes)."""
    jumping: reactive[bool] = reactive(False)
    next_inject: reactive[str] = reactive("")
    role: reactive[str] = reactive("")
    title: reactive[str] = reactive("")

    def render(self) -> Text:
        text = Text(overflow="fold")
        if self.jumping:
            text.append(" >> JUMPING ", style="bold black on cyan")
        elif self.held:
            text.append(" PAUSED (form open) ", style="bold black on yellow")
        elif self.paused:
            text.append(" PAUSED ", style="bold black on yellow")
        else:
            text.append(" RUNNING ", style="bold black on green")
        text.append(f"  {self.stamp}", style="bold")
        text.append(f"  {self.elapsed}")
        text.append(f"  speed {self.speed:g}x")
        if self.kept:
            text.append(f"  LAG: the model keeps {self.kept:.0f}x", style="bold white on red")
        if self.behind >= 1.0:
            text.append(f"  behind {self.behind:.0f} min", style="bold red")
        if self.next_inject:
            text.append(f"  next inject {self.next_inject}")
        text.append("  acting as ")
        text.append(self.role, style="bold")
        text.append(f"  {self.title}", style="dim")
        return text
