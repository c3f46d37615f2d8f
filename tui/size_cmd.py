"""`muster size SCENARIO`: the cheapest staffing and stock that meet SLA targets, with
stated confidence; or, with `--plan hourly`, an hour-by-hour staffing plan for one pool.

Mounted by tui/cli.py as `app.command("size")(size)`. The command is its own error boundary:
a bad target, path, range, option or scenario ends as one line per problem on stderr and
exit status 2, never a traceback; a misspelt metric or path names the nearest valid ones.
Exit status: 0 an answer (or a verified plan), 1 no configuration in the range meets the
targets or the search stopped before settling, 2 bad input, 130 interrupted (Ctrl-C: the
finished replications are kept; rerunning with the same --out resumes).
"""

from __future__ import annotations

import os
import tempfile
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from tui.boundary import console as make_console, fail
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table

from incidents.sla import Duration
from simulation.errors import SimulationError
from simulation.scenario.loader import DEFAULT_SCENARIO, LoadedScenario, load_scenario
# sizing/ (numpy, scipy, the model) is imported when `muster size` runs, not when any
# other command starts

__all__ = ["size", "list_metrics"]


class PlanKind(str, Enum):
    """Plans `--plan` can make."""

    hourly = "hourly"


def size(
    scenario: str = typer.Argument(DEFAULT_SCENARIO, show_default=True, metavar="SCENARIO",
                                   help="A bundled scenario name or a scenario YAML file."),
    target: list[str] = typer.Option(
        [], "--target", "-t", show_default="none",
        help="A constraint: METRIC >= VALUE or METRIC <= VALUE, e.g. "
             "'VIP.acknowledge.attainment >= 95%', 'abandonment <= 5%', 'asa <= 2h', "
             "'wait.p(>20m) <= 0.2'; optionally '± TOLERANCE'. Repeat for several."),
    vary: list[str] = typer.Option(
        [], "--vary", "-v", show_default="none",
        help="A resource and its levels: PATH=LOW..HIGH[:STEP] or PATH=A,B,C, e.g. "
             "'staffing.现场技术组.headcount=10..30', 'parts.FLR-OAK-1210.initial="
             "2000..10000:1000'. Repeat for several."),
    list_all: bool = typer.Option(False, "--list-metrics", is_eager=True,
                                  help="List every metric a target can name and every path "
                                       "a vary can set, for SCENARIO, and exit."),
    confidence: float = typer.Option(0.95, "--confidence",
                                     help="Confidence of every verdict (the error is split "
                                          "over targets and looks)."),
    budget: str | None = typer.Option(None, "--budget", show_default="none",
                                      help="Stop after this long (e.g. 120s, 10m) with what "
                                           "is known; rerun to resume."),
    grid: bool = typer.Option(False, "--grid/--no-grid",
                              help="Simulate every configuration, rather than trying them "
                                   "cheapest first using monotonicity."),
    out: Path | None = typer.Option(None, "--out", "-o", show_default="muster-out/<scenario>/size",
                                    help="Output folder; rerunning with the same folder "
                                         "resumes from its finished replications."),
    seed: int = typer.Option(1, "--seed", min=0, help="Master seed: replication i gets the "
                             "i-th seed spawned from it, in every configuration."),
    first: int = typer.Option(10, "--first", min=2, help="Replications at a configuration's "
                              "first look (then doubling)."),
    max_reps: int = typer.Option(160, "--max-reps", min=2, max=100_000,
                                 help="Most replications of one configuration; a target "
                                      "still open then is too close to call."),
    workers: int | None = typer.Option(None, "--workers", min=1, show_default="every core",
                                       help="Worker processes (local pool or LocalCluster)."),
    cluster: str | None = typer.Option(None, "--cluster", show_default="none",
                                       help="'local': run on a Dask LocalCluster started "
                                            "here."),
    scheduler: str | None = typer.Option(None, "--scheduler", show_default="none",
                                         help="Run on the Dask scheduler at this address, "
                                              "e.g. tcp://10.0.0.5:8786 (its workers need "
                                              "Muster installed)."),
    holding_rate: float = typer.Option(0.25, "--holding-rate",
                                       help="Yearly cost of holding a part, as a share of "
                                            "its unit cost (parts held in the planned cost)."),
    quick: bool = typer.Option(False, "--quick/--no-quick",
                               help="Skip what is not the answer: the Erlang C, Erlang A and "
                                    "square-root answers beside the simulated one, the plots "
                                    "and, for an hourly plan, verifying the shift proposal."),
    plan: PlanKind | None = typer.Option(None, "--plan", show_default="none",
                                         help="'hourly': an hour-by-hour plan for one pool "
                                              "(named with --pool), by the iterative staffing "
                                              "algorithm."),
    pool: str | None = typer.Option(None, "--pool", show_default="none",
                                    help="The pool an hourly plan staffs."),
    step: str = typer.Option("1h", "--step", help="Length of a step of the hourly plan."),
    reps: int = typer.Option(10, "--reps", min=2, max=10_000,
                             help="Hourly plan: replications per iteration (and twice as "
                                  "many to verify it)."),
    iterations: int = typer.Option(30, "--iterations", min=1, max=200,
                                   help="Hourly plan: most iterations."),
) -> None:
    """Size staffing and stock: the cheapest configuration meeting every target with
    stated confidence, the frontier behind it, and the steady-state formulas beside it."""
    from simulation.sizing.executors import Runner, make_runner
    from simulation.sizing.session import (answer, hourly, plan_question, theory,
                                           write_hourly, write_outputs)
    from tui.size_view import show_hourly, show_outcome, show_theory

    console = make_console()
    err = make_console(stderr=True, soft_wrap=True)
    runner: Runner | None = None
    status = 0
    try:
        loaded = load_scenario(scenario)
        if list_all:
            list_metrics(loaded, console)
            return
        for warning in loaded.warnings:
            err.print(str(warning), markup=False)
        folder = out if out is not None else Path("muster-out") / loaded.scenario.name / (
            "size-hourly" if plan is not None else "size")
        _check_folder(folder)
        seconds = _seconds(budget) if budget is not None else None
        if plan is not None:
            if pool is None:
                raise SimulationError("--plan hourly: name the pool to plan with --pool NAME")
            if len(target) != 1:
                raise SimulationError("--plan hourly: give exactly one --target, e.g. "
                                      "'wait.p(>20m) <= 0.2' or 'delay <= 0.2'")
            if vary:
                raise SimulationError("--plan hourly: the plan sets the pool's headcount hour "
                                      "by hour; --vary does not apply")
            step_minutes = _step(step)
            runner = make_runner(cluster, scheduler, workers)
            with _bar(err) as bar:
                task = bar.add_task("planning", total=None)
                result = hourly(loaded, pool, target[0], runner, step=step_minutes, reps=reps,
                                verify_reps=2 * reps, iterations=iterations, seed=seed,
                                verify_proposal=not quick,
                                progress=lambda d, n, label: bar.update(
                                    task, completed=d, total=n, description=label))
            data, files = write_hourly(result, loaded, folder, not quick,
                                       warn=lambda line: err.print(line, markup=False))
            show_hourly(data, console, loaded.scenario.start)
        else:
            problem = plan_question(loaded, target, vary, confidence=confidence, first=first,
                                    cap=max_reps, seed=seed, holding_rate=holding_rate,
                                    grid=grid)
            runner = make_runner(cluster, scheduler, workers)
            err.print(f"sizing on {runner.name} with {runner.workers} worker(s); "
                      f"replications kept in {folder}", markup=False)
            with _bar(err) as bar:
                task = bar.add_task("searching", total=None)
                sizing = answer(problem, runner, folder, budget=seconds,
                                progress=lambda d, n, label: bar.update(
                                    task, completed=d, total=n, description=label))
                outcome = sizing.outcome
                assert outcome is not None
                if not quick and not outcome.stopped:  # a stop cancelled the workers
                    bar.update(task, description="steady-state formulas")
                    theory(sizing, runner)
            files = write_outputs(sizing, folder, not quick,
                                  warn=lambda line: err.print(line, markup=False))
            show_outcome(outcome, console)
            for item in sizing.theory:
                show_theory(item, console)
            if outcome.stopped == "interrupted":
                status = 130
            elif outcome.answer is None or outcome.stopped:
                status = 1
        for path in files:
            console.print(f"wrote {path}", soft_wrap=True)
    except SimulationError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        err.print("interrupted: finished replications are kept; rerun with the same --out "
                  "to resume", markup=False)
        raise typer.Exit(130) from None
    finally:
        if runner is not None:
            runner.close()
    if status:
        raise typer.Exit(status)


