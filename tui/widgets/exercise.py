"""The exercise staff's panels: the controller's MSEL, the evaluators' EEG (seatviews.py)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable

from simulation.drills.seatviews import EegRow, MselRow

__all__ = ["MselPanel", "EegPanel"]

RATING_STYLE = {"P": "bold green", "S": "yellow", "M": "bold dark_orange", "U": "bold red"}


class _Rows(Vertical):
    """A keyed table repainted only when its rows changed; the cursor row is kept."""

    DEFAULT_CSS = """
    _Rows {
        border: round $secondary;
        height: 1fr;
    }
    _Rows > DataTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    """
    COLUMNS: tuple[tuple[str, int | None], ...] = ()

    @dataclass
    class Chosen(Message):
        """Enter on a row."""

        key: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[object, ...] = ()

    def compose(self):  # type: ignore[no-untyped-def]
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name, width in self.COLUMNS:
            table.add_column(name, width=width, key=name)

    @property
    def highlighted(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _fill(self, rows: list[tuple[str, tuple[Text | str, ...]]], shown: tuple[object, ...]
              ) -> None:
        if shown == self._shown:
            return
        self._shown = shown
        table = self.query_one(DataTable)
        held = table.cursor_row
        with self.app.batch_update():
            table.clear()
            for key, cells in rows:
                table.add_row(*cells, key=key)
            if table.row_count:
                table.move_cursor(row=min(held, table.row_count - 1), scroll=False)

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(str(event.row_key.value)))


class MselPanel(_Rows):
    """The master scenario events list with each row's state (the controller's seat)."""

    COLUMNS = (("time", 11), ("id", 4), ("state", 14), ("subject", None), ("to", None))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "MSEL (enter: fire a contingency inject / read; i: ad-hoc inject)"

    def show(self, rows: list[MselRow]) -> None:
        out = []
        for r in rows:
            style = "dim" if r.fired else "bold" if r.contingency else ""
            out.append((r.id, (Text(r.when, style=style), Text(r.id, style=style),
                               Text(r.state, style=style), Text(r.subject, style=style),
                               Text(r.to, style=style))))
        self._fill(out, tuple(rows))


class EegPanel(_Rows):
    """Each critical task with its exercise evaluation guide (the evaluators' seat)."""

    COLUMNS = (("task", 7), ("rating", 6), ("due", 24), ("task / expected", None),
               ("objective", None))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Critical tasks (enter: rate P/S/M/U; b: observation)"

    def show(self, rows: list[EegRow]) -> None:
        out = []
        for r in rows:
            rating = Text(r.rating or "-", style=RATING_STYLE.get(r.rating, "dim"))
            out.append((r.task, (r.task, rating, r.due, f"{r.text}: {r.expected}",
                                 r.objective)))
        self._fill(out, tuple(rows))
