"""`muster simulate [SCENARIO]`: run replications of a scenario and write a report.

Mounted by tui/cli.py as `app.command("simulate")(simulate)`. The command is its own error
boundary for the simulation layer: an unknown scenario, a bad scenario file or an output
folder it cannot write end as located lines on stderr and exit status 2, never a traceback.
Bad option values (--reps 0) are refused by typer with exit status 2 before anything runs.
It writes only the report's own files (simulation.results.report.OWN_FILES) into the output folder.
"""

from __future__ import annotations

import os
import tempfile
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from tui.boundary import console as make_console, fail
from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table

from simulation.errors import SimulationError
from simulation.results.common import TIERS
from simulation.results.format import (dur, mean_of, minutes, num, pct, signed_dur, signed_num,
                                       signed_pct)
from simulation.results.replications import Replications, replicate
from simulation.results.report import OWN_FILES, write_report
from simulation.results.sections import kpis
from simulation.scenario.loader import DEFAULT_SCENARIO, LoadedScenario, load_scenario

__all__ = ["simulate", "show", "MAX_REPS"]

MAX_REPS = 10_000
"""More replications than this answer no planning question better; each keeps its metrics."""


class Policy(str, Enum):
    """The decision policies a comparison can run."""

    none = "none"
    autopilot = "autopilot"


def simulate(
    scenario: str = typer.Argument(DEFAULT_SCENARIO, show_default=True, metavar="SCENARIO",
                                   help="A bundled scenario name or a scenario YAML file."),
    seed: int = typer.Option(1, "--seed", min=0, help="Master seed; replication i gets the i-th "
                             "seed spawned from it, so results repeat exactly."),
    reps: int = typer.Option(5, "--reps", min=1, max=MAX_REPS,
                             help="Number of independent replications."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output folder.",
                                    show_default="muster-out/<scenario name>"),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (results do "
                                "not depend on it)."),
    compare: Policy | None = typer.Option(
        None, "--compare", help="Also run every replication under this policy on the same "
        "seeds (common random numbers) and report what the response is worth: each KPI with "
        "the paired difference and its 95% CI.", show_default="no comparison"),
) -> None:
    """Simulate a scenario: replications, a summary with 95% CIs, a report with plots."""
    console = make_console()
    err = make_console(stderr=True, soft_wrap=True)
    folder: Path | None = out
    try:
        loaded = load_scenario(scenario)
        for warning in loaded.warnings:
            err.print(str(warning), markup=False)
        folder = out if out is not None else Path("muster-out") / loaded.scenario.name
        _check_folder(folder)
        other = compare.value if compare is not None else None
        with Progress(TextColumn("simulating {task.description}"), BarColumn(),
                      TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=err, transient=True) as bar:
            total = reps * (2 if other else 1)
            task = bar.add_task(loaded.scenario.name, total=total)
            result = replicate(loaded, seed, reps, workers=workers, compare=other,
                               progress=lambda done, _: bar.update(task, completed=done))
        compared = None
        if result.baseline is not None and result.difference is not None:
            compared = (result.baseline.summary, result.difference, _policy(result.summary),
                        other or "none")
        try:
            paths = write_report(folder, loaded, result.summary, result.first, seed=seed,
                                 warn=lambda line: err.print(line, markup=False),
                                 compare=compared)
        except OSError as exc:
            raise SimulationError(f"{exc.filename or folder}: error: cannot write the report: "
                                  f"{exc.strerror or exc}") from None
    except SimulationError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        kept = folder is not None and (folder / "report.md").is_file()
        err.print("interrupted: no new report written" + (
            f"; {folder / 'report.md'} is still the previous run's, whole" if kept else ""))
        raise typer.Exit(130) from None
    show(result, console, _level_labels(loaded))
    for path in paths:
        console.print(f"wrote {path}", soft_wrap=True)


def _policy(summary: dict[str, Any]) -> str:
    return str(summary["run"].get("policy", "autopilot"))


def _check_folder(folder: Path) -> None:
    """Refuse an output folder that is a file, that cannot be written or created, or holds a
    folder where a report file goes; checked before simulating, so a bad --out costs no
    time. Nothing is left behind here (the probe file is a temporary one)."""
    if folder.exists() and not folder.is_dir():
        raise SimulationError(f"{folder}: error: --out must be a folder; this is a file")
    for name in OWN_FILES:
        if (folder / name).is_dir():
            raise SimulationError(f"{folder / name}: error: is a folder; the report would "
                                  f"write a file of this name")
    probe = folder
    while not probe.exists():  # the nearest folder that exists must let us write into it
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise SimulationError(f"{folder}: error: --out cannot be created: {probe} is a file")
    try:  # a real probe (permission bits say nothing to root, nor of read-only mounts)
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise SimulationError(f"{folder}: error: --out is not writable: cannot create files "
                              f"in {probe} ({exc.strerror or exc})") from None
    for name in OWN_FILES:
        target = folder / name
        if target.exists() and not os.access(target, os.W_OK):
            raise SimulationError(f"{target}: error: cannot replace this report file (no "
                                  f"permission)")


