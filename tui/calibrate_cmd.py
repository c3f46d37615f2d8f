"""`muster calibrate LOG`: fit a whole scenario to a real call or ticket log.

Mounted by tui/cli.py as `app.command("calibrate")(calibrate)`. The command is its own
error boundary for the simulation layer: a bad log or option ends as located lines on stderr
and exit status 2, never a traceback, and nothing is written. Text read from the log is
printed with Rich markup off.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from simulation.errors import SimulationError
from tui.boundary import console as make_console, fail
from tui.log_options import (LOG_HELP, log_options, opt_arrival, opt_column, opt_date,
                             opt_date_format, opt_delimiter, opt_drop, opt_format, opt_id,
                             opt_kind, opt_opened, opt_resolved, opt_time, opt_time_format,
                             opt_tz)

if TYPE_CHECKING:  # numpy and scipy come with the fit, when the command runs
    from simulation.calibration.contacts import Contacts, Period
    from simulation.calibration.pipeline import Calibrated

__all__ = ["calibrate", "show_fit", "fitting_progress"]

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HEAT = ("grey50", "blue", "cyan", "green", "yellow", "bold red")


def calibrate(
    events: Path = typer.Argument(..., metavar="LOG", help=LOG_HELP),
    out: Path = typer.Option(Path("calibrated.yaml"), "--out", "-o",
                             help="Where to write the calibrated scenario (YAML)."),
    train: str | None = typer.Option(None, "--train", metavar="FROM..TO",
                                     help="Days to fit on (default: the whole log)."),
    forecast: str | None = typer.Option(None, "--forecast", metavar="FROM..TO",
                                        help="Days the scenario runs (default: the 7 days "
                                        "after the training days)."),
    service_level: str = typer.Option("20s,60s", "--service-level",
                                      help="Waits to report the share answered within."),
    seed: int = typer.Option(1, "--seed", min=0, help="Seed of the availability fit."),
    base: str | None = typer.Option(None, "--base", help="Keep this scenario's mix, staffing "
                                    "and parts; only the demand is fitted (resolve times "
                                    "then come from its playbooks)."),
    replay: bool = typer.Option(False, "--replay/--no-replay", help="With --base: replay the "
                                "log's arrivals of the forecast days instead of the fit."),
    fragment: Path | None = typer.Option(None, "--fragment",
                                         help="Also write the demand section and the fitted "
                                         "figures here."),
    delimiter: str | None = opt_delimiter(), date: str | None = opt_date(),
    date_format: str | None = opt_date_format(), time_format: str | None = opt_time_format(),
    arrival: str | None = opt_arrival(), time: str | None = opt_time(),
    opened: str | None = opt_opened(), fmt: str | None = opt_format(), tz: str = opt_tz(),
    drop: list[str] = opt_drop(), column: list[str] = opt_column(),
    id_column: str | None = opt_id(), resolved: str | None = opt_resolved(),
    kind: str = opt_kind(),
) -> None:
    """Fit arrivals (weekday by hour), service or resolve time, patience and staffing to a
    log, and write the scenario of the forecast days: `muster simulate calibrated.yaml`."""
    from simulation.calibration.contacts import read_contacts
    from simulation.calibration.pipeline import (calibrate_contacts, licence_for,
                                                 parse_period, parse_thresholds, periods,
                                                 write_calibrated)
    from simulation.calibration.scenario import with_base, write_demand

    console = make_console()  # text from the log is shown as written
    err = make_console(stderr=True, soft_wrap=True)
    try:
        options = log_options(delimiter=delimiter, date=date, date_format=date_format,
                              time_format=time_format, arrival=arrival, time=time,
                              opened=opened, fmt=fmt, tz=tz,
                              drop=drop, column=column, id_column=id_column,
                              resolved=resolved, kind=kind)
        thresholds = parse_thresholds(service_level)
        train_p = parse_period(train, "--train") if train else None
        forecast_p = parse_period(forecast, "--forecast") if forecast else None
        for path, option in ((out, "--out"), (fragment, "--fragment")):
            if path is not None and not path.parent.is_dir():
                raise SimulationError(f"{option} {path}: the folder {path.parent} does not "
                                      "exist")
        if replay and base is None:
            raise SimulationError("--replay replays the log's arrivals into the --base "
                                  "scenario; give --base SCENARIO too")
        with err.status(f"reading {events} ..."):
            contacts = read_contacts(str(events), options)
        for warning in contacts.warnings:
            err.print(str(warning), markup=False)
        train_p, forecast_p = periods(contacts, train_p, forecast_p)
        show_read(contacts, train_p, forecast_p, console)
        with fitting_progress(err) as tick:
            cal = calibrate_contacts(contacts, train_p, thresholds=thresholds, seed=seed,
                                     licence=licence_for(events), tick=tick)
        show_fit(cal, console)
        if base is not None:
            written = with_base(cal, forecast_p, base, events, replay=replay, out=out)
        else:
            written = write_calibrated(cal, forecast_p, out)
        if fragment is not None:
            write_demand(cal, fragment)
            err.print(f"wrote {fragment}", markup=False)
    except SimulationError as exc:
        raise fail(exc) from None
    err.print(f"wrote {written}; run it with: muster simulate {written}", markup=False)


class fitting_progress:
    """A progress line for the fit's simulations (their number is not known ahead)."""

    def __init__(self, err: Console) -> None:
        self.bar = Progress(TextColumn("fitting availability by simulation: {task.completed} "
                                       "runs"), BarColumn(), TimeElapsedColumn(),
                            console=err, transient=True)

    def __enter__(self) -> Any:
        self.bar.__enter__()
        task = self.bar.add_task("fit", total=None)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]


