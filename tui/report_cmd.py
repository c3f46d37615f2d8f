"""`muster report RECORD` and `muster drills list`: the after-action review and the training
record of drills.

`report` rebuilds the drill from its record (the evidence), runs the autopilot and
no-response counterfactuals on the same seed, rates every critical task, scores the drill,
writes the after-action report (Markdown, HTML, plots) and appends the score to the record.
`drills list` reads the records back: date, drill, team, score, the trend per team, and a
warning for teams behind the standard's four drills a year.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from incidents.store import EventStore
from simulation.drills.record import DEFAULT_STORE, open_record
from simulation.drills.scoring import RATING_WORDS
from simulation.drills.training import cadence_warnings, training_record, trends
from simulation.errors import SimulationError
from tui.boundary import fail

__all__ = ["report", "drills_app"]

drills_app = typer.Typer(help="The training record: drills played, by team, with scores.",
                         no_args_is_help=True, pretty_exceptions_enable=False)


def report(
    record: str = typer.Argument(str(DEFAULT_STORE), metavar="RECORD",
                                 help="A drill record store, or a drill id in the default "
                                      "store."),
    stream: str | None = typer.Option(None, "--id", help="Which drill of the store (an id or "
                                      "its first characters; default: the latest)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output folder.",
                                    show_default="muster-out/drills/<drill id>"),
) -> None:
    """Rate a recorded drill from its evidence and write the after-action report."""
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        store, sid = open_record(record, stream)
        try:
            folder = out if out is not None else Path("muster-out") / "drills" / sid[:8]
            if folder.exists() and not folder.is_dir():
                raise SimulationError(f"{folder}: error: --out must be a folder; this is a "
                                      "file")
            with console.status("replaying the drill and its counterfactuals"):
                from simulation.drills.review import review_record  # matplotlib: only here
                review, paths = review_record(store, sid, folder,
                                              warn=lambda line: err.print(line, markup=False))
        finally:
            store.close()
    except (SimulationError, ValueError) as exc:
        raise fail(exc) from None
    result = review.score
    table = Table(title=f"{review.session.drill.title}: score {result.total:.1f} / 100",
                  title_justify="left")
    for col in ("task", "role", "rating", "why"):
        table.add_column(col, overflow="fold")
    for t in result.tasks:
        if t.source != "service":
            table.add_row(t.title, t.role, f"{t.rating} ({RATING_WORDS[t.rating]})", t.reason)
    console.print(table)
    if result.coverage():
        console.print(f"note: the drill {result.coverage()}", markup=False)
    for path in paths:
        console.print(f"wrote {path}", markup=False)


@drills_app.command("list")
def list_drills(
    team: str | None = typer.Option(None, "--team", help="Only this team's drills."),
    store_path: Path = typer.Option(DEFAULT_STORE, "--store", help="The record store."),
) -> None:
    """Each drill's date, drill, team and score; the trend per team; teams behind cadence."""
    console = Console(highlight=False)
    try:
        if not store_path.exists():
            console.print(f"no drills recorded yet ({store_path} does not exist): play one "
                          "with `muster`", markup=False)
            return
        with EventStore.open(store_path, create=False, readonly=True) as store:
            rows = training_record(store, team)
    except (SimulationError, ValueError) as exc:
        raise fail(exc) from None
    table = Table(title="Training record" + (f": {team}" if team else ""), title_justify="left")
    for col in ("date", "drill", "team", "score", "record"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.started.strftime("%Y-%m-%d %H:%M"), r.title or r.drill, r.team,
                      r.score_label(), r.id[:8])
    console.print(table)
    for name, points in trends(rows).items():
        scores = " -> ".join(f"{s:.0f}" for _, s in points)
        console.print(f"{name}: {scores}", markup=False)
    for line in cadence_warnings(rows):
        console.print(f"warning: {line}", markup=False)
