"""Seats: one drill record played from several terminals, by a controller, evaluators, players.

HSEEP runs an exercise with controllers (who run the clock and the MSEL), evaluators (who
watch the critical tasks) and players (the team). Each sits at a terminal of their own,
`muster drill NAME --seat controller|evaluator|player --as NAME`, on one record store (the
live desk's machinery: incidents/store.py).

Determinism holds because ONE process owns the simulation clock: the first seat that starts
the drill (`owner` in the record's header). It steps the model, writes the clock marks and
every decision to the record as a drill always has (record.py), so `muster drill replay`
reproduces it exactly. Every other seat follows the record: it rebuilds the session from the
header and applies what the owner wrote, in order, at its minutes (the same rule as a
replay), so what it shows is the owner's drill, a poll behind. A follower never decides on
its own session: it writes a `request` (the action, its role, its person, how many decisions
it had seen) under an idempotency key (a key press retried is written once); the owner
applies each request at its current minute, where the session takes it or refuses it like
any decision and records it with the same key (a resume never applies it twice), or refuses
it as a conflict when a decision on the same case or on the level was taken after the
requester last looked (a `refusal` event, outside what replay re-runs). The controller's
pause, run, speed and end travel the same way (`control` requests; the owner writes each
`control` state it adopts). Change detection is the store's (`changed()`: PRAGMA
data_version), so an idle seat costs one cheap look per poll.

Evaluators' ratings of a critical task live in a stream of their own per task, written with
the version the evaluator saw (`expected_version`): a second evaluator who rates the same
task without having seen the first rating is refused (ConflictError), never silently
overwrites it. Observations are observer notes (decisions of the evaluator role, in the
record); the hot wash is appended after the end.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from incidents.store import ConflictError, EventStore
from simulation.drills.actions import ACTION_TYPES
from simulation.drills.record import (STREAM_KIND, DrillRecorder, RecordedDrill, rebuild,
                                     start_record)
from simulation.drills.session import DrillSession, Outcome
from simulation.errors import SimulationError
from simulation.scenario.loader import LoadedScenario

__all__ = ["SEATS", "Seat", "SeatLink", "Update", "open_seat", "RATING_KIND", "rating_stream",
           "read_ratings", "EvaluatorRating", "CONTROL_KEYS", "seat_role", "recorder_of"]

SEATS = ("controller", "evaluator", "player")
RATING_KIND = "drill-rating"
CONTROL_KEYS = ("paused", "speed", "end")
SeatName = Literal["controller", "evaluator", "player"]
_CASE_KINDS = ("escalate", "deescalate", "move_case", "prioritise")


@dataclass(frozen=True)
class Seat:
    """Who sits at this terminal: the seat, the person (`--as`), the drill role they act in."""

    seat: str
    person: str
    role: str

    def label(self) -> str:
        return f"{self.person} ({self.seat}{', ' + self.role if self.seat == 'player' else ''})"


def seat_role(seat: str, role: str | None, loaded: LoadedScenario, person: str) -> str:
    """The role a seat acts in: the controller and evaluators act as themselves; a player in
    `role`, else the role the drill's participants list gives the person, else the first."""
    drill = loaded.scenario.drill
    assert drill is not None
    if seat != "player":
        return seat
    if role is not None:
        if role not in drill.roles:
            raise SimulationError(f"--role: no role {role!r} in drill "
                                  f"{loaded.scenario.name!r}; roles: {', '.join(drill.roles)}")
        return role
    listed = next((p.role for p in drill.participants if p.name == person), None)
    return listed if listed in drill.roles else next(iter(drill.roles))


@dataclass
class Update:
    """What one look at the record brought: decisions applied (with the requests of this
    seat among them), refusals of this seat's requests, the clock's state, the end."""

    outcomes: list[Outcome] = field(default_factory=list)
    mine: list[Outcome] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    control: dict[str, Any] | None = None
    ended: str | None = None
    joined: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EvaluatorRating:
    """An evaluator's rating of one critical task (the latest counts)."""

    task: str
    rating: str
    note: str
    by: str
    version: int
    """The task's rating stream version it was written at (what a change must expect)."""


def rating_stream(drill_id: str, task: str) -> str:
    return f"{drill_id}.rating.{task}"[:200]


