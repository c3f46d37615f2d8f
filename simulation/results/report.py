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
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from simulation.model.world import Results
from simulation.results.common import TIERS, muster_version
from simulation.results.format import clean, dur, mean_of, minutes, num, pct, table
from simulation.results.sections import comparison_section, operations_section
from simulation.scenario.loader import LoadedScenario

__all__ = ["OWN_FILES", "PLOT_FILES", "muster_version", "write_report", "pct", "minutes"]

PLOT_FILES = ("demand.png", "sla.png", "utilisation.png", "stock.png", "costs.png",
              "emergency.png", "demand.svg", "sla.svg", "utilisation.svg", "stock.svg",
              "costs.svg", "emergency.svg")
"""Each plot as PNG (linked from report.md) and as SVG with its text kept as text (a browser
draws Chinese names with its own fonts)."""
OWN_FILES = ("results.json", "events.csv.gz", "report.md", *PLOT_FILES)
"""Every file name the report may write (and so may replace) in its folder."""

Comparison = tuple[dict[str, Any], dict[str, Any], str, str]
"""(baseline summary, difference summary, this policy, the baseline policy)."""

MILESTONE_WORDS = {"acknowledge": "acknowledgement", "initial_plan": "initial plan",
                   "resolve": "resolution", "investigation_start": "investigation start",
                   "answer": "answer"}


# -- sections --------------------------------------------------------------------------------

def _reps(summary: dict[str, Any]) -> int:
    return int(summary["run"]["arrivals"]["n"])


