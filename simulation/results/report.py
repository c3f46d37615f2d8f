"""The report of a simulation: results.json, the event log, Markdown and plots in one folder.

A planner reads report.md (plain findings first, then tables with 95% confidence intervals and
the plots); a script reads results.json (the full summary, every replication's values kept);
an analyst opens events.csv.gz (replication 1, every event, names decoded). The report writes
only its own files, by their fixed names, so pointing it at a folder that holds other work
never touches that work. Text is UTF-8 throughout: product, part and state names are often
Chinese and must come through as written.
"""

from __future__ import annotations

import json
import math
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from simulation.scenario.loader import LoadedScenario
from simulation.results.metrics import TIERS
from simulation.model.world import Results
from simulation.results.plots import COST_LABELS, make_plots

__all__ = ["OWN_FILES", "PLOT_FILES", "muster_version", "write_report", "pct", "minutes"]

PLOT_FILES = ("demand.png", "sla.png", "utilisation.png", "stock.png", "costs.png",
              "emergency.png")
OWN_FILES = ("results.json", "events.csv.gz", "report.md", *PLOT_FILES)
"""Every file name the report may write (and so may replace) in its folder."""

MILESTONE_WORDS = {"acknowledge": "acknowledgement", "initial_plan": "initial plan",
                   "resolve": "resolution", "investigation_start": "investigation start",
                   "answer": "answer"}


def muster_version() -> str:
    try:
        return version("muster")
    except PackageNotFoundError:
        return "0+unknown"


# -- number formatting -----------------------------------------------------------------------

def _m(stat: Any) -> float | None:
    return stat.get("mean") if isinstance(stat, dict) else None


def _h(stat: Any) -> float | None:
    return stat.get("half_width") if isinstance(stat, dict) else None


def pct(stat: Any) -> str:
    """A share as "97.1% ± 0.8%" (no ± with one replication; "n/a" when undefined)."""
    mean, half = _m(stat), _h(stat)
    if mean is None:
        return "n/a"
    return f"{100 * mean:.1f}%" + (f" ± {100 * half:.1f}%" if half is not None else "")


def minutes(value: float | None) -> str:
    """A duration in minutes in the unit a reader thinks in: 45 min, 3.2 h, 2.5 d."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value < 120:
        return f"{value:.0f} min"
    if value < 2 * 1440:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} d"


def _dur(stat: Any) -> str:
    mean, half = _m(stat), _h(stat)
    return minutes(mean) + (f" ± {minutes(half)}" if mean is not None and half is not None
                            else "")


def _num(stat: Any, digits: int = 0) -> str:
    mean, half = _m(stat), _h(stat)
    if mean is None:
        return "n/a"
    return f"{mean:,.{digits}f}" + (f" ± {half:,.{digits}f}" if half is not None else "")


def _scaled(stat: Any, k: float) -> dict[str, float | None]:
    """A stat in other units (minutes -> hours)."""
    mean, half = _m(stat), _h(stat)
    return {"mean": None if mean is None else mean * k,
            "half_width": None if half is None else half * k}


def _clean(value: Any) -> Any:
    """NaN and infinities (not JSON) as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[object]], text: int = 1) -> list[str]:
    """A Markdown table; the first `text` columns are left-aligned, the numbers right."""
    align = ["---"] * text + ["--:"] * (len(head) - text)
    return ["| " + " | ".join(map(_cell, head)) + " |", "| " + " | ".join(align) + " |",
            *("| " + " | ".join(map(_cell, r)) + " |" for r in rows), ""]


# -- sections --------------------------------------------------------------------------------

def _reps(summary: dict[str, Any]) -> int:
    return int(summary["run"]["arrivals"]["n"])


