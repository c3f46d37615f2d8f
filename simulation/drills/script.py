"""Action scripts: a team's decisions written down, played without the screen.

A script is YAML: an optional `drill` (the scenario name it was written for), an optional
`seed`, and `actions`, each an action record with `at`, the simulated time from the scenario
start it is taken (`{at: 2h, role: resources_lead, kind: order_parts, sku: X, qty: 500}`), in
time order. Structure (unknown action kinds, fields, bad times) is refused at its line before
anything runs; a decision the drill refuses when it comes (an unknown or closed case, an
unlock the level does not allow) is refused at its line too, after a silent rehearsal, so a
record is only ever written for a script that plays through. `examples.example_script` writes
a valid, commented script for a drill from its master scenario events list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pydantic import ValidationError

from incidents.sla import Duration
from incidents.source import (Diagnostic, Document, SourceError, diagnostics_from_validation,
                              load_document, suggest)
from simulation.drills.actions import ACTION_TYPES
from simulation.drills.session import DrillSession, Outcome, Recorder
from simulation.errors import SimulationError
from simulation.scenario.loader import LoadedScenario

__all__ = ["ScriptedAction", "Script", "load_script", "play", "step_key", "take_rest"]

@dataclass(frozen=True)
class ScriptedAction:
    at: float
    action: Any
    line: int
    col: int


@dataclass(frozen=True)
class Script:
    file: str
    drill: str | None
    seed: int | None
    actions: tuple[ScriptedAction, ...]


def _minutes(value: Any) -> float:
    d = Duration.parse(value) if not isinstance(value, Duration) else value
    if d.is_working:
        raise ValueError("give simulated wall-clock time (30m, 2h, 1.5d), not working time")
    return d.wall_minutes


def load_script(path: str | Path) -> Script:
    """Read and check an action script; SimulationError listing every problem, located."""
    try:
        doc = load_document(Path(path))
    except SourceError as exc:
        raise SimulationError(exc.diagnostics) from None
    return parse_script(doc)


def parse_script(doc: Document) -> Script:
    data = doc.data
    found: list[Diagnostic] = []
    if not isinstance(data, dict):
        raise SimulationError([doc.diag((), "an action script is a mapping with `actions:`")])
    for key in data:
        if key not in ("muster", "drill", "seed", "actions"):
            found.append(doc.diag((key,), f"unknown key {key!r}"
                                  f"{suggest(str(key), ['muster', 'drill', 'seed', 'actions'])}",
                                  key=True))
    version = data.get("muster", 1)
    if type(version) is not int or version != 1:
        found.append(doc.diag(("muster",), f"muster: this Muster reads action scripts of "
                              f"version 1, not {version!r}"))
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        found.append(doc.diag(("seed",), "seed: a whole number >= 0"))
    drill = data.get("drill")
    if drill is not None and not isinstance(drill, str):
        found.append(doc.diag(("drill",), "drill: the name of the drill scenario"))
    items = data.get("actions")
    if not isinstance(items, list):
        found.append(doc.diag(("actions",) if "actions" in data else (),
                              "`actions:` must be a list of actions"))
        items = []
    actions: list[ScriptedAction] = []
    last = 0.0
    for i, item in enumerate(items):
        here = ("actions", i)
        line, col = doc.where(here)
        if not isinstance(item, dict):
            found.append(doc.diag(here, "an action is a mapping: {at: 1h, kind: ..., ...}"))
            continue
        kind = item.get("kind")
        at = None
        if "at" not in item:
            found.append(doc.diag(here, f"action {i + 1} ({kind}) needs `at`, the simulated "
                                  "time it is taken (e.g. 2h)"))
        else:
            try:
                at = _minutes(item["at"])
            except (ValueError, TypeError) as exc:
                found.append(doc.diag(here + ("at",), f"at: {exc}"))
        if at is not None:
            if at < last:
                found.append(doc.diag(here + ("at",), f"actions must be in time order: "
                                      f"{item['at']} comes before the action above it"))
            last = max(last, at)
        if not isinstance(kind, str) or kind not in ACTION_TYPES:
            found.append(doc.diag(here + (("kind",) if "kind" in item else ()),
                                  f"unknown action {kind!r}{suggest(str(kind), ACTION_TYPES)}; "
                                  f"actions: {', '.join(ACTION_TYPES)}"))
            continue
        if at is None:
            continue
        body = {k: v for k, v in item.items() if k != "at"}
        model = ACTION_TYPES[kind]
        try:
            action = model.model_validate(body)
        except ValidationError as exc:
            found += diagnostics_from_validation(exc, doc, model, here)
            continue
        actions.append(ScriptedAction(at, action, line, col))
    errors = [d for d in found if d.severity == "error"]
    if errors:
        raise SimulationError(sorted(errors, key=lambda d: (d.line, d.col)))
    return Script(doc.file, drill, seed, tuple(actions))


def play(loaded: LoadedScenario, script: Script, seed: int, *,
         recorder: Recorder | None = None, strict: bool = True,
         progress: Callable[[float], None] | None = None) -> DrillSession:
    """Play the script against the drill to its end. With `strict`, a refused decision is
    an error at its line, found in a silent rehearsal before anything is recorded."""
    if strict:
        rehearsal = _run(loaded, script, seed, None, None)
        refused = [(s, o) for s, o in zip(script.actions, rehearsal[1]) if not o.ok]
        if refused:
            raise SimulationError([Diagnostic(script.file, s.line, s.col, "error",
                                              f"{s.action.kind} at minute {s.at:g}: refused: "
                                              f"{o.message}") for s, o in refused])
    return _run(loaded, script, seed, recorder, progress)[0]


def _run(loaded: LoadedScenario, script: Script, seed: int, recorder: Recorder | None,
         progress: Callable[[float], None] | None) -> tuple[DrillSession, list[Outcome]]:
    session = DrillSession(loaded, seed, recorder=recorder)
    outcomes: list[Outcome] = []
    for i, step in enumerate(script.actions):
        session.advance(step.at)
        if step.at > session.end:
            break
        outcomes.append(session.act(step.action, key=step_key(i, step)))
        if progress is not None:
            progress(session.now / session.end)
    session.advance(session.end)
    if progress is not None:
        progress(1.0)
    return session, outcomes


def step_key(index: int, step: ScriptedAction) -> str:
    """The idempotency key of a script's step: its place and what it does, so a resume
    with the same script never takes a step the record holds."""
    return f"script:{index}:{step.action.kind}@{step.at:g}"


def take_rest(session: DrillSession, script: Script) -> None:
    """Play a script's steps on an interrupted session (record.resume): the steps the record
    already holds (by key) are skipped; so are steps before the resume minute without a
    key in the record (played live, not from this script: they cannot be matched)."""
    for i, step in enumerate(script.actions):
        key = step_key(i, step)
        if key in session.keys or step.at < session.now:
            continue
        session.advance(step.at)
        if session.finished and step.at > session.end:
            break
        session.act(step.action, key=key)
    session.advance(session.end)