def _judged(summary: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(tier, milestone, cell) of every SLA cell judged in some replication."""
    return [(t, ms, cell) for t in TIERS for ms, cell in summary["sla"].get(t, {}).items()
            if (mean_of(cell["judged"]) or 0) > 0]


def _simulated(loaded: LoadedScenario, summary: dict[str, Any]) -> list[str]:
    sc = loaded.scenario
    run = summary["run"]
    lines = ["## What was simulated", ""]
    start = sc.start.strftime("%Y-%m-%d %H:%M UTC%z")
    lines.append(f"- {minutes(mean_of(run['horizon_minutes']))} of arrivals from {start}, "
                 f"followed until {minutes(mean_of(run['end_minutes']))}; incidents "
                 f"the first {minutes(mean_of(run['warmup_minutes']))} (warm-up) are "
                 "simulated but left out of every metric.")
    if loaded.replay is not None:
        lines.append(f"- Demand: {len(loaded.replay)} arrivals replayed from history.")
    elif sc.queue is not None:
        lines.append(f"- Demand: a textbook queue, {sc.queue.arrival_rate:g} arrivals per hour, "
                     f"{sc.queue.servers} servers.")
    else:
        lines.append(f"- Demand: {sc.demand.base_rate:g} incidents per hour on average"
                     + (", shaped by hour of day" if sc.demand.hourly else "")
                     + (" and day of week" if sc.demand.weekly else "")
                     + (", shaped by weekday and hour" if sc.demand.profile else "") + ".")
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
    policy = summary["run"].get("policy", sc.policy)
    lines.append(f"- Decision policy: {policy}; {_reps(summary)} independent replications.")
    lines.append("")
    rows = []
    for kind, entry in loaded.mix.items():
        products = ", ".join(f"{p.name} ({p.sku})" if p.sku else p.name
                             for p in entry.products) or "-"
        tiers = ", ".join(f"{t.value} {w:.0%}" for t, w in entry.tiers.items())
        rows.append([kind, loaded.playbooks[kind].name, f"{entry.share:g}", tiers, products])
    lines += table(["incident kind", "playbook", "share", "tiers", "products"], rows, 5)
    rows = []
    for name, spec in loaded.staffing.items():
        on = (f"{spec.headcount} round the clock" if spec.headcount is not None else
              "; ".join(f"{s.headcount} {s.days} {s.start:%H:%M}-{s.end:%H:%M}"
                        for s in spec.shifts))
        rows.append([name, ", ".join(spec.roles), on + (" (contractor)" if spec.contractor
                                                         else ""), f"{spec.wage_per_hour:g}"])
    if rows:
        lines += table(["staff pool", "roles", "on duty", "wage per hour"], rows, 3)
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
    judged = [(t, ms, c) for t, ms, c in _judged(summary) if mean_of(c["attainment"]) is not None]
    if judged:
        t, ms, c = min(judged, key=lambda x: mean_of(x[2]["attainment"]))
        out.append(f"- Weakest: {t} {MILESTONE_WORDS.get(ms, ms)}, {pct(c['attainment'])} on "
                   f"time ({num(c['failed'], 1)} failed per replication).")
    inc = summary["incidents"]
    out.append(f"- {num(inc['opened'])} incidents opened per replication; "
               f"{num(inc['lost'])} customers lost (gave up or withdrew: "
               f"{pct(inc['lost_share'])}, counted as missed in SLA attainment); "
               f"{num(inc['open_at_end'])} still open at the end; mean time in system "
               f"{dur(inc['mean_time_in_system'])}; work waited "
               f"{dur(inc['staff_wait']['mean'])} for staff on average.")
    every = summary.get("waiting", {}).get("all", {})
    if (mean_of(every.get("abandoned")) or 0) > 0:
        levels = ", ".join(f"{pct(v)} within {k}" for k, v in every["service_level"].items())
        out.append(f"- Customers who gave up waiting: {pct(every['abandonment'])} of work "
                   f"offered; average speed of answer {dur(every['asa'])}"
                   + (f"; served {levels}" if levels else "") + ".")
    elif every.get("service_level"):
        levels = ", ".join(f"{pct(v)} within {k}" for k, v in every["service_level"].items())
        out.append(f"- Average speed of answer {dur(every['asa'])}; served {levels}.")
    pools = [(p, u["arrivals"]) for p, u in summary["utilisation"].items()
             if mean_of(u["arrivals"]["utilisation"])]
    if pools:
        p, u = max(pools, key=lambda x: mean_of(x[1]["utilisation"]))
        out.append(f"- Busiest staff pool while incidents arrive: {p}, {pct(u['utilisation'])} "
                   f"of on-duty time busy (utilisation and costs in these findings are "
                   f"measured from the end of the warm-up to the horizon; the drain after it "
                   f"is reported separately below).")
    short = [(s, v["measured"]) for s, v in summary["stock"].items()
             if mean_of(v["measured"]["fill_rate"]) is not None]
    if short:
        s, v = min(short, key=lambda x: mean_of(x[1]["fill_rate"]))
        out.append(f"- Lowest fill rate: {s}, {pct(v['fill_rate'])} of units from the shelf at "
                   f"once; out of stock {dur(v['out_minutes'])} per replication.")
    esc = summary["escalations"]
    out.append(f"- Escalations: {num(esc['total'], 1)} per replication "
               f"({num(esc['cases'], 1)} cases).")
    em = summary["emergency"]
    ranks = [r for r in em["max_rank"]["values"] if r is not None]
    if ranks and max(ranks) > 0:
        # Two counts: replications that reached the highest level, and those raising any.
        top = max(ranks)
        out.append(f"- Highest emergency level: {_level_name(em['levels'][int(top)], loaded)}"
                   f", reached in {sum(1 for r in ranks if r == top)} of {len(ranks)} "
                   f"replications; some level raised in {sum(1 for r in ranks if r > 0)} of "
                   f"{len(ranks)}.")
    else:
        out.append("- The emergency level never left normal.")
    com = summary["communications"]
    if mean_of(com["owed"]):
        out.append(f"- Messages sent on time: {pct(com['on_time_share'])} of "
                   f"{num(com['owed'])} owed per replication.")
    else:
        out.append("- No messages were owed.")
    out.append(f"- Complaints generated by SLA breaches: "
               f"{num(summary['complaints']['generated'], 1)} per replication.")
    costs = summary["costs"]
    if mean_of(costs["measured"]["total"]):
        out.append(f"- Cost while incidents arrive: {num(costs['arrivals']['total'])} per "
                   f"replication; with the drain: {num(costs['measured']['total'])}.")
    return [*out, ""]


def _sla_tables(summary: dict[str, Any]) -> list[str]:
    out = ["## SLA attainment", "",
           "Share of judged milestones met on time (a milestone is judged once its deadline "
           "has passed or it is met); mean over replications ± 95% CI half-width.", ""]
    rows = [[t, ms, pct(c["attainment"]), num(c["on_time"], 1), num(c["failed"], 1),
             num(c["breached"], 1)] for t, ms, c in _judged(summary)]
    if not rows:
        return [*out[:2], "No milestone was judged: the playbooks set no SLA targets, or no "
                "deadline came due.", ""]
    out += table(["tier", "milestone", "on time", "met on time", "failed", "breached"], rows, 2)
    out += ["## Time to milestone", "",
            "From opening to the milestone, for cases that reached it (met on time or late); "
            "mean over replications of each statistic.", ""]
    rows = []
    for tier in TIERS:
        for ms, st in summary["times"].get(tier, {}).items():
            if (mean_of(st["n"]) or 0) > 0:
                rows.append([tier, ms, num(st["n"], 1), dur(st["mean"]),
                             minutes(mean_of(st["p50"])), minutes(mean_of(st["p90"])),
                             minutes(mean_of(st["p95"]))])
    return out + table(["tier", "milestone", "cases", "mean", "p50", "p90", "p95"], rows, 2)


def _markdown(loaded: LoadedScenario, summary: dict[str, Any], seed: int | None,
              plots: list[Path], compare: Comparison | None) -> str:
    sc = loaded.scenario
    head = [f"# Simulation report: {sc.title or sc.name}", "",
            f"Scenario `{sc.name}`" + (f" ({loaded.path})" if loaded.path else "")
            + f"; {_reps(summary)} replications" + (f", master seed {seed}" if seed is not None
                                                   else "") + f"; muster {muster_version()}.",
            ""]
    if sc.description:
        head += [sc.description.strip(), ""]
    body = [*head, *_simulated(loaded, summary), *_findings(loaded, summary)]
    if compare is not None:
        body += comparison_section(summary, *compare)
    if "sla.png" in {p.name for p in plots}:
        body += ["![SLA attainment](sla.png)", ""]
    body += [*_sla_tables(summary), *operations_section(loaded, summary)]
    drawn = {p.name for p in plots}
    # A plot the data did not support (no stock, no level change) has no image to link.
    text = "\n".join(line for line in body if not line.startswith("![") or
                     line[line.index("](") + 2:-1] in drawn)
    files = ["## Files", "", "- results.json: every metric, each replication's value, means "
             "and 95% CIs" + (", and the comparison" if compare is not None else ""),
             "- events.csv.gz: the event log of replication 1",
             "- *.png, *.svg: the plots (the SVGs keep their text as text)", ""]
    return text + "\n" + "\n".join(files)


def write_report(out_dir: Path, loaded: LoadedScenario, summary: dict[str, Any],
                 first_results: Results, *, seed: int | None = None,
                 warn: Callable[[str], None] | None = None,
                 compare: Comparison | None = None) -> list[Path]:
    """Write results.json, events.csv.gz, the plots and report.md into `out_dir`; the paths.

    The files are written into a hidden folder beside `out_dir` and moved in only when all
    of them are written, so a run stopped while writing (Ctrl-C, a full disk) leaves the
    previous report whole. Only the names in OWN_FILES are written; a plot of this name left
    by an earlier run that this run does not draw is removed, so the folder never mixes two
    runs. `warn` receives
    the plots' warning line, if any (see `make_plots`). `compare` = (baseline summary,
    difference summary, this policy, the other policy) adds "what the response is worth".
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.parent.glob(f".{out_dir.name}.writing-*"):
        shutil.rmtree(old, ignore_errors=True)  # an earlier run stopped while writing
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.writing-", dir=out_dir.parent))
    try:
        written = _write(staging, loaded, summary, first_results, seed, warn, compare)
        for stale in set(OWN_FILES) - {p.name for p in written}:
            (out_dir / stale).unlink(missing_ok=True)
        for path in written:  # swapped in only once all is written: a stop leaves the old
            os.replace(path, out_dir / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / p.name for p in written]


def _write(out_dir: Path, loaded: LoadedScenario, summary: dict[str, Any],
           first_results: Results, seed: int | None, warn: Callable[[str], None] | None,
           compare: Comparison | None) -> list[Path]:
    reps = _reps(summary)
    doc = {"muster_version": muster_version(), "scenario": loaded.scenario.name,
           "scenario_title": loaded.scenario.title,
           "scenario_path": str(loaded.path) if loaded.path else None,
           "seed": seed, "reps": reps,
           "replication_seeds": [int(v) for v in summary["run"]["seed"]["values"]],
           "summary": clean(summary)}
    if compare is not None:
        doc["comparison"] = {"policy": compare[2], "baseline_policy": compare[3],
                             "baseline": clean(compare[0]), "difference": clean(compare[1])}
    results = out_dir / "results.json"
    results.write_text(json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False),
                       encoding="utf-8")
    events = out_dir / "events.csv.gz"
    first_results.log.write_csv(events)
    from simulation.results.plots import make_plots  # matplotlib when a report is written

    plots = make_plots(out_dir, loaded, summary, warn=warn)
    report = out_dir / "report.md"
    report.write_text(_markdown(loaded, summary, seed, plots, compare), encoding="utf-8")
    return [results, events, report, *plots]
