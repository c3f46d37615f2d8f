"""The resources panel: staff per pool and spare parts per SKU."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from simulation.drills.views import PartRow, PoolRow

__all__ = ["ResourcesPanel"]


class ResourcesPanel(Static):
    """Pools (on shift, busy, free, away, waiting: each waiting case counted once) and parts
    (in stock against the reorder point, ordered, owed to customers); repainted only when a
    figure changed. Long names wrap rather than being cut to a stub."""

    DEFAULT_CSS = """
    ResourcesPanel {
        border: round $secondary;
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Resources"
        self._shown: Any = None
        self.compact = False
        """A small terminal: the columns a commander reads first (free, busy, waiting;
        stock, owed) and only the parts at or below their reorder point or owed, so pool
        and part names keep their room and the action log stays in view."""

    def show(self, pools: list[PoolRow], parts: list[PartRow]) -> None:
        key = (tuple(pools), tuple(parts), self.compact)
        if key == self._shown:
            return
        self._shown = key
        staff = Table(box=None, padding=(0, 0, 0, 1), expand=True, show_edge=False)
        longest = max((len(p.name) for p in pools), default=4)
        staff.add_column("pool", ratio=1, overflow="fold", header_style="bold",
                         min_width=min(longest, 18))
        cols = ("free", "busy", "wait") if self.compact else ("shift", "busy", "free", "away",
                                                              "wait")
        for name in cols:
            staff.add_column(name, justify="right", no_wrap=True, header_style="bold")
        for p in pools:
            name = p.name + (" (ext)" if p.contractor else "")
            if p.overtime_hours:
                name += f" (+{p.overtime_hours:g}h overtime)"
            cells = {"shift": str(p.on_shift), "busy": str(p.busy),
                     "free": Text(str(p.free), style="red" if p.free == 0 and p.waiting
                                  else ""),
                     "away": Text(str(p.absent), style="yellow" if p.absent else ""),
                     "wait": Text(str(p.waiting), style="bold" if p.waiting else "")}
            staff.add_row(name, *(cells[c] for c in cols))
        stock = Table(box=None, padding=(0, 0, 0, 1), expand=True, show_edge=False)
        stock.add_column("part", ratio=1, overflow="fold", header_style="bold")
        transfers = any(s.in_transfer for s in parts)
        scols = ("stock", "owed") if self.compact else (
            "stock", "reorder", "ordered", *(("moving",) if transfers else ()), "owed")
        for name in scols:
            stock.add_column(name, justify="right", no_wrap=True, header_style="bold")
        listed = [s for s in parts if not self.compact or s.on_hand <= s.reorder_point
                  or s.backorders]
        for s in listed:
            low = s.on_hand <= s.reorder_point
            cells = {"stock": Text(str(s.on_hand), style="bold red" if s.on_hand == 0 else
                                   "yellow" if low else ""),
                     "reorder": f"{s.reorder_point:g}", "ordered": str(s.on_order),
                     "moving": str(s.in_transfer),
                     "owed": Text(str(s.backorders), style="bold red" if s.backorders else "")}
            stock.add_row(s.sku, *(cells[c] for c in scols))
        rest = len(parts) - len(listed)
        note = Text(f" {rest} other part{'s' if rest != 1 else ''} above reorder point",
                    style="dim") if rest else Text("")
        self.update(Group(staff, stock, note) if rest else Group(staff, stock))
