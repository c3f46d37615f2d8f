"""The report's sections after the findings: waits, resources by window, levels, messages,
costs, and what the response is worth against the baseline.

Each function takes the summary (`replications.summarise`) and returns Markdown lines. The
resource sections say which window they measure: while incidents arrive (after the warm-up,
up to the horizon), the drain after it, or both (`measured`); see results/operations.py.
"""

from __future__ import annotations

from typing import Any

from simulation.results.common import TIERS
from simulation.results.format import (COST_LABELS, dur, mean_of, minutes, num, pct, scaled,
                                       signed_dur, signed_num, signed_pct, table)
from simulation.scenario.loader import LoadedScenario

__all__ = ["waiting_section", "operations_section", "comparison_section", "kpis",
           "WINDOW_WORDS"]

WINDOW_WORDS = {"arrivals": "while incidents arrive", "drain": "drain (after the horizon)",
                "measured": "whole measured run"}


def waiting_section(summary: dict[str, Any]) -> list[str]:
    """Waits for staff per tier: offered, given up, average speed of answer, service level."""
    w = summary.get("waiting", {})
    rows, levels = [], []
    for tier in (*TIERS, "all"):
        row = w.get(tier)
        if not row or not (mean_of(row["offered"]) or 0) > 0:
            continue
        levels = list(row["service_level"])
        rows.append([tier, num(row["offered"]), pct(row["abandonment"]), dur(row["asa"]),
                     minutes(mean_of(row["wait"]["p90"])), dur(row["mean_wait_all"]),
                     *(pct(row["service_level"][k]) for k in levels)])
    if not rows:
        return []
    out = ["## Waiting for staff", "",
           "Pieces of work per replication that waited for a member of staff (work started "
           "at once counts as a wait of 0): the share whose customer gave up, the average "
           "speed of answer (mean wait of served work), the 90th percentile of that wait, the "
           "mean wait of everything offered (abandoned waits included) and, for the "
           "thresholds the scenario names, the share served within them (a customer who gave "
           "up is not served within any)." , ""]
    head = ["tier", "offered", "abandoned", "ASA", "p90 wait", "mean wait (all)",
            *(f"served within {k}" for k in levels)]
    return out + table(head, rows)


def _little(summary: dict[str, Any]) -> str:
    lit = summary.get("little")
    if not lit or mean_of(lit["L_sampled"]) is None:
        return ""
    return (f"Little's law while incidents arrive, two independent measurements: the backlog "
            f"sampled every signal interval averages L = {num(lit['L_sampled'], 1)}; arrival "
            f"rate x mean time in system = {num(lit['lambda_w'], 1)} (relative gap "
            f"{pct(lit['gap'])}; near zero in a steady state, larger in a surge that the "
            f"window cuts off).")


def operations_section(loaded: LoadedScenario, summary: dict[str, Any]) -> list[str]:
    """Demand and backlog, staff by window, spare parts, escalations, levels, messages,
    complaints, costs by window."""
    inc = summary["incidents"]
    out = ["## Demand and backlog", "", "![Arrivals and open backlog](demand.png)", "",
           _little(summary), "",
           f"Work waited for a member of staff {dur(inc['staff_wait']['mean'])} on average "
           f"(p90 {minutes(mean_of(inc['staff_wait']['p90']))}, over "
           f"{num(inc['staff_wait']['n'])} pieces of work per replication).", ""]
    out += waiting_section(summary)
    out += ["## Staff utilisation", "",
            "Busy share of on-duty time, where on duty includes minutes worked past a shift's "
            "end to finish a job (overrun), so it never exceeds 100%. Measured while "
            "incidents arrive and, separately, in the drain after the horizon.", ""]
    out += table(["pool", "busy while arriving", "busy in drain", "busy hours",
                  "on-duty hours", "overtime hours", "overrun hours"],
                 [[p, pct(u["arrivals"]["utilisation"]), pct(u["drain"]["utilisation"]),
                   num(scaled(u["measured"]["busy_minutes"], 1 / 60)),
                   num(scaled(u["measured"]["on_duty_minutes"], 1 / 60)),
                   num(scaled(u["measured"]["overtime_minutes"], 1 / 60)),
                   num(scaled(u["measured"]["overrun_minutes"], 1 / 60))]
                  for p, u in summary["utilisation"].items()])
    out += ["![Staff utilisation](utilisation.png)", "", "## Spare parts", ""]
    names = {sku: part.name for pb in loaded.playbooks.values() for sku, part in pb.parts.items()}
    rows = [[sku, names.get(sku, ""), pct(s["measured"]["fill_rate"]),
             pct(s["arrivals"]["fill_rate"]), dur(s["measured"]["out_minutes"]),
             num(s["measured"]["demand_units"]), num(s["measured"]["consumed_units"]),
             num(s["measured"]["transfers"], 1)]
            for sku, s in summary["stock"].items()]
    out += table(["SKU", "part", "fill rate", "fill while arriving", "out of stock",
                  "units asked", "units used", "transfers"], rows, 2) if rows else [
        "No stock is kept in this scenario.", ""]
    if rows:
        out += ["![Stock levels](stock.png)", ""]
    esc = summary["escalations"]
    out += ["## Escalations", ""]
    out += table(["raised to level", "escalations per replication"],
                 [[lv, num(c, 1)] for lv, c in esc["by_level"].items()]) \
        if esc["by_level"] else ["No escalation levels in these playbooks.", ""]
    em = summary["emergency"]
    out += ["## Emergency levels", ""]
    out += table(["level", "time at level per replication"],
                 [[lv, dur(m)] for lv, m in em["minutes_at_level"].items()])
    if em["timeline"]:
        out += ["![Emergency level timeline](emergency.png)", ""]
    com = summary["communications"]
    out += ["## Communications", ""]
    out += table(["audience", "owed", "sent", "sent on time", "on-time share"],
                 [[a, num(c["owed"], 1), num(c["sent"], 1), num(c["on_time"], 1),
                   pct(c["on_time_share"])] for a, c in com["by_audience"].items()]
                 + [["all", num(com["owed"], 1), num(com["sent"], 1),
                     num(com["on_time"], 1), pct(com["on_time_share"])]])
    comp = summary["complaints"]
    out += ["## Complaints", "", f"{num(comp['generated'], 1)} complaints per replication "
            f"raised by customers whose SLA was breached "
            f"({num(comp['per_1000_incidents'], 1)} per 1000 incidents).", ""]
    return out + _costs(summary)


