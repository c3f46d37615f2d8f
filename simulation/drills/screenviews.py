"""What the app's screens show beyond views.py: the live board, countdowns, choices, the home.

views.py holds the facts of a drill (a case's row, a pool's staff); this module holds the rules
the screens need on top of them, still without Textual, so the tests and the benchmark read
them directly: a board that keeps every open case's row and recomputes only the cases that
changed (two thousand open cases cost one page, not two thousand rows, per refresh), the
countdown to a deadline and how urgent it is, the choices each action form offers (levels,
unlocks, SKUs, messages owed first), the inject feed, and the home screen's lists (past drills
in the record store, simulation reports, the playbook library).
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from incidents.store import EventStore
from playbooks.loader import check_file, library_files
from simulation.drills.actions import PriorityRule
from simulation.drills.record import STREAM_KIND
from simulation.drills.session import DrillSession
from simulation.drills.views import (SORT_KEYS, TIER_NAMES, CaseRow, board_sort_key, case_row,
                                     changed_cases)

__all__ = ["SPEEDS", "PAGE", "URGENT_MINUTES", "SOON_MINUTES", "BoardModel",
           "countdown", "duration_text", "sim_time", "sim_time_at", "elapsed_text",
           "level_label", "filter_options", "InjectRow", "inject_feed", "oldest_unacknowledged",
           "newest_unacknowledged",
           "level_choices", "unlock_choices", "unlock_terms", "sku_choices", "obligation_choices",
           "pool_choices", "case_levels", "priority_targets", "PRIORITY_KEYS",
           "contingency_choices", "next_role", "role_title", "join_cjk_lines", "PastDrill",
           "past_drills", "ReportInfo", "reports", "key_findings", "PlaybookRow",
           "playbook_overview"]

SPEEDS = (1.0, 10.0, 60.0, 360.0)
"""The clock speeds a team can pick (simulated seconds per second of play)."""
PAGE = 200
"""Board rows shown at once: the DataTable paints a page quickly, not thousands of rows."""
URGENT_MINUTES = 60.0
"""A deadline closer than this is urgent (red)."""
SOON_MINUTES = 240.0
"""A deadline closer than this is soon (yellow)."""
Choice = tuple[str, Hashable]
"""(label shown, value returned) of one option of a form."""


# -- the board -------------------------------------------------------------------------------

def _matches(row: CaseRow, tier: str | None, kind: str | None, state: str | None,
             needle: str) -> bool:
    if (tier and row.tier != tier) or (kind and row.kind != kind) \
            or (state and row.state != state):
        return False
    return not needle or needle in row.haystack()


class BoardModel:
    """Every open case's board row, brought up to date from the cases that changed.

    `sync()` reads `views.changed_cases` (so nothing else may drain it) and recomputes only
    those rows; after a decision or an inject (the session's `version` moved) it rebuilds
    them all, since a boost or a level can change rows the model did not touch. `page()`
    filters and sorts like `views.board`.
    """

    def __init__(self, session: DrillSession) -> None:
        self.session = session
        self.rows: dict[int, CaseRow] = {}
        self.changed: set[int] = set()
        """The cases the last `sync` saw change (for a screen showing one case)."""
        self._version: int | None = None

    def sync(self) -> bool:
        """Bring the rows up to date; True if any changed."""
        session = self.session
        changed = changed_cases(session)
        self.changed = changed
        if session.version != self._version:
            self._version = session.version
            rows = {}
            for cid, case in enumerate(session.world.cases):
                if case is not None:
                    row = case_row(session, cid)
                    if row is not None:
                        rows[cid] = row
            moved = rows != self.rows
            self.rows = rows
            return moved
        moved = False
        for cid in changed:
            row = case_row(session, cid)
            if row is None:
                moved = self.rows.pop(cid, None) is not None or moved
            elif self.rows.get(cid) != row:
                self.rows[cid] = row
                moved = True
        return moved

    def page(self, *, tier: str | None = None, kind: str | None = None,
             state: str | None = None, text: str = "", sort: str = "deadline",
             reverse: bool = False, offset: int = 0,
             limit: int = PAGE) -> tuple[list[CaseRow], int]:
        """One page of the open cases that match, in order, and how many match in all."""
        needle = text.strip().lower()
        key = sort if sort in SORT_KEYS else "deadline"
        rows = [r for r in self.rows.values() if _matches(r, tier, kind, state, needle)]
        rows.sort(key=lambda r: board_sort_key(r, key), reverse=reverse)
        return rows[offset:offset + limit], len(rows)


def duration_text(minutes: float) -> str:
    """A span of time in a board cell: 45m, 3h05m, 2d04h."""
    m = int(abs(minutes))
    if m >= 1440:
        return f"{m // 1440}d{m % 1440 // 60:02d}h"
    if m >= 60:
        return f"{m // 60}h{m % 60:02d}m"
    return f"{m}m"


def countdown(deadline: float | None, now: float) -> tuple[str, str]:
    """The time left to a deadline and its urgency: "late", "urgent" (< 1 h), "soon"
    (< 4 h) or "" (no deadline, or plenty of time)."""
    if deadline is None:
        return "", ""
    left = deadline - now
    if left < 0:
        return "-" + duration_text(left), "late"
    urgency = "urgent" if left < URGENT_MINUTES else "soon" if left < SOON_MINUTES else ""
    return duration_text(left), urgency


def filter_options(session: DrillSession) -> dict[str, list[str]]:
    """What the board can be filtered by: tiers, case kinds, and the playbooks' open states."""
    states: list[str] = []
    for pb in session.loaded.playbooks.values():
        for name, spec in pb.lifecycle.states.items():
            if not spec.final and name not in states:
                states.append(name)
    return {"tier": list(TIER_NAMES), "kind": list(session.world.kinds), "state": states}


_CJK_BREAK = re.compile(r"(?<=[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef])\n"
                        r"(?=[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef])")


def join_cjk_lines(text: str) -> str:
    """Text wrapped by hand in a YAML block, ready for Markdown: a line break between two
    Chinese (CJK) characters is removed, since Markdown would turn it into a space that
    Chinese does not have; paragraph breaks stay."""
    return _CJK_BREAK.sub("", text)


# -- the clock -------------------------------------------------------------------------------

def sim_time_at(session: DrillSession, minute: float) -> datetime:
    """The simulated date and time of a minute of the drill (scenario calendar's zone)."""
    zone = ZoneInfo(session.loaded.calendar.timezone)
    return (session.loaded.scenario.start + timedelta(minutes=minute)).astimezone(zone)


def sim_time(session: DrillSession) -> str:
    """The simulated clock now, as the clock bar shows it."""
    return f"{sim_time_at(session, session.now):%a %Y-%m-%d %H:%M:%S}"


def elapsed_text(session: DrillSession) -> str:
    """How far into the drill: "T+6h00m of 3d00h"."""
    return f"T+{duration_text(session.now)} of {duration_text(session.end)}"


def level_label(session: DrillSession, name: str | None) -> str:
    """An emergency level with its colour label, "III (黄色)"; "-" without levels."""
    if name is None:
        return "-"
    for pb in session.loaded.playbooks.values():
        spec = pb.emergency.levels.get(name)
        if spec is not None and spec.label:
            return f"{name} ({spec.label})"
    return name


def role_title(session: DrillSession, role: str) -> str:
    spec = session.drill.roles.get(role)
    return spec.title if spec is not None else role


def next_role(session: DrillSession) -> str:
    """The acting role after the current one (roles in the drill's order, round)."""
    roles = list(session.drill.roles)
    return roles[(roles.index(session.role) + 1) % len(roles)] if session.role in roles \
        else roles[0]


# -- injects ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class InjectRow:
    """One fired inject in the feed."""

    id: str
    at: float
    when: str
    method: str
    sender: str
    to: str
    subject: str
    message: str
    acknowledged: bool
    by_hand: bool


def inject_feed(session: DrillSession) -> list[InjectRow]:
    """Every inject fired so far, newest first."""
    rows = []
    for f in session.fired.values():
        inj = f.inject
        rows.append(InjectRow(inj.id, f.at, f"{sim_time_at(session, f.at):%a %H:%M}",
                              inj.method, inj.sender, role_title(session, inj.to),
                              inj.subject, inj.message, f.acknowledged is not None,
                              f.by_hand))
    rows.sort(key=lambda r: (-r.at, r.id))
    return rows


def oldest_unacknowledged(session: DrillSession) -> str | None:
    waiting = session.unacknowledged()
    return min(waiting, key=lambda f: (f.at, f.number)).inject.id if waiting else None


def newest_unacknowledged(session: DrillSession) -> str | None:
    """The inject `a` acknowledges when the feed does not have the focus: the one that came
    in last (the team just read its toast), not one an hour old."""
    waiting = session.unacknowledged()
    return max(waiting, key=lambda f: (f.at, f.number)).inject.id if waiting else None


# -- what each action form offers ------------------------------------------------------------

def level_choices(session: DrillSession) -> tuple[list[Choice], Hashable | None]:
    """Every emergency level, marked declared / recommended; the default is the level above
    the declared one (the recommendation is shown, never picked for the team)."""
    info = session.level()
    names: list[str] = info["levels"]
    out = []
    for name in names:
        marks = [m for m, flag in (("declared", name == info["declared"]),
                                   ("recommended", name == info["recommended"])) if flag]
        out.append((level_label(session, name) + (f"  [{', '.join(marks)}]" if marks else ""),
                    name))
    default = None
    if names:
        here = names.index(info["declared"]) if info["declared"] in names else 0
        default = names[min(here + 1, len(names) - 1)]
    return out, default


def unlock_terms(session: DrillSession, index: int) -> str:
    """What an unlock brings and costs: its crew, its delay (and whether it arrives after the
    drill has ended), and its cost a day where the scenario prices it."""
    assert session.emergency is not None
    u = session.emergency.playbook.resources.unlocks[index]
    ready = session.emergency.timebase.deadline(session.now, u.delay)
    wait = ready - session.now
    parts = []
    if u.headcount:
        parts.append(f"{u.headcount} staff")
    if u.hours_per_day:
        parts.append(f"{u.hours_per_day:g} h/day")
    parts.append("at once" if wait <= 0 else f"after {duration_text(wait)}"
                 + (" (AFTER THE DRILL ENDS)" if ready > session.end else ""))
    costs = session.loaded.scenario.costs
    pool = session.loaded.staffing.get(u.pool or "")
    if u.resource == "contractors" and costs.contractor_rate:
        hours = (u.hours_per_day or 8.0) * max(u.headcount, 1)
        parts.append(f"about {costs.contractor_rate * hours:,.0f} a day")
    elif u.resource == "overtime" and pool is not None and pool.wage_per_hour:
        live = session.world.pools.get(u.pool or "")
        crew = u.headcount or (max(live.capacity, 1) if live is not None else 1)
        hours = u.hours_per_day or pool.overtime_hours_per_day or 0.0
        cost = pool.wage_per_hour * (1 + costs.overtime_premium) * hours * crew
        parts.append(f"about {cost:,.0f} a day")
    return ", ".join(parts)


def unlock_choices(session: DrillSession) -> tuple[list[Choice], Hashable | None]:
    """Every unlock with its state and terms; the default is the first one the level allows
    and that is not active or coming; when none is, the first one still locked (the
    session says which level it needs), never one already active."""
    unlocks = session.level()["unlocks"]
    out = [(f"{u['name']}  [{u['state']}]  {unlock_terms(session, u['unlock'])}", u["unlock"])
           for u in unlocks]
    allowed = [u["unlock"] for u in unlocks if u["state"] == "allowed"]
    locked = [u["unlock"] for u in unlocks if u["state"] == "locked"]
    return out, (allowed[0] if allowed else locked[0] if locked else
                 (out[0][1] if out else None))


def sku_choices(session: DrillSession) -> list[Choice]:
    out = []
    for sku, stock in session.world.stock.items():
        out.append((f"{sku}  (on hand {stock.on_hand}, on order {stock.on_order}, "
                    f"backorders {stock.backordered})", sku))
    return out


def task_choices(session: DrillSession) -> list[tuple[str, str | None]]:
    """The critical tasks an observer's note can be tagged to: each expectation of the
    injects that have fired (by its id, as the after-action review names it), then the
    groups of tasks the playbook implies; first, no task."""
    out: list[tuple[str, str | None]] = [("(no particular task)", None)]
    for fired in session.fired.values():
        for j, exp in enumerate(fired.inject.expect):
            tid = f"{fired.inject.id}.{j + 1}"
            out.append((f"{tid}  {exp.task or exp.action}", tid))
    rules = session.drill.scoring.objectives
    out += [("emergency levels (declared in time)", rules.get("levels", "levels")),
            ("communications (owed messages)", rules.get("communications", "communications")),
            ("service levels (SLA attainment)", rules.get("service", "service"))]
    return out


def obligation_choices(session: DrillSession) -> list[Choice]:
    """The playbooks' message templates, those owed now first (soonest due, late marked),
    then the rest by audience."""
    now = session.now
    out: list[Choice] = []
    seen: set[str] = set()
    for msg, _ in sorted(session.world.operation_owed, key=lambda mt: mt[0].due):
        if msg.obligation in seen:
            continue
        seen.add(msg.obligation)
        left, _urgency = countdown(msg.due, now)
        state = f"LATE {left[1:]}" if msg.due < now else f"due in {left}"
        out.append((f"{msg.obligation} -> {msg.audience}  [owed, {state}]", msg.obligation))
    rest = []
    for pb in session.loaded.playbooks.values():
        for name, ob in pb.communications.items():
            if name not in seen:
                seen.add(name)
                rest.append((ob.audience, name))
    out += [(f"{name} -> {audience}", name) for audience, name in sorted(rest)]
    return out


def pool_choices(session: DrillSession) -> list[Choice]:
    out = []
    for name, pool in session.world.pools.items():
        out.append((f"{name}  ({', '.join(pool.spec.roles)}; free "
                    f"{max(pool.capacity - pool.busy, 0)})", name))
    return out


def case_levels(session: DrillSession, cid: int) -> tuple[list[str], int] | None:
    """The escalation levels of an open case's playbook and where it stands (None: closed
    or unknown)."""
    world = session.world
    case = world.cases[cid] if 0 <= cid < len(world.cases) else None
    if case is None:
        return None
    return list(world.runtimes[world.case_kind[cid]].levels), case.level


def priority_targets(session: DrillSession, cid: int | None) -> list[Choice]:
    """What can be moved forward: the case in hand, a tier, a kind of case."""
    out: list[Choice] = []
    if cid is not None and case_levels(session, cid) is not None:
        out.append((f"case {cid}", ("case", cid)))
    out += [(f"{tier} cases", ("tier", tier)) for tier in TIER_NAMES]
    out += [(f"{kind} cases", ("case_kind", kind)) for kind in session.world.kinds]
    return out


PRIORITY_KEYS: tuple[str, ...] = typing.get_args(
    typing.get_args(PriorityRule.model_fields["order"].annotation)[0])
"""The keys a priority rule orders by (from the action's own definition)."""


def contingency_choices(session: DrillSession) -> list[Choice]:
    """Contingency injects not fired yet."""
    return [(f"{i.id}: {i.subject}  (to {role_title(session, i.to)})", i.id)
            for i in session.drill.contingency if i.id not in session.fired]


# -- the home screen -------------------------------------------------------------------------

@dataclass(frozen=True)
class PastDrill:
    """A drill in the record store."""

    id: str
    started: datetime
    title: str
    scenario: str
    team: str
    seed: int
    events: int
    ended: str
    """Why it ended ("finished", "ended by the team"), or "" for an interrupted drill."""
    score: float | None = None
    """The latest review's score (None: not reviewed yet)."""
    parts: tuple[tuple[str, float | None], ...] = ()
    """The latest review's parts (tasks, service, ...) and their scores."""

    def parts_text(self) -> str:
        return "  ".join(f"{name} {'-' if v is None else f'{v:.0f}'}" for name, v in self.parts)


def past_drills(store_path: Path) -> list[PastDrill]:
    """The drills recorded in a store, newest first (none if the store does not exist),
    with the score and parts of their latest review."""
    if not store_path.exists():
        return []
    out = []
    with EventStore.open(store_path, create=False, readonly=True) as store:
        for info in store.streams(STREAM_KIND):
            h = info.header
            ends, scores = [], []
            for ev in store.events(info.id, kinds=("end", "score")):
                (ends if ev.kind == "end" else scores).append(ev.payload)
            score = scores[-1] if scores else {}
            parts = tuple((str(k), None if v is None else float(v))
                          for k, v in (score.get("parts") or {}).items())
            out.append(PastDrill(info.id, info.created, str(h.get("title", "")),
                                 str(h.get("scenario", "")), str(h.get("team", "")),
                                 int(h.get("seed", 0)), info.events,
                                 str(ends[-1].get("reason", "ended")) if ends else "",
                                 float(score["total"]) if "total" in score else None, parts))
    out.sort(key=lambda d: d.started, reverse=True)
    return out


@dataclass(frozen=True)
class ReportInfo:
    """A report found in the output folder: a simulation's or a drill's after-action one."""

    name: str
    path: Path
    modified: datetime
    kind: str = "simulation"
    """"simulation" (`muster simulate`) or "after-action" (a drill's review)."""


def _title(path: Path, fallback: str) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            first = f.readline().strip()
    except OSError:
        return fallback
    return first.lstrip("# ").removeprefix("After-action report: ") or fallback


def reports(out_dir: Path) -> list[ReportInfo]:
    """Every `OUT_DIR/*/report.md` and `OUT_DIR/drills/*/after-action.md`, newest first."""
    if not out_dir.is_dir():
        return []
    found = [ReportInfo(p.parent.name, p, datetime.fromtimestamp(p.stat().st_mtime))
             for p in out_dir.glob("*/report.md") if p.is_file()]
    found += [ReportInfo(f"drill {p.parent.name}: {_title(p, p.parent.name)}", p,
                         datetime.fromtimestamp(p.stat().st_mtime), "after-action")
              for p in out_dir.glob("drills/*/after-action.md") if p.is_file()]
    return sorted(found, key=lambda r: r.modified, reverse=True)


def key_findings(path: Path) -> str:
    """The report's title and its "Key findings" section (Markdown); the whole report when
    it has no such section."""
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    title = next((line for line in lines if line.startswith("# ")), f"# {path.parent.name}")
    start = next((i for i, line in enumerate(lines)
                  if line.strip().lower() == "## key findings"), None)
    if start is None:
        return text
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return "\n".join([title, "", *lines[start:end]]).rstrip() + "\n"


@dataclass(frozen=True)
class PlaybookRow:
    """A bundled playbook, checked: today's `muster` overview as data."""

    name: str
    title: str
    states: str
    levels: str
    check: str
    ok: bool


def playbook_overview() -> list[PlaybookRow]:
    """One row per library playbook. Linting the library takes about half a second and the
    home screen asks on every return to it: a file's row is kept while the file stays
    the same (inode, times and size)."""
    out = []
    for path in library_files():
        try:
            stat = path.stat()
        except OSError:
            continue  # gone between the listing and now
        out.append(_overview_row(path, (stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns,
                                         stat.st_size)))
    return out


@functools.lru_cache(maxsize=256)
def _overview_row(path: Path, stamp: tuple[int, int, int, int]) -> PlaybookRow:
    """The row of one playbook file as it is at `stamp` (inode, modification and change
    times, size): the cache's key, so an edited file is checked again."""
    playbook, found = check_file(path)
    errors = sum(d.severity == "error" for d in found)
    if playbook is None:
        return PlaybookRow(path.stem, "", "", "", f"{errors} error(s)", False)
    return PlaybookRow(playbook.name, playbook.title, str(len(playbook.lifecycle.states)),
                       f"{len(playbook.escalation.levels)}/{len(playbook.emergency.levels)}",
                       "ok" if not found else f"{len(found)} warning(s)", True)
