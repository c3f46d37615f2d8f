"""One sizing question from start to finish, for the CLI, the benchmark and the tests:
parse, build the configurations, search, put the formulas beside the answer, write files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from incidents.source import suggest
from simulation.errors import SimulationError
from simulation.scenario.loader import LoadedScenario
from simulation.sizing.cache import ReplicationCache, scenario_hash
from simulation.sizing.executors import Runner
from simulation.sizing.hourly import HourlyPlan, hourly_goal, iterate
from simulation.sizing.output import (hourly_json, outcome_json, theory_json, write_frontier_csv,
                                      write_hourly_csv, write_json, write_shifts_csv)
from simulation.sizing.plots import hourly_plot, sizing_plots
from simulation.sizing.search import Outcome, Problem, Progress, build_configs, search
from simulation.sizing.spec import Knob, parse_target, parse_vary
from simulation.sizing.theory import STAFF_KINDS, pool_load, theory_rows

__all__ = ["Sizing", "plan_question", "answer", "theory", "write_outputs", "hourly",
           "write_hourly"]


@dataclass
class Sizing:
    """A question, its answer and the formulas beside it."""

    problem: Problem
    outcome: Outcome | None = None
    theory: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def plan_question(loaded: LoadedScenario, targets: Sequence[str], varies: Sequence[str], *,
                  confidence: float = 0.95, first: int = 10, cap: int = 160, seed: int = 1,
                  holding_rate: float = 0.25, grid: bool = False) -> Problem:
    """Parse and check a question (SimulationError with the nearest names on any mistake)."""
    if not targets:
        raise SimulationError("--target: give at least one target, e.g. --target "
                              "'VIP.acknowledge.attainment >= 95%' (--list-metrics lists them)")
    if not varies:
        raise SimulationError("--vary: give at least one resource to vary, e.g. --vary "
                              "'staffing.POOL.headcount=10..30' (--list-metrics lists the "
                              "paths)")
    parsed_targets = tuple(parse_target(t, loaded) for t in targets)
    knobs: tuple[Knob, ...] = tuple(parse_vary(v, loaded) for v in varies)
    paths = [k.path for k in knobs]
    dup = next((p for p in paths if paths.count(p) > 1), None)
    if dup is not None:
        raise SimulationError(f"--vary: {dup} is given twice")
    pools = [k.name for k in knobs if k.kind == "headcount"]
    clash = next((k for k in knobs if k.kind == "shift" and k.name in pools), None)
    if clash is not None:
        raise SimulationError(f"--vary: {clash.path} and staffing.{clash.name}.headcount both "
                              f"set that pool's shifts; vary one of them")
    if not 0.5 <= confidence < 1:
        raise SimulationError(f"--confidence: give a level between 0.5 and 1 (e.g. 0.95), "
                              f"not {confidence:g}")
    if first < 2 or cap < first:
        raise SimulationError(f"--first {first} / --max-reps {cap}: the first look needs at "
                              f"least 2 replications and the cap must not be below it")
    if holding_rate < 0:
        raise SimulationError("--holding-rate: must be zero or more")
    return Problem(loaded, knobs, parsed_targets, confidence=confidence, first=first, cap=cap,
                   seed=seed, holding_rate=holding_rate, grid=grid)


def answer(problem: Problem, runner: Runner, out: Path | None, *,
           progress: Progress | None = None, budget: float | None = None) -> Sizing:
    """Search for the answer, resuming from `out`'s cache."""
    configs = build_configs(problem)
    cache = ReplicationCache(out, scenario_hash(problem.base), problem.seed)
    outcome = search(problem, runner, cache, progress=progress, budget=budget, configs=configs)
    return Sizing(problem, outcome)


