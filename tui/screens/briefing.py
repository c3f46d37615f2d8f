"""The briefing: the drill's situation, roles, objectives; the team's name, seed and role."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from incidents.errors import IncidentsError
from incidents.store import EventStore
from simulation.drills.catalog import DrillInfo
from simulation.drills.record import start_record
from simulation.drills.screenviews import duration_text, join_cjk_lines
from simulation.drills.session import DrillSession
from simulation.errors import SimulationError
from simulation.scenario.drill import Drill
from simulation.scenario.loader import LoadedScenario, load_scenario
from tui.messages import DrillStarted
from tui.widgets.keyfooter import KeyFooter

__all__ = ["BriefingScreen", "briefing_markdown"]


def briefing_markdown(drill: Drill, info: DrillInfo) -> str:
    """The briefing as the team reads it before starting."""
    lines = [f"# {drill.title}", "", f"*{info.name}*: {duration_text(info.length_minutes)} "
             f"simulated at {drill.speed:g}x, about {info.playing_minutes:.0f} minutes of play; "
             f"{len(drill.injects)} injects (+{len(drill.contingency)} contingency).", "",
             "## Briefing", "", join_cjk_lines(drill.briefing.strip()), "", "## Roles", ""]
    lines += [f"- **{r.title}** (`{key}`): {r.description}" for key, r in drill.roles.items()]
    if drill.participants:
        lines += ["", "## Participants", ""]
        lines += [f"- {p.name}: {drill.roles[p.role].title if p.role in drill.roles else p.role}"
                  for p in drill.participants]
    if drill.objectives:
        lines += ["", "## Objectives", ""]
        lines += [f"- **{key} {o.title}**: {o.description}"
                  + (f" *({o.capability})*" if o.capability else "")
                  for key, o in drill.objectives.items()]
    return "\n".join(lines) + "\n"


class BriefingScreen(Screen[None]):
    """Read the briefing, then Start: the record is created and the drill begins."""

    BINDINGS = [Binding("escape", "back", "Back"),
                Binding("ctrl+s", "start", "Start", priority=True)]

    def __init__(self, info: DrillInfo, store_path: Path) -> None:
        super().__init__()
        self.info, self.store_path = info, store_path
        self.loaded: LoadedScenario = load_scenario(info.path)
        drill = self.loaded.scenario.drill
        assert drill is not None, "the catalog lists drills only"
        self.drill: Drill = drill

    def compose(self) -> ComposeResult:
        with Horizontal(id="briefing"):
            with VerticalScroll(id="briefing-text"):
                yield Markdown(briefing_markdown(self.drill, self.info))
            with Vertical(id="briefing-form"):
                yield Label("Team name (optional)")
                yield Input(placeholder=self.drill.team or "team", id="team")
                yield Label("Seed (same seed, same surge)")
                yield Input(value="1", type="integer", id="seed")
                yield Label("Your role (w switches it during play)")
                yield OptionList(*(Option(Text(f"{r.title}  ({key})"), id=key)
                                   for key, r in self.drill.roles.items()), id="role")
                yield Static(f"Recorded in {self.store_path}", id="briefing-store")
                with Horizontal(id="briefing-buttons"):
                    yield Button("Start (enter)", variant="success", id="start")
                    yield Button("Back (esc)", id="back")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#briefing-text").border_title = "Briefing"
        self.query_one("#briefing-form").border_title = "Your team"
        self.query_one("#role", OptionList).highlighted = 0
        self.query_one("#start").focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        self.focus_next()

    @on(OptionList.OptionSelected, "#role")
    def _role(self) -> None:
        self.query_one("#start").focus()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_start(self) -> None:
        """Create the record and the session; the app shows the drill screen."""
        seed_text = self.query_one("#seed", Input).value.strip() or "1"
        try:
            seed = int(seed_text)
        except ValueError:
            self.notify(f"the seed is a whole number, not {seed_text!r}", severity="error")
            return
        if seed < 0:
            self.notify("the seed is a whole number >= 0", severity="error")
            return
        roles = list(self.drill.roles)
        index = self.query_one("#role", OptionList).highlighted
        role = roles[index if index is not None else 0]
        team = self.query_one("#team", Input).value.strip()
        try:
            self.store_path.parent.mkdir(parents=True, exist_ok=True)
            store = EventStore.open(self.store_path)
        except (OSError, IncidentsError) as exc:
            self.notify(f"cannot open the record store {self.store_path}: {exc}",
                        severity="error", timeout=15)
            return
        try:
            recorder = start_record(store, self.loaded, seed, team=team,
                                    speed=self.drill.speed)
            session = DrillSession(self.loaded, seed, role=role, recorder=recorder)
        except (IncidentsError, SimulationError) as exc:
            store.close()
            self.notify(str(exc), severity="error", timeout=15)
            return
        self.post_message(DrillStarted(session, recorder, store))
