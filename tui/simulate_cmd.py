"""`muster simulate [SCENARIO]`: run replications of a scenario and write a report.

Mounted by tui/cli.py as `app.command("simulate")(simulate)`. The command is its own error
boundary for the simulation layer: an unknown scenario, a bad scenario file or an output
folder it cannot write end as located lines on stderr and exit status 2, never a traceback.
Bad option values (--reps 0) are refused by typer with exit status 2 before anything runs.
It writes only the report's own files (simulation.results.report.OWN_FILES) into the output folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simulation.errors import SimulationError
from simulation.scenario.loader import DEFAULT_SCENARIO, load_scenario
from simulation.results.metrics import TIERS
from simulation.results.replications import Replications, replicate
from simulation.results.report import OWN_FILES, minutes, pct, write_report

__all__ = ["simulate"]


def simulate(
    scenario: str = typer.Argument(DEFAULT_SCENARIO, show_default=True, metavar="SCENARIO",
                                   help="A bundled scenario name or a scenario YAML file."),
    seed: int = typer.Option(1, "--seed", min=0, help="Master seed; replication i gets the i-th "
                             "seed spawned from it, so results repeat exactly."),
    reps: int = typer.Option(5, "--reps", min=1, help="Number of independent replications."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output folder [default: "
                                    "./muster-out/<scenario name>]."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (results do "
                                "not depend on it)."),
) -> None:
    """Simulate a scenario: replications, a summary with 95% CIs, a report with plots."""
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        loaded = load_scenario(scenario)
        for warning in loaded.warnings:
            err.print(str(warning), markup=False)
        folder = out if out is not None else Path("muster-out") / loaded.scenario.name
        _check_folder(folder)
        with Progress(TextColumn("simulating {task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                      transient=True) as bar:
            task = bar.add_task(loaded.scenario.name, total=reps)
            result = replicate(loaded, seed, reps, workers=workers,
                               progress=lambda done, total: bar.update(task, completed=done))
        try:
            paths = write_report(folder, loaded, result.summary, result.first, seed=seed)
        except OSError as exc:
            raise SimulationError(f"{exc.filename or folder}: error: cannot write the report: "
                                  f"{exc.strerror or exc}") from None
    except SimulationError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            err.print(line, markup=False)
        raise typer.Exit(2) from None
    show(result, console)
    for path in paths:
        console.print(f"wrote {path}", markup=False)


def _check_folder(folder: Path) -> None:
    """Refuse an output folder that is a file, or holds a folder where a report file goes;
    checked before simulating, so a bad --out costs no time. Nothing is created here."""
    if folder.exists() and not folder.is_dir():
        raise SimulationError(f"{folder}: error: --out must be a folder; this is a file")
    for name in OWN_FILES:
        if (folder / name).is_dir():
            raise SimulationError(f"{folder / name}: error: is a folder; the report would "
                                  f"write a file of this name")


def _mean(stat: Any) -> float | None:
    return stat.get("mean") if isinstance(stat, dict) else None


def _num(stat: Any, digits: int = 0) -> str:
    mean, half = _mean(stat), stat.get("half_width") if isinstance(stat, dict) else None
    if mean is None:
        return "n/a"
    return f"{mean:,.{digits}f}" + (f" ± {half:,.{digits}f}" if half is not None else "")


def show(result: Replications, console: Console) -> None:
    """Print the summary: SLA attainment and times, then resources, levels, messages, cost."""
    s = result.summary
    reps = len(result.metrics)
    sla = Table(title=f"{s['run']['scenario']}: SLA attainment over {reps} replications "
                      "(mean ± 95% CI)", title_justify="left")
    for col in ("tier", "milestone", "on time", "judged", "mean time", "p90 time"):
        sla.add_column(col, justify="left" if col in ("tier", "milestone") else "right",
                       no_wrap=col == "milestone")
    for tier in TIERS:
        for ms, cell in s["sla"].get(tier, {}).items():
            if (_mean(cell["judged"]) or 0) <= 0:
                continue
            times = s["times"][tier][ms]
            sla.add_row(tier, ms, pct(cell["attainment"]), _num(cell["judged"], 1),
                        minutes(_mean(times["mean"])), minutes(_mean(times["p90"])))
    if sla.row_count:
        console.print(sla)
    else:
        console.print("No SLA milestone was judged (no targets, or none came due).")
    ops = Table(title="Resources and cost (mean ± 95% CI)", title_justify="left")
    ops.add_column("measure")
    ops.add_column("value", justify="right")
    for pool, u in s["utilisation"].items():
        ops.add_row(f"utilisation {pool}", pct(u["utilisation"]))
    for sku, st in s["stock"].items():
        ops.add_row(f"stock-out {sku}", f"{minutes(_mean(st['out_minutes']))}, fill rate "
                    f"{pct(st['fill_rate'])}")
    ops.add_row("wait for staff", minutes(_mean(s["incidents"]["staff_wait"]["mean"])))
    ops.add_row("escalations", _num(s["escalations"]["total"], 1))
    em = s["emergency"]
    ranks = [r for r in em["max_rank"]["values"] if r is not None]
    top = int(max(ranks)) if ranks else 0
    ops.add_row("max emergency level", f"{em['levels'][top]} (in "
                f"{sum(1 for r in ranks if r > 0)} of {len(ranks)} replications)"
                if top else em["levels"][0])
    ops.add_row("messages on time", pct(s["communications"]["on_time_share"]))
    ops.add_row("complaints", _num(s["complaints"]["generated"], 1))
    ops.add_row("open at end", _num(s["incidents"]["open_at_end"], 1))
    ops.add_row("total cost", _num(s["costs"]["total"]))
    console.print(ops)
