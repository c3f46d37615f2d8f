"""Snapshots of the live desk screen at 100x30 and 160x48 (pytest-textual-snapshot).

Deterministic by construction: the desk's clock never moves (Monday 2026-03-02 10:00 in
Shanghai), the database sits under a relative path in a temporary folder (the status bar
prints it), the cases, the level, the handoff and the task are written with that clock before
the app starts, and no toast is left on screen. Update with `pytest
tests/test_desk_snapshots.py --snapshot-update` after checking the pictures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.app_helpers import until

from desk.case import service as cases
from desk.desk import Desk
from desk.operation import service as ops
from tui.app import MusterApp, make_app
from tui.screens.desk import DeskScreen

from tests.desk_helpers import WallClock, open_recall


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MusterApp:
    monkeypatch.chdir(tmp_path)
    clock = WallClock()
    with Desk.open(Path("live.sqlite"), operator="王芳", clock=clock) as desk:
        ids = open_recall(desk, 24)
        ops.declare_level(desk, "R1", "IV", "召回公告发布，来电增加")
        cases.ack(desk, ids[1])
        cases.assign(desk, ids[2], "李强")
        cases.escalate(desk, ids[3], reason="客户投诉")
        ops.take_role(desk, "R1", "communications", "李强")
        ops.add_task(desk, "R1", "联系仓库调拨替换板", "张伟", due="90m")
    return make_app(store=Path("drills.sqlite"), out_dir=Path("out"), live=Path("live.sqlite"),
                    operator="王芳", desk_clock=clock, desk_poll=3600, running=False)


async def _on_desk(pilot: Pilot[Any]) -> None:
    def ready() -> bool:
        screen = pilot.app.screen
        return isinstance(screen, DeskScreen) and screen.desk is not None \
            and screen.query_one("#cases-table").row_count > 0
    await until(pilot, ready)
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", [(160, 48), (100, 30)], ids=["160x48", "100x30"])
def test_desk(snap_compare: Callable[..., bool], app: MusterApp, size: tuple[int, int]) -> None:
    assert snap_compare(app, terminal_size=size, run_before=_on_desk)