class SeatLink:
    """One seat's connection to the drill record (see the module docstring)."""

    def __init__(self, store: EventStore, stream_id: str, seat: Seat, session: DrillSession,
                 *, owner: bool) -> None:
        self.store, self.stream_id, self.seat = store, stream_id, seat
        self.session = session
        self.owner = owner
        self.seq = 0
        """The last event of the drill stream this seat has read."""
        self.pending: dict[str, str] = {}
        """Keys of this seat's requests not yet answered -> what they asked."""
        self.control: dict[str, Any] = {"paused": True, "speed": float(session.drill.speed)}
        self.ended: str | None = None
        self.seats: dict[tuple[str, str], str] = {}
        """(seat, person) -> role of everyone who joined."""
        self.refusals: set[str] = set()

    # -- both ---------------------------------------------------------------------------------
    @property
    def header(self) -> dict[str, Any]:
        return self.store.header(self.stream_id)

    def has_controller(self) -> bool:
        return any(seat == "controller" for seat, _ in self.seats)

    def may_control(self) -> bool:
        """Pause, run, change the speed and end for everyone: the controller; the owner of
        the clock too while no controller has joined (someone must be able to start)."""
        return self.seat.seat == "controller" or (self.owner and not self.has_controller())

    def join(self) -> None:
        self.store.append(self.stream_id, "seat", {"seat": self.seat.seat,
                                                   "by": self.seat.person,
                                                   "role": self.seat.role,
                                                   "owner": self.owner},
                          key=f"seat:{self.stream_id}:{self.seat.seat}:{self.seat.person}:"
                              f"{uuid.uuid4().hex[:8]}", actor=self.seat.person)
        self.seats[(self.seat.seat, self.seat.person)] = self.seat.role

    def look(self, force: bool = False) -> Update:
        """Read what was written since the last look (nothing at all when the store did not
        change): the owner applies requests; a follower applies decisions."""
        out = Update()
        if not force and not self.store.changed():
            return out
        for ev in self.store.events(self.stream_id, after=self.seq):
            self.seq = ev.seq
            self._event(ev, out)
        return out

    def _event(self, ev: Any, out: Update) -> None:
        p = ev.payload
        if ev.kind == "seat":
            self.seats[(str(p.get("seat")), str(p.get("by")))] = str(p.get("role"))
            out.joined.append(f"{p.get('by')} ({p.get('seat')})")
        elif ev.kind == "control":
            self.control.update({k: p[k] for k in ("paused", "speed") if k in p})
            if not self.owner:  # the owner wrote it: its screen has it already
                out.control = dict(self.control)
        elif ev.kind == "refusal":
            key = str(p.get("key"))
            self.refusals.add(key)
            if key in self.pending:
                del self.pending[key]
                out.refused.append(str(p.get("message")))
        elif ev.kind == "end":
            self.ended = str(p.get("reason", "ended"))
            if not self.owner:
                self.session.advance(ev.sim_minute or self.session.now)
            out.ended = self.ended
        elif self.owner:
            if ev.kind == "request":
                self._serve(ev, out)
        elif ev.kind in ("clock", "inject"):
            self.session.advance(ev.sim_minute or 0.0)
        elif ev.kind == "action":
            self._follow(ev, out)

    # -- the follower --------------------------------------------------------------------------
    def _follow(self, ev: Any, out: Update) -> None:
        p = ev.payload
        body = p.get("action") or {}
        action = ACTION_TYPES[body["kind"]].model_validate(body)
        self.session.advance(ev.sim_minute or 0.0)
        outcome = self.session.act(action, role=p.get("role") or None, key=p.get("key"))
        if outcome.ok != bool(p.get("ok")):
            raise SimulationError(f"{self.store.path}: error: drill {self.stream_id[:8]}, "
                                  f"event {ev.seq}: this seat's copy of the drill is out of "
                                  f"step with the clock owner's ({outcome.message}); the "
                                  "record is damaged or another Muster wrote it")
        out.outcomes.append(outcome)
        if outcome.key is not None and outcome.key in self.pending:
            del self.pending[outcome.key]
            out.mine.append(outcome)

    def request(self, action: Any, *, role: str | None = None) -> str:
        """Ask the clock owner to take `action` now; the key its answer will carry."""
        key = f"req:{self.stream_id[:8]}:{self.seat.seat}:{uuid.uuid4().hex}"
        body = action.model_dump(mode="json", exclude_none=True)
        body.setdefault("by", self.seat.person)
        self.store.append(self.stream_id, "request",
                          {"action": body, "role": role or self.seat.role,
                           "seat": self.seat.seat, "by": self.seat.person,
                           "seen": len(self.session.outcomes)},
                          key=key, actor=self.seat.person)
        self.pending[key] = self.session.describe(action)
        return key

    def request_control(self, **change: Any) -> str:
        """Ask the owner to pause, run, change speed or end (the controller's keys)."""
        bad = set(change) - set(CONTROL_KEYS)
        if bad:
            raise ValueError(f"unknown control {sorted(bad)}")
        key = f"ctl:{self.stream_id[:8]}:{self.seat.seat}:{uuid.uuid4().hex}"
        self.store.append(self.stream_id, "request", {"control": change,
                                                      "seat": self.seat.seat,
                                                      "by": self.seat.person},
                          key=key, actor=self.seat.person)
        self.pending[key] = "control"
        return key

    # -- the owner -----------------------------------------------------------------------------
    def _serve(self, ev: Any, out: Update) -> None:
        p = ev.payload
        key = ev.key or f"req:{ev.seq}"
        if key in self.session.keys or key in self.refusals:
            return  # answered before (a resume reads the requests again)
        control = p.get("control")
        if isinstance(control, dict):
            if p.get("seat") != "controller" and self.has_controller():
                self.refuse(key, "only the controller pauses, runs, changes the speed or "
                                 "ends the drill")
                return
            change = {k: v for k, v in control.items() if k in CONTROL_KEYS}
            out.control = {**(out.control or {}), **change}
            return
        body = dict(p.get("action") or {})
        try:
            action = ACTION_TYPES[body["kind"]].model_validate(body)
        except (KeyError, ValueError) as exc:
            self.refuse(key, f"not a decision Muster knows: {exc}")
            return
        role = str(p.get("role") or "")
        clash = self.conflict(body, int(p.get("seen") or 0), str(p.get("by") or ""))
        if clash:
            self.refuse(key, clash)
            return
        out.outcomes.append(self.session.act(action, role=role or None, key=key))

    def conflict(self, body: dict[str, Any], seen: int, by: str = "") -> str:
        """Why a request decided on an older view clashes with what someone else decided
        since (a decision on the same case, or on the emergency level), or ""."""
        later = [o for o in self.session.outcomes[seen:]
                 if o.ok and not (by and o.action.get("by") == by)]
        kind = body.get("kind")
        for o in later:
            who = o.action.get("by") or o.role
            if kind in _CASE_KINDS and o.action.get("kind") in _CASE_KINDS \
                    and o.action.get("case") == body.get("case") and body.get("case") is not None:
                return (f"case {body['case']} changed after you looked ({who}: {o.message}); "
                        "look again and decide")
            if kind == "declare_level" and o.action.get("kind") == "declare_level":
                return (f"the level changed after you looked ({who}: {o.message}); look "
                        "again and decide")
        return ""

    def refuse(self, key: str, message: str) -> None:
        self.refusals.add(key)
        self.store.append(self.stream_id, "refusal", {"key": key, "message": message},
                          sim_minute=self.session.now, key=f"refusal:{key}"[:200],
                          actor=self.seat.person)

    def publish(self, paused: bool, speed: float) -> None:
        """The owner adopted a clock state: every seat shows it."""
        self.control.update(paused=paused, speed=speed)
        self.store.append(self.stream_id, "control", {"paused": paused, "speed": speed},
                          sim_minute=self.session.now, actor=self.seat.person)

    def mark(self) -> None:
        """A clock mark at the owner's minute, so followers move on between decisions."""
        if self.session.recorder is not None:
            self.session.recorder("clock", {}, self.session.now)

    # -- evaluators' ratings -------------------------------------------------------------------
    def rate(self, task: str, rating: str, note: str, expected: int) -> int:
        """Rate a task, having seen its rating stream at version `expected` (0: none yet);
        ConflictError when someone rated it since."""
        if rating not in ("P", "S", "M", "U"):
            raise ValueError(f"rating: P, S, M or U, not {rating!r}")
        sid = rating_stream(self.stream_id, task)
        payload = {"task": task, "rating": rating, "note": note, "by": self.seat.person}
        if expected == 0:
            try:
                self.store.new_stream(RATING_KIND, {"drill": self.stream_id, "task": task},
                                      stream_id=sid, actor=self.seat.person)
            except ConflictError:
                raise ConflictError(self.store.path, f"task {task} was rated by someone else "
                                    "after you looked; look again", stream_id=sid) from None
            expected = 1
        return self.store.append(sid, "rating", payload, expected_version=expected,
                                 actor=self.seat.person)

    def ratings(self) -> dict[str, EvaluatorRating]:
        return read_ratings(self.store, self.stream_id)


