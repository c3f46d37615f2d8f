"""The home screen: start a drill, past drills, the training record, simulation reports,
playbooks, help."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Markdown, Static, TabbedContent, TabPane

from incidents.errors import IncidentsError
from incidents.store import EventStore
from simulation.drills.catalog import DrillInfo
from simulation.drills.screenviews import (
    PastDrill,
    PlaybookRow,
    ReportInfo,
    duration_text,
    join_cjk_lines,
    past_drills,
    playbook_overview,
    reports,
)
from simulation.drills.training import TrainingRow, cadence_warnings, training_record, trends
from tui.messages import OpenBriefing, OpenDesk
from tui.screens.help import HELP_TEXT
from tui.screens.records import PastDrillScreen, ReportScreen
from tui.widgets.keyfooter import KeyFooter

__all__ = ["HomeScreen"]

TABS = (("s", "start", "Start a drill"), ("p", "past", "Past drills"),
        ("t", "training", "Training record"), ("r", "reports", "Reports"),
        ("l", "playbooks", "Playbooks"), ("h", "help", "Help"))
"""(key, tab id, title) of the home screen's tabs."""


class HomeScreen(Screen[None]):
    """Tabs, each a keyboard-driven table; Enter opens the row under the cursor."""

    BINDINGS = [Binding("question_mark", "keys", "Keys", tooltip="Every key, runnable"),
                *(Binding(key, f"tab('{tab}')", title.split()[0], tooltip=title)
                  for key, tab, title in TABS),
                Binding("v", "live_desk", "Live desk"),
                Binding("ctrl+q", "app.quit", "Quit")]

    def __init__(self, store_path: Path, out_dir: Path,
                 drills: Callable[[], Sequence[DrillInfo]]) -> None:
        super().__init__()
        self.store_path, self.out_dir, self.list_drills = store_path, out_dir, drills
        self.drills: list[DrillInfo] = []
        self.past: list[PastDrill] = []
        self.found_reports: list[ReportInfo] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="start", id="home-tabs"):
            with TabPane("Start a drill (s)", id="start"):
                with Vertical():
                    yield DataTable(cursor_type="row", id="drills-table")
                    with VerticalScroll(id="drill-preview"):
                        yield Markdown(id="drill-briefing")
            with TabPane("Past drills (p)", id="past"):
                yield DataTable(cursor_type="row", id="past-table")
                yield Static(id="past-note", classes="home-note")
            with TabPane("Training record (t)", id="training"):
                yield DataTable(cursor_type="row", id="training-table")
                yield Static(id="training-note", classes="home-note")
            with TabPane("Reports (r)", id="reports"):
                yield DataTable(cursor_type="row", id="reports-table")
                yield Static(id="reports-note", classes="home-note")
            with TabPane("Playbooks (l)", id="playbooks"):
                yield DataTable(cursor_type="row", id="playbooks-table")
                yield Static("levels: escalation levels / emergency levels; "
                             "`muster playbook show NAME` shows one", classes="home-note")
            with TabPane("Help (h)", id="help"):
                # Filled when first shown: the guide is 89 Markdown widgets, more than the rest
                # of the screen (65), which every start would otherwise build for nothing.
                yield VerticalScroll(id="help-scroll")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Muster"
        self.sub_title = "emergency-response drills for service operations"
        self.query_one("#drill-preview").border_title = "Briefing"
        drills = self.query_one("#drills-table", DataTable)
        # Short columns first, the long title last: a narrow terminal cuts the title, never
        # the figures (the briefing below shows the title in full).
        for name in ("drill", "simulated", "speed", "playing time", "injects", "title"):
            drills.add_column(name, key=name)
        self.drills = list(self.list_drills())
        for d in self.drills:
            drills.add_row(d.name, duration_text(d.length_minutes), f"{d.speed:g}x",
                           f"about {d.playing_minutes:.0f} min",
                           f"{d.injects} (+{d.contingency})", d.title, key=d.name)
        if self.drills:
            self._preview(self.drills[0])
        table = self.query_one("#past-table", DataTable)
        for name in ("started", "id", "state", "score", "parts", "team", "seed", "events",
                     "drill"):
            table.add_column(name, key=name)
        table = self.query_one("#training-table", DataTable)
        for name in ("date", "score", "team", "record", "drill"):
            table.add_column(name, key=name)
        table = self.query_one("#reports-table", DataTable)
        for name in ("written", "kind", "report", "file"):
            table.add_column(name, key=name)
        table = self.query_one("#playbooks-table", DataTable)
        for name in ("name", "title", "states", "levels", "check"):
            table.add_column(name, key=name)
        drills.focus()
        self.load_lists()

    # -- lists read from disk (store, reports, playbooks): in a thread, off the UI ------------
    @work(thread=True, exclusive=True, group="home-lists")
    def load_lists(self) -> None:
        try:
            past: list[PastDrill] | str = past_drills(self.store_path)
        except IncidentsError as exc:  # a damaged or foreign store: say so, list nothing
            past = str(exc)
        training: list[TrainingRow] | str = []
        if self.store_path.exists() and not isinstance(past, str):
            try:
                with EventStore.open(self.store_path, create=False, readonly=True) as store:
                    training = training_record(store)
            except IncidentsError as exc:
                training = str(exc)
        found = reports(self.out_dir)
        books = playbook_overview()
        self.app.call_from_thread(self._show_lists, past, found, books)
        self.app.call_from_thread(self._show_training, training)

    def refresh_lists(self) -> None:
        """Read the store and the output folder again (after a drill, say)."""
        self.load_lists()

    def _show_lists(self, past: list[PastDrill] | str, found: list[ReportInfo],
                    books: list[PlaybookRow]) -> None:
        table = self.query_one("#past-table", DataTable)
        table.clear()
        note = self.query_one("#past-note", Static)
        if isinstance(past, str):
            self.past = []
            note.update(Text(past, style="red"))
        else:
            self.past = past
            for d in past:
                state = Text(d.ended, style="green") if d.ended else \
                    Text("interrupted: resumable", style="yellow")
                score = "not reviewed" if d.score is None else f"{d.score:.1f}"
                table.add_row(f"{d.started.astimezone():%Y-%m-%d %H:%M}", d.id[:8], state,
                              score, d.parts_text(), d.team, str(d.seed), str(d.events),
                              d.title or d.scenario, key=d.id)
            note.update(f"{len(past)} drill(s) in {self.store_path}; enter: check the replay "
                        "or resume" if past else f"No drill recorded yet in {self.store_path}.")
        self.found_reports = found
        table = self.query_one("#reports-table", DataTable)
        table.clear()
        for r in found:
            table.add_row(f"{r.modified:%Y-%m-%d %H:%M}", r.kind, r.name, str(r.path),
                          key=str(r.path))
        self.query_one("#reports-note", Static).update(
            f"{len(found)} report(s) under {self.out_dir}; enter: read" if found else
            f"No report under {self.out_dir} yet: `muster simulate` writes a simulation's, "
            "a drill's review its after-action report.")
        table = self.query_one("#playbooks-table", DataTable)
        table.clear()
        for b in books:
            table.add_row(b.name, b.title, b.states, b.levels,
                          Text(b.check, style="green" if b.check == "ok" else
                               "yellow" if b.ok else "red"), key=b.name)

    def _show_training(self, rows: list[TrainingRow] | str) -> None:
        """Each drill's date, drill, team and score; the trend per team; who is behind the
        service standard's cadence."""
        table = self.query_one("#training-table", DataTable)
        table.clear()
        note = self.query_one("#training-note", Static)
        if isinstance(rows, str):
            note.update(Text(rows, style="red"))
            return
        for r in reversed(rows):
            table.add_row(f"{r.started.astimezone():%Y-%m-%d %H:%M}", r.score_label(), r.team,
                          r.id[:8], r.title or r.drill, key=r.id)
        lines = [f"{team}: {' -> '.join(f'{s:.0f}' for _, s in points)}"
                 for team, points in trends(rows).items()]
        warnings = cadence_warnings(rows)
        text = Text("\n".join(["score trend per team:", *lines] if lines else
                               ["No drill played to its end has been scored yet."]))
        for w in warnings:
            text.append("\n" + w, style="yellow")
        note.update(text)

    # -- keyboard ----------------------------------------------------------------------------
    def action_keys(self) -> None:
        """Every key of the home screen (a narrow footer shows the first ones)."""
        from tui.screens.keys import KeysScreen
        self.app.push_screen(KeysScreen(self))

    def action_live_desk(self) -> None:
        """The live coordination desk, on the default database (`muster live`)."""
        self.post_message(OpenDesk())

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self._focus_tab(tab)

    @on(TabbedContent.TabActivated)
    def _activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus_tab(str(event.pane.id))

    def _focus_tab(self, tab: str) -> None:
        if tab == "help":
            scroll = self.query_one("#help-scroll", VerticalScroll)
            if not scroll.children:
                scroll.mount(Markdown(HELP_TEXT))
        target = {"start": "#drills-table", "past": "#past-table",
                  "training": "#training-table",
                  "reports": "#reports-table", "playbooks": "#playbooks-table",
                  "help": "#help-scroll"}[tab]
        self.query_one(target).focus()

    def _preview(self, info: DrillInfo) -> None:
        self.query_one("#drill-briefing", Markdown).update(
            f"## {info.title}\n\n{join_cjk_lines(info.briefing.strip())}\n\n"
            f"*Team: {info.team or '-'}. Enter reads the full briefing and starts the drill.*\n")

    @on(DataTable.RowHighlighted, "#drills-table")
    def _drill_highlighted(self, event: DataTable.RowHighlighted) -> None:
        info = next((d for d in self.drills if d.name == event.row_key.value), None)
        if info is not None:
            self._preview(info)

    @on(DataTable.RowSelected, "#drills-table")
    def _drill_chosen(self, event: DataTable.RowSelected) -> None:
        info = next(d for d in self.drills if d.name == event.row_key.value)
        self.post_message(OpenBriefing(info))

    @on(DataTable.RowSelected, "#past-table")
    def _past_chosen(self, event: DataTable.RowSelected) -> None:
        past = next(d for d in self.past if d.id == event.row_key.value)
        self.app.push_screen(PastDrillScreen(past, self.store_path))

    @on(DataTable.RowSelected, "#reports-table")
    def _report_chosen(self, event: DataTable.RowSelected) -> None:
        self.app.push_screen(ReportScreen(Path(str(event.row_key.value))))