def theory(sizing: Sizing, runner: Runner, reps: int = 4) -> list[dict[str, Any]]:
    """The formulas beside the simulated answer, for each varied staffing pool and target
    a formula can judge; the pool's load is measured at the best-resourced configuration."""
    problem, outcome = sizing.problem, sizing.outcome
    assert outcome is not None
    top = tuple(k.values[-1] for k in problem.knobs)
    items: list[dict[str, Any]] = []
    for index, knob in enumerate(problem.knobs):
        if knob.kind not in STAFF_KINDS:
            continue
        levels = outcome.answer.config.levels if outcome.answer is not None else top
        load = pool_load(problem.base, problem.knobs, top, knob.name, runner, problem.seed,
                         reps)
        verdicts = {}
        for ev in outcome.evaluations.values():
            if (ev.done or ev.n) and all(ev.config.levels[j] == levels[j]
                                         for j in range(len(levels)) if j != index):
                verdicts[ev.config.levels[index]] = ev.verdict + (" (implied)" if ev.implied
                                                                  else "")
        for target in problem.targets:
            rows, note = theory_rows(problem.base, problem.knobs, levels, index, target, load)
            if not rows:
                continue
            simulated = outcome.answer.config.levels[index] if outcome.answer else None
            item = theory_json(knob.name, knob.path, target, rows, note, simulated, verdicts)
            item["load"] = {"peak_per_hour": load.peak_rate * 60, "mean_per_hour":
                            load.mean_rate * 60, "peak_hour": load.peak_hour,
                            "mean_work_minutes": load.mean_work,
                            "mean_patience_minutes": load.patience}
            items.append(item)
    sizing.theory = items
    return items


def write_outputs(sizing: Sizing, out: Path, plots: bool = True,
                  warn: Callable[[str], None] | None = None) -> list[Path]:
    """sizing.json, frontier.csv and the plots."""
    assert sizing.outcome is not None
    out.mkdir(parents=True, exist_ok=True)
    files = [write_json(out / "sizing.json", outcome_json(sizing.outcome, sizing.theory)),
             write_frontier_csv(sizing.outcome, out / "frontier.csv")]
    if plots:
        files += sizing_plots(out, sizing.outcome, warn)
    sizing.files = files
    return files


def hourly(loaded: LoadedScenario, pool: str, target: str, runner: Runner, *,
           step: float = 60.0, reps: int = 10, verify_reps: int = 20,
           iterations: int = 30, seed: int = 1,
           progress: Callable[[int, int, str], None] | None = None,
           verify_proposal: bool = True, fixed: bool = False) -> HourlyPlan:
    """The iterative staffing algorithm's plan for `pool` keeping `target` every step."""
    if pool not in loaded.staffing:
        raise SimulationError(f"--pool {pool!r}: no such pool{suggest(pool, loaded.staffing)};"
                              f" this scenario has {', '.join(loaded.staffing)}")
    if loaded.staffing[pool].contractor:
        raise SimulationError(f"--pool {pool!r}: a contractor pool comes only when an "
                              f"emergency level unlocks it; plan a pool on shifts")
    goal = hourly_goal(parse_target(target, loaded), pool, loaded)
    return iterate(loaded, goal, runner, step=step, reps=reps, verify_reps=verify_reps,
                   max_iterations=iterations, seed=seed, progress=progress,
                   verify_proposal=verify_proposal, fixed=fixed)


def write_hourly(result: HourlyPlan, loaded: LoadedScenario, out: Path, plots: bool = True,
                 warn: Callable[[str], None] | None = None) -> tuple[dict[str, Any], list[Path]]:
    out.mkdir(parents=True, exist_ok=True)
    data = hourly_json(result, loaded)
    start = loaded.scenario.start
    files = [write_json(out / "hourly.json", data), write_hourly_csv(data, out / "hourly.csv",
                                                                     start),
             write_shifts_csv(data, out / "shifts.csv")]
    if plots:
        files += hourly_plot(out, data, start.strftime("%Y-%m-%d %H:%M %z"), warn)
    return data, files
