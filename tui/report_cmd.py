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
from typing import Any

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn)
from rich.table import Table
from rich.text import Text

from incidents.store import EventStore
from simulation.drills.record import DEFAULT_STORE, open_record
from simulation.drills.format import fmt_kpi, interval_text, measure_text
from simulation.drills.ratings import RATING_WORDS
from simulation.drills.scoring import KPI_LABELS
from simulation.drills.training import cadence_warnings, training_record, trends
from simulation.errors import SimulationError
from tui.boundary import fail, console as make_console

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
    days: int = typer.Option(20, "--days", min=0, max=500, help="Replay the team's decisions "
                             "on this many other days (seeds) beside the autopilot and no "
                             "response: paired differences with 95% intervals (0: skip)."),
    workers: int | None = typer.Option(None, "--workers", min=1, max=256,
                                       help="Processes for the other days.",
                                       show_default="all cores"),
    pdf: bool = typer.Option(False, "--pdf/--no-pdf", help="Also export the report to PDF "
                             "(from its HTML, with WeasyPrint; Chinese text embedded)."),
) -> None:
    """Rate a recorded drill from its evidence and write the after-action report."""
    if days == 1:
        raise fail(ValueError("--days: give 0 (skip) or at least 2 (an interval needs two)"))
    console = make_console(wide=True)
    err = make_console(stderr=True, soft_wrap=True)
    try:
        store, sid = open_record(record, stream)
        try:
            folder = out if out is not None else Path("muster-out") / "drills" / sid[:8]
            if folder.exists() and not folder.is_dir():
                raise SimulationError(f"{folder}: error: --out must be a folder; this is a "
                                      "file")
            review, paths = _review(store, sid, folder, days, workers, err)
        finally:
            store.close()
        if pdf:
            from simulation.drills.pdf import export_pdf
            paths.append(export_pdf(folder))
    except (SimulationError, ValueError) as exc:
        raise fail(exc) from None
    show_review(review, console)
    for path in paths:
        console.print(f"wrote {path}", soft_wrap=True)


def _review(store: Any, sid: str, folder: Path, days: int, workers: int | None,
            err: Console) -> Any:
    """The review with a progress bar on stderr: the drill and its counterfactuals, then
    the other days."""
    from simulation.drills.review import review_record  # matplotlib: only here
    from simulation.sizing.executors import make_runner
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("replaying the drill and its counterfactuals", total=days or None)
        runner = make_runner(workers=workers) if days else None

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, description="your decisions on other days")

        try:
            return review_record(store, sid, folder, warn=err.print, days=days,
                                 runner=runner, progress=tick)
        finally:
            if runner is not None:
                runner.close()


def show_review(review: Any, console: Console) -> None:
    """The score, its parts, the ratings and the KPI table, in the terminal."""
    result = review.score
    console.print(Text.assemble((f"{review.session.drill.title}: score {result.total:.1f}",
                                 "bold"), " (no response 0, the autopilot 100)"))
    parts = Table(title="Parts", title_justify="left")
    for col in ("part", "score", "weight", "team / autopilot / no response"):
        parts.add_column(col, overflow="fold")
    for part, value in result.parts.items():
        p = result.placements.get(part)
        parts.add_row(part, "left out" if value is None else f"{value:.0f}",
                      f"{result.weights.get(part, 0):g}", "" if p is None else
                      f"{measure_text(part, p.team)} / {measure_text(part, p.autopilot)} / "
                      f"{measure_text(part, p.none)}: {p.note}")
    console.print(parts)
    table = Table(title="Critical tasks", title_justify="left")
    for col in ("task", "addressed to", "done by", "rating", "why"):
        table.add_column(col, overflow="fold")
    for t in result.tasks:
        if t.source != "service":
            table.add_row(t.title, t.role, t.actor or "-", f"{t.rating} ({RATING_WORDS[t.rating]})"
                          if t.rating else "not rated", t.reason)
    console.print(table)
    kpis = Table(title="What the decisions were worth (same seed, carried to the end)",
                 title_justify="left")
    for col in ("KPI", "team", "autopilot", "no response", "team - autopilot"):
        kpis.add_column(col, overflow="fold", justify="left" if col == "KPI" else "right")
    auto, none = review.others["autopilot"].kpis, review.others["none"].kpis
    for key, (label, _) in KPI_LABELS.items():
        team = result.kpis.get(key)
        diff = None if team is None or auto.get(key) is None else team - auto[key]
        kpis.add_row(label, fmt_kpi(key, team), fmt_kpi(key, auto.get(key)),
                     fmt_kpi(key, none.get(key)), fmt_kpi(key, diff, True))
    console.print(kpis)
    if review.days is not None:
        days = Table(title=f"Your decisions on {len(review.days.seeds)} other days (95% "
                     "intervals)", title_justify="left")
        for col in ("KPI", "team - autopilot", "team - no response"):
            days.add_column(col, overflow="fold")
        for key in ("service", "customers_lost", "cost", "attainment", "time_to_acknowledge",
                    "messages_on_time"):
            days.add_row(KPI_LABELS[key][0], interval_text(key, review.days.vs_autopilot[key]),
                         interval_text(key, review.days.vs_none[key]))
        console.print(days)
    if result.coverage():
        console.print(f"note: the drill {result.coverage()}")


@drills_app.command("list")
def list_drills(
    team: str | None = typer.Option(None, "--team", help="Only this team's drills."),
    store_path: Path = typer.Option(DEFAULT_STORE, "--store", help="The record store."),
) -> None:
    """Each drill's date, drill, team and score; the trend per team; teams behind cadence."""
    console = make_console()
    try:
        if not store_path.exists():
            console.print(f"no drills recorded yet ({store_path} does not exist): play one "
                          "with `muster`")
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
        console.print(f"{name}: {scores}")
    for line in cadence_warnings(rows):
        console.print(f"warning: {line}")