def _judged(summary: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(tier, milestone, cell) of every SLA cell judged in some replication."""
    return [(t, ms, cell) for t in TIERS for ms, cell in summary["sla"].get(t, {}).items()
            if (_m(cell["judged"]) or 0) > 0]


def _simulated(loaded: LoadedScenario, summary: dict[str, Any]) -> list[str]:
    sc = loaded.scenario
    run = summary["run"]
    lines = ["## What was simulated", ""]
    start = sc.start.strftime("%Y-%m-%d %H:%M UTC%z")
    lines.append(f"- {minutes(_m(run['horizon_minutes']))} of arrivals from {start}, "
                 f"followed until {minutes(_m(run['end_minutes']))}; incidents "
                 f"opened in the first {minutes(_m(run['warmup_minutes']))} (warmup) are "
                 "simulated but left out of the case metrics.")
    if loaded.replay is not None:
        lines.append(f"- Demand: {len(loaded.replay)} arrivals replayed from history.")
    elif sc.queue is not None:
        lines.append(f"- Demand: a textbook queue, {sc.queue.arrival_rate:g} arrivals per hour, "
                     f"{sc.queue.servers} servers.")
    else:
        lines.append(f"- Demand: {sc.demand.base_rate:g} incidents per hour on average"
                     + (", shaped by hour of day" if sc.demand.hourly else "")
                     + (" and day of week" if sc.demand.weekly else "") + ".")
        for s in sc.demand.surges:
            span = {"step": f" for {s.duration}", "spike": f", decaying over {s.decay}",
                    "ramp": f", climbing over {s.duration}"}[s.kind]
            lines.append(f"  - {s.kind} surge x{s.factor:g} from {s.start}{span}")
    for i in sc.injects:
        what = {"staff_absence": f"{i.headcount} of pool {i.pool} absent",
                "stock_loss": f"{i.qty} units of {i.sku} lost",
                "demand_spike": f"demand x{i.factor:g}", "crm_outage": f"CRM outage (work "
                f"x{i.slowdown:g} slower)"}[i.kind]
        lines.append(f"- Inject at {i.at}: {what}" + (f" for {i.duration}" if
                     i.duration.amount else "") + (f" ({i.note})" if i.note else ""))
    lines.append(f"- Decision policy: {sc.policy}; {_reps(summary)} independent replications.")
    lines.append("")
    rows = []
    for kind, entry in loaded.mix.items():
        products = ", ".join(f"{p.name} ({p.sku})" if p.sku else p.name
                             for p in entry.products) or "-"
        tiers = ", ".join(f"{t.value} {w:.0%}" for t, w in entry.tiers.items())
        rows.append([kind, loaded.playbooks[kind].name, f"{entry.share:g}", tiers, products])
    lines += _table(["incident kind", "playbook", "share", "tiers", "products"], rows, 5)
    rows = []
    for name, spec in loaded.staffing.items():
        on = (f"{spec.headcount} round the clock" if spec.headcount is not None else
              "; ".join(f"{s.headcount} {s.days} {s.start:%H:%M}-{s.end:%H:%M}"
                        for s in spec.shifts))
        rows.append([name, ", ".join(spec.roles), on + (" (contractor)" if spec.contractor
                                                         else ""), f"{spec.wage_per_hour:g}"])
    if rows:
        lines += _table(["staff pool", "roles", "on duty", "wage per hour"], rows, 3)
    return lines


def _level_name(level: str, loaded: LoadedScenario) -> str:
    """An emergency level with its colour label: "II (orange)"."""
    for pb in loaded.playbooks.values():
        spec = pb.emergency.levels.get(level)
        if spec is not None and spec.label:
            return f"{level} ({spec.label})"
    return level


def _findings(loaded: LoadedScenario, summary: dict[str, Any]) -> list[str]:
    out = ["## Key findings", ""]
    for tier, ms, cell in _judged(summary):
        if ms in ("acknowledge", "resolve"):
            out.append(f"- {tier} {MILESTONE_WORDS.get(ms, ms)} within target: "
                       f"{pct(cell['attainment'])}")
    judged = [(t, ms, c) for t, ms, c in _judged(summary) if _m(c["attainment"]) is not None]
    if judged:
        t, ms, c = min(judged, key=lambda x: _m(x[2]["attainment"]))
        out.append(f"- Weakest: {t} {MILESTONE_WORDS.get(ms, ms)}, {pct(c['attainment'])} on "
                   f"time ({_num(c['failed'], 1)} failed per replication).")
    inc = summary["incidents"]
    out.append(f"- {_num(inc['opened'])} incidents opened per replication; "
               f"{_num(inc['open_at_end'])} still open at the end; mean time in system "
               f"{_dur(inc['mean_time_in_system'])}; work waited "
               f"{_dur(inc['staff_wait']['mean'])} for staff on average.")
    pools = [(p, u) for p, u in summary["utilisation"].items() if _m(u["utilisation"])]
    if pools:
        p, u = max(pools, key=lambda x: _m(x[1]["utilisation"]))
        out.append(f"- Busiest staff pool: {p}, {pct(u['utilisation'])} of on-duty time busy.")
    short = [(s, v) for s, v in summary["stock"].items() if _m(v["fill_rate"]) is not None]
    if short:
        s, v = min(short, key=lambda x: _m(x[1]["fill_rate"]))
        out.append(f"- Lowest fill rate: {s}, {pct(v['fill_rate'])} of units from the shelf at "
                   f"once; out of stock {_dur(v['out_minutes'])} per replication.")
    esc = summary["escalations"]
    out.append(f"- Escalations: {_num(esc['total'], 1)} per replication "
               f"({_num(esc['cases'], 1)} cases).")
    em = summary["emergency"]
    ranks = [r for r in em["max_rank"]["values"] if r is not None]
    if ranks and max(ranks) > 0:
        top = _level_name(em["levels"][int(max(ranks))], loaded)
        hit = sum(1 for r in ranks if r > 0)
        out.append(f"- Emergency level raised in {hit} of {len(ranks)} replications; highest "
                   f"level reached: {top}.")
    else:
        out.append("- The emergency level never left normal.")
    com = summary["communications"]
    if _m(com["owed"]):
        out.append(f"- Messages sent on time: {pct(com['on_time_share'])} of "
                   f"{_num(com['owed'])} owed per replication.")
    else:
        out.append("- No messages were owed.")
    out.append(f"- Complaints generated by SLA breaches: "
               f"{_num(summary['complaints']['generated'], 1)} per replication.")
    if _m(summary["costs"]["total"]):
        out.append(f"- Total cost: {_num(summary['costs']['total'])} per replication.")
    return [*out, ""]


def _sla_tables(summary: dict[str, Any]) -> list[str]:
    out = ["## SLA attainment", "",
           "Share of judged milestones met on time (a milestone is judged once its deadline "
           "has passed or it is met); mean over replications ± 95% CI half-width.", ""]
    rows = [[t, ms, pct(c["attainment"]), _num(c["on_time"], 1), _num(c["failed"], 1),
             _num(c["breached"], 1)] for t, ms, c in _judged(summary)]
    if not rows:
        return [*out[:2], "No milestone was judged: the playbooks set no SLA targets, or no "
                "deadline came due.", ""]
    out += _table(["tier", "milestone", "on time", "met on time", "failed", "breached"], rows, 2)
    out += ["## Time to milestone", "",
            "From opening to the milestone, for cases that reached it (met on time or late); "
            "mean over replications of each statistic.", ""]
    rows = []
    for tier in TIERS:
        for ms, st in summary["times"].get(tier, {}).items():
            if (_m(st["n"]) or 0) > 0:
                rows.append([tier, ms, _num(st["n"], 1), _dur(st["mean"]),
                             minutes(_m(st["p50"])), minutes(_m(st["p90"])),
                             minutes(_m(st["p95"]))])
    return out + _table(["tier", "milestone", "cases", "mean", "p50", "p90", "p95"], rows, 2)


def _operations(loaded: LoadedScenario, summary: dict[str, Any]) -> list[str]:
    inc = summary["incidents"]
    out = ["## Demand and backlog", "", "![Arrivals and open backlog](demand.png)", "",
           f"Little's law over the measured window: mean number in system L = "
           f"{_num(inc['mean_number_in_system'], 1)}; arrival rate x mean time in window = "
           f"{_num(inc['little_lambda_w'], 1)}; backlog sampled every signal interval: "
           f"{_num(inc['mean_number_in_system_sampled'], 1)}.", "",
           f"Work waited for a member of staff {_dur(inc['staff_wait']['mean'])} on average "
           f"(p90 {minutes(_m(inc['staff_wait']['p90']))}, over "
           f"{_num(inc['staff_wait']['n'])} pieces of work per replication).", ""]
    out += ["## Staff utilisation", ""]
    out += _table(["pool", "busy share", "busy hours", "on-duty hours", "overtime hours"],
                  [[p, pct(u["utilisation"]), _num(_scaled(u["busy_minutes"], 1 / 60)),
                    _num(_scaled(u["capacity_minutes"], 1 / 60)),
                    _num(_scaled(u["overtime_minutes"], 1 / 60))]
                   for p, u in summary["utilisation"].items()])
    out += ["![Staff utilisation](utilisation.png)", "", "## Spare parts", ""]
    names = {sku: part.name for pb in loaded.playbooks.values() for sku, part in pb.parts.items()}
    rows = [[sku, names.get(sku, ""), pct(s["fill_rate"]), _dur(s["out_minutes"]),
             _num(s["demand_units"]), _num(s["consumed_units"]), _num(s["transfers"], 1)]
            for sku, s in summary["stock"].items()]
    out += _table(["SKU", "part", "fill rate", "out of stock", "units asked", "units used",
                   "transfers"], rows, 2) if rows else ["No stock is kept in this scenario.", ""]
    if rows:
        out += ["![Stock levels](stock.png)", ""]
    esc = summary["escalations"]
    out += ["## Escalations", ""]
    out += _table(["raised to level", "escalations per replication"],
                  [[lv, _num(c, 1)] for lv, c in esc["by_level"].items()]) \
        if esc["by_level"] else ["No escalation levels in these playbooks.", ""]
    em = summary["emergency"]
    out += ["## Emergency levels", ""]
    out += _table(["level", "time at level per replication"],
                  [[lv, _dur(m)] for lv, m in em["minutes_at_level"].items()])
    if em["timeline"]:
        out += ["![Emergency level timeline](emergency.png)", ""]
    com = summary["communications"]
    out += ["## Communications", ""]
    out += _table(["audience", "owed", "sent", "sent on time", "on-time share"],
                  [[a, _num(c["owed"], 1), _num(c["sent"], 1), _num(c["on_time"], 1),
                    pct(c["on_time_share"])] for a, c in com["by_audience"].items()]
                  + [["all", _num(com["owed"], 1), _num(com["sent"], 1),
                      _num(com["on_time"], 1), pct(com["on_time_share"])]])
    comp = summary["complaints"]
    out += ["## Complaints", "", f"{_num(comp['generated'], 1)} complaints per replication "
            f"raised by customers whose SLA was breached "
            f"({_num(comp['per_1000_incidents'], 1)} per 1000 incidents).", ""]
    costs = summary["costs"]
    out += ["## Costs", ""]
    if not _m(costs["total"]):
        return out + ["Nothing was costed: the scenario sets no wages, rates or prices.", ""]
    out += _table(["cost", "per replication"],
                  [[COST_LABELS[k], _num(costs[k])] for k in COST_LABELS]
                  + [["total", _num(costs["total"])]])
    return out + ["![Cost breakdown](costs.png)", ""]


def _markdown(loaded: LoadedScenario, summary: dict[str, Any], seed: int | None,
              plots: list[Path]) -> str:
    sc = loaded.scenario
    head = [f"# Simulation report: {sc.title or sc.name}", "",
            f"Scenario `{sc.name}`" + (f" ({loaded.path})" if loaded.path else "")
            + f"; {_reps(summary)} replications" + (f", master seed {seed}" if seed is not None
                                                   else "") + f"; muster {muster_version()}.",
            ""]
    if sc.description:
        head += [sc.description.strip(), ""]
    body = [*head, *_simulated(loaded, summary), *_findings(loaded, summary)]
    if "sla.png" in {p.name for p in plots}:
        body += ["![SLA attainment](sla.png)", ""]
    body += [*_sla_tables(summary), *_operations(loaded, summary)]
    drawn = {p.name for p in plots}
    # A plot the data did not support (no stock, no level change) has no image to link.
    text = "\n".join(line for line in body if not line.startswith("![") or
                     line[line.index("](") + 2:-1] in drawn)
    files = ["## Files", "", "- results.json: every metric, each replication's value, means "
             "and 95% CIs", "- events.csv.gz: the event log of replication 1", ""]
    return text + "\n" + "\n".join(files)


def write_report(out_dir: Path, loaded: LoadedScenario, summary: dict[str, Any],
                 first_results: Results, *, seed: int | None = None) -> list[Path]:
    """Write results.json, events.csv.gz, the plots and report.md into `out_dir`; the paths.

    Only the names in OWN_FILES are written; a plot of this name left by an earlier run that
    this run does not draw is removed, so the folder never mixes two runs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reps = _reps(summary)
    doc = {"muster_version": muster_version(), "scenario": loaded.scenario.name,
           "scenario_title": loaded.scenario.title,
           "scenario_path": str(loaded.path) if loaded.path else None,
           "seed": seed, "reps": reps,
           "replication_seeds": [int(v) for v in summary["run"]["seed"]["values"]],
           "summary": _clean(summary)}
    results = out_dir / "results.json"
    results.write_text(json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False),
                       encoding="utf-8")
    events = out_dir / "events.csv.gz"
    first_results.log.write_csv(events)
    plots = make_plots(out_dir, loaded, summary)
    for stale in set(PLOT_FILES) - {p.name for p in plots}:
        (out_dir / stale).unlink(missing_ok=True)
    report = out_dir / "report.md"
    report.write_text(_markdown(loaded, summary, seed, plots), encoding="utf-8")
    return [results, events, report, *plots]