def _bar(err: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("replications"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=err, transient=True)


def _seconds(text: str) -> float:
    try:
        d = Duration.parse(text)
    except ValueError:
        raise SimulationError(f"--budget {text!r}: write a time such as 120s, 10m or 1h") \
            from None
    if d.is_working or d.wall_minutes <= 0:
        raise SimulationError(f"--budget {text!r}: give a wall-clock time longer than zero")
    return d.wall_minutes * 60.0


def _step(text: str) -> float:
    try:
        d = Duration.parse(text)
    except ValueError:
        raise SimulationError(f"--step {text!r}: write a time such as 30m or 1h") from None
    if d.is_working or d.wall_minutes < 1:
        raise SimulationError(f"--step {text!r}: a step is a wall-clock time of at least "
                              f"1 minute")
    return d.wall_minutes


def _check_folder(folder: Path) -> None:
    """Refuse an --out that is a file or cannot be written, before anything runs."""
    if folder.exists() and not folder.is_dir():
        raise SimulationError(f"{folder}: error: --out must be a folder; this is a file")
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise SimulationError(f"{folder}: error: --out cannot be created: {probe} is a file")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise SimulationError(f"{folder}: error: --out is not writable: "
                              f"{exc.strerror or exc}") from None
    if not os.access(probe, os.W_OK):
        raise SimulationError(f"{folder}: error: --out is not writable")


def list_metrics(loaded: LoadedScenario, console: Console) -> None:
    """Every metric a target can name and every path a vary can set, for this scenario."""
    from simulation.sizing.measures import aliases, catalogue
    from simulation.sizing.spec import vary_paths

    table = Table(title=f"Metrics a --target can name ({loaded.scenario.name})",
                  title_justify="left")
    table.add_column("metric", no_wrap=True)
    table.add_column("unit", no_wrap=True)
    table.add_column("more resources", no_wrap=True)
    table.add_column("meaning")
    for name, info in catalogue(loaded).items():
        better = {"higher": "raise it", "lower": "lower it", None: "either way"}[info.better]
        table.add_row(name, info.unit, better, info.help)
    console.print(table)
    short = Table(title="Short names", title_justify="left")
    short.add_column("short name", no_wrap=True)
    short.add_column("means", no_wrap=True)
    for name, full in aliases(loaded).items():
        short.add_row(name, full)
    console.print(short)
    paths = Table(title="Paths a --vary can set", title_justify="left")
    paths.add_column("path", no_wrap=True)
    paths.add_column("what")
    what = {"headcount": "the pool's headcount (a pool on shifts: its largest shift, every "
                         "shift scaled in proportion)",
            "shift": "one shift's headcount", "overtime": "overtime hours after each shift",
            "crew": "contractor crew the emergency unlocks bring",
            "initial": "units on the shelf at the start",
            "policy": "a reorder policy level (a base-stock level sets the initial stock too)",
            "servers": "servers of the textbook queue"}
    for path, (kind, *_rest) in vary_paths(loaded).items():
        paths.add_row(path, what[kind])
    console.print(paths)
    console.print("T in wait.p(>T) is any time: 20s, 20m, 2h. Values take units: 95% or "
                  "0.95 for shares, 2h or 120 (minutes) for times.", markup=False)