def _costs(summary: dict[str, Any]) -> list[str]:
    costs = summary["costs"]
    out = ["## Costs", ""]
    if not mean_of(costs["measured"]["total"]):
        return out + ["Nothing was costed: the scenario sets no wages, rates or prices.", ""]
    out += ["Per replication, after the warm-up: while incidents arrive, in the drain after "
            "the horizon, and both. Overtime includes minutes worked past a shift's end "
            "(paid as overtime); SLA penalties fall in the window of the breach.", ""]
    windows = ("arrivals", "drain", "measured")
    out += table(["cost", *(WINDOW_WORDS[w] for w in windows)],
                 [[COST_LABELS[k], *(num(costs[w][k]) for w in windows)] for k in COST_LABELS]
                 + [["total", *(num(costs[w]["total"]) for w in windows)]])
    return out + ["![Cost breakdown](costs.png)", ""]


def kpis(summary: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The KPIs a comparison shows: (label, kind, path into the summary); kind is `share`,
    `minutes` or `number` (how a value and a difference are written)."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for tier in TIERS:
        for ms, cell in summary["sla"].get(tier, {}).items():
            if (mean_of(cell["judged"]) or 0) > 0:
                out.append((f"{tier} {ms} on time", "share", ("sla", tier, ms, "attainment")))
    if (mean_of(summary.get("waiting", {}).get("all", {}).get("abandoned")) or 0) > 0:
        out.append(("customers who gave up", "share", ("waiting", "all", "abandonment")))
    out += [("customers lost", "number", ("incidents", "lost")),
            ("wait for staff (mean)", "minutes", ("incidents", "staff_wait", "mean")),
            ("open at the end", "number", ("incidents", "open_at_end")),
            ("complaints", "number", ("complaints", "generated")),
            ("messages on time", "share", ("communications", "on_time_share")),
            ("overtime cost", "number", ("costs", "measured", "overtime")),
            ("contractor cost", "number", ("costs", "measured", "contractors")),
            ("transfer cost", "number", ("costs", "measured", "transfers")),
            ("SLA penalties", "number", ("costs", "measured", "sla_penalties")),
            ("price of lost customers", "number", ("costs", "measured", "lost_customers")),
            ("total cost", "number", ("costs", "measured", "total"))]
    return out


def _at(summary: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = summary
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def comparison_section(summary: dict[str, Any], baseline: dict[str, Any],
                       difference: dict[str, Any], policy: str, other: str) -> list[str]:
    """What the response is worth: each KPI under this policy, under the other on the same
    seeds, and the paired difference with its 95% CI."""
    show = {"share": (pct, signed_pct), "minutes": (dur, signed_dur),
            "number": (num, signed_num)}
    rows = []
    for label, kind, path in kpis(summary):
        value, delta = show[kind]
        rows.append([label, value(_at(summary, path)), value(_at(baseline, path)),
                     delta(_at(difference, path))])
    return [f"## What the response is worth ({policy} against {other})", "",
            f"The same replications (same seeds: the same arrivals, customers and work times) "
            f"run under the `{other}` policy. The difference is {policy} minus {other}, per "
            f"replication, with its 95% CI; a CI that excludes 0 is a difference the "
            f"replications can tell.", "",
            *table(["KPI", policy, other, "difference"], rows)]