def _level_labels(loaded: LoadedScenario) -> dict[str, str]:
    """Emergency level -> colour label ("II" -> "orange"), the first playbook's that has one
    (as the report names them)."""
    labels: dict[str, str] = {}
    for pb in loaded.playbooks.values():
        for name, spec in pb.emergency.levels.items():
            if spec.label:
                labels.setdefault(name, spec.label)
    return labels


def _top_level(em: dict[str, Any], labels: dict[str, str]) -> str:
    """The highest emergency level over the replications, with two counts: replications
    that reached that level, and those that raised any level (the two differ as soon as one
    replication stops lower down)."""
    ranks = [int(r) for r in em["max_rank"]["values"] if r is not None]
    top = max(ranks, default=0)
    if not top:
        return f"{em['levels'][0]} (no level raised)"
    name = em["levels"][top]
    name += f" ({labels[name]})" if labels.get(name) else ""
    return (f"{name} reached in {ranks.count(top)} of {len(ranks)} replications; "
            f"some level raised in {sum(1 for r in ranks if r > 0)} of {len(ranks)}")


def show(result: Replications, console: Console,
         labels: dict[str, str] | None = None) -> None:
    """Print the summary: SLA attainment and times, waits, resources (while incidents arrive
    and in the drain), levels, messages, cost; and the comparison, if one was run.

    `labels` names the emergency levels' colours ({"II": "orange"}), when known.
    """
    s = result.summary
    reps = len(result.metrics)
    sla = Table(title=f"{s['run']['scenario']}: SLA attainment over {reps} replications "
                      "(mean ± 95% CI)", title_justify="left")
    for col in ("tier", "milestone", "on time", "judged", "mean time", "p90 time"):
        sla.add_column(col, justify="left" if col in ("tier", "milestone") else "right",
                       no_wrap=col == "milestone")
    for tier in TIERS:
        for ms, cell in s["sla"].get(tier, {}).items():
            if (mean_of(cell["judged"]) or 0) <= 0:
                continue
            times = s["times"][tier][ms]
            sla.add_row(tier, ms, pct(cell["attainment"]), num(cell["judged"], 1),
                        minutes(mean_of(times["mean"])), minutes(mean_of(times["p90"])))
    if sla.row_count:
        console.print(sla)
    else:
        console.print("No SLA milestone was judged (no targets, or none came due).")
    ops = Table(title="Resources and cost (mean ± 95% CI; after the warm-up)",
                title_justify="left")
    ops.add_column("measure")
    ops.add_column("value", justify="right")
    every = s.get("waiting", {}).get("all", {})
    ops.add_row("wait for staff (ASA)", dur(every.get("asa")))
    if (mean_of(every.get("abandoned")) or 0) > 0:
        ops.add_row("customers who gave up", pct(every["abandonment"]))
    for threshold, level in every.get("service_level", {}).items():
        ops.add_row(f"served within {threshold}", pct(level))
    for pool, u in s["utilisation"].items():
        ops.add_row(f"utilisation {pool}", f"{pct(u['arrivals']['utilisation'])} while "
                    f"arriving; {pct(u['drain']['utilisation'])} in the drain")
    for sku, st in s["stock"].items():
        ops.add_row(f"stock-out {sku}", f"{minutes(mean_of(st['measured']['out_minutes']))}, "
                    f"fill rate {pct(st['measured']['fill_rate'])}")
    ops.add_row("escalations", num(s["escalations"]["total"], 1))
    ops.add_row("max emergency level", _top_level(s["emergency"], labels or {}))
    ops.add_row("messages on time", pct(s["communications"]["on_time_share"]))
    ops.add_row("complaints", num(s["complaints"]["generated"], 1))
    ops.add_row("open at end", num(s["incidents"]["open_at_end"], 1))
    ops.add_row("cost while arriving", num(s["costs"]["arrivals"]["total"]))
    ops.add_row("cost with the drain", num(s["costs"]["measured"]["total"]))
    console.print(ops)
    if result.baseline is not None and result.difference is not None:
        _show_comparison(result, console)


def _show_comparison(result: Replications, console: Console) -> None:
    assert result.baseline is not None and result.difference is not None
    mine, other = _policy(result.summary), _policy(result.baseline.summary)
    table = Table(title=f"What the response is worth: {mine} against {other} on the same "
                        f"seeds (difference = {mine} - {other}, 95% CI)", title_justify="left")
    for col in ("KPI", mine, other, "difference"):
        table.add_column(col, justify="left" if col == "KPI" else "right")
    show_as = {"share": (pct, signed_pct), "minutes": (dur, signed_dur),
               "number": (num, signed_num)}
    for label, kind, path in kpis(result.summary):
        value, delta = show_as[kind]
        table.add_row(label, value(_at(result.summary, path)),
                      value(_at(result.baseline.summary, path)),
                      delta(_at(result.difference, path)))
    console.print(table)


def _at(summary: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = summary
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node
