"""After the drill: the hot wash, the evaluators' ratings beside Muster's, the improvement plan.

HSEEP closes an exercise with a hot wash (each participant says, right after the end, what
went well and what to improve, per role), and the after-action report's improvement plan
names for each area a corrective action, an owner, a due date; the plan is then tracked
until each item is done, and later exercises test it again. Here:

- The hot wash is a `hotwash` event appended to the drill's record after its end (records
  are only ever appended to; a participant answering again replaces their answer), by any
  seat in the app or by `muster drill hotwash RECORD`.
- The evaluators' ratings (seats.py) are read beside the computed ones; where they differ
  the report says so.
- Each improvement item is a stream of its own in the record store (kind `improvement`), one
  per drill scenario and critical task, so it is carried across drills: `raised` by a
  review (under an idempotency key: reviewing again raises nothing twice), `updated` with an
  owner, a due date and a status (`muster improvements update`), and `tested` by every later
  drill of the same scenario that rated the task again, so the next report says which items
  it tested and how they fared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from incidents.store import EventStore, StoreError
from simulation.drills.ratings import RATING_WORDS
from simulation.drills.seats import read_ratings
from simulation.errors import SimulationError

__all__ = ["HotwashAnswer", "record_hotwash", "read_hotwash", "Item", "ITEM_KIND", "STATUSES",
           "raise_items", "read_items", "update_item", "extras", "check_update", "rating_text",
           "item_id", "plan_rows", "participants"]

ITEM_KIND = "improvement"
STATUSES = ("open", "in progress", "done", "cancelled")
Status = Literal["open", "in progress", "done", "cancelled"]
MAX_TEXT = 2000


@dataclass(frozen=True)
class HotwashAnswer:
    """One participant's hot wash."""

    by: str
    role: str
    went_well: str
    to_improve: str
    wall: str


def _ended(store: EventStore, drill_id: str) -> bool:
    return any(True for _ in store.events(drill_id, kinds="end"))


def record_hotwash(store: EventStore, drill_id: str, *, by: str, role: str, went_well: str,
                   to_improve: str) -> bool:
    """Append a participant's hot wash to an ended drill's record; False if the very same
    answer was recorded already (a retry). A drill still in play is refused."""
    where = f"{store.path}: error: drill {drill_id[:8]}"
    if not _ended(store, drill_id):
        raise SimulationError(f"{where}: has not ended: the hot wash comes after the end")
    for name, value, limit in (("--as", by, 80), ("--role", role, 80),
                               ("--went-well", went_well, MAX_TEXT),
                               ("--improve", to_improve, MAX_TEXT)):
        if not isinstance(value, str) or len(value) > limit:
            raise SimulationError(f"{where}: {name}: at most {limit} characters")
    if not by.strip():
        raise SimulationError(f"{where}: --as: who answers (a name)")
    if not (went_well.strip() or to_improve.strip()):
        raise SimulationError(f"{where}: say what went well or what to improve (or both)")
    digest = hashlib.sha256(f"{by}\x00{role}\x00{went_well}\x00{to_improve}".encode()
                            ).hexdigest()[:16]
    key = f"hotwash:{drill_id}:{digest}"
    if store.keyed(key) is not None:
        return False
    store.append(drill_id, "hotwash", {"by": by.strip(), "role": role.strip(),
                                       "went_well": went_well.strip(),
                                       "to_improve": to_improve.strip()},
                 key=key, actor=by.strip())
    return True


def read_hotwash(store: EventStore, drill_id: str) -> list[HotwashAnswer]:
    """Each participant's latest answer, in the order they first answered."""
    out: dict[str, HotwashAnswer] = {}
    for ev in store.events(drill_id, kinds="hotwash"):
        p = ev.payload
        out[str(p.get("by"))] = HotwashAnswer(str(p.get("by", "")), str(p.get("role", "")),
                                              str(p.get("went_well", "")),
                                              str(p.get("to_improve", "")),
                                              ev.wall.isoformat(timespec="seconds"))
    return list(out.values())


# -- the improvement plan, carried across drills ----------------------------------------------

@dataclass
class Item:
    """One improvement item as its stream says now."""

    id: str
    scenario: str
    task: str
    title: str
    action: str
    owner: str
    due: str
    status: str
    raised_by: str
    """The drill (record id) that raised it first."""
    version: int
    tests: list[dict[str, Any]] = field(default_factory=list)
    """Later drills that rated the task again: drill id, rating, when."""


def item_id(scenario: str, task: str) -> str:
    return f"improve.{scenario}.{task}"[:200]


def raise_items(store: EventStore, drill_id: str, scenario: str,
                areas: list[dict[str, str]], ratings: dict[str, str | None]) -> None:
    """After a review: each area for improvement becomes an item (or is raised again), and
    every open item of this scenario whose task this drill rated is marked tested. Keys make
    a second review of the same drill write nothing new."""
    for a in areas:
        sid = item_id(scenario, a["task"])
        if not _exists(store, sid):
            store.new_stream(ITEM_KIND, {"scenario": scenario, "task": a["task"],
                                         "title": a["title"]},
                             stream_id=sid, key=f"{sid}:created")
        store.append(sid, "raised", {"drill": drill_id, "action": a["action"],
                                     "owner": a["owner"], "due": a["due"],
                                     "rating": a["rating"]},
                     key=f"{sid}:raised:{drill_id}")
    for item in read_items(store, scenario=scenario):
        if item.raised_by == drill_id or item.task not in ratings:
            continue
        store.append(item.id, "tested", {"drill": drill_id, "rating": ratings[item.task]},
                     key=f"{item.id}:tested:{drill_id}")


