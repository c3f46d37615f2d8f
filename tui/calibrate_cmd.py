"""`muster calibrate EVENTS.csv`: fit a scenario's demand to a real incident log.

Mounted by tui/cli.py as `app.command("calibrate")(calibrate)`. The command is its own
error boundary for the simulation layer: a bad log ends as located lines on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from simulation.errors import SimulationError
from simulation.scenario.loader import load_scenario

if TYPE_CHECKING:  # scipy comes with the fit, when `muster calibrate` runs
    from simulation.calibration.fit import Calibration

__all__ = ["calibrate"]

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HEAT = ("grey50", "blue", "cyan", "green", "yellow", "bold red")


def calibrate(
    events: Path = typer.Argument(..., metavar="EVENTS",
                                  help="Event log: CSV, or a .zip/.gz holding one CSV."),
    out: Path = typer.Option(Path("calibrated.yaml"), "--out", "-o",
                             help="Where to write the calibrated scenario (YAML)."),
    base: str = typer.Option("normal-week", "--base",
                             help="Scenario whose mix, staffing and parts the result keeps."),
    replay: bool = typer.Option(False, "--replay/--no-replay",
                                help="Replay the busiest week's arrivals instead of the fit."),
    fragment: Path | None = typer.Option(None, "--fragment",
                                         help="Also write the bare demand fragment here."),
    opened: str = typer.Option("opened_at", "--opened", help="Column of opening times."),
    resolved: str = typer.Option("resolved_at", "--resolved",
                                 help="Column of resolution times."),
    id_column: str = typer.Option("number", "--id",
                                  help="Incident id column (one arrival per id); '' = per row."),
    fmt: str = typer.Option("%d/%m/%Y %H:%M", "--format",
                            help="strptime pattern of the times, or 'iso', or 'epoch'."),
) -> None:
    """Fit arrivals by hour and weekday, surges and resolve times; write a runnable scenario.

    The scenario keeps the --base scenario's mix, staffing and parts.
    It starts on the log's busiest week and runs for 7 days: `muster simulate calibrated.yaml`.
    """
    from simulation.calibration.fit import calibrate as fit_log
    from simulation.calibration.fit import write_fragment
    from simulation.calibration.scenario import calibrated_scenario, write_scenario

    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        with err.status(f"reading {events} ..."):
            cal = fit_log(events, opened=opened, resolved=resolved,
                          id_column=id_column or None, fmt=fmt)
        for warning in cal.warnings:
            err.print(str(warning), markup=False)
        show(cal, console)
        if fragment is not None:
            err.print(f"wrote {write_fragment(cal, fragment)}", markup=False)
        data = calibrated_scenario(cal, base, events, replay=replay, opened=opened,
                                   id_column=id_column or None, fmt=fmt,
                                   out_dir=out.parent)
        written = write_scenario(data, out)
        load_scenario(written)  # what we wrote must load
    except SimulationError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            err.print(line, markup=False)
        raise typer.Exit(2) from None
    err.print(f"wrote {written}; run it with: muster simulate {written}", markup=False)


def show(cal: Calibration, console: Console) -> None:
    """Print the calibration report: period, heat table, surges, busiest week, resolve fit."""
    a = cal.arrivals
    console.print(f"[bold]{Path(cal.source).name}[/bold]: {cal.incidents} incidents; period "
                  f"{a.first}..{a.last} ({(a.last - a.first).days + 1} days, "
                  f"{a.outside} arrivals outside it ignored); base rate "
                  f"[bold]{a.base_rate:.2f}/h[/bold]")
    console.print(_heat(cal))
    console.print(_surges(cal))
    console.print(f"Busiest week: {a.busiest_start} .. {a.busiest_start + timedelta(days=6)}, "
                  f"{a.busiest_arrivals} arrivals")
    console.print(_resolve(cal))


def _heat(cal: Calibration) -> Table:
    """Hours down, weekdays across: 24 short rows fit any terminal, unlike 24 columns."""
    a = cal.arrivals
    top = max(max(row) for row in a.matrix) or 1.0
    t = Table(title="Mean arrivals per hour on days without surge, and the fitted weights",
              title_justify="left", box=None, padding=(0, 1), show_footer=True)
    t.add_column("hour", "weight", style="bold")
    for d, day in enumerate(DAYS):
        t.add_column(day, f"{a.weekly[d]:.2f}", justify="right")
    t.add_column("weight", justify="right", style="bold")
    for h in range(24):
        cells = []
        for d in range(7):
            v = a.matrix[d][h]
            cells.append(f"[{HEAT[min(int(v / top * len(HEAT)), len(HEAT) - 1)]}]{v:.1f}")
        t.add_row(f"{h:02d}", *cells, f"{a.hourly[h]:.2f}")
    return t


def _surges(cal: Calibration) -> Table:
    from simulation.calibration.fit import POISSON_SIGMAS

    a = cal.arrivals
    t = Table(title=f"Surges (days above {a.threshold:.2f}x expected and "
                    f"{POISSON_SIGMAS:g} Poisson sd)",
              title_justify="left")
    for col in ("start", "end", "days", "arrivals", "expected", "factor", "peak day"):
        t.add_column(col, justify="left" if col in ("start", "end") else "right")
    for s in a.surges:
        t.add_row(str(s.start), str(s.end), str(s.days), str(s.arrivals),
                  f"{s.expected:.0f}", f"{s.factor:.2f}", f"{s.peak:.2f}")
    if not a.surges:
        t.caption = "none found"
    return t


def _resolve(cal: Calibration) -> Table:
    r = cal.resolve
    t = Table(title=f"Time to resolve, minutes ({r.n} incidents; {r.dropped} unresolved or "
                    f"not positive, skipped)", title_justify="left")
    for col in ("", "mean", "sd", "p50", "p90", "log-likelihood"):
        t.add_column(col, justify="right" if col else "left")
    t.add_row("sample", f"{r.sample_mean:.0f}", "", f"{r.p50:.0f}", f"{r.p90:.0f}", "")
    for family, loglik in (("lognormal", r.loglik_lognormal),
                           ("exponential", r.loglik_exponential)):
        f = r.fitted(family)  # type: ignore[arg-type]
        name = f"{family} (kept)" if family == r.family else family
        t.add_row(name, *(f"{f[k]:.0f}" for k in ("mean", "sd", "p50", "p90")),
                  f"{loglik:.1f}")
    if not r.sample_mean / 2 <= r.mean <= 2 * r.sample_mean:
        t.caption = (f"note: the kept fit's mean is {r.mean / r.sample_mean:.1f}x the sample "
                     f"mean: the data's tail is not {r.family}; check before simulating")
    return t
