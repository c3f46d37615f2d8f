"""The live coordination desk: what is due next, the queue of cases, the operation, the timeline.

The screen holds no rules: it renders the desk's views (desk/views.py, desk/queues.py) and
runs the services (desk/case/service.py, desk/operation/service.py) from the forms. Every
database call runs in a thread worker and reports back with a message (harlequin's way), so a
slow disk never freezes the screen: opening (the whole log read once), a poll every
`poll` seconds (`PRAGMA data_version`, then what is new: another desk's change shows within a
second), the deadlines the clock has passed (written once, whoever is first), and each action,
one at a time, decided on the version the screen showed. A refusal (a conflict, a closed
case) is shown, and the screen shows what changed. `changed` is the desk's signal: the case
screen subscribes to it instead of being reached into. On a PostgreSQL server the polling
thread goes on through an outage: the status line says OFFLINE (and why) while the server
cannot be reached, actions are refused meanwhile, and once it is back the desk reads what it
missed and says LIVE again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist
from textual.worker import Worker, WorkerState, get_current_worker

from desk.clock import Clock, local_text, system_clock
from desk.desk import Desk
from desk.errors import Conflict
from desk.projection import Changes
from desk.queues import QUEUES, Selection, case_row, select
from desk.views import (
    DEFAULT_ZONE,
    due_rows,
    operation_lines,
    task_rows,
    timeline_rows,
    updates_due,
)
from incidents.store import UnavailableError
from tui.screens.deskcase import DeskCaseScreen
from tui.screens.deskforms import Call, case_form
from tui.screens.deskops import DeskOperationCommands
from tui.screens.forms import ActionForm
from tui.widgets.keyfooter import KeyFooter

__all__ = ["DeskScreen", "DESK_COMMANDS"]

DESK_COMMANDS = (
    ("ack", "a", "Ack", "Acknowledge the selected case"),
    ("fire", "f", "Step", "Fire a playbook step on the selected case"),
    ("assign", "g", "Assign", "Give the selected case to someone"),
    ("escalate", "e", "Escalate", "Escalate the selected case"),
    ("send", "m", "Msg", "Send a message the selected case owes"),
    ("note", "n", "Note", "A note on the selected case"),
    ("resolve", "r", "Resolve", "Resolve and close the selected case"),
    ("bulk", "b", "Bulk", "One action over every case of the queue"),
    ("level", "l", "Level", "Declare the emergency level, with a reason"),
    ("role", "h", "Role", "Give a role, or hand it over with a summary"),
    ("task", "t", "Task", "Add a task with an owner and a due time"),
    ("done", "d", "Done", "Mark a task done"),
    ("update", "u", "Update", "Send a status update"),
    ("op_note", "N", "Op note", "A note on the operation"),
    ("operation", "o", "Op", "Switch operation, or open one"),
    ("queue", "q", "Queue", "Choose the queue"),
    ("filter", "slash", "Filter", "Narrow the queue: batch=... region=... state=..."),
    ("import", "i", "Import", "Import cases from a CSV file"),
    ("review", "v", "Review", "The post-incident review of the operation"),
    ("drill", "x", "Drill", "Make a drill of the operation, and open it"),
)
"""(command, keys, footer label, description): bindings and the command palette alike."""
MAX_ROWS = 300
"""Cases shown in the queue (the most pressing); the count says how many there are."""
SNAPSHOT_SECONDS = 60.0
"""How often the polling thread offers to save a snapshot (desk.Desk.save_snapshot)."""
COUNTDOWN_SECONDS = 15.0
"""The screen repaints at least this often, for the countdowns, when nothing changed."""


class DeskScreen(DeskOperationCommands, Screen[None]):
    """See the module docstring."""

    BINDINGS = [
        *(Binding(keys, f"command('{name}')", label, tooltip=help_)
          for name, keys, label, help_ in DESK_COMMANDS),
        *(Binding(str(i + 1), f"queue('{name}')", name, show=False)
          for i, name in enumerate(QUEUES)),
        Binding("escape", "leave", "Home", show=False),
    ]

    @dataclass
    class Opened(Message):
        desk: Desk

    @dataclass
    class Failed(Message):
        text: str

    @dataclass
    class Changed(Message):
        changes: Changes

    @dataclass
    class Connection(Message):
        lost: str | None
        """Why the server cannot be reached; None: it is back."""

    @dataclass
    class Outcome(Message):
        text: str
        ok: bool
        title: str = ""

    def __init__(self, db: Path | str, operator: str, *, clock: Clock = system_clock,
                 poll: float = 0.25, tick: float = 1.0, operation: str | None = None,
                 out_dir: Path = Path("muster-out")) -> None:
        super().__init__()
        self.db, self.operator, self.clock = db, operator, clock
        self.poll_seconds, self.tick_every = poll, max(1, round(tick / poll))
        self.snapshot_every = max(1, round(SNAPSHOT_SECONDS / poll))
        self.out_dir = out_dir
        self.desk: Desk | None = None
        self.operation = operation
        self.selection = Selection(operation=operation)
        self.changed: Signal[Changes] = Signal(self, "desk-changed")
        self._stop = threading.Event()
        self._writing = threading.Lock()
        self._prompted: set[str] = set()
        self.offline: str | None = None
        """Why the database server cannot be reached now (None: it can)."""

    def compose(self) -> ComposeResult:
        yield Static(Text("opening the desk..."), id="desk-bar")
        with Horizontal(id="desk-main"):
            with Vertical(id="desk-left"):
                yield DataTable(cursor_type="row", id="due-table")
                yield Static(Text(""), id="queue-bar")
                yield DataTable(cursor_type="row", id="cases-table")
            with Vertical(id="desk-right"):
                yield Static(Text(""), id="op-panel")
                yield DataTable(cursor_type="row", id="tasks-table")
                yield DataTable(cursor_type="row", id="timeline-table")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#due-table").border_title = "Due next (breaching first)"
        self.query_one("#tasks-table").border_title = "Tasks"
        self.query_one("#timeline-table").border_title = "Timeline"
        self.query_one("#op-panel").border_title = "Operation"
        for table, columns in (
                ("#due-table", ("due", "left", "what", "case", "tier", "owner")),
                ("#cases-table", ("case", "tier", "customer", "state", "level", "owner",
                                  "next", "left", "batch")),
                ("#tasks-table", ("task", "title", "owner", "due")),
                ("#timeline-table", ("time", "by", "on", "what"))):
            widget = self.query_one(table, DataTable)
            for name in columns:
                widget.add_column(name, key=name)
        self.query_one("#cases-table").focus()
        self.open_worker()

    def on_unmount(self) -> None:
        self._stop.set()
        self.workers.cancel_group(self, "desk-poll")
        if self.desk is not None:
            self.desk.close()
            self.desk = None

    # -- the database, off the UI thread -----------------------------------------------------
    @work(thread=True, exclusive=True, group="desk-open", exit_on_error=False)
    def open_worker(self) -> None:
        try:
            desk = Desk.open(self.db, operator=self.operator, clock=self.clock)
        except ValueError as exc:
            self.post_message(self.Failed(str(exc)))
            return
        self.post_message(self.Opened(desk))

    @on(Opened)
    def _opened(self, message: Opened) -> None:
        self.desk = message.desk
        if self.operation is None and self.desk.model.operations:
            self.operation = next(reversed(self.desk.model.operations))  # the latest
            self.selection = Selection(operation=self.operation)
        self.refresh_views()
        self.poll_worker()
        self.set_interval(COUNTDOWN_SECONDS, self.refresh_views)  # the countdowns move on

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.query_one("#desk-bar", Static).update(Text(message.text, style="bold red"))
        self.notify(message.text, title="The desk cannot open", severity="error", timeout=30,
                    markup=False)

    @work(thread=True, exclusive=True, group="desk-poll", exit_on_error=False)
    def poll_worker(self) -> None:
        """The one thread that watches the database for this screen: every `poll` seconds a
        look for other desks' writes (cheap when there are none), every `tick` seconds the
        deadlines the clock has passed; changes go to the screen as a message."""
        worker = get_current_worker()
        count = 0
        lost: str | None = None
        while not worker.is_cancelled and not self._stop.wait(self.poll_seconds):
            desk = self.desk
            if desk is None:
                return
            count += 1
            try:
                changes = desk.poll()
                if count % self.tick_every == 0 and desk.tick():
                    changes.cases.add("")  # deadlines written (and read back): repaint
                if count % self.snapshot_every == 0:
                    desk.save_snapshot()  # only when many events came since the last
            except UnavailableError as exc:  # the server is away: say so, keep trying
                if lost is None:
                    lost = exc.reason.split("; next try in")[0]
                    self.post_message(self.Connection(lost))
                continue
            except ValueError as exc:  # the store went away (closed, unreadable)
                if not self._stop.is_set():
                    self.post_message(self.Outcome(str(exc), False,
                                                   "The desk lost its database"))
                return
            if lost is not None:  # back, and caught up by the poll that just succeeded
                lost = None
                self.post_message(self.Connection(None))
            if changes:
                self.post_message(self.Changed(changes))

    @on(Connection)
    def _connection(self, message: Connection) -> None:
        self.offline = message.lost
        if message.lost is not None:
            self.notify(f"{message.lost}. Actions are refused until it is back; the desk "
                        "keeps trying.", title="The database server cannot be reached",
                        severity="error", timeout=15, markup=False)
        else:
            self.notify("The desk has read what it missed.", title="Back on the database "
                        "server", timeout=6, markup=False)
        self.refresh_views()

    def run(self, call: Call, title: str) -> None:
        """Run a service call (from a form or a key) in a worker, one at a time."""
        if self.desk is None:
            self.notify("The desk is still opening.", markup=False)
            return
        if self.offline is not None:
            self.notify("Nothing was done: the database server cannot be reached "
                        f"({self.offline}). Try again once the desk says LIVE.",
                        title="Offline", severity="error", timeout=10, markup=False)
            return
        self.action_worker(call, title)

    @work(thread=True, group="desk-write", exit_on_error=False)
    def action_worker(self, call: Call, title: str) -> None:
        desk = self.desk
        if desk is None:
            return
        with self._writing:
            try:
                result = call(desk)
            except Conflict as exc:
                self.post_message(self.Outcome(exc.reason, False, "Changed meanwhile"))
            except UnavailableError as exc:
                self.post_message(self.Outcome(exc.reason, False, "The database server did not "
                                               "confirm" if exc.maybe_written else
                                               "Not done: the database server is away"))
            except ValueError as exc:
                self.post_message(self.Outcome(str(exc).split(": error: ", 1)[-1], False,
                                               "Refused"))
            else:
                self.post_message(self.Outcome(_message(result), True, title))
        self.post_message(self.Changed(Changes()))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.notify(f"{type(event.worker.error).__name__}: {event.worker.error}",
                        title="Unexpected error", severity="error", timeout=30, markup=False)

    @on(Outcome)
    def _outcome(self, message: Outcome) -> None:
        self.notify(message.text, title=message.title or ("Done" if message.ok else "Refused"),
                    severity="information" if message.ok else "error",
                    timeout=5 if message.ok else 10, markup=False)

    @on(Changed)
    def _changed(self, message: Changed) -> None:
        desk = self.desk
        if desk is None:
            return
        for entry in message.changes.entries:  # what others did that matters to everyone
            if entry.actor != self.operator and entry.kind in ("level", "role", "closed",
                                                                "update"):
                self.notify(f"{entry.actor}: {entry.text}", title=f"{entry.subject}",
                            timeout=6, markup=False)
            elif entry.kind == "reminded" and f"({self.operator})" in entry.text:
                self.notify(entry.text, title="Reminder", severity="warning", timeout=10,
                            markup=False)
        self.refresh_views()
        self.changed.publish(message.changes)

    # -- rendering ---------------------------------------------------------------------------
    def refresh_views(self) -> None:
        desk = self.desk
        if desk is None:
            return
        now = desk.minute()
        with desk.lock:
            model = desk.model
            op = model.operations.get(self.operation) if self.operation else None
            zone = op.book.zone if op is not None else DEFAULT_ZONE
            views = select(model, self.selection, me=self.operator, now=now)
            rows = [case_row(v, now) for v in views[:MAX_ROWS]]
            due = due_rows(model, now, operation=self.operation, limit=60)
            panel = operation_lines(model, op.id, now) if op is not None else \
                [("No operation: press o to open one (cases can stand alone).", "dim")]
            tasks = task_rows(model, op.id, now) if op is not None else []
            timeline = timeline_rows(model, operation=self.operation, limit=100)
            problems = len(model.problems)
            prompts = updates_due(model, op.id, now) if op is not None else []
        for key, prompt in prompts:  # status updates prompted when due, once each
            if key not in self._prompted:
                self._prompted.add(key)
                self.notify(prompt, title="Update due", severity="warning", timeout=15,
                            markup=False)
        bar = Text(no_wrap=True, overflow="ellipsis")
        if self.offline is None:
            bar.append(" LIVE ", style="bold black on green")
        else:
            bar.append(" OFFLINE ", style="bold white on red")
            bar.append(f"  reconnecting: {self.offline}", style="bold red")
        bar.append(f"  {local_text(desk.now(), zone, date=True)}", style="bold")
        bar.append(f"  {self.operator}", style="bold")
        bar.append(f"  {desk.where}")
        if op is not None:
            bar.append(f"  {op.id} {op.title}")
            bar.append(f"  level {op.level_label}", style="bold red" if op.level else "")
        if problems:
            bar.append(f"  {problems} unreadable event(s)", style="yellow")
        self.query_one("#desk-bar", Static).update(bar)
        self.query_one("#queue-bar", Static).update(Text(
            f"queue: {self.selection.describe()}: {len(views)} case(s)"
            + (f", the {MAX_ROWS} most pressing shown" if len(views) > MAX_ROWS else "")
            + "   (1-7 queues, / filter, b bulk)", no_wrap=True, overflow="ellipsis"))
        _fill(self.query_one("#cases-table", DataTable),
              [(r.id, (r.id, r.tier, r.customer, r.state, r.level, r.owner, r.next, r.left,
                       r.batch), r.urgency) for r in rows])
        _fill(self.query_one("#due-table", DataTable),
              [(d.key, (d.due, d.left, d.what, d.subject, d.tier, d.owner), d.urgency)
               for d in due])
        _fill(self.query_one("#tasks-table", DataTable),
              [(t[0], t[:3] + (t[3],), t[4]) for t in tasks])
        _fill(self.query_one("#timeline-table", DataTable),
              [(str(i), row, "") for i, row in enumerate(timeline)])
        text = Text()
        for i, (line, style) in enumerate(panel):
            text.append(("\n" if i else "") + line, style=style)
        self.query_one("#op-panel", Static).update(text)

    # -- commands ----------------------------------------------------------------------------
    def selected_case(self) -> str | None:
        table = self.query_one("#cases-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def action_command(self, name: str) -> None:
        getattr(self, f"command_{name}")()

    def case_command(self, name: str, case_id: str | None = None) -> None:
        """An action on one case: the selected one, or `case_id` (from the case screen)."""
        desk = self.desk
        case_id = case_id or self.selected_case()
        if desk is None or case_id is None:
            self.notify("Select a case first.", markup=False)
            return
        from desk.case import service as cases
        from tui.screens.deskforms import key
        with desk.lock:
            view = desk.model.cases.get(case_id)
            if view is None:
                return
            version = view.version
            form = None if name == "ack" else case_form(name, view, self.operator)
        if name == "ack":
            k = key("ack")
            self.run(lambda d: cases.ack(d, case_id, expected=version, key=k), "Acknowledged")
            return
        if form is None:
            self.notify(f"Nothing to {name} on case {case_id}.", markup=False)
            return
        self._form(form, name)

    def _form(self, form: ActionForm, title: str) -> None:
        def submitted(call: Any) -> None:
            if call is not None:
                self.run(call, title)
        self.app.push_screen(form, submitted)

    def command_ack(self) -> None:
        self.case_command("ack")

    def command_fire(self) -> None:
        self.case_command("fire")

    def command_assign(self) -> None:
        self.case_command("assign")

    def command_escalate(self) -> None:
        self.case_command("escalate")

    def command_send(self) -> None:
        self.case_command("send")

    def command_note(self) -> None:
        self.case_command("note")

    def command_resolve(self) -> None:
        self.case_command("resolve")

    def action_leave(self) -> None:
        self.app.pop_screen()

    @on(DataTable.RowSelected, "#cases-table")
    def _case_chosen(self, event: DataTable.RowSelected) -> None:
        if self.desk is not None and event.row_key.value is not None:
            self.app.push_screen(DeskCaseScreen(self, str(event.row_key.value)))

    @on(DataTable.RowSelected, "#due-table")
    def _due_chosen(self, event: DataTable.RowSelected) -> None:
        subject = str(event.row_key.value or "").split(":")[1]
        if self.desk is not None and subject in self.desk.model.cases:
            self.app.push_screen(DeskCaseScreen(self, subject))

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [(f"{help_} ({keys.split(',')[0]})", f"key {keys}",
                 lambda name=name: self.action_command(name))
                for name, keys, _, help_ in DESK_COMMANDS]


_STYLE = {"late": "bold white on red", "urgent": "bold red", "soon": "yellow", "": ""}


def _fill(table: DataTable[Any], rows: list[tuple[str, tuple[str, ...], str]]) -> None:
    """Replace the table's rows, keeping the cursor on the same key; every cell plain text
    (user text is never read as markup). Rows equal to those shown are left alone: a
    repaint of a table is the costliest thing the screen does."""
    if getattr(table, "_desk_rows", None) == rows:
        return
    table._desk_rows = rows  # type: ignore[attr-defined]
    keep = None
    if table.row_count:
        keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    table.clear()
    for key, cells, urgency in rows:
        style = _STYLE[urgency]
        table.add_row(*(Text(str(c), style=style if i < 2 else "", no_wrap=True,
                             overflow="ellipsis") for i, c in enumerate(cells)), key=key)
    if keep is not None:
        try:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        except RowDoesNotExist:  # the row is gone: the cursor stays where it was
            pass


def _message(result: Any) -> str:
    return str(getattr(result, "message", result))
