"""The sizing answer on the terminal: the frontier table, the formulas beside the simulation,
and the hourly plan day by day (rich). The numbers and words come from
simulation/sizing/output.py; this module only lays them out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from simulation.sizing.output import (
    MARK,
    answer_lines,
    e_verdict,
    frontier,
    held_counts,
    interval_text,
)
from simulation.sizing.search import Evaluation, Outcome

__all__ = ["show_outcome", "show_theory", "show_hourly"]


def show_outcome(outcome: Outcome, console: Console, limit: int = 40) -> None:
    """The frontier table, then the answer."""
    p = outcome.problem
    rows = frontier(outcome)
    table = Table(title=f"Configurations, cheapest first ({outcome.mode}; intervals: "
                        f"simultaneous {p.confidence:.0%})", title_justify="left")
    for k in p.knobs:
        table.add_column(k.path.removeprefix("staffing.").removeprefix("parts."),
                         justify="right")
    table.add_column("planned cost", justify="right")
    table.add_column("run cost", justify="right")
    for t in p.targets:
        table.add_column(f"{t.metric} {t.op} {t.show(t.threshold)}", justify="right")
    table.add_column("reps", justify="right")
    table.add_column("verdict")
    one = len(p.knobs) == 1
    if not one:  # several resources: the simulated ones (implied ones are in the CSV)
        rows = [ev for ev in rows if ev.n]
    shown = 0
    k = 0
    while k < len(rows) and shown < limit:
        ev = rows[k]
        run_end = k
        if ev.implied:  # one resource: a run settled by the same implication, one row
            while run_end + 1 < len(rows) and rows[run_end + 1].implied and \
                    rows[run_end + 1].verdict == ev.verdict:
                run_end += 1
        table.add_row(*_cells(outcome, ev, rows[run_end] if run_end > k else None))
        shown += 1
        k = run_end + 1
    console.print(table)
    settled = frontier(outcome)
    rest = len(rows) - k + (0 if one else len(settled) - len(rows))
    if rest > 0:
        console.print(f"({rest} more settled configurations, by simulation or by "
                      f"monotonicity, in frontier.csv)")
    for line in answer_lines(outcome):
        console.print(line, markup=False, highlight=False)


def _cells(outcome: Outcome, ev: Evaluation, last: Evaluation | None) -> list[str | Text]:
    """A frontier row; `last`: the end of a run of implied configurations shown as one."""
    p = outcome.problem
    sim = ev.cost_estimate()
    if last is None:
        cells = [k.show(v) for k, v in zip(p.knobs, ev.config.levels)]
    else:
        cells = [k.show(a) if a == b else f"{k.show(a)}..{k.show(b)}"
                 for k, a, b in zip(p.knobs, ev.config.levels, last.config.levels)]
    cost = f"{ev.config.cost['total']:,.0f}"
    if last is not None and last.config.cost["total"] != ev.config.cost["total"]:
        cost += f"..{last.config.cost['total']:,.0f}"
    cells += [cost, f"{sim.mean:,.0f}" if sim.mean is not None else "-"]
    for t in p.targets:
        cells.append(f"{interval_text(ev.estimates.get(t.metric), t)} "
                     f"{MARK[e_verdict(ev, t)] if ev.n else ''}".strip())
    cells.append(str(ev.n) if ev.n else "-")
    verdict = MARK[ev.verdict] + (" (implied)" if ev.implied else "")
    if ev.implied and ev.verdict == "too close to call":
        verdict = "at best too close (implied)"
    if ev is outcome.answer:
        cells.append(Text(f"{verdict}: ANSWER", style="bold green"))
        return cells
    cells.append(verdict)
    return cells


def show_theory(item: dict[str, Any], console: Console) -> None:
    sim = item["simulated_answer"]
    table = Table(title=f"Steady-state formulas beside the simulation: {item['vary']} for "
                        f"{item['target']}", title_justify="left")
    for col in ("formula", "hour", "servers on duty", "level", "vs simulated", "simulated "
                "verdict at that level"):
        table.add_column(col, justify="left" if col in ("formula", "hour") else "right")
    for f in item["formulas"]:
        level = f["level"]
        diff = "-" if level is None or sim is None else f"{level - sim:+g}"
        verdict = f["simulated_verdict_at_level"] or (
            "outside the range" if level is not None else "-")
        table.add_row(f["method"] + (f" ({f['note']})" if f["note"] else ""), f["when"],
                      "-" if f["servers_on_duty"] is None else str(f["servers_on_duty"]),
                      "none" if level is None else f"{level:g}", diff, verdict)
    console.print(table)
    console.print(f"simulated answer: {'none in the range' if sim is None else f'{sim:g}'}",
                  markup=False)
    if item["note"]:
        console.print(f"note: {item['note']}", markup=False)


def show_hourly(data: dict[str, Any], console: Console, start: Any) -> None:
    """A day-by-day summary of the plan, its verification, the proposal and the costs."""
    step = data["step_minutes"]
    per_day = max(1, int(round(1440 / step)))
    table = Table(title=f"Hourly plan for {data['pool']} ({data['target']}): "
                        f"{data['converged']}", title_justify="left")
    for col in ("day", "work arriving", "current shifts (min-max)", "plan (min-max)",
                "plan person-h", "proposal (min-max)", "target held in steps"):
        table.add_column(col, justify="left" if col == "day" else "right")
    plan, current, offered = data["plan"], data["current"], data["offered"]
    proposal = data["proposal"].get("plan") or []
    est = data["verification"]["estimate"]
    for d in range(0, len(plan), per_day):
        sl = slice(d, d + per_day)
        day = (start + timedelta(minutes=d * step)).strftime("%m-%d %a")
        e = [x for x in est[sl] if x == x]
        held = sum(1 for x in e if x <= data["limit"] + 1e-12)
        table.add_row(day, f"{sum(offered[sl]):.0f}",
                      f"{min(current[sl]):.0f}-{max(current[sl]):.0f}",
                      f"{min(plan[sl])}-{max(plan[sl])}", f"{sum(plan[sl]) * step / 60:.0f}",
                      f"{min(proposal[sl])}-{max(proposal[sl])}" if proposal else "-",
                      f"{held}/{len(e)}" if e else "-")
    console.print(table)
    n, ok, bad = held_counts(data["verification"], data["limit"])
    console.print(f"verified on fresh seeds: the target held in {ok} of {n} steps with work "
                  f"(point estimate); in {bad} the whole 95% interval is above it", markup=False)
    if data.get("proposal_verification") is not None:
        n2, ok2, bad2 = held_counts(data["proposal_verification"], data["limit"])
        console.print(f"shift proposal, verified the same way: held in {ok2} of {n2} steps; "
                      f"{bad2} clearly above", markup=False)
    cost = data["cost"]
    prop = data["proposal"]
    console.print(f"cost of {data['pool']}: current shifts {cost['current_shifts']:,.0f}; "
                  f"hourly plan {cost['hourly_plan']:,.0f}; shift proposal "
                  f"{cost['shift_proposal']:,.0f} ({prop['person_hours']:,.0f} person-hours)",
                  markup=False)
    if prop.get("uncovered_steps"):
        console.print(f"note: {prop['uncovered_steps']} steps need staff outside every shift "
                      f"block ({prop['uncovered_person_hours']:,.0f} person-hours the "
                      f"proposal leaves out)", markup=False)
