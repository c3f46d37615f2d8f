"""A drill's record: written as it is played, replayed exactly, resumed after a crash.

A record is one stream in an append-only event store (incidents/store.py, SQLite): a header
(the scenario's text and its SHA-256, the seed, the Muster version, team, participants,
speed), then every action (taken or refused, with the acting role, the simulated minute and
the wall-clock time, and for a taken one the digest of the event log at that moment), every
inject as it fires, a clock mark each simulated hour, and at the end a digest of the whole
event log. Since the scenario's text is in the header, a record replays without the
original files, and a changed scenario cannot pass for the one that was played.

Replay rebuilds the session from the header and applies the recorded decisions at their
minutes; every digest must match (a model change that would alter the drill is caught at
the first decision it affects). Resume does the same without checking the end and goes on
recording into the same stream: nothing decided before the interruption is lost.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from incidents.store import EventStore, StoreError
from simulation.drills.actions import ACTION_TYPES
from simulation.drills.session import DrillSession, log_digest
from simulation.errors import SimulationError
from simulation.results.common import muster_version
from simulation.scenario.loader import LoadedScenario, scenario_from_text

__all__ = ["DEFAULT_STORE", "STREAM_KIND", "FORMAT", "DrillRecorder", "RecordedDrill",
           "RecordedAction",
           "ReplayReport", "start_record", "open_record", "load_record", "rebuild", "replay",
           "check_resumable", "resume"]

DEFAULT_STORE = Path("muster-out") / "drills.sqlite"
"""Where drills are recorded unless told otherwise (one store, one stream per drill)."""
STREAM_KIND = "drill"
FORMAT = 1
"""Version of the record's own layout (header keys, event kinds), checked on reading."""


class DrillRecorder:
    """Appends a session's events to its stream (the session's `recorder`)."""

    def __init__(self, store: EventStore, stream_id: str) -> None:
        self.store, self.stream_id = store, stream_id

    def __call__(self, kind: str, payload: dict[str, Any], sim_minute: float | None) -> None:
        self.store.append(self.stream_id, kind, payload, sim_minute=sim_minute)

    def finish(self, session: DrillSession, reason: str = "finished") -> None:
        """The drill ended (played to its end, or stopped by the team): the final digest."""
        self("end", {"reason": reason, "digest": log_digest(session.world),
                     "events": len(session.world.log)}, session.now)


def _text_of(loaded: LoadedScenario) -> str:
    if loaded.path is None:
        raise SimulationError("<text>: error: a drill is recorded from a scenario file")
    return loaded.path.read_text(encoding="utf-8")


