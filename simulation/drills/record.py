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

from incidents.store import EventStore, StoreError
from simulation.drills.actions import ACTION_TYPES
from simulation.drills.session import DrillSession, log_digest
from simulation.errors import SimulationError
from simulation.results.common import muster_version
from simulation.scenario.loader import LoadedScenario, scenario_from_text

__all__ = ["DEFAULT_STORE", "STREAM_KIND", "FORMAT", "DrillRecorder", "RecordedDrill",
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
                 source: str = "app") -> DrillRecorder:
    """A new stream for a drill about to be played; the recorder to give its session."""
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
    }
    return DrillRecorder(store, store.new_stream(STREAM_KIND, header))


def open_record(ref: str | Path, stream: str | None = None, *,
                readonly: bool = False) -> tuple[EventStore, str]:
    """The store and stream a record reference names: a store file (its latest drill, or
    `stream`, an id or a unique prefix of one), or an id/prefix in the default store.
    `readonly`: for commands that only read (replay, listing): the file is left as it is."""
    path = Path(ref)
    if not path.exists() and DEFAULT_STORE.exists() and stream is None:
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


@dataclass
class RecordedDrill:
    """A record read back: its header and events, in order."""

    stream_id: str
    header: dict[str, Any]
    actions: list[tuple[float, dict[str, Any], bool, str | None, str]] = field(default_factory=list)
    """(minute, action, taken, digest, role) of every decision, in order."""
    injects: list[tuple[float, str, bool]] = field(default_factory=list)
    clock: float = 0.0
    """The last simulated minute the record reached."""
    end: dict[str, Any] | None = None


def load_record(store: EventStore, stream_id: str) -> RecordedDrill:
    header = store.header(stream_id)
    where = f"{store.path}: error: drill {stream_id[:8]}"
    if header.get("format") != FORMAT:
        raise SimulationError(f"{where}: record format {header.get('format')!r}; this Muster "
                              f"reads format {FORMAT}")
    out = RecordedDrill(stream_id, header)
    for ev in store.events(stream_id):
        minute = ev.sim_minute or 0.0
        out.clock = max(out.clock, minute)
        if ev.kind == "action":
            p = ev.payload
            out.actions.append((minute, p["action"], bool(p["ok"]), p.get("digest"),
                                p.get("role", "")))
        elif ev.kind == "inject":
            out.injects.append((minute, ev.payload["inject"], bool(ev.payload["by_hand"])))
        elif ev.kind == "end":
            out.end = ev.payload
    return out


def rebuild(record: RecordedDrill) -> LoadedScenario:
    """The scenario as it was played, from the record's own copy of its text."""
    h = record.header
    text = h["scenario_text"]
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != h["scenario_sha256"]:
        raise SimulationError(f"drill {record.stream_id[:8]}: error: the scenario text in the "
                              "record does not match its digest: the record is damaged")
    path = Path(h["scenario_path"])
    return scenario_from_text(text, file=str(path), base=path.parent)


def _action(body: dict[str, Any]) -> Any:
    return ACTION_TYPES[body["kind"]].model_validate(body)


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
    for minute, body, ok, digest, role in record.actions:
        session.advance(minute)
        outcome = session.act(_action(body), role=role or None)
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
        if final != end["digest"]:
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
    for minute, body, _, _, role in record.actions:
        session.advance(minute)
        session.act(_action(body), role=role or None)
    session.advance(record.clock)
    recorder = DrillRecorder(store, stream_id)
    session.recorder = recorder
    return session, recorder