def show_read(contacts: Contacts, train: Period, forecast: Period, console: Console) -> None:
    """What was read and how: the roles' columns, the notes, the periods."""
    what = "calls" if contacts.kind == "calls" else "tickets"
    console.print(f"{Path(contacts.file).name}: {len(contacts):,} {what} read, "
                  f"{contacts.span}", markup=False)
    t = Table(title="Columns read (sniffed; --column ROLE=COL overrides)", title_justify="left")
    t.add_column("role")
    t.add_column("column (how it was read)")
    for role, col in contacts.read_as.items():
        t.add_row(role, Text(col))  # a column name is the log's text, never markup
    console.print(t)
    for note in contacts.notes:
        console.print(f"  {note}", markup=False)
    console.print(f"Training days {train}; the scenario runs {forecast}.", markup=False)


def show_fit(cal: Calibrated, console: Console) -> None:
    """The fitted profile, trend, surges, service or resolve time, patience, staffing."""
    from simulation.calibration.pipeline import dispersion_text

    m = cal.model
    p = m.profile
    console.print(_heat(p.matrix, p.base_rate))
    console.print(f"Trend {p.trend:+.1%} a week, 95% CI [{p.trend_low:+.1%}, "
                  f"{p.trend_high:+.1%}]: " + ("used in the forecast" if p.trend_used else
                                               "not used (the interval holds zero)")
                  + f"; day-to-day dispersion {dispersion_text(p.dispersion)} (1 = Poisson).",
                  markup=False)
    for line in _surges(cal):
        console.print(line, markup=False)
    console.print(_times(cal))
    if m.patience is not None:
        console.print(_patience(cal))
    if cal.availability is not None and cal.presence is not None:
        console.print(_staffing(cal))
    if m.licence:
        console.print(m.licence, markup=False)


def _heat(matrix: Any, base_rate: float) -> Table:
    """Hours down, weekdays across: 24 short rows fit any terminal, unlike 24 columns."""
    top = float(matrix.max()) or 1.0
    t = Table(title=f"Mean arrivals per hour by weekday and hour (training days); base rate "
                    f"{base_rate:.2f}/h", title_justify="left", box=None, padding=(0, 1),
              show_footer=True)
    t.add_column("hour", "day", style="bold")
    for d, day in enumerate(DAYS):
        t.add_column(day, f"{matrix[d].sum():,.0f}", justify="right")
    for h in range(24):
        cells = [f"[{HEAT[min(int(matrix[d][h] / top * len(HEAT)), len(HEAT) - 1)]}]"
                 f"{matrix[d][h]:.1f}" for d in range(7)]
        t.add_row(f"{h:02d}", *cells)
    return t