def start_record(store: EventStore, loaded: LoadedScenario, seed: int, *, team: str = "",
                 participants: list[dict[str, str]] | None = None, speed: float | None = None,
                 source: str = "app", extra: dict[str, Any] | None = None) -> DrillRecorder:
    """A new stream for a drill about to be played; the recorder to give its session.
    `extra`: more header keys (a seated drill's owner)."""
    drill = loaded.scenario.drill
    assert drill is not None
    text = _text_of(loaded)
    header = {
        "format": FORMAT, "scenario": loaded.scenario.name, "title": drill.title,
        "scenario_path": str(loaded.path), "scenario_text": text,
        "scenario_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "seed": seed, "muster_version": muster_version(),
        "team": team or drill.team,
        "participants": participants if participants is not None else
        [p.model_dump() for p in drill.participants],
        "speed": speed if speed is not None else drill.speed,
        "length_minutes": drill.length.wall_minutes, "source": source,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    return DrillRecorder(store, store.new_stream(STREAM_KIND, header))


def open_record(ref: str | Path, stream: str | None = None, *,
                readonly: bool = False) -> tuple[EventStore, str]:
    """The store and stream a record reference names: a store file (its latest drill, or
    `stream`, an id or a unique prefix of one), or an id/prefix in the default store.
    `readonly`: for commands that only read (replay, listing): the file is left as it is."""
    path = Path(ref)
    looks_like_a_file = path.suffix != "" or len(path.parts) > 1  # drill ids have neither
    if not path.exists() and DEFAULT_STORE.exists() and stream is None \
            and not looks_like_a_file:
        path, stream = DEFAULT_STORE, str(ref)
    store = EventStore.open(path, create=False, readonly=readonly)
    try:
        drills = store.streams(STREAM_KIND)
        if not drills:
            raise StoreError(str(path), "holds no drill record")
        if stream is None:
            return store, drills[-1].id
        hits = [d for d in drills if d.id.startswith(stream)]
        if len(hits) != 1:
            known = ", ".join(d.id[:8] for d in drills[-10:])
            raise StoreError(str(path), f"{'no' if not hits else 'more than one'} drill record "
                             f"{stream!r} (latest: {known})")
        return store, hits[0].id
    except BaseException:
        store.close()
        raise


@dataclass(frozen=True)
class RecordedAction:
    """One decision as recorded: when, what, whether it was taken, the event log's digest
    after it, by whom, and its idempotency key."""

    minute: float
    action: Any
    """The validated action (actions.py)."""
    ok: bool
    digest: str | None
    role: str
    key: str | None

    def __iter__(self):  # (minute, body, ok, digest, role, key), as review and tests unpack
        return iter((self.minute, self.action.model_dump(mode="json", exclude_none=True),
                     self.ok, self.digest, self.role, self.key))


@dataclass
class RecordedDrill:
    """A record read back: its header and events, in order."""

    stream_id: str
    header: dict[str, Any]
    actions: list[RecordedAction] = field(default_factory=list)
    """Every decision, in order."""
    injects: list[tuple[float, str, bool]] = field(default_factory=list)
    clock: float = 0.0
    """The last simulated minute the record reached."""
    end: dict[str, Any] | None = None

    @property
    def keys(self) -> set[str]:
        """The idempotency keys of the decisions already in the record."""
        return {a.key for a in self.actions if a.key is not None}


def _bad(store: EventStore, stream_id: str, seq: int | None, message: str) -> SimulationError:
    where = f"{store.path}: error: drill {stream_id[:8]}" + (f", event {seq}" if seq else "")
    return SimulationError(f"{where}: {message} (the record is damaged or was written by "
                           "another program)")


def load_record(store: EventStore, stream_id: str) -> RecordedDrill:
    """Read a record back, checking every event it uses: a damaged one is refused with its
    number and what is wrong, never half read."""
    header = store.header(stream_id)
    if header.get("format") != FORMAT:
        raise _bad(store, stream_id, 1, f"record format {header.get('format')!r}; this "
                   f"Muster reads format {FORMAT}")
    for name, kind in (("seed", int), ("scenario_text", str), ("scenario_sha256", str),
                       ("scenario_path", str)):
        value = header.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _bad(store, stream_id, 1, f"header: {name} is {value!r}, not "
                       f"{'a whole number' if kind is int else 'text'}")
    out = RecordedDrill(stream_id, header)
    for ev in store.events(stream_id):
        minute = ev.sim_minute or 0.0
        out.clock = max(out.clock, minute)
        p = ev.payload
        if ev.kind == "action":
            out.actions.append(_recorded_action(store, stream_id, ev.seq, minute, p))
        elif ev.kind == "inject":
            inject = p.get("inject")
            if not isinstance(inject, str):
                raise _bad(store, stream_id, ev.seq, f"inject event without an inject id: {p}")
            out.injects.append((minute, inject, bool(p.get("by_hand"))))
        elif ev.kind == "end":
            out.end = p
    return out


def _recorded_action(store: EventStore, stream_id: str, seq: int, minute: float,
                     p: dict[str, Any]) -> RecordedAction:
    body = p.get("action")
    if not isinstance(body, dict):
        raise _bad(store, stream_id, seq, f"action event without an action: {p}")
    kind = body.get("kind")
    if kind not in ACTION_TYPES:
        raise _bad(store, stream_id, seq, f"unknown action {kind!r}; actions: "
                   f"{', '.join(ACTION_TYPES)}")
    try:
        action = ACTION_TYPES[kind].model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "action"
        raise _bad(store, stream_id, seq, f"action {kind}: {where}: {first['msg']}") from None
    digest, role, key = p.get("digest"), p.get("role", ""), p.get("key")
    if not isinstance(p.get("ok"), bool) or not isinstance(role, str) \
            or not (digest is None or isinstance(digest, str)) \
            or not (key is None or isinstance(key, str)):
        raise _bad(store, stream_id, seq, "action event with a malformed ok, role, digest "
                   "or key")
    return RecordedAction(minute, action, p["ok"], digest, role, key)


def rebuild(record: RecordedDrill) -> LoadedScenario:
    """The scenario as it was played, from the record's own copy of its text."""
    h = record.header
    text = h["scenario_text"]
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != h["scenario_sha256"]:
        raise SimulationError(f"drill {record.stream_id[:8]}: error: the scenario text in the "
                              "record does not match its digest: the record is damaged")
    path = Path(h["scenario_path"])
    return scenario_from_text(text, file=str(path), base=path.parent)


@dataclass(frozen=True)
class ReplayReport:
    matches: bool
    checked: int
    """Digests compared (one per decision taken, and the end)."""
    problem: str
    digest: str


def replay(store: EventStore, stream_id: str) -> ReplayReport:
    """Play the record again and compare every digest; the first difference, if any."""
    record = load_record(store, stream_id)
    session = DrillSession(rebuild(record), int(record.header["seed"]))
    checked = 0
    for rec in record.actions:
        minute, ok, digest, body = rec.minute, rec.ok, rec.digest, rec.action.model_dump(
            mode="json", exclude_none=True)
        session.advance(minute)
        outcome = session.act(rec.action, role=rec.role or None, key=rec.key)
        if outcome.ok != ok:
            return ReplayReport(False, checked, f"decision {body} at minute {minute:g} was "
                                f"{'taken' if ok else 'refused'} in the drill but "
                                f"{'taken' if outcome.ok else 'refused'} now: "
                                f"{outcome.message}", log_digest(session.world))
        if ok and digest is not None:
            checked += 1
            now = log_digest(session.world)
            if now != digest:
                return ReplayReport(False, checked, f"the event log differs after the "
                                    f"decision at minute {minute:g} ({body['kind']})", now)
    end = record.end
    if end is not None:
        session.advance(record.clock)
        checked += 1
        final = log_digest(session.world)
        if final != end.get("digest"):
            return ReplayReport(False, checked, "the final event log differs", final)
        return ReplayReport(True, checked, "", final)
    return ReplayReport(True, checked, "the record has no end (an interrupted drill: "
                        "`muster drill resume` continues it)", log_digest(session.world))


def check_resumable(store: EventStore, stream_id: str) -> RecordedDrill:
    """The record, if it can be resumed (it has no end); else the reason, as an error. A
    store opened read-only suffices, so a refused resume changes nothing."""
    record = load_record(store, stream_id)
    if record.end is not None:
        raise SimulationError(f"{store.path}: error: drill {stream_id[:8]} ended "
                              f"({record.end.get('reason')}); nothing to resume")
    return record


def resume(store: EventStore, stream_id: str) -> tuple[DrillSession, DrillRecorder]:
    """The interrupted drill, caught up to where its record stops, recording again."""
    record = check_resumable(store, stream_id)
    session = DrillSession(rebuild(record), int(record.header["seed"]))
    for rec in record.actions:
        session.advance(rec.minute)
        session.act(rec.action, role=rec.role or None, key=rec.key)
    session.advance(record.clock)
    recorder = DrillRecorder(store, stream_id)
    session.recorder = recorder
    return session, recorder
