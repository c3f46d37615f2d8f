"""The case screen: one incident's timeline and the decisions allowed on it now."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from simulation.drills.screenviews import countdown, sim_time_at
from simulation.drills.session import DrillSession
from simulation.drills.views import allowed_actions, case_row, timeline

__all__ = ["CaseScreen", "CASE_ACTIONS"]

CASE_ACTIONS = (("escalate", "e", "Escalate"), ("deescalate", "x", "De-escalate"),
                ("move_case", "v", "Move to a pool"), ("prioritise", "f", "Prioritise"))
"""(action kind, key, button label) of the decisions taken on one case."""


class CaseScreen(ModalScreen[None]):
    """A modal over the drill screen. The actions it offers are those views.allowed_actions
    allows now; choosing one asks the drill screen (`request`) for the action's form, so
    every decision still goes through the one place that calls `session.act`."""

    DEFAULT_CSS = """
    CaseScreen {
        align: center middle;
    }
    CaseScreen > #case {
        width: 100;
        max-width: 100%;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    CaseScreen #case-head {
        height: auto;
        margin-bottom: 1;
    }
    CaseScreen #case-timeline {
        height: 1fr;
        border: round $secondary;
    }
    CaseScreen #case-actions {
        height: auto;
        margin-top: 1;
    }
    CaseScreen #case-actions Button {
        margin-right: 1;
    }
    """

    BINDINGS = [Binding("escape", "close", "Close"),
                *(Binding(key, f"case_action('{kind}')", label) for kind, key, label
                  in CASE_ACTIONS)]

    def __init__(self, session: DrillSession, case: int,
                 request: Callable[[str, int], None]) -> None:
        super().__init__()
        self.session, self.case, self.request = session, case, request
        self._allowed: list[str] = []
        self.shown: list[tuple[float, str]] = []
        """The timeline as last shown (oldest first)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="case"):
            yield Static(id="case-head")
            with VerticalScroll(id="case-timeline"):
                yield Static(id="case-events")
            with Horizontal(id="case-actions"):
                for kind, key, label in CASE_ACTIONS:
                    yield Button(f"{label} ({key})", id=f"case-{kind}")
                yield Button("Close (esc)", id="case-close")

    def on_mount(self) -> None:
        self.query_one("#case-timeline").border_title = "Timeline"
        self.reload()
        signal = getattr(self.app, "case_changed", None)
        if signal is not None:
            signal.subscribe(self, self._changed)

    def _changed(self, cases: set[int] | None) -> None:
        """The drill screen published a change: reload if it may touch this case."""
        if cases is None or self.case in cases:
            self.reload()

    def reload(self) -> None:
        """Show the case as it stands now (the drill screen calls this when it changed)."""
        session, cid = self.session, self.case
        row = case_row(session, cid)
        self._allowed = allowed_actions(session, cid)
        head = Text()
        head.append(f"Case {cid}", style="bold")
        if row is None:
            head.append("  closed (no decisions left to take on it)", style="dim")
        else:
            left, urgency = countdown(row.deadline, session.now)
            head.append(f"  {row.tier}  {row.kind}  state {row.state}  level {row.level}\n")
            who = [f"customer {row.customer or '(not named)'}"]
            who += [f"{name} {value}" for name, value in (("product", row.product),
                                                          ("batch", row.batch),
                                                          ("SKU", row.sku),
                                                          ("region", row.region)) if value]
            head.append("  ".join(who) + "\n", style="bold" if row.customer else "")
            opened = sim_time_at(session, row.opened)
            head.append(f"pool {row.pool or '-'}  opened {opened:%a %H:%M}  next deadline "
                        f"{row.deadline_key or '-'} ")
            head.append(left or "-", style={"late": "bold red", "urgent": "red",
                                            "soon": "yellow"}.get(urgency, ""))
            if row.boosted:
                head.append("  moved forward by the team", style="bold cyan")
        self.query_one("#case-head", Static).update(head)
        events = Table.grid(padding=(0, 2))
        events.add_column(no_wrap=True, style="dim")
        events.add_column(ratio=1)
        self.shown = timeline(session, cid)
        for minute, text in self.shown:
            events.add_row(f"{sim_time_at(session, minute):%a %H:%M}", text)
        self.query_one("#case-events", Static).update(events)
        for kind, _, _ in CASE_ACTIONS:
            self.query_one(f"#case-{kind}", Button).display = kind in self._allowed

    def action_case_action(self, kind: str) -> None:
        """Ask for the action's form; one not allowed now is left to the session to refuse,
        with its reason, like any other decision."""
        self.request(kind, self.case)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        name = str(event.button.id).removeprefix("case-")
        if name == "close":
            self.dismiss(None)
        else:
            self.action_case_action(name)

    def action_close(self) -> None:
        self.dismiss(None)