def _surges(cal: Calibrated) -> list[str]:
    """Days of the training period that stand out (calibration/fit.py's rule)."""
    from simulation.calibration.columns import EPOCH
    from simulation.calibration.fit import fit_arrivals

    train = cal.contacts.between(cal.model.train)
    stamps = [EPOCH + timedelta(seconds=float(s)) for s in train.arrival]
    try:
        found = fit_arrivals(stamps).surges
    except SimulationError:
        return []
    if not found:
        return ["Surges: none in the training days."]
    return ["Surges: days that stand out in the training days (the profile counts them; cut "
            "them out with --train if they will not come again):"] + [
        f"  {s.start}..{s.end}: {s.arrivals:,} arrivals, {s.factor:.2f}x expected"
        for s in found]


def _times(cal: Calibrated) -> Table:
    from simulation.calibration.build import duration_text as d

    s = cal.model.service
    t = Table(title=f"{s.what.capitalize()} ({s.n:,}; written as {s.family})",
              title_justify="left")
    for col in ("", "mean", "95% CI of mean", "p50", "p90"):
        t.add_column(col, justify="right" if col else "left")
    t.add_row("sample", d(s.mean), f"[{d(s.mean_low)}, {d(s.mean_high)}]", d(s.p50), d(s.p90))
    ln = s.lognormal
    name = "lognormal (kept)" if s.family == "lognormal" else "lognormal (misses: not kept)"
    t.add_row(name, d(ln["mean"]), "", d(ln["p50"]), d(ln["p90"]))
    return t


def _patience(cal: Calibrated) -> Table:
    q = cal.model.patience
    assert q is not None
    t = Table(title=f"Patience from censored waits ({q.abandoned:,} of {q.n:,} gave up; "
                    f"Kaplan-Meier to {q.cut:.0f} s, then the {q.tail} tail)",
              title_justify="left")
    t.add_column("fit")
    t.add_column("value", justify="right")
    t.add_row("exponential mean", f"{q.exp_mean:.0f} s [{q.exp_low:.0f}, {q.exp_high:.0f}]")
    t.add_row("Weibull shape", f"{q.weibull_shape:.2f} [{q.shape_low:.2f}, "
                               f"{q.shape_high:.2f}]")
    t.add_row("Weibull scale", f"{q.weibull_scale:.0f} s")
    t.add_row("exponential vs Weibull", f"p = {q.lr_p:.2g} ({q.tail} kept)")
    return t


def _staffing(cal: Calibrated) -> Table:
    from simulation.calibration.build import label

    a, seen = cal.availability, cal.presence
    assert a is not None and seen is not None
    t = Table(title=f"Staffing: {seen.agents} agents seen serving, "
                    f"{seen.agent_hours:,.0f} agent-hours; availability {a.factor:.3f} "
                    f"[{a.low:.3f}, {a.high:.3f}] fitted by simulation ({a.reps} runs per "
                    "factor tried)", title_justify="left")
    for col in ("training days", "log", "simulated"):
        t.add_column(col, justify="left" if col == "training days" else "right")
    t.add_row("mean wait", f"{a.actual['mean_wait']:.1f} s", f"{a.simulated['mean_wait']:.1f} s")
    t.add_row("abandonment", f"{a.actual['abandonment']:.1%}",
              f"{a.simulated['abandonment']:.1%}")
    for th in cal.model.thresholds:
        t.add_row(f"answered within {label(th)} (not fitted)", f"{a.actual['within'][th]:.1%}",
                  f"{a.simulated['within'][th]:.1%}")
    if a.note:
        t.caption = f"note: {a.note}"
    return t
