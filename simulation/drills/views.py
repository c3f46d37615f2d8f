"""What a drill team sees, as plain data: the board, a case, resources, messages, the chart.

Screens (tui/) render these and nothing else; every rule about what is shown (which deadline
is "next", what a pool has free, which messages are late) lives here, below the app, so the
app, a headless script and the tests read the same facts. Everything is computed from the
session at the current simulated minute; `changed_cases` lets a screen update only the rows
that moved since it last looked (a board of two thousand open cases repaints in pieces).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from simulation.drills.session import DrillSession
from simulation.model.eventlog import KINDS

__all__ = ["CaseRow", "PoolRow", "PartRow", "CommRow", "case_row", "open_cases", "board",
           "changed_cases", "resources", "communications", "timeline", "allowed_actions",
           "chart", "clock", "board_sort_key", "TIER_NAMES", "SORT_KEYS"]

TIER_NAMES = ("VIP", "tier1", "tier2")
SORT_KEYS = ("deadline", "case", "tier", "kind", "state", "pool", "level", "customer")


@dataclass(frozen=True)
class CaseRow:
    """One open case on the board."""

    case: int
    tier: str
    kind: str
    state: str
    pool: str
    """The pool whose member works on it now, "waiting" for staff, or "" (neither)."""
    deadline: float | None
    """Minute of its earliest SLA deadline still armed (None: none)."""
    deadline_key: str
    level: str
    opened: float
    boosted: bool
    customer: str = ""
    """The customer's name where the scenario gives one (a complaint's), else ""."""
    product: str = ""
    batch: str = ""
    sku: str = ""
    region: str = ""

    def haystack(self) -> str:
        """Everything the board's search matches, lower-cased: case number, customer,
        tier, kind, state, pool, product, batch, SKU, region, milestone."""
        return " ".join((str(self.case), self.customer, self.tier, self.kind, self.state,
                         self.pool, self.product, self.batch, self.sku, self.region,
                         self.deadline_key)).lower()


@dataclass(frozen=True)
class PoolRow:
    name: str
    on_shift: int
    busy: int
    free: int
    absent: int
    waiting: int
    overtime_hours: float
    contractor: bool


@dataclass(frozen=True)
class PartRow:
    sku: str
    on_hand: int
    reorder_point: float
    on_order: int
    in_transfer: int
    backorders: int


@dataclass(frozen=True)
class CommRow:
    obligation: str
    audience: str
    owed_at: float
    due: float
    late: bool
    text: str


def case_row(session: DrillSession, cid: int) -> CaseRow | None:
    """The board row of case `cid`, or None once it is closed."""
    world = session.world
    case = world.cases[cid] if cid < len(world.cases) else None
    if case is None:
        return None
    due, key = None, ""
    for k, t in case.timers.items():
        if k.startswith("sla:") and (due is None or t < due):
            due, key = t, k[4:]
    pool = world.serving.get(cid, "waiting" if cid in world.waiting else "")
    pinned = world.pinned.get(cid)
    if pool == "waiting" and pinned:
        pool = f"waiting ({pinned})"
    runtime = world.runtimes[world.case_kind[cid]]
    boosted = bool(session.team and session.team.boost(cid))
    inc = case.incident
    return CaseRow(cid, TIER_NAMES[world.table.tier[cid]], world.case_kind[cid], case.state,
                   pool, due, key, runtime.levels[case.level], case.opened, boosted,
                   inc.customer or "", inc.product or "", inc.batch or "", inc.sku or "",
                   inc.region or "")


def open_cases(session: DrillSession) -> list[int]:
    return [cid for cid, case in enumerate(session.world.cases) if case is not None]


def changed_cases(session: DrillSession) -> set[int]:
    """Cases changed since the last call (and forgets them)."""
    touched = session.world.touched
    if touched is None:
        return set()
    out = set(touched)
    touched.clear()
    return out


def board_sort_key(row: CaseRow, key: str) -> Any:
    """The board's order for a sort column: soonest deadline (none last), tier in order,
    deepest escalation first, else the column; ties broken by case number."""
    if key == "deadline":
        return (row.deadline is None, row.deadline or 0.0, row.case)
    if key == "tier":
        return (TIER_NAMES.index(row.tier), row.case)
    if key == "level":
        return (-len(row.level), row.level, row.case)
    if key == "customer":  # named customers (complaints) first
        return (row.customer == "", row.customer, row.case)
    return (getattr(row, key), row.case)


def board(session: DrillSession, *, tier: str | None = None, kind: str | None = None,
          state: str | None = None, text: str = "", sort: str = "deadline",
          offset: int = 0, limit: int = 200) -> tuple[list[CaseRow], int]:
    """Open cases filtered and sorted, one page of them, and how many matched in all."""
    rows = []
    needle = text.strip().lower()
    for cid in open_cases(session):
        row = case_row(session, cid)
        if row is None or (tier and row.tier != tier) or (kind and row.kind != kind) \
                or (state and row.state != state):
            continue
        if needle and needle not in row.haystack():
            continue
        rows.append(row)
    rows.sort(key=lambda r: board_sort_key(r, sort if sort in SORT_KEYS else "deadline"))
    return rows[offset:offset + limit], len(rows)


def resources(session: DrillSession) -> tuple[list[PoolRow], list[PartRow]]:
    world = session.world
    waiting: dict[str, int] = {}
    for cid, rec in world.waiting.items():
        # Each waiting case counts once: in the pool it was moved to, else the first pool
        # that can take its work (the others could too; counting it in each would show the
        # same cases three times).
        pools = rec[5][3].pools
        name = world.pinned.get(cid) or (pools[0].name if pools else "")
        if name:
            waiting[name] = waiting.get(name, 0) + 1
    pools = [PoolRow(p.name, p.capacity, p.busy, max(p.capacity - p.busy, 0), p.absent,
                     waiting.get(p.name, 0), p.overtime_hours, p.spec.contractor)
             for p in world.pools.values()]
    parts = [PartRow(s.sku, s.on_hand, float(s.spec.policy.s if s.spec.policy.s is not None
                                             else (s.spec.policy.level or 0)),
                     s.on_order, s.in_transfer, s.backordered) for s in world.stock.values()]
    return pools, parts


def communications(session: DrillSession) -> list[CommRow]:
    """Operation-wide messages owed to the team now, soonest due first."""
    now = session.now
    rows = [CommRow(m.obligation, m.audience, owed, m.due, now > m.due, m.text)
            for m, owed in session.world.operation_owed]
    return sorted(rows, key=lambda r: r.due)


def timeline(session: DrillSession, cid: int) -> list[tuple[float, str]]:
    """Everything that happened to case `cid`, in words, oldest first."""
    world = session.world
    cols = world.log.columns()
    mine = np.flatnonzero(cols["case"] == cid)
    names = world.log.names.items
    out: list[tuple[float, str]] = []
    for i in mine.tolist():
        kind = KINDS[cols["kind"][i]]
        a, b, x = int(cols["a"][i]), int(cols["b"][i]), float(cols["x"][i])
        text = {
            "opened": lambda: f"opened ({TIER_NAMES[b]}, {names[a]})",
            "state": lambda: f"-> {names[a]} ({names[b]})",
            "assigned": lambda: f"taken by {names[a]} after {x:.0f} min waiting",
            "work_done": lambda: f"work done by {names[a]} ({x:.0f} min)",
            "parts_wait": lambda: f"{b} x {names[a]} arrived after {x:.0f} min",
            "milestone": lambda: f"{names[a]} {'on time' if b else 'late'}",
            "breach": lambda: f"{names[a]} deadline missed",
            "escalated": lambda: f"escalated {names[b]} -> {names[a]}",
            "deescalated": lambda: f"de-escalated {names[b]} -> {names[a]}",
            "message_owed": lambda: f"message {names[a]} owed to {names[b]}",
            "message_sent": lambda: f"message {names[a]} sent"
                                f"{' late' if b == 0 else ' (not owed)' if b == 2 else ''}",
            "closed": lambda: f"closed in {names[a]}",
            "abandoned": lambda: f"customer gave up waiting in {names[a]}",
            "complaint": lambda: f"complaint about case {a}",
        }.get(kind, lambda: kind)()
        out.append((float(cols["t"][i]), text))
    return out


def allowed_actions(session: DrillSession, cid: int) -> list[str]:
    """The case actions that make sense now (escalate, de-escalate, move, prioritise)."""
    world = session.world
    case = world.cases[cid] if cid < len(world.cases) else None
    if case is None or session.team is None:
        return []
    levels = world.runtimes[world.case_kind[cid]].levels
    out = ["prioritise"]
    if case.level + 1 < len(levels):
        out.append("escalate")
    if case.level > 0:
        out.append("deescalate")
    if cid in world.waiting:
        out.append("move_case")
    return out


def chart(session: DrillSession) -> dict[str, list[float]]:
    """Backlog and SLA attainment so far, at each signal (hourly by default): for the live
    chart. Attainment is on-time milestones over those judged up to that minute."""
    log = session.world.log
    cols = log.columns()
    kind = cols["kind"]
    sig = kind == KINDS.index("signal")
    t = cols["t"][sig]
    backlog = cols["a"][sig].astype(float)
    met = kind == KINDS.index("milestone")
    breach = kind == KINDS.index("breach")
    on_time_t = np.sort(cols["t"][met & (cols["b"] == 1)])
    late_t = np.sort(np.concatenate([cols["t"][met & (cols["b"] == 0)], cols["t"][breach]]))
    good = np.searchsorted(on_time_t, t, side="right")
    bad = np.searchsorted(late_t, t, side="right")
    judged = good + bad
    attainment = np.where(judged > 0, good / np.maximum(judged, 1), np.nan)
    return {"minute": t.tolist(), "backlog": backlog.tolist(),
            "attainment": [float(v) if np.isfinite(v) else None for v in attainment]}


def clock(session: DrillSession) -> datetime:
    """The simulated date and time now, in the scenario calendar's time zone."""
    zone = ZoneInfo(session.loaded.calendar.timezone)
    return (session.loaded.scenario.start + timedelta(minutes=session.now)).astimezone(zone)
