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
        self._shape: Any = None

    def show(self, pools: list[PoolRow], parts: list[PartRow]) -> None:
        key = (tuple(pools), tuple(parts))
        if key == self._shown:
            return
        self._shown = key
        staff = Table(box=None, padding=(0, 0, 0, 1), expand=True, show_edge=False)
        staff.add_column("pool", ratio=1, overflow="fold", header_style="bold")
        for name in ("shift", "busy", "free", "away", "wait"):
            staff.add_column(name, justify="right", no_wrap=True, header_style="bold")
        for p in pools:
            name = p.name + (" (ext)" if p.contractor else "")
            if p.overtime_hours:
                name += f" (+{p.overtime_hours:g}h overtime)"
            staff.add_row(name, str(p.on_shift), str(p.busy),
                          Text(str(p.free), style="red" if p.free == 0 and p.waiting else ""),
                          Text(str(p.absent), style="yellow" if p.absent else ""),
                          Text(str(p.waiting), style="bold" if p.waiting else ""))
        stock = Table(box=None, padding=(0, 0, 0, 1), expand=True, show_edge=False)
        stock.add_column("part", ratio=1, overflow="fold", header_style="bold")
        transfers = any(s.in_transfer for s in parts)
        for name in ("stock", "reorder", "ordered", *(("moving",) if transfers
                                                      else ()), "owed"):
            stock.add_column(name, justify="right", no_wrap=True, header_style="bold")
        for s in parts:
            low = s.on_hand <= s.reorder_point
            stock.add_row(s.sku, Text(str(s.on_hand), style="bold red" if s.on_hand == 0 else
                                      "yellow" if low else ""),
                          f"{s.reorder_point:g}", str(s.on_order),
                          *((str(s.in_transfer),) if transfers else ()),
                          Text(str(s.backorders), style="bold red" if s.backorders else ""))
        self.update(Group(staff, stock))