def read_ratings(store: EventStore, drill_id: str) -> dict[str, EvaluatorRating]:
    """The evaluators' latest rating of each task of a drill."""
    out: dict[str, EvaluatorRating] = {}
    for info in store.streams(RATING_KIND):
        if info.header.get("drill") != drill_id:
            continue
        for ev in store.events(info.id, kinds="rating"):
            p = ev.payload
            out[str(p.get("task"))] = EvaluatorRating(str(p.get("task")), str(p.get("rating")),
                                                      str(p.get("note", "")),
                                                      str(p.get("by", "")), ev.seq)
    return out


def _seated(store: EventStore, scenario: str) -> str | None:
    """The latest seated drill of `scenario` still in play in the store, or None."""
    for info in reversed(store.streams(STREAM_KIND)):
        h = info.header
        if h.get("scenario") != scenario or not isinstance(h.get("seats"), dict):
            continue
        if any(True for _ in store.events(info.id, kinds="end")):
            continue
        return info.id
    return None


def open_seat(store_path: Path, loaded: LoadedScenario, seat: Seat, *, seed: int = 1,
              team: str = "", new: bool = False) -> SeatLink:
    """Take a seat at the drill of `loaded` in the store: join the seated drill in play
    (its owner's seat and person come back as the owner: a resume), or start one and own
    its clock. The store is created if it does not exist."""
    from simulation.drills.record import resume
    if seat.seat not in SEATS:
        raise SimulationError(f"--seat: no seat {seat.seat!r}; seats: {', '.join(SEATS)}")
    try:
        store_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SimulationError(f"{store_path}: error: cannot create its folder: "
                              f"{exc.strerror}") from None
    store = EventStore.open(store_path)
    try:
        sid = None if new else _seated(store, loaded.scenario.name)
        if sid is None:
            recorder = start_record(store, loaded, seed, team=team, source="seats",
                                    extra={"seats": {"owner": {"seat": seat.seat,
                                                               "by": seat.person}}})
            session = DrillSession(loaded, seed, role=_acting(seat, loaded),
                                   recorder=recorder)
            link = SeatLink(store, recorder.stream_id, seat, session, owner=True)
            link.seq = store.version(recorder.stream_id)
        else:
            owner = store.header(sid)["seats"].get("owner", {})
            if owner.get("seat") == seat.seat and owner.get("by") == seat.person:
                session, _ = resume(store, sid)
                link = SeatLink(store, sid, seat, session, owner=True)
                link.refusals = {str(ev.payload.get("key"))
                                 for ev in store.events(sid, kinds="refusal")}
            else:
                record = RecordedDrill(sid, store.header(sid))
                session = DrillSession(rebuild(record), int(record.header["seed"]),
                                       role=_acting(seat, loaded))
                link = SeatLink(store, sid, seat, session, owner=False)
            link.look(force=True)
        link.join()
        return link
    except BaseException:
        store.close()
        raise


def _acting(seat: Seat, loaded: LoadedScenario) -> str:
    drill = loaded.scenario.drill
    assert drill is not None
    return seat.role if seat.role in drill.roles else next(iter(drill.roles))


def recorder_of(link: SeatLink) -> DrillRecorder | None:
    recorder = link.session.recorder
    return recorder if isinstance(recorder, DrillRecorder) else None
