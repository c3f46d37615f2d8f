"""The post-incident review of an operation, drafted from its timeline.

What happened and how it went, from the events alone: the emergency levels and why, who held
which role and what they handed over, SLA milestones met on time, late or breached by tier,
messages owed against sent (the playbook's case messages, the level-change messages, the
status updates on their cadence), tasks and follow-ups with their owners, effort (person-hours
per role) and, given penalties per breach, the cost of the breaches; and the series for a
timeline plot (backlog, arrivals per hour, the level). The blocks are the after-action
report's document model (simulation/drills/aar.py `Doc`), rendered by the front end to
Markdown, HTML and plots; this module holds the rules of what counts as on time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.model import MILESTONES

from desk.clock import instant, local_text, minutes
from desk.operation.events import ROLES, UPDATE_KINDS
from desk.projection import DeskModel

__all__ = ["Review", "review", "TIERS"]

TIERS = ("VIP", "tier1", "tier2")


@dataclass
class Review:
    title: str
    start: datetime
    zone: str
    blocks: list[tuple[Any, ...]] = field(default_factory=list)
    backlog: list[tuple[float, int]] = field(default_factory=list)
    """(hours since the start, cases open)."""
    arrivals: list[tuple[float, int]] = field(default_factory=list)
    """(hour since the start, cases opened in that hour)."""
    levels: list[tuple[float, int, str]] = field(default_factory=list)
    """(hours since the start, level index, level name), a step each."""
    marks: list[tuple[float, str]] = field(default_factory=list)
    """Key events: (hours since the start, label)."""
    breaches: int = 0
    cost: float = 0.0

    def add(self, *block: Any) -> None:
        self.blocks.append(block)


def review(model: DeskModel, op_id: str, now: datetime, *,
           penalties: dict[str, float] | None = None) -> Review:
    op = model.operation(op_id)
    zone = op.book.zone
    end = op.closed_at if op.closed_at is not None else minutes(now)
    views = [model.cases[c] for c in sorted(op.cases)]
    start = min([op.opened_at] + [v.opened for v in views])
    out = Review(op.title, instant(start), zone)

    def when(minute: float | None) -> str:
        return "" if minute is None else local_text(instant(minute), zone, date=True)

    def hours(minute: float) -> float:
        return (minute - start) / 60.0

    closed = sum(v.closed for v in views)
    leads = [h.person for h in op.role_history if h.role == "lead"]
    out.add("h1", f"Post-incident review: {op.title}")
    out.add("p", f"Operation {op.id} ({op.book.name}), opened {when(op.opened_at)}"
            + (f", closed {when(op.closed_at)}: {op.closing}" if op.closed_at is not None
               else f", still running at {when(end)}")
            + f". {len(views)} cases: {closed} closed, {len(views) - closed} open. "
            f"Incident lead: {' → '.join(leads)}. Drafted from the timeline on "
            f"{local_text(now, zone, date=True)}; every figure below comes from the recorded "
            "events.")

    out.add("h2", "Emergency levels")
    out.add("table", ["time", "from", "to", "reason", "by"],
            [[when(at), a, b, r, who] for at, a, b, r, who in op.levels] or
            [["", "", op.book.emergency.names[0], "never raised", ""]])
    out.add("h2", "Roles and handoffs")
    out.add("table", ["role", "person", "from", "until", "handoff summary"],
            [[ROLES[h.role], h.person, when(h.since), when(h.until) or "now", h.summary]
             for h in op.role_history])

    out.add("h2", "SLA milestones")
    rows, out.breaches, out.cost = _sla(views, penalties or {})
    out.add("table", ["milestone", "tier", "cases", "met on time", "met late", "breached",
                      "on time"], rows or [["", "", "0", "", "", "", ""]])

    out.add("h2", "Messages owed and sent")
    out.add("table", ["message", "audience", "sent on time", "sent late", "still owed",
                      "overdue now"], _messages(views, op.owed, end))
    out.add("table", ["status update", "sent", "on time", "late", "next due"],
            [[UPDATE_KINDS[k][1], str(sum(u.kind == k for u in op.updates)),
              str(sum(u.kind == k and (u.due is None or u.at <= u.due) for u in op.updates)),
              str(sum(u.kind == k and u.due is not None and u.at > u.due for u in op.updates)),
              when(op.update_due(k))] for k in UPDATE_KINDS])

    out.add("h2", "Tasks and follow-ups")
    task_rows = []
    for t in op.tasks.values():
        status = "done" + (" late" if t.due is not None and t.done_at is not None
                           and t.done_at > t.due else "") if t.done_at is not None else \
            ("overdue" if t.due is not None and t.due < end else "open")
        task_rows.append([t.id, t.title, t.owner, when(t.due), when(t.done_at), status])
    out.add("table", ["task", "title", "owner", "due", "done", "status"],
            task_rows or [["", "no tasks", "", "", "", ""]])
    follow = [f"task {t.id} ({t.owner}): {t.title}" for t in op.tasks.values()
              if t.done_at is None]
    owners = Counter(v.owner or "(nobody)" for v in views if not v.closed)
    follow += [f"{n} open case(s) owned by {who}" for who, n in owners.most_common()]
    out.add("ul", follow or ["nothing left open"])

    out.add("h2", "Effort and cost")
    effort: dict[tuple[str, str], float] = {}
    for h in op.role_history:
        until = h.until if h.until is not None else end
        key = (h.person, ROLES[h.role])
        effort[key] = effort.get(key, 0.0) + max(until - h.since, 0.0) / 60.0
    out.add("table", ["person", "role", "hours"],
            [[p, r, f"{hrs:.1f}"] for (p, r), hrs in sorted(effort.items())])
    grants = [f"{g.resource}" + (f" ({g.pool})" if g.pool else "")
              + (f", {g.headcount} people" if g.headcount else "")
              + (f", {g.hours_per_day:g} h/day" if g.hours_per_day else "")
              + f" from {when(g.available_at)}" for g in op.grants.values()]
    out.add("p", "Emergency resources in force at the end: " + ("; ".join(grants) or "none")
            + ". " + (f"SLA breaches: {out.breaches}; at the given penalties they cost "
                      f"{out.cost:,.0f}." if penalties else
                      f"SLA breaches: {out.breaches} (give penalties per tier to price them)."))

    _series(out, views, op, start, end, hours)
    out.add("h2", "Timeline")
    out.add("img", "timeline.png", "cases open, arrivals per hour and the emergency level")
    entries = model.timeline.of(op_id)
    out.add("table", ["time", "by", "what"],
            [[local_text(e.at, zone, date=True), e.actor, e.text] for e in entries])
    problems = op.problems + [p for v in views for p in v.problems]
    if problems:
        out.add("h2", "Events that could not be applied")
        out.add("ul", problems)
    return out


def _sla(views: list[Any], penalties: dict[str, float]) -> tuple[list[list[str]], int, float]:
    rows, breaches, cost = [], 0, 0.0
    for ms in MILESTONES:
        for tier in TIERS:
            group = [v for v in views if v.incident.tier.value == tier
                     and (ms in v.met or ms in v.breaches)]
            if not group:
                continue
            on_time = sum(ms in v.met and v.met[ms].on_time for v in group)
            late = sum(ms in v.met and not v.met[ms].on_time for v in group)
            breached = sum(ms in v.breaches for v in group)
            breaches += breached
            cost += breached * penalties.get(tier, 0.0)
            rows.append([ms, tier, str(len(group)), str(on_time), str(late), str(breached),
                         f"{100 * on_time / len(group):.0f}%"])
    return rows, breaches, cost


def _messages(views: list[Any], op_owed: list[Any], end: float) -> list[list[str]]:
    table: dict[tuple[str, str], list[int]] = {}
    for v in views:
        for s in v.sent:
            row = table.setdefault((s.obligation, s.audience), [0, 0, 0, 0])
            row[0 if s.on_time in (True, None) else 1] += 1
        for o in v.owed:
            row = table.setdefault((o.obligation, o.audience), [0, 0, 0, 0])
            row[2] += 1
            row[3] += o.due < end
    for o in op_owed:
        row = table.setdefault((o.obligation, o.audience), [0, 0, 0, 0])
        row[2] += 1
        row[3] += o.due < end
    return [[name, audience, *map(str, counts)]
            for (name, audience), counts in sorted(table.items())] or \
        [["none owed", "", "0", "0", "0", "0"]]


def _series(out: Review, views: list[Any], op: Any, start: float, end: float,
            hours: Any) -> None:
    changes: list[tuple[float, int]] = []
    for v in views:
        changes.append((v.opened, 1))
        if v.closed_at is not None:
            changes.append((v.closed_at, -1))
    changes.sort()
    level, open_now = 0, 0
    out.backlog.append((0.0, 0))
    for at, delta in changes:
        open_now += delta
        out.backlog.append((hours(at), open_now))
    out.backlog.append((hours(end), open_now))
    per_hour = Counter(int(hours(v.opened)) for v in views)
    out.arrivals = sorted(per_hour.items())
    names = op.book.emergency.names
    out.levels.append((0.0, 0, names[0]))
    for at, _, to, _, _ in op.levels:
        level = names.index(to)
        out.levels.append((hours(at), level, to))
    out.levels.append((hours(end), level, names[level]))
    for at, _, to, _, _ in op.levels:
        out.marks.append((hours(at), f"level {to}"))
    for h in op.role_history:
        if h.role == "lead" and h.since > op.opened_at:
            out.marks.append((hours(h.since), f"lead → {h.person}"))
