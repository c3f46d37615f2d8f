"""The inject feed: the MSEL messages that reached the team, new ones highlighted."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable

from simulation.drills.screenviews import InjectRow

__all__ = ["InjectFeed"]

COLUMNS = (("when", 9), ("id", 3), ("subject", None), ("to", 12), ("from", 14),
           ("method", 12))
"""(name, width) in the order shown: the subject right after the id, so a narrow feed
(fit) drops who sent it and how, never what it says. None: as wide as its text."""


class InjectFeed(Vertical):
    """Fired injects, newest first; unacknowledged ones bold on yellow until the team
    acknowledges them (`a`). Enter on a row opens the inject's full message."""

    DEFAULT_CSS = """
    InjectFeed {
        border: round $secondary;
        height: 1fr;
    }
    InjectFeed > DataTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    """

    @dataclass
    class Chosen(Message):
        """The team opened an inject (Enter on its row)."""

        inject: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Injects (a: acknowledge, enter: read)"
        self._shown: dict[str, InjectRow] = {}
        self.columns: tuple[tuple[str, int | None], ...] = ()

    def compose(self):  # type: ignore[no-untyped-def]
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=False,
                                                id="inject-table")
        yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name, width in COLUMNS:
            table.add_column(name, width=width, key=name)
        self.columns = COLUMNS

    def fit(self, narrow: bool) -> None:
        """A narrow feed shows when, id and subject only (enter reads the rest)."""
        columns = COLUMNS[:3] if narrow else COLUMNS
        if columns == self.columns:
            return
        self.columns = columns
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for name, width in columns:
            table.add_column(name, width=width, key=name)
        shown, self._shown = self._shown, {}
        self.sync(sorted(shown.values(), key=lambda r: (-r.at, r.id)))

    @property
    def highlighted(self) -> str | None:
        """The inject under the cursor, if the feed has any."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @property
    def table_has_focus(self) -> bool:
        return self.query_one(DataTable).has_focus

    def sync(self, rows: list[InjectRow]) -> list[InjectRow]:
        """Show these rows; returns the ones that are new since the last call."""
        table = self.query_one(DataTable)
        new = [r for r in rows if r.id not in self._shown]
        changed = [r for r in rows if r.id in self._shown and self._shown[r.id] != r]
        if not new and not changed:
            return []
        with self.app.batch_update():
            for r in changed:
                for (name, _), value in zip(self.columns, self._cells(r), strict=False):
                    table.update_cell(r.id, name, value)
            for r in new:
                table.add_row(*self._cells(r)[:len(self.columns)], key=r.id)
            if new:
                order = {r.id: i for i, r in enumerate(rows)}
                table.sort("id", key=lambda cell: order[str(cell)])
                table.move_cursor(row=0)
        self._shown.update({r.id: r for r in rows})
        return new

    @staticmethod
    def _cells(r: InjectRow) -> tuple[Text, ...]:
        style = "" if r.acknowledged else "bold black on yellow"
        subject = ("" if r.acknowledged else "NEW ") + r.subject
        return (Text(r.when, style=style), Text(r.id, style=style), Text(subject, style=style),
                Text(r.to, style=style), Text(r.sender, style=style),
                Text(r.method + (" (hand)" if r.by_hand else ""), style=style))

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(str(event.row_key.value)))
