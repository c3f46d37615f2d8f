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
    """Pools (on shift, busy, free, absent, waiting) and parts (on hand against the reorder
    point, on order, backorders); repainted only when a figure changed, laid out again only
    when its shape did (a layout pass costs the whole screen)."""

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
        staff.add_column("pool", ratio=1, no_wrap=True, overflow="ellipsis",
                         header_style="bold")
        for name in ("on shift", "busy", "free", "absent", "waiting"):
            staff.add_column(name, justify="right", no_wrap=True, header_style="bold")
        for p in pools:
            name = p.name + (" (ext)" if p.contractor else "")
            if p.overtime_hours:
                name += f" +{p.overtime_hours:g}h OT"
            staff.add_row(name, str(p.on_shift), str(p.busy),
                          Text(str(p.free), style="red" if p.free == 0 and p.waiting else ""),
                          Text(str(p.absent), style="yellow" if p.absent else ""),
                          Text(str(p.waiting), style="bold" if p.waiting else ""))
        stock = Table(box=None, padding=(0, 0, 0, 1), expand=True, show_edge=False)
        stock.add_column("part", ratio=1, no_wrap=True, overflow="ellipsis",
                         header_style="bold")
        transfers = any(s.in_transfer for s in parts)
        for name in ("on hand", "reorder at", "on order", *(("in transfer",) if transfers
                                                            else ()), "backorders"):
            stock.add_column(name, justify="right", no_wrap=True, header_style="bold")
        for s in parts:
            low = s.on_hand <= s.reorder_point
            stock.add_row(s.sku, Text(str(s.on_hand), style="bold red" if s.on_hand == 0 else
                                      "yellow" if low else ""),
                          f"{s.reorder_point:g}", str(s.on_order),
                          *((str(s.in_transfer),) if transfers else ()),
                          Text(str(s.backorders), style="bold red" if s.backorders else ""))
        shape = (len(pools), len(parts), transfers)
        self.update(Group(staff, stock), layout=shape != self._shape)
        self._shape = shape
