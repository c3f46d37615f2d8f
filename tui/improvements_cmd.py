"""`muster improvements list|update`: the improvement plan, tracked across drills.

Each area for improvement a drill's review finds becomes an item in the record store
(simulation/drills/exercise.py) with an owner, a due date and a status; later drills of the
same scenario that rate its task again are noted against it. `list` shows them; `update`
records a change (an event: the item's history is kept).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from incidents.store import EventStore
from simulation.drills.exercise import STATUSES, check_update, read_items, rating_text
from simulation.drills.record import DEFAULT_STORE
from simulation.errors import SimulationError
from tui.boundary import console as make_console
from tui.boundary import fail

__all__ = ["improvements_app"]

improvements_app = typer.Typer(help="The improvement plan of the drills, tracked across "
                                    "drills: owner, due date, status.",
                               no_args_is_help=True, pretty_exceptions_enable=False)


@improvements_app.command("list")
def list_cmd(
    store_path: Path = typer.Option(DEFAULT_STORE, "--store", help="The record store."),
    scenario: str | None = typer.Option(None, "--drill", help="Only this drill scenario's."),
    status: str | None = typer.Option(None, "--status", help="Only items of this status "
                                      f"({', '.join(STATUSES)})."),
) -> None:
    """Every improvement item: owner, due date, status, and the drills that tested it."""
    if status is not None and status not in STATUSES:
        raise fail(ValueError(f"--status: one of {', '.join(STATUSES)}, not {status!r}"))
    console = make_console()
    if not store_path.exists():
        console.print(f"no improvement items yet ({store_path} does not exist)")
        return
    try:
        with EventStore.open(store_path, create=False, readonly=True) as store:
            items = read_items(store, scenario=scenario)
    except (SimulationError, ValueError) as exc:
        raise fail(exc) from None
    items = [i for i in items if status is None or i.status == status]
    table = Table(title="Improvement plan", title_justify="left")
    for col in ("item", "area", "corrective action", "owner", "due", "status", "tested"):
        table.add_column(col, overflow="fold")
    for i in items:
        tests = "; ".join(f"{t['when']} {rating_text(t.get('rating'))}" for t in i.tests)
        table.add_row(i.id, f"{i.title} ({i.task})", i.action, i.owner, i.due, i.status,
                      tests or "-")
    console.print(table)
    if not items:
        console.print("no improvement items" + (f" of status {status!r}" if status else ""))


@improvements_app.command("update")
def update_cmd(
    item: str = typer.Argument(..., metavar="ITEM", help="The item's id (or a unique part "
                               "of it), as `muster improvements list` shows it."),
    owner: str | None = typer.Option(None, "--owner", help="Who owns it."),
    due: str | None = typer.Option(None, "--due", help="Due date, YYYY-MM-DD."),
    status: str | None = typer.Option(None, "--status",
                                      help=f"One of: {', '.join(STATUSES)}."),
    by: str | None = typer.Option(None, "--as", help="Who makes the change.",
                                  show_default="the login name"),
    store_path: Path = typer.Option(DEFAULT_STORE, "--store", help="The record store."),
) -> None:
    """Record a change of an item's owner, due date or status (its history is kept)."""
    from simulation.drills.exercise import update_item
    from tui.live_common import default_operator
    try:
        change = check_update(owner, due, status)
        if not store_path.exists():
            raise ValueError(f"--store: {store_path} does not exist")
        with EventStore.open(store_path, create=False, readonly=True) as store:
            items = read_items(store)  # an unknown item is refused before any write
        hits = [i for i in items if i.id == item] or [i for i in items if item in i.id]
        if len(hits) != 1:
            known = ", ".join(i.id for i in items[:8]) or "none yet"
            raise ValueError(f"{'no' if not hits else 'more than one'} improvement item "
                             f"{item!r} (items: {known})")
        with EventStore.open(store_path, create=False) as store:
            done = update_item(store, hits[0].id, change, by=by or default_operator(),
                               expected=hits[0].version)
    except (SimulationError, ValueError) as exc:
        raise fail(exc) from None
    make_console().print(f"{done.id}: owner {done.owner or '-'}, due {done.due or '-'}, "
                         f"status {done.status}", soft_wrap=True)
