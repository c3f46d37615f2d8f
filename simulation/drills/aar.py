"""The after-action report and improvement plan (AAR/IP) of a drill: Markdown, HTML, plots.

HSEEP's AAR/IP: an overview, the objectives with their critical tasks rated (with the
evidence), strengths, areas for improvement, and an improvement plan (for each area a
corrective action, the responsible role and a due date). Muster adds what no evaluator's
notes can: the KPIs of the team's run beside the same surge played by the playbook's
autopilot and by no response, and what the team's decisions were worth. The report is one
document model (`Doc`) rendered twice, to Markdown and to HTML, so the two never disagree;
plots are PNG and SVG (Chinese names with a CJK font, text kept as text in the SVG).
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from matplotlib.figure import Figure

from simulation.drills.counterfactual import Counterfactual, worth
from simulation.drills.exercise import plan_rows, rating_text
from simulation.drills.format import fmt_kpi, interval_text, measure_text
from simulation.drills.otherdays import OtherDays
from simulation.drills.ratings import RATING_WORDS, Task
from simulation.drills.scoring import KPI_LABELS, Score
from simulation.drills.session import DrillSession
from simulation.drills.views import chart
from simulation.results.plots import draw

if TYPE_CHECKING:
    from simulation.drills.review import Review

__all__ = ["Doc", "AAR_FILES", "build", "write", "fmt_kpi", "improvement", "areas_of"]

AAR_FILES = ("after-action.md", "after-action.html", "timeline.png", "timeline.svg",
             "kpis.png", "kpis.svg")
"""The files the report writes (and may replace) in its folder."""

_DUE_DAYS = {"U": 30, "M": 30, "S": 60}
"""An improvement is due this many days after the drill: sooner for what failed."""


@dataclass
class Doc:
    """A document as blocks: ("h1"|"h2"|"h3"|"p", text), ("ul", [items]),
    ("table", head, rows), ("img", file, alt)."""

    blocks: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, *block: Any) -> None:
        self.blocks.append(block)

    def markdown(self) -> str:
        out: list[str] = []
        for b in self.blocks:
            kind = b[0]
            if kind in ("h1", "h2", "h3"):
                out += ["#" * int(kind[1]) + " " + b[1], ""]
            elif kind == "p":
                out += [b[1], ""]
            elif kind == "ul":
                out += [f"- {item}" for item in b[1]] + [""]
            elif kind == "table":
                head, rows = b[1], b[2]
                cell = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
                out.append("| " + " | ".join(map(cell, head)) + " |")
                out.append("|" + "---|" * len(head))
                out += ["| " + " | ".join(map(cell, r)) + " |" for r in rows]
                out.append("")
            elif kind == "img":
                out += [f"![{b[2]}]({b[1]})", ""]
        return "\n".join(out)

    def html(self, title: str) -> str:
        e = html.escape
        body: list[str] = []
        for b in self.blocks:
            kind = b[0]
            if kind in ("h1", "h2", "h3", "p"):
                body.append(f"<{kind}>{e(b[1])}</{kind}>")
            elif kind == "ul":
                body.append("<ul>" + "".join(f"<li>{e(str(i))}</li>" for i in b[1]) + "</ul>")
            elif kind == "table":
                head = "".join(f"<th>{e(str(h))}</th>" for h in b[1])
                rows = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>"
                               for r in b[2])
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
                            "</table>")
            elif kind == "img":
                svg = str(b[1]).replace(".png", ".svg")
                body.append(f'<figure><img src="{e(svg)}" alt="{e(b[2])}" '
                            f'onerror="this.src=\'{e(b[1])}\'"><figcaption>{e(b[2])}'
                            "</figcaption></figure>")
        style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
                 "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
                 "padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}"
                 "img{max-width:100%}")
        return (f'<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8"><title>'
                f"{e(title)}</title><style>{style}</style></head><body>\n"
                + "\n".join(body) + "\n</body></html>\n")


def _when(minute: float | None, start: datetime) -> str:
    if minute is None:
        return "-"
    return (start + timedelta(minutes=minute)).strftime("%m-%d %H:%M")


_ACTIONS_TEXT = {
    "declare_level": "Rehearse the level criteria with the incident commander: declare the "
                     "level as soon as its signals hold, without waiting to be told",
    "activate": "Pre-authorise the emergency resource and name who activates it; keep the "
                "partner and overtime call lists current",
    "order_parts": "Set a stock trigger for the part and a standing order with the supplier",
    "send": "Prepare the message template in advance and assign who sends it within its "
            "deadline",
    "escalate": "Agree a rule for escalating complaints that reach the public or VIP "
                "customers, and who does it",
    "deescalate": "Agree when an escalated case goes back to the front line",
    "acknowledge": "Keep someone watching incoming alerts and acknowledging them at once",
    "prioritise": "Agree in advance which cases go first in a surge",
    "priority_rule": "Agree the service order for surges in the playbook",
    "move_case": "Agree how work moves between pools in a surge",
    "note": "Keep a decision log during the response",
}


def improvement(task: Task, action: str | None = None) -> str:
    """A corrective action for a task rated below P (`action`: the expected action's kind,
    for a task from an inject)."""
    if task.source == "level":
        return ("Review the entry criteria of the emergency levels and who may declare them; "
                "watch the recommendation and declare within the allowed time")
    if task.source == "message":
        return ("Assign the communications lead to the owed messages and send each before "
                "its due time (prepare the texts in advance)")
    if task.source == "service":
        return ("Size the staff for this service level through a surge (muster size) and "
                "agree the extra capacity the emergency levels bring")
    return _ACTIONS_TEXT.get(action or "", "Rehearse this task with the role responsible and "
                             "agree who does it and by when")


def _expected_action(task: Task, session: DrillSession) -> str | None:
    inject_id, _, n = task.id.partition(".")
    for inject in session.drill.all_injects():
        if inject.id == inject_id and n.isdigit() and int(n) <= len(inject.expect):
            return inject.expect[int(n) - 1].action
    return None


_PART_TEXT = {
    "tasks": "critical tasks rated P/S/M/U (P 100, S 75, M 40, U 0)",
    "service": "tier-weighted SLA attainment, every customer counted",
    "customers_lost": "customers lost, tier-weighted",
    "cost": "everything spent plus the price of lost service",
    "communications": "messages sent on time minus owed and never sent",
}


def _score_section(doc: Doc, result: Score) -> None:
    doc.add("p", f"Score: {result.total:.1f} (no response scores 0, the playbook's autopilot "
                 "100; below 0 the decisions did harm). How each part and rating is worked "
                 "out: docs/drills.md.")
    rows = []
    for part, value in result.parts.items():
        p = result.placements.get(part)
        where = "" if p is None else (f"team {measure_text(part, p.team)}, autopilot "
                                      f"{measure_text(part, p.autopilot)}, no response "
                                      f"{measure_text(part, p.none)}: {p.note}")
        rows.append([part, "left out" if value is None else f"{value:.0f}",
                     f"{result.weights.get(part, 0):g}", _PART_TEXT.get(part, ""), where])
    doc.add("table", ["part", "score", "weight", "measures", "the three runs"], rows)


def _days_section(doc: Doc, days: OtherDays) -> None:
    doc.add("h2", "Your decisions on other days")
    doc.add("p", f"The team's operation-level decisions (levels, unlocks, orders, messages, "
                 f"priority rules, contingency injects) replayed at their minutes on "
                 f"{len(days.seeds)} other days (seeds), each beside the autopilot and no "
                 f"response on the same day and carried to its end: mean paired difference "
                 f"and its 95% interval (Student's t; the BCa bootstrap where the differences "
                 f"are skewed). An interval that holds 0 is noise, not a difference."
                 + (f" {days.refused} decisions were refused on some days." if days.refused
                    else ""))
    rows = []
    for key, (label, _) in KPI_LABELS.items():
        a, n = days.vs_autopilot[key], days.vs_none[key]
        if a.mean is None and n.mean is None:
            continue
        rows.append([label, interval_text(key, a), interval_text(key, n)])
    doc.add("table", ["KPI", "team - autopilot", "team - no response"], rows)


def build(review: Review, header: dict[str, Any], *, today: date | None = None) -> Doc:
    """The report of a reviewed drill (see the module docstring)."""
    session, result, others = review.session, review.score, review.others
    notes = session.notes
    drill = session.drill
    start = session.loaded.scenario.start
    today = today or date.today()
    ended = session.ended_at if session.ended_at is not None else session.now
    doc = Doc()
    doc.add("h1", f"After-action report: {drill.title}")
    doc.add("h2", "Overview")
    roles = ", ".join(f"{r.title} ({k})" for k, r in drill.roles.items())
    people = ", ".join(f"{p.get('name')} ({p.get('role')})"
                       for p in header.get("participants", [])) or "not recorded"
    carried = max(session.now - ended, 0.0)
    doc.add("ul", [f"Scenario: {session.loaded.scenario.name} ({session.loaded.scenario.title})",
                   f"Team: {header.get('team') or drill.team or 'not named'}; roles: {roles}",
                   f"Participants: {people}",
                   f"Played: {header.get('started', '-')} (Muster {header.get('muster_version')}"
                   f", seed {header.get('seed')}, record {header.get('id', '')[:8]})",
                   f"Length: {ended / 60:.1f} simulated hours of {drill.length} "
                   f"({'played to the end' if ended >= session.end - 1e-9 else 'ended early'});"
                   f" the backlog it left was carried {carried / 60:.1f} hours more until every "
                   "case had closed (no new arrivals, no new decisions)",
                   f"Decisions: {sum(1 for o in session.outcomes if o.ok)} taken, "
                   f"{sum(1 for o in session.outcomes if not o.ok)} refused; injects fired: "
                   f"{len(session.fired)}"])
    _score_section(doc, result)
    if result.coverage():
        doc.add("p", f"Note: the drill {result.coverage()}.")
    doc.add("h2", "Objectives and critical tasks")
    groups: dict[str, list[Task]] = {}
    for t in result.tasks:
        groups.setdefault(t.objective, []).append(t)
    for objective, tasks in groups.items():
        spec = drill.objectives.get(objective)
        title = f"{objective}: {spec.title}" if spec else objective
        counts = " ".join(f"{r}{sum(1 for t in tasks if t.rating == r)}" for r in "PSMU"
                          if any(t.rating == r for t in tasks))
        doc.add("h3", f"{title} ({counts or 'not yet due'})")
        if spec and spec.capability:
            doc.add("p", f"Capability: {spec.capability}. {spec.description}")
        doc.add("table", ["task", "addressed to", "done by", "due", "rating", "why",
                          "evidence"],
                [[t.title, t.role, t.actor or "-", _when(t.due, start),
                  f"{t.rating} ({RATING_WORDS[t.rating]})" if t.rating else "not rated",
                  t.reason, "; ".join([f"{_when(ev.minute, start)} {ev.text}"
                                       for ev in t.evidence]
                                      + [f"{_when(n.at, start)} observer: {n.action.get('text')}"
                                         for n in notes if n.action.get("task")
                                         in (t.id, t.objective)])] for t in tasks])
    strengths = [t for t in result.tasks if t.rating == "P" and t.source != "service"]
    doc.add("h2", "Strengths")
    doc.add("ul", [f"{t.title} ({t.role}): {t.reason}" for t in strengths]
            or ["No critical task was performed without challenges."])
    areas = [t for t in result.tasks if t.rating not in ("P", None)]
    doc.add("h2", "Areas for improvement")
    doc.add("ul", [f"{t.title}: {t.rating}, {t.reason}" for t in areas]
            or ["None: every critical task rated was performed without challenges."])
    _evaluations(doc, result.tasks, header.get("evaluations") or {})
    doc.add("h2", "Improvement plan")
    plan = plan_rows(header, areas_of(review, today))
    doc.add("table", ["area for improvement", "corrective action", "owner", "due", "status"],
            [[a["title"], a["action"], a["owner"], a["due"], a.get("status", "open")]
             for a in plan])
    doc.add("p", "Each item is kept in the record store across drills: `muster improvements "
                 "list` shows them, `muster improvements update ID --owner --due --status` "
                 "tracks them; later drills of this scenario that rate the task again are "
                 "noted against it.")
    tested = header.get("improvements_tested") or []
    if tested:
        doc.add("h3", "Improvement items from earlier drills this drill tested")
        doc.add("table", ["item", "owner", "status", "rated now"],
                [[f"{t['title']} ({t['task']})", t["owner"], t["status"],
                  rating_text(t.get("rating"))] for t in tested])
    _hotwash(doc, header.get("hotwash") or [], drill)
    doc.add("h2", "What your decisions were worth")
    doc.add("p", "The same surge on the same seed (the same arrivals, customers and work "
                 "times, the same injects at the same minutes), played by the playbook's "
                 "autopilot and with no response at all; all three carried to their end after "
                 "the drill the same way. Costs add up to the total.")
    auto, none = others.get("autopilot"), others.get("none")
    rows = []
    for key, (label, _) in KPI_LABELS.items():
        team = result.kpis.get(key)
        a = auto.kpis.get(key) if auto else None
        n = none.kpis.get(key) if none else None
        rows.append([label, fmt_kpi(key, team), fmt_kpi(key, a), fmt_kpi(key, n),
                     fmt_kpi(key, worth({key: team}, {key: a})[key], True),
                     fmt_kpi(key, worth({key: team}, {key: n})[key], True)])
    doc.add("table", ["KPI", "your team", "autopilot", "no response", "team - autopilot",
                      "team - no response"], rows)
    doc.add("img", "kpis.png", "KPIs: your team, the autopilot, no response")
    doc.add("h3", "The drill and its carry-over")
    doc.add("table", ["window", "hours", "cost with lost service", "SLA penalties",
                      "lost customers (price)"],
            [[name, f"{w['minutes'] / 60:.1f}", f"{w['cost']:,.0f}", f"{w['penalties']:,.0f}",
              f"{w['lost_customers']:,.0f}"] for name, w in result.windows.items()])
    if review.days is not None:
        _days_section(doc, review.days)
    doc.add("h2", "Timeline")
    doc.add("img", "timeline.png", "Backlog and SLA attainment with injects, decisions, "
                                   "level changes and breaches")
    doc.add("table", ["time", "what"], _events(session, start))
    doc.add("h2", "Observer notes")
    doc.add("ul", [f"{_when(n.at, start)} {n.role}"
                   + (f" ({n.action['by']})" if n.action.get("by") else "")
                   + (f" on {n.action.get('task')}" if n.action.get("task") else "")
                   + f": {n.action.get('text')}" for n in notes if n.action.get("observer")]
            or ["No observer notes."])
    team_notes = [n for n in notes if not n.action.get("observer")]
    if team_notes:
        doc.add("h3", "Team notes")
        doc.add("ul", [f"{_when(n.at, start)} {n.role}: {n.action.get('text')}"
                       for n in team_notes])
    return doc


def areas_of(review: Review, today: date | None = None) -> list[dict[str, str]]:
    """The areas for improvement of a review as improvement items: task, title, corrective
    action, owner (the responsible role), due date, rating."""
    session, drill = review.session, review.session.drill
    today = today or date.today()
    return [{"task": t.id, "title": t.title,
             "action": improvement(t, _expected_action(t, session)),
             "owner": drill.roles[t.role].title if t.role in drill.roles else t.role,
             "due": (today + timedelta(days=_DUE_DAYS[t.rating])).isoformat(),  # type: ignore
             "rating": t.rating or ""}
            for t in review.score.tasks if t.rating not in ("P", None)]


def _evaluations(doc: Doc, tasks: list[Task], evaluations: dict[str, Any]) -> None:
    """The evaluators' ratings beside Muster's, differences marked (a task the evaluators
    rated under a group name, "levels" say, is compared with each task of the group)."""
    if not evaluations:
        return
    doc.add("h2", "Evaluators' ratings beside the computed ones")
    rows = []
    for task_id, e in evaluations.items():
        mine = [t for t in tasks if t.id == task_id or t.id.startswith(f"{task_id}.")
                or (task_id in ("levels", "communications", "service")
                    and t.source == {"levels": "level", "communications": "message"}.get(
                        task_id, task_id))]
        computed = ", ".join(sorted({t.rating or "-" for t in mine})) or "-"
        title = mine[0].title if len(mine) == 1 else task_id
        same = computed == e.get("rating")
        rows.append([f"{title} ({task_id})", computed, e.get("rating", "-"), e.get("by", ""),
                     e.get("note", ""), "agrees" if same else "DIFFERS"])
    doc.add("table", ["task", "computed", "evaluator", "by", "why (evaluator)", ""], rows)
    differ = sum(1 for r in rows if r[-1] == "DIFFERS")
    doc.add("p", f"{differ} of {len(rows)} ratings differ: where they do, the evaluator saw "
                 "something the record cannot show, or the record caught what the room "
                 "missed; discuss both at the debrief." if differ else
            "The evaluators' ratings agree with the computed ones.")


def _hotwash(doc: Doc, answers: list[dict[str, Any]], drill: Any) -> None:
    doc.add("h2", "Hot wash")
    if not answers:
        doc.add("p", "No hot wash recorded (`muster drill hotwash RECORD`, or the score "
                     "screen, records one).")
        return
    by_role: dict[str, list[dict[str, Any]]] = {}
    for a in answers:
        by_role.setdefault(str(a.get("role") or "-"), []).append(a)
    for role, group in by_role.items():
        title = drill.roles[role].title if role in drill.roles else role
        doc.add("h3", title)
        doc.add("table", ["who", "what went well", "what to improve"],
                [[a.get("by", ""), a.get("went_well", ""), a.get("to_improve", "")]
                 for a in group])


def _events(session: DrillSession, start: datetime) -> list[list[str]]:
    rows: list[tuple[float, str]] = []
    for f in session.fired.values():
        rows.append((f.at, f"inject {f.inject.id} to {f.inject.to}: {f.inject.subject}"))
    for o in session.outcomes:
        who = o.role + (f" ({o.action['by']})" if o.action.get("by") else "")
        rows.append((o.at, f"{who}: {o.message}" if o.ok else
                     f"{who}: refused {o.action.get('kind')}: {o.message}"))
    return [[_when(m, start), text] for m, text in sorted(rows, key=lambda r: r[0])]


def _rows_apart(xs: list[float], gap: float, rows: int = 4) -> list[int]:
    """A text row for each label at `xs` (sorted) so that labels closer than `gap` never
    share a row: the first row free, cycling through `rows`."""
    last = [float("-inf")] * rows
    out = []
    for x in xs:
        row = next((r for r in range(rows) if x - last[r] >= gap),
                   min(range(rows), key=lambda r: last[r]))
        last[row] = x
        out.append(row)
    return out


def _timeline(session: DrillSession) -> Figure:
    data = chart(session)
    t = np.asarray(data["minute"]) / 60.0
    fig = Figure(figsize=(11, 4.8))
    ax = fig.subplots()
    ax.plot(t, data["backlog"], color="#2166ac", lw=1.5, label="open backlog")
    ax.set_xlabel("hours since the drill started")
    ax.set_ylabel("open cases")
    att = [np.nan if v is None else 100 * v for v in data["attainment"]]
    ax2 = ax.twinx()
    ax2.plot(t, att, color="#1b7837", lw=1.2, ls="--", label="SLA attainment so far")
    ax2.set_ylabel("SLA attainment (%)")
    ax2.set_ylim(0, 105)
    span = max(float(t[-1]) if t.size else 1.0, session.now / 60.0, 1.0)
    ended = session.ended_at if session.ended_at is not None else session.now
    if session.now > ended:
        ax.axvspan(ended / 60, session.now / 60, color="#cccccc", alpha=0.25, lw=0)
        ax.axvline(ended / 60, color="#333333", lw=1.2)
        ax.annotate("drill ended; after it the carry-over (no new cases or decisions)",
                    (ended / 60, 0.5), xycoords=("data", "axes fraction"), fontsize=7,
                    rotation=90, va="center", ha="right", color="#333333")
    fired = sorted(session.fired.values(), key=lambda f: f.at)
    for f, row in zip(fired, _rows_apart([f.at / 60 for f in fired], span / 40)):
        ax.axvline(f.at / 60, color="#999999", lw=0.8, ls=":")
        ax.annotate(f.inject.id, (f.at / 60, 1.0 - 0.055 * row),
                    xycoords=("data", "axes fraction"), fontsize=7, va="top", ha="center",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.8})
    taken = [o.at / 60 for o in session.outcomes if o.ok]
    ax.plot(taken, [0] * len(taken), "^", color="#762a83", ms=6, label="team decisions",
            clip_on=False)
    levels = [(o.at, str(o.action.get("level"))) for o in session.outcomes
              if o.ok and o.action.get("kind") == "declare_level"]
    for (minute, name), row in zip(levels, _rows_apart([m / 60 for m, _ in levels],
                                                       span / 30, 3)):
        ax.axvline(minute / 60, color="#b2182b", lw=1.2, alpha=0.6)
        ax.annotate(f"level {name}", (minute / 60, 0.62 - 0.07 * row),
                    xycoords=("data", "axes fraction"), fontsize=7, color="#b2182b",
                    ha="left", va="center",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "#b2182b",
                          "lw": 0.5, "alpha": 0.9})
    if levels:
        ax.plot([], [], color="#b2182b", label="emergency level declared")
    breach = session.world.log.select("breach")["t"] / 60.0
    if breach.size:
        ax.plot(breach, np.full(breach.shape, 0.0), "x", color="#d6604d", ms=4,
                label="SLA breaches", clip_on=False)
    lines = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    fig.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="lower center",
               ncol=6, frameon=False)
    ax.set_title(f"{session.drill.title}: timeline")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _kpi_plot(result: Score, others: dict[str, Counterfactual]) -> Figure:
    keys = ["service", "customers_lost", "time_to_acknowledge", "peak_backlog",
            "stock_out_hours", "cost"]
    fig = Figure(figsize=(11, 4))
    axes = fig.subplots(1, len(keys))
    runs = [("your team", result.kpis, "#762a83"),
            ("autopilot", others["autopilot"].kpis if "autopilot" in others else {}, "#1b7837"),
            ("no response", others["none"].kpis if "none" in others else {}, "#999999")]
    for ax, key in zip(axes, keys):
        values = [run.get(key) or 0.0 for _, run, _ in runs]
        scale = 100.0 if KPI_LABELS[key][1] == "share" else 1.0
        ax.bar(range(3), [v * scale for v in values], color=[c for _, _, c in runs])
        ax.set_xticks(range(3), [name for name, _, _ in runs], rotation=45, ha="right",
                      fontsize=7)
        ax.set_title(textwrap.fill(KPI_LABELS[key][0], 18), fontsize=8)
    fig.suptitle("What the decisions were worth: the same surge three ways", fontsize=10)
    fig.tight_layout()
    return fig


def write(out_dir: Path, review: Review, header: dict[str, Any], *,
          warn: Callable[[str], None] | None = None) -> list[Path]:
    """Write the report's files (AAR_FILES) into `out_dir`; the paths written."""
    session, result, others = review.session, review.score, review.others
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = build(review, header)
    md = out_dir / "after-action.md"
    md.write_text(doc.markdown(), encoding="utf-8")
    page = out_dir / "after-action.html"
    page.write_text(doc.html(f"After-action report: {session.drill.title}"), encoding="utf-8")
    plots = draw(out_dir, [("timeline", lambda: _timeline(session)),
                           ("kpis", lambda: _kpi_plot(result, others))], warn=warn)
    return [md, page, *plots]
