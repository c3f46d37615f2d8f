"""`muster backtest LOG --train FROM..TO --forecast FROM..TO`: is the forecast any good?

Mounted by tui/cli.py as `app.command("backtest")(backtest)`. Calibrates on the training
days, simulates the forecast days, and prints Muster's forecast beside the actual figures and
the naive forecast (the mean of the training weeks); writes the report, plots and the
forecast scenario into --out. Its own error boundary: a bad log or option ends as located
lines on stderr and exit status 2, no traceback, and nothing written (the report is written
only once everything has run).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn)
from rich.table import Table

from simulation.errors import SimulationError
from tui.boundary import console as make_console, fail
from tui.log_options import (LOG_HELP, log_options, opt_arrival, opt_column, opt_date,
                             opt_date_format, opt_delimiter, opt_drop, opt_format, opt_id,
                             opt_kind, opt_opened, opt_resolved, opt_time, opt_time_format,
                             opt_tz)

if TYPE_CHECKING:
    from simulation.calibration.backtest import Backtest

__all__ = ["backtest", "show_backtest", "MAX_REPS"]

MAX_REPS = 1000
OWN = re.compile(r"(backtest\.(md|json)|fold\d+-(daily|hourly)\.(png|svg)|fold\d+-forecast\.yaml)")


def backtest(
    events: Path = typer.Argument(..., metavar="LOG", help=LOG_HELP),
    train: str | None = typer.Option(None, "--train", metavar="FROM..TO",
                                     help="Days to calibrate on (default: the 14 days before "
                                     "the forecast days)."),
    forecast: str | None = typer.Option(None, "--forecast", metavar="FROM..TO",
                                        help="Days to forecast and compare (default: the "
                                        "log's last 7 days)."),
    reps: int = typer.Option(30, "--reps", min=2, max=MAX_REPS,
                             help="Replications of the forecast (the band is their 2.5%-97.5% "
                             "range)."),
    seed: int = typer.Option(1, "--seed", min=0, help="Master seed: results repeat exactly."),
    out: Path = typer.Option(Path("muster-out/backtest"), "--out", "-o",
                             help="Folder for backtest.md, backtest.json, plots, scenarios."),
    staffing: str = typer.Option("training", "--staffing", help="training: the training days' "
                                 "agents per weekday and hour (a pure forecast); forecast: the "
                                 "agents seen serving on the forecast days (a known roster)."),
    rolling: bool = typer.Option(False, "--rolling/--no-rolling", help="Also every other fold "
                                 "of the same lengths that fits in the log."),
    quick: bool = typer.Option(False, "--quick/--no-quick", help="Skip the explanation (calls: "
                               "the forecast rerun with the forecast days' own inputs one at "
                               "a time, to name what a miss came from)."),
    service_level: str = typer.Option("20s,60s", "--service-level",
                                      help="Waits to report the share answered within."),
    delimiter: str | None = opt_delimiter(), date: str | None = opt_date(),
    date_format: str | None = opt_date_format(), time_format: str | None = opt_time_format(),
    arrival: str | None = opt_arrival(), time: str | None = opt_time(),
    opened: str | None = opt_opened(), fmt: str | None = opt_format(), tz: str = opt_tz(),
    drop: list[str] = opt_drop(), column: list[str] = opt_column(),
    id_column: str | None = opt_id(), resolved: str | None = opt_resolved(),
    kind: str = opt_kind(),
) -> None:
    """Calibrate on the training days, forecast the forecast days, compare with the actual
    figures and with the naive forecast (the mean of the training weeks)."""
    from datetime import timedelta

    from simulation.calibration.backtest import backtest as run_backtest
    from simulation.calibration.backtest import folds
    from simulation.calibration.contacts import Period, read_contacts
    from simulation.calibration.pipeline import licence_for, parse_period, parse_thresholds
    from simulation.calibration.report import write_report

    console = make_console()  # text from the log is shown as written
    err = make_console(stderr=True, soft_wrap=True)
    try:
        if staffing not in ("training", "forecast"):
            raise SimulationError(f"--staffing {staffing!r}: use training or forecast")
        options = log_options(delimiter=delimiter, date=date, date_format=date_format,
                              time_format=time_format, arrival=arrival, time=time,
                              opened=opened, fmt=fmt, tz=tz,
                              drop=drop, column=column, id_column=id_column,
                              resolved=resolved, kind=kind)
        thresholds = parse_thresholds(service_level)
        train_p = parse_period(train, "--train") if train else None
        forecast_p = parse_period(forecast, "--forecast") if forecast else None
        _check_out(out)
        with err.status(f"reading {events} ..."):
            contacts = read_contacts(str(events), options)
        for warning in contacts.warnings:
            err.print(str(warning), markup=False)
        span = contacts.span
        if forecast_p is None:
            forecast_p = Period(max(span.last - timedelta(days=6), span.first), span.last)
        if train_p is None:
            first = max(forecast_p.first - timedelta(days=14), span.first)
            if first >= forecast_p.first:
                raise SimulationError(f"{events}: no days before the forecast days "
                                      f"{forecast_p} to train on; give --train")
            train_p = Period(first, forecast_p.first - timedelta(days=1))
        pairs = folds(contacts, train_p, forecast_p, rolling)
        with _Progress(err) as progress:
            result = run_backtest(contacts, pairs, thresholds=thresholds, reps=reps,
                                  seed=seed, staffing=staffing,  # type: ignore[arg-type]
                                  explain=not quick, licence=licence_for(events),
                                  progress=progress)
        try:
            paths = write_report(result, out, warn=lambda line: err.print(line, markup=False))
        except OSError as exc:
            raise SimulationError(f"{exc.filename or out}: error: cannot write the report: "
                                  f"{exc.strerror or exc}") from None
    except SimulationError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        err.print("interrupted: no report written", markup=False)
        raise typer.Exit(130) from None
    show_backtest(result, console)
    for path in paths:
        console.print(f"wrote {path}", markup=False)


def _check_out(out: Path) -> None:
    """--out must be a folder holding nothing but a previous backtest's files."""
    if out.exists() and not out.is_dir():
        raise SimulationError(f"{out}: --out must be a folder; this is a file")
    if out.is_dir():
        other = sorted(p.name for p in out.iterdir() if not OWN.fullmatch(p.name))
        if other:
            raise SimulationError(f"{out}: --out holds files a backtest did not write "
                                  f"({', '.join(other[:5])}); choose another folder")