def _exists(store: EventStore, sid: str) -> bool:
    try:
        store.info(sid)
    except StoreError as exc:
        if "no such stream" in str(exc):
            return False
        raise
    return True


def read_items(store: EventStore, *, scenario: str | None = None) -> list[Item]:
    """Every improvement item (of one drill scenario, if given), oldest first."""
    out = []
    for info in store.streams(ITEM_KIND):
        h = info.header
        if scenario is not None and h.get("scenario") != scenario:
            continue
        item = Item(info.id, str(h.get("scenario")), str(h.get("task")), str(h.get("title")),
                    "", "", "", "open", "", info.events)
        for ev in store.events(info.id):
            p = ev.payload
            if ev.kind == "raised":
                item.raised_by = item.raised_by or str(p.get("drill"))
                item.action = item.action or str(p.get("action", ""))
                item.owner = item.owner or str(p.get("owner", ""))
                item.due = item.due or str(p.get("due", ""))
                if item.status in ("done", "cancelled") and p.get("drill") != item.raised_by:
                    item.status = "open"  # raised again by a later drill: not done after all
            elif ev.kind == "updated":
                for name in ("owner", "due", "status", "action"):
                    if name in p:
                        setattr(item, name, str(p[name]))
            elif ev.kind == "tested":
                item.tests.append({"drill": p.get("drill"), "rating": p.get("rating"),
                                   "when": ev.wall.date().isoformat()})
        out.append(item)
    return out


def check_update(owner: str | None, due: str | None, status: str | None) -> dict[str, str]:
    """The change an update asks for, checked (ValueError naming the option)."""
    change: dict[str, str] = {}
    if owner is not None:
        if not owner.strip() or len(owner) > 80 or not owner.isprintable():
            raise ValueError(f"--owner: a name of 1 to 80 printable characters, not {owner!r}")
        change["owner"] = owner.strip()
    if due is not None:
        try:
            change["due"] = date.fromisoformat(due).isoformat()
        except ValueError:
            raise ValueError(f"--due: a date as YYYY-MM-DD, not {due!r}") from None
    if status is not None:
        if status not in STATUSES:
            raise ValueError(f"--status: one of {', '.join(STATUSES)}, not {status!r}")
        change["status"] = status
    if not change:
        raise ValueError("nothing to update: give --owner, --due or --status")
    return change


def update_item(store: EventStore, ref: str, change: dict[str, str], *, by: str,
                expected: int | None = None) -> Item:
    """Record a change of an item (owner, due date, status); `ref`: its id or a unique
    part of it. ValueError if no single item matches."""
    items = read_items(store)
    hits = [i for i in items if i.id == ref] or [i for i in items if ref in i.id]
    if len(hits) != 1:
        known = ", ".join(i.id for i in items[:8]) or "none yet"
        raise ValueError(f"{'no' if not hits else 'more than one'} improvement item "
                         f"{ref!r} (items: {known})")
    item = hits[0]
    store.append(item.id, "updated", {**change, "by": by}, actor=by,
                 expected_version=expected)
    return next(i for i in read_items(store) if i.id == item.id)


def plan_rows(header: dict[str, Any], areas: list[dict[str, str]]) -> list[dict[str, str]]:
    """The improvement plan as the report prints it: each area with the owner, due date
    and status its item has now (the review's defaults until someone updates it)."""
    current = {i["task"]: i for i in header.get("improvements", [])}
    return [{**a, **{k: current[a["task"]][k] for k in ("owner", "due", "status")
                     if a["task"] in current}} for a in areas]


def extras(store: EventStore, drill_id: str) -> dict[str, Any]:
    """What the after-action report adds from the exercise's people: the hot wash, the
    evaluators' ratings, the improvement items of earlier drills this one tested."""
    header = store.header(drill_id)
    scenario = str(header.get("scenario", ""))
    ratings = read_ratings(store, drill_id)
    tested = []
    for item in read_items(store, scenario=scenario):
        if item.raised_by == drill_id:
            continue
        mine = [t for t in item.tests if t.get("drill") == drill_id]
        if mine:
            tested.append({"id": item.id, "title": item.title, "task": item.task,
                           "owner": item.owner, "status": item.status,
                           "rating": mine[-1].get("rating")})
    items = [{"id": i.id, "task": i.task, "owner": i.owner, "due": i.due,
              "status": i.status} for i in read_items(store, scenario=scenario)]
    return {"participants": participants(store, drill_id, header),
            "hotwash": [a.__dict__ for a in read_hotwash(store, drill_id)],
            "improvements": items,
            "evaluations": {k: {"rating": r.rating, "note": r.note, "by": r.by}
                            for k, r in ratings.items()},
            "improvements_tested": tested}


def participants(store: EventStore, drill_id: str,
                 header: dict[str, Any]) -> list[dict[str, str]]:
    """Who took part: the drill's participants list as recorded, then everyone who took a
    seat (a seated drill's people are in its seat events, not in the scenario's list), each
    name and role once."""
    out = [{"name": str(p.get("name")), "role": str(p.get("role"))}
           for p in header.get("participants", [])]
    for ev in store.events(drill_id):
        if ev.kind != "seat":
            continue
        seat, role = str(ev.payload.get("seat")), str(ev.payload.get("role") or "")
        entry = {"name": str(ev.payload.get("by")),
                 "role": seat if role in ("", seat) else f"{seat}: {role}"}
        if entry not in out:
            out.append(entry)
    return out


def rating_text(rating: str | None) -> str:
    return f"{rating} ({RATING_WORDS[rating]})" if rating in RATING_WORDS else "not rated"
