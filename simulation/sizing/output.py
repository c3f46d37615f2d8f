"""What a planner reads: the answer, the frontier, the formulas beside it, and the hourly
plan, as lines, JSON and CSV (the terminal tables are tui/size_view.py's).

Intervals are the ones the verdicts were decided on (statistics.py): simultaneous over the
targets and looks at the stated confidence, so wider than a one-off 95% interval.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Sequence

from simulation.sizing.search import Evaluation, Outcome
from simulation.sizing.spec import Target
from simulation.sizing.statistics import Estimate
from simulation.sizing.theory import TheoryRow

__all__ = ["closest", "answer_lines", "outcome_json", "write_frontier_csv", "theory_json",
           "hourly_json", "write_hourly_csv", "write_shifts_csv", "write_json", "frontier",
           "interval_text", "held_counts", "e_verdict", "MARK"]

MARK = {"meets": "meets", "fails": "FAILS", "too close to call": "too close",
        "undecided": "undecided"}


def interval_text(est: Estimate | None, target: Target) -> str:
    if est is None or est.mean is None:
        return "-"
    if est.low is None or est.high is None or est.half_width is None:
        return target.show(est.mean)
    hw = est.half_width
    if abs((est.mean - est.low) - (est.high - est.mean)) > 1e-9 * max(1.0, abs(est.mean)):
        return f"{target.show(est.mean)} [{target.show(est.low)}, {target.show(est.high)}]"
    half = f"{100 * hw:.2f} pts" if target.info.unit == "share" else target.show(hw)
    return f"{target.show(est.mean)} ± {half}"


def frontier(outcome: Outcome, simulated_only: bool = False) -> list[Evaluation]:
    """Settled configurations, cheapest first (simulated ones, and the ones monotonicity
    settled unless `simulated_only`)."""
    out = []
    for c in outcome.configs:
        ev = outcome.evaluations[c.index]
        if ev.n or (ev.done and not simulated_only):
            out.append(ev)
    return out


def _shortfall(ev: Evaluation, targets: Sequence[Target]) -> float:
    """How far the worst target is on the wrong side, in tolerances (0: none is)."""
    worst = 0.0
    for t in targets:
        est = ev.estimates.get(t.metric)
        if est is None or est.mean is None:
            return math.inf
        gap = (t.threshold - est.mean) if t.op == ">=" else (est.mean - t.threshold)
        worst = max(worst, gap / t.tolerance)
    return worst


def closest(outcome: Outcome) -> tuple[Evaluation, Target] | None:
    """The simulated configuration nearest to meeting every target, and its worst target."""
    simulated = [ev for ev in frontier(outcome, True)]
    if not simulated:
        return None
    targets = outcome.problem.targets
    best = min(simulated, key=lambda ev: (_shortfall(ev, targets), ev.config.index))

    def gap(t: Target) -> float:
        est = best.estimates.get(t.metric)
        if est is None or est.mean is None:
            return math.inf
        return ((t.threshold - est.mean) if t.op == ">=" else (est.mean - t.threshold)) \
            / t.tolerance

    return best, max(targets, key=gap)


def answer_lines(outcome: Outcome) -> list[str]:
    """The answer in sentences."""
    p = outcome.problem
    conf = f"{p.confidence:.0%}"
    lines: list[str] = []
    if outcome.stopped:
        lines.append(f"Stopped early ({outcome.stopped}) after {outcome.simulated} new "
                     f"replications: the answer below is not settled. Rerun the same "
                     f"command with the same --out to resume.")
    ev = outcome.answer
    if ev is not None:
        c = ev.config
        cost = c.cost
        lead = "Cheapest configuration found so far" if outcome.stopped else \
            "Cheapest configuration"
        lines.append(f"{lead} meeting every target at {conf} confidence: "
                     f"{c.label(p.knobs)}")
        lines.append(f"  planned cost {cost['total']:,.0f} (wages {cost['wages']:,.0f}, "
                     f"parts held {cost['parts_held']:,.0f}"
                     + (f", allowances {cost['allowances']:,.0f}" if cost["allowances"] else "")
                     + ")")
        sim = ev.cost_estimate()
        if sim.mean is not None:
            lines.append(f"  expected resource cost in the runs {sim.mean:,.0f}"
                         + (f" ± {sim.half_width:,.0f}" if sim.half_width else "")
                         + " (wages, overtime, contractors, parts fitted, transfers)")
        for t in p.targets:
            verdict, why = ev.verdicts.get(t.metric, ("undecided", ""))
            lines.append(f"  {t}: {interval_text(ev.estimates.get(t.metric), t)} "
                         f"over {ev.estimates[t.metric].n} replications: {verdict}")
        cheaper = [e for e in frontier(outcome, True)
                   if e.config.index < c.index and e.verdict == "too close to call"]
        for e in cheaper[:3]:
            worst = next((t for t in p.targets
                          if e.verdicts.get(t.metric, ("",))[0] == "too close to call"), None)
            if worst is not None:
                lines.append(f"  cheaper {e.config.label(p.knobs)} is too close to call on "
                             f"{worst}: {interval_text(e.estimates.get(worst.metric), worst)}")
        below = [e for e in frontier(outcome, True)
                 if e.config.index < c.index and e.verdict == "fails"]
        if below:
            top = max(below, key=lambda e: e.config.index)
            failing = [t for t in p.targets if e_verdict(top, t) == "fails"]
            lines.append(f"  next cheaper simulated: {top.config.label(p.knobs)} fails "
                         + ", ".join(f"{t.metric} ({interval_text(top.estimates.get(t.metric), t)})"
                                     for t in failing))
    elif outcome.stopped:
        lines.append(f"No configuration is known yet to meet every target at {conf} "
                     f"confidence.")
        near = closest(outcome)
        if near is not None:
            e, t = near
            lines.append(f"  closest so far: {e.config.label(p.knobs)}, {t.metric} "
                         f"{interval_text(e.estimates.get(t.metric), t)} ({e.verdict})")
    else:
        lines.append(f"No configuration in the range meets every target at {conf} "
                     f"confidence.")
        near = closest(outcome)
        if near is not None:
            e, t = near
            lines.append(f"  the target that fails: {t}; closest configuration "
                         f"{e.config.label(p.knobs)}: {t.metric} "
                         f"{interval_text(e.estimates.get(t.metric), t)} ({e.verdict})")
    lines += [f"  note: {n}" for n in outcome.notes]
    lines.append(f"{outcome.mode}: {outcome.replications} replications "
                 f"({outcome.simulated} simulated now) of "
                 f"{sum(1 for e in outcome.evaluations.values() if e.n)} of "
                 f"{len(outcome.configs)} configurations in {outcome.seconds:.1f} s")
    return lines


def e_verdict(ev: Evaluation, t: Target) -> str:
    return ev.verdicts.get(t.metric, ("undecided", ""))[0]


def _est_json(est: Estimate | None) -> dict[str, Any] | None:
    if est is None:
        return None
    return {"n": est.n, "mean": est.mean, "sd": est.sd, "half_width": est.half_width,
            "low": est.low, "high": est.high, "method": est.method}


def outcome_json(outcome: Outcome, theory: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    p = outcome.problem

    def row(ev: Evaluation) -> dict[str, Any]:
        sim = ev.cost_estimate()
        return {"configuration": {k.path: v for k, v in zip(p.knobs, ev.config.levels)},
                "planned_cost": ev.config.cost, "run_cost": _est_json(sim),
                "replications": ev.n, "verdict": ev.verdict, "implied": ev.implied or None,
                "note": ev.note or None,
                "targets": {t.metric: {"estimate": _est_json(ev.estimates.get(t.metric)),
                                       "verdict": ev.verdicts.get(t.metric, ("undecided", ""))[0],
                                       "why": ev.verdicts.get(t.metric, ("", ""))[1]}
                            for t in p.targets}}

    answer = outcome.answer
    return {
        "scenario": p.base.scenario.name, "seed": p.seed, "confidence": p.confidence,
        "mode": outcome.mode, "first_look": p.first, "replication_cap": p.cap,
        "holding_rate_per_year": p.holding_rate,
        "targets": [{"text": t.text, "metric": t.metric, "op": t.op, "threshold": t.threshold,
                     "tolerance": t.tolerance, "unit": t.info.unit} for t in p.targets],
        "vary": [{"path": k.path, "levels": list(k.values)} for k in p.knobs],
        "answer": row(answer) if answer is not None else None,
        "statement": answer_lines(outcome),
        "replications": outcome.replications, "simulated": outcome.simulated,
        "seconds": outcome.seconds, "stopped": outcome.stopped or None,
        "notes": outcome.notes,
        "frontier": [row(ev) for ev in frontier(outcome)],
        "theory": theory or [],
    }


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_plain) + "\n",
                    encoding="utf-8")
    return path


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def write_frontier_csv(outcome: Outcome, path: Path) -> Path:
    p = outcome.problem
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        head = [k.path for k in p.knobs] + ["planned_cost", "run_cost_mean", "run_cost_half"]
        for t in p.targets:
            head += [f"{t.metric} mean", f"{t.metric} half_width", f"{t.metric} verdict"]
        w.writerow(head + ["replications", "verdict", "implied_by"])
        for ev in frontier(outcome):
            sim = ev.cost_estimate()
            row: list[Any] = [k.show(v) for k, v in zip(p.knobs, ev.config.levels)]
            row += [f"{ev.config.cost['total']:.2f}", _num(sim.mean), _num(sim.half_width)]
            for t in p.targets:
                est = ev.estimates.get(t.metric)
                row += [_num(est.mean if est else None), _num(est.half_width if est else None),
                        e_verdict(ev, t)]
            w.writerow(row + [ev.n, ev.verdict, ev.implied])
    return path


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


# -- theory ----------------------------------------------------------------------------------

def theory_json(pool: str, knob_path: str, target: Target, rows: list[TheoryRow], note: str,
                simulated: float | None, verdicts: dict[float, str]) -> dict[str, Any]:
    return {"pool": pool, "vary": knob_path, "target": target.text, "note": note or None,
            "simulated_answer": simulated,
            "formulas": [{"method": r.method, "when": r.when, "servers_on_duty": r.servers,
                          "level": r.level, "note": r.note or None,
                          "simulated_verdict_at_level": verdicts.get(r.level)
                          if r.level is not None else None} for r in rows]}


# -- hourly plans ----------------------------------------------------------------------------

def hourly_json(result: Any, loaded: Any) -> dict[str, Any]:
    goal = result.goal
    v = result.verification
    prop = result.proposal
    wage = loaded.staffing[goal.pool].wage_per_hour
    steps = len(result.plan)
    hours = result.step / 60
    return {
        "pool": goal.pool, "target": goal.text, "kind": goal.kind, "limit": goal.limit,
        "tau_minutes": goal.tau, "step_minutes": result.step, "converged": result.converged,
        "iterations": len(result.plans), "replications": result.replications,
        "seconds": result.seconds,
        "plan": result.plan, "current": result.current, "offered": result.offered,
        "offered_load_plan": list(result.lagged),
        "verification": {k: v[k] for k in v},
        "offered_load_verification": dict(result.lagged_verification) or None,
        "cost": {"current_shifts": float(sum(result.current) * hours * wage),
                 "hourly_plan": float(sum(result.plan) * hours * wage),
                 "offered_load_plan": float(sum(result.lagged) * hours * wage)
                 if result.lagged else None,
                 "shift_proposal": prop.get("cost")},
        "proposal": {k: prop[k] for k in prop if k != "verification"},
        "proposal_verification": prop.get("verification"),
        "steps": steps,
    }


def held_counts(verification: dict[str, Any], limit: float) -> tuple[int, int, int]:
    """Steps with work, steps whose estimate is within the limit, steps whose whole
    interval is above it."""
    est, half = verification["estimate"], verification["half_width"]
    have = [k for k in range(len(est)) if est[k] == est[k]]
    ok = sum(1 for k in have if est[k] <= limit + 1e-12)
    bad = sum(1 for k in have if half[k] == half[k] and est[k] - half[k] > limit)
    return len(have), ok, bad


def write_hourly_csv(data: dict[str, Any], path: Path, start: Any) -> Path:
    from datetime import timedelta
    step = data["step_minutes"]
    v, pv = data["verification"], data.get("proposal_verification") or {}
    proposal = data["proposal"].get("plan") or []
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "start", "work_arriving", "current", "plan", "proposal",
                    "offered_load_plan", "estimate", "half_width", "proposal_estimate",
                    "offered_load_estimate"])
        lagged = data.get("offered_load_plan") or []
        lv = data.get("offered_load_verification") or {}
        for k, count in enumerate(data["plan"]):
            at = (start + timedelta(minutes=k * step)).isoformat()
            w.writerow([k, at, _num(float(data["offered"][k])), _num(data["current"][k]), count,
                        proposal[k] if proposal else "", lagged[k] if lagged else "",
                        _num(_nan(v["estimate"][k])), _num(_nan(v["half_width"][k])),
                        _num(_nan(pv["estimate"][k])) if pv else "",
                        _num(_nan(lv["estimate"][k])) if lv else ""])
    return path


def _nan(x: Any) -> float | None:
    return None if x is None or x != x else float(x)


def write_shifts_csv(data: dict[str, Any], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["block", "headcount"])
        for b in data["proposal"]["blocks"]:
            w.writerow([b["block"], b["headcount"]])
    return path