class _Progress:
    """One bar per phase of each fold; phases of unknown length count their runs."""

    def __init__(self, err: Console) -> None:
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                            transient=True)

    def __enter__(self) -> Callable[[str, int], Callable[[], None]]:
        self.bar.__enter__()

        def start(label: str, total: int) -> Callable[[], None]:
            task = self.bar.add_task(label, total=total or None)
            return lambda: self.bar.advance(task)
        return start

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)


def show_backtest(bt: Backtest, console: Console) -> None:
    """Print each fold's table: Muster, the actual, the naive forecast."""
    from simulation.calibration.report import HEADER, format_value, table_rows
    from simulation.calibration.backtest import scalar_figures, value

    for i, fold in enumerate(bt.folds, start=1):
        t = Table(title=f"Fold {i}: trained on {fold.train}, forecast {fold.forecast} "
                        f"({len(fold.runs)} replications; staffing: {fold.staffing})",
                  title_justify="left")
        for col in HEADER:
            t.add_column(col, justify="left" if col == "figure" else "right")
        for row in table_rows(fold):
            t.add_row(*row)
        console.print(t)
        if fold.explain:
            keys = [(k, n) for k, n in scalar_figures("calls", fold.calibrated.model.thresholds)
                    if k != "arrivals"]
            e = Table(title="What the training days could not know: the forecast with the "
                            "forecast days' own inputs, one at a time", title_justify="left")
            e.add_column("inputs")
            for _, n in keys:
                e.add_column(n, justify="right")
            for what, m in fold.explain:
                e.add_row(what, *(format_value(k, value(m, k)) for k, _ in keys))
            e.add_row("actual", *(format_value(k, value(fold.actual, k)) for k, _ in keys))
            console.print(e)
    if bt.licence:
        console.print(bt.licence, markup=False)
