"""The incident board: open cases, filtered, sorted and paged, updated cell by cell."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import DataTable, Input, Select, Static

from simulation.drills.screenviews import PAGE, BoardModel, countdown
from simulation.drills.views import SORT_KEYS, CaseRow

__all__ = ["Board"]

COLUMNS = (("case", "case", 5), ("tier", "tier", 5), ("customer", "customer", 12),
           ("deadline", "due in", 7), ("state", "state", 14), ("pool", "pool", 17),
           ("milestone", "milestone", 12), ("kind", "kind", 12), ("level", "level", 10))
"""(key, header, width) of each column, in the order shown; fixed widths keep the board
still while it updates (Chinese names take two cells a character; Rich measures them)."""
PRIORITY = ("case", "deadline", "tier", "pool", "milestone", "state", "customer", "kind",
            "level")
"""Which columns a narrow board keeps, most needed first: the rest drop, whole, rather than
every name being cut to a stub (the case screen shows everything)."""
SORT_OF = {"case": "case", "tier": "tier", "kind": "kind", "state": "state", "pool": "pool",
           "deadline": "deadline", "milestone": "deadline", "level": "level",
           "customer": "customer"}
"""Which board order a click on a column header asks for."""
URGENCY_STYLE = {"late": "bold white on red", "urgent": "bold red", "soon": "yellow", "": ""}
Cell = tuple[str, str]
"""(text, style): compared before a cell is rewritten."""


class Board(Vertical):
    """One page of the open cases (views via screenviews.BoardModel). Each refresh removes
    rows that left the page, rewrites only the cells whose text changed, adds new rows, and
    re-sorts only when the order changed, all inside one `batch_update`."""

    DEFAULT_CSS = """
    Board {
        border: round $primary;
        height: 1fr;
    }
    Board #board-filters {
        height: 1;
        margin-bottom: 1;
    }
    Board #board-filters Select {
        width: 18;
        margin-right: 1;
    }
    Board #board-filters #board-sort {
        width: 20;
    }
    Board #board-filters Input {
        width: 1fr;
    }
    Board DataTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    Board #board-page {
        height: 1;
        color: $text-muted;
    }
    """

    tier: var[str] = var("")
    kind: var[str] = var("")
    state: var[str] = var("")
    text: var[str] = var("")
    sort: var[str] = var("deadline")
    reverse: var[bool] = var(False)
    offset: var[int] = var(0)

    @dataclass
    class CaseChosen(Message):
        """The team opened a case (Enter on its row)."""

        case: int

    def __init__(self, model: BoardModel, options: dict[str, list[str]], *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.options = options
        self.border_title = "Open incidents (enter: open case)"
        self._page: list[CaseRow] = []
        self.columns: tuple[tuple[str, str, int], ...] = ()
        self._total = 0
        self._stale = True
        self._shown: dict[str, tuple[Cell, ...]] = {}
        self._label = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="board-filters"):
            for name in ("tier", "kind", "state"):
                yield Select([(v, v) for v in self.options[name]], prompt=f"{name}: all",
                             compact=True, id=f"filter-{name}")
            yield Select([(f"sort: {k}", k) for k in SORT_KEYS], value="deadline",
                         allow_blank=False, compact=True, id="board-sort")
            yield Input(placeholder="search customer, tier, product, batch, region... (/)",
                        compact=True, id="filter-text")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="board-table")
        yield Static(id="board-page")

    def on_mount(self) -> None:
        self.fit(200)

    def fit(self, width: int) -> None:
        """Show the columns that fit `width` cells, by PRIORITY; laid out again only when
        the set changes. A narrow board keeps the tier filter and the search (which finds
        kinds and states as well) and drops the kind and state dropdowns."""
        for name in ("kind", "state"):
            self.query_one(f"#filter-{name}", Select).display = width >= 90
        room, keep = width - 4, set()
        for key in PRIORITY:
            need = next(w for k, _, w in COLUMNS if k == key) + 2
            if need <= room:
                keep.add(key)
                room -= need
        columns = tuple(c for c in COLUMNS if c[0] in keep)
        if columns == self.columns:
            return
        self.columns = columns
        table = self.query_one(DataTable)
        held = self.highlighted if table.row_count else None
        table.clear(columns=True)
        for key, label, width in columns:
            table.add_column(label, width=width, key=key)
        self._shown = {}
        if self.is_mounted and self._page:
            self.repaint(moved=False)
            if held is not None and str(held) in self._shown:
                table.move_cursor(row=table.get_row_index(str(held)))

    # -- what the team changes ---------------------------------------------------------------
    @on(Select.Changed, "#filter-tier, #filter-kind, #filter-state")
    def _filter(self, event: Select.Changed) -> None:
        value = "" if event.value is Select.NULL else str(event.value)
        setattr(self, str(event.select.id).removeprefix("filter-"), value)
        self.query_one(DataTable).focus()  # keys go back to the drill, not the dropdown

    @on(Select.Changed, "#board-sort")
    def _sort_chosen(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.sort = str(event.value)
        self.query_one(DataTable).focus()

    @on(Input.Changed, "#filter-text")
    def _search(self, event: Input.Changed) -> None:
        self.text = event.value

    @on(Input.Submitted, "#filter-text")
    def _search_done(self) -> None:
        self.query_one(DataTable).focus()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        wanted = SORT_OF.get(str(event.column_key.value), "deadline")
        if wanted == self.sort:
            self.reverse = not self.reverse
        else:
            self.query_one("#board-sort", Select).value = wanted

    @on(DataTable.RowSelected, "#board-table")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.CaseChosen(int(str(event.row_key.value))))

    def _refilter(self) -> None:
        """A new filter or order: the first page, from its top row."""
        self.offset = 0
        self._stale = True
        if self.is_mounted:
            self.repaint(moved=True)
            self.to_top()

    def to_top(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=0, column=0, animate=False)
        table.scroll_home(animate=False)

    def needs_me(self) -> None:
        """What needs the team now: every filter off, the soonest deadline first, the top
        row selected and the table focused."""
        for name in ("tier", "kind", "state"):
            self.query_one(f"#filter-{name}", Select).clear()
        self.query_one("#filter-text", Input).value = ""
        self.tier = self.kind = self.state = self.text = ""
        self.reverse = False
        self.query_one("#board-sort", Select).value = "deadline"
        self.sort = "deadline"
        self._refilter()
        self.query_one(DataTable).focus()

    def watch_tier(self) -> None:
        self._refilter()

    def watch_kind(self) -> None:
        self._refilter()

    def watch_state(self) -> None:
        self._refilter()

    def watch_text(self) -> None:
        self._refilter()

    def watch_sort(self) -> None:
        self._refilter()

    def watch_reverse(self) -> None:
        self._refilter()

    def page_by(self, pages: int) -> None:
        """Show the next (1) or previous (-1) page."""
        last = max((self._total - 1) // PAGE, 0) * PAGE
        offset = min(max(self.offset + pages * PAGE, 0), last)
        if offset != self.offset:
            self.offset = offset
            self._stale = True
            self.repaint(moved=True)
            self.to_top()

    def cycle_sort(self) -> None:
        keys = list(SORT_KEYS)
        self.query_one("#board-sort", Select).value = keys[(keys.index(self.sort) + 1)
                                                          % len(keys)]

    def focus_search(self) -> None:
        self.query_one("#filter-text", Input).focus()

    @property
    def highlighted(self) -> int | None:
        """The case under the cursor, if the page has any."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return int(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    # -- keeping up with the drill -----------------------------------------------------------
    def repaint(self, moved: bool) -> int:
        """Bring the table up to date; `moved`: the model's rows changed since the last call.
        Returns the number of cells written (rows added count as whole rows)."""
        now = self.model.session.now
        if moved or self._stale:
            self._page, self._total = self.model.page(
                tier=self.tier or None, kind=self.kind or None, state=self.state or None,
                text=self.text, sort=self.sort, reverse=self.reverse, offset=self.offset)
            self._stale = False
            if not self._page and self.offset:
                self.offset = max(self.offset - PAGE, 0)
                return self.repaint(moved=True)
        keys = [c[0] for c in self.columns]
        cells = {str(r.case): self._cells(r, now, keys) for r in self._page}
        order = list(cells)
        table: DataTable[Text] = self.query_one(DataTable)
        written = 0
        with self.app.batch_update():
            held = self.highlighted
            at_top = table.cursor_row == 0
            for key in self._shown.keys() - cells.keys():
                table.remove_row(key)
            for key, row in cells.items():
                old = self._shown.get(key)
                if old is None:
                    table.add_row(*(Text(t, style=s) for t, s in row), key=key)
                    written += len(row)
                    continue
                for (col, _, _), a, b in zip(self.columns, old, row, strict=True):
                    if a != b:
                        table.update_cell(key, col, Text(b[0], style=b[1]))
                        written += 1
            if [str(r.key.value) for r in table.ordered_rows] != order:
                rank = {key: i for i, key in enumerate(order)}
                table.sort("case", key=lambda cell: rank[str(cell).rstrip("^")])
            if at_top:
                # The team is reading from the top: the top stays the top (the most
                # urgent case), rather than the cursor following its old case down.
                table.move_cursor(row=0, scroll=False)
            elif held is not None and str(held) in cells:
                table.move_cursor(row=table.get_row_index(str(held)), scroll=False)
        self._shown = cells
        self._show_label()
        return written

    def _show_label(self) -> None:
        first = self.offset + 1 if self._page else 0
        last = self.offset + len(self._page)
        pages = max((self._total - 1) // PAGE + 1, 1)
        label = (f"{first}-{last} of {self._total} open cases  page {self.offset // PAGE + 1}"
                 f"/{pages}  ([ ] pages, s sort{' (reversed)' if self.reverse else ''}, "
                 f"/ search)")
        if label != self._label:
            self._label = label
            self.query_one("#board-page", Static).update(label, layout=False)

    @staticmethod
    def _cells(r: CaseRow, now: float, keys: list[str]) -> tuple[Cell, ...]:
        left, urgency = countdown(r.deadline, now)
        vip = "bold" if r.tier == "VIP" else ""
        every = {"case": (f"{r.case}" + ("^" if r.boosted else ""), vip), "tier": (r.tier, vip),
                 "customer": (r.customer, vip), "deadline": (left, URGENCY_STYLE[urgency]),
                 "state": (r.state, ""), "pool": (r.pool, ""),
                 "milestone": (r.deadline_key, ""), "kind": (r.kind, ""),
                 "level": (r.level, "")}
        return tuple(every[k] for k in keys)
