"""A case as the desk shows it: its events replayed through the playbook runtime.

The runtime is clock-free and pure, so every desk that replays the same events gets the same
case: state, escalation level, armed deadlines (SLA clocks on the playbook's business
calendar), messages owed, milestones met or breached. A stored event that can no longer be
applied (a damaged payload) is recorded as a problem of the case, never a crash of the desk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.model import Incident
from incidents.store import StoredEvent
from playbooks.effects import (Breached, Closed, Deescalated, Effect, Escalated, MessageOwed,
                               MilestoneMet, Transitioned)
from playbooks.errors import PlaybookError
from playbooks.runtime import Case, Step

from desk.clock import minutes
from desk.playbooks import Book

__all__ = ["Owed", "SentMessage", "Met", "CaseView", "open_view", "apply_event", "ViewError",
           "short_reason"]


class ViewError(ValueError):
    """A stored event that cannot be applied; the reason is kept with the case."""


@dataclass(slots=True)
class Owed:
    """A message somebody is owed, and by when (desk minutes). Its words are rendered from
    the playbook's template when first read: a surge owes thousands of messages, and a desk
    opening replays every one of them."""

    obligation: str
    audience: str
    due: float
    words: MessageOwed | str
    since: float

    @property
    def text(self) -> str:
        if not isinstance(self.words, str):
            self.words = self.words.text
        return self.words


@dataclass(slots=True)
class SentMessage:
    obligation: str
    audience: str
    at: float
    due: float | None
    actor: str
    text: str

    @property
    def on_time(self) -> bool | None:
        return None if self.due is None else self.at <= self.due


@dataclass(slots=True)
class Met:
    """A milestone reached: its deadline (None: no target for the tier) and when."""

    due: float | None
    at: float
    on_time: bool


@dataclass(slots=True)
class CaseView:
    """One case as it stands (see the module docstring)."""

    id: str
    stream: str
    version: int
    incident: Incident
    book: Book
    operation: str | None
    case: Case
    opened_by: str
    source: str
    recorded: datetime
    owner: str = ""
    owed: list[Owed] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    met: dict[str, Met] = field(default_factory=dict)
    breaches: dict[str, float] = field(default_factory=dict)
    escalations: list[tuple[float, str, str, str]] = field(default_factory=list)
    """(minute, from level, to level, rule or reason)."""
    notes: list[tuple[float, str, str]] = field(default_factory=list)
    """(minute, who, text)."""
    resolution: str = ""
    closed_at: float | None = None
    updated_at: float = 0.0
    last_actor: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.case.closed

    @property
    def state(self) -> str:
        return self.case.state

    @property
    def level(self) -> str:
        return self.book.runtime.levels[self.case.level]

    @property
    def pool(self) -> str:
        return self.book.pool_of(self.case.state)

    @property
    def opened(self) -> float:
        return self.case.opened

    def next_deadline(self) -> tuple[str, float] | None:
        """The earliest armed deadline (key, due minute), or None."""
        timers = self.case.timers
        if not timers:
            return None
        key = min(timers, key=lambda k: (timers[k], k))
        return key, timers[key]


def open_view(event: StoredEvent, book: Book) -> tuple[CaseView, str]:
    """A case from its header event; and the line the timeline shows."""
    header = event.payload
    try:
        incident = Incident.model_validate(header["incident"])
        operation = header.get("operation")
        source = str(header.get("source", ""))
    except (KeyError, TypeError, ValueError) as exc:
        raise ViewError(f"its header is damaged ({short_reason(exc)})") from None
    at = minutes(incident.opened_at)
    step = book.runtime.open(incident, at)
    view = CaseView(incident.id, event.stream_id, 1, incident, book,
                    operation if isinstance(operation, str) else None, step.case,
                    event.actor or "", source, event.wall, updated_at=at,
                    last_actor=event.actor or "")
    extra = _effects(view, step, at, event.actor or "")
    return view, f"opened {incident.id} ({incident.tier.value}, {book.name})" + extra


def apply_event(view: CaseView, event: StoredEvent) -> str:
    """Apply one stored event to its case; returns the timeline's line for it. The case's
    version moves on even when the event cannot be applied (its reason is kept)."""
    view.version = event.seq
    actor = event.actor or ""
    p = event.payload
    at = max(minutes(event.wall), view.case.updated)
    try:
        kind = event.kind
        if kind == "noted":
            view.notes.append((at, actor, str(p["text"])))
            line = f"note: {p['text']}"
        elif kind == "assigned":
            view.owner = str(p["owner"])
            line = f"assigned to {view.owner}" if view.owner else "unassigned"
        elif kind in ("fired", "resolved", "escalated", "expired"):
            line = _step(view, kind, p, at, actor)
        elif kind == "sent":
            line = _sent(view, p, at, actor)
        else:
            raise ViewError(f"unknown event kind {kind!r}")
    except (KeyError, TypeError, ValueError, PlaybookError) as exc:
        reason = f"event {event.seq} ({event.kind}) not applied: {short_reason(exc)}"
        view.problems.append(reason)
        return reason
    view.last_actor = actor
    return line


def _step(view: CaseView, kind: str, p: dict[str, Any], at: float, actor: str) -> str:
    rt = view.book.runtime
    if kind == "fired":
        step = rt.fire(view.case, str(p["trigger"]), at)
        line = f"{p['trigger']}: {view.case.state} → {step.case.state}"
    elif kind == "escalated":
        step = rt.escalate(view.case, str(p["level"]), at, str(p.get("reason") or "manual"))
        line = f"escalated to {p['level']} ({p.get('reason') or 'manual'})"
    elif kind == "expired":
        due = float(p["due"])
        step = rt.expire(view.case, str(p["deadline"]), max(at, due))
        said = _effects(view, step, step.case.updated, actor)
        return said[2:] if said else f"deadline {p['deadline']} came due"
    else:  # resolved: the path, fired step by step at one minute
        path = [str(t) for t in p["path"]]
        step = Step(view.case, ())
        effects: list[Effect] = []
        for trigger in path:
            step = rt.fire(step.case, trigger, at)
            effects.extend(step.effects)
        step = Step(step.case, tuple(effects))
        view.resolution = str(p.get("resolution", ""))
        line = "resolved via " + " › ".join(path) + (f": {view.resolution}"
                                                      if view.resolution else "")
    at = step.case.updated
    return line + _effects(view, step, at, actor)


def _sent(view: CaseView, p: dict[str, Any], at: float, actor: str) -> str:
    name = str(p["obligation"])
    owed = next((o for o in view.owed if o.obligation == name), None)
    if owed is not None:
        view.owed.remove(owed)
    view.sent.append(SentMessage(name, str(p["audience"]), at,
                                 None if owed is None else owed.due, actor, str(p["text"])))
    late = "" if owed is None or at <= owed.due else " (late)"
    return f"sent {name} to the {p['audience']}{late}"


def _effects(view: CaseView, step: Step, at: float, actor: str) -> str:
    """Take a runtime step's case and effects into the view; what it adds to the line."""
    view.case = step.case
    view.updated_at = at
    notes: list[str] = []
    for effect in step.effects:
        kind = type(effect)
        if kind is MessageOwed:
            owed = effect  # type: MessageOwed  # type: ignore[assignment]
            view.owed.append(Owed(owed.obligation, owed.audience, owed.due, owed, at))
            notes.append(f"{owed.obligation} owed")
        elif kind is MilestoneMet:
            met = effect  # type: MilestoneMet  # type: ignore[assignment]
            view.met[met.milestone] = Met(met.due, at, met.on_time)
            notes.append(f"{met.milestone} {'met' if met.on_time else 'met late'}")
        elif kind is Breached:
            view.breaches[effect.milestone] = effect.due  # type: ignore[attr-defined]
            notes.append(f"{effect.milestone} breached")  # type: ignore[attr-defined]
        elif kind is Escalated or kind is Deescalated:
            e = effect  # type: Escalated  # type: ignore[assignment]
            view.escalations.append((at, e.source, e.dest, e.rule))
            notes.append(f"{e.source} → {e.dest} ({e.rule})")
        elif kind is Closed:
            view.closed_at = at
            notes.append("closed")
        elif kind is Transitioned:
            continue
    return "; " + ", ".join(notes) if notes else ""


def short_reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"missing {text}" if isinstance(exc, KeyError) else text
