"""What can happen to a case on the desk: one pydantic model per event kind.

A case is the stream `case:ID`; its header (`CaseOpened`) holds the incident as the customer
reported it and the playbook it is bound to. Every later event is something a coordinator did
(fired a playbook trigger, escalated, assigned, noted, sent an owed message, resolved) or a
deadline that came due (`Expired`, written by whichever desk noticed first, under a key made
from the case, the deadline and its due minute, so it is written once).

The services build payloads through these models (so what a user typed is checked at the
edge, with the field named); the projection reads stored payloads as plain dicts, refusing a
damaged event at its number instead of trusting it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["STREAM_PREFIX", "STREAM_KIND", "FORMAT", "KINDS", "CaseOpened", "Fired",
           "Escalated", "Assigned", "Noted", "Sent", "Resolved", "Expired", "stream_of",
           "Text", "Name", "payload"]

STREAM_PREFIX = "case:"
STREAM_KIND = "live-case"
FORMAT = 1
"""Version of the case events' layout; a newer one is refused when read."""

Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^\S(.*\S)?$")]
"""A person's or a thing's name: 1 to 80 characters, no surrounding spaces."""
Text = Annotated[str, Field(min_length=1, max_length=4000)]
"""What a person wrote: a note, a message, a resolution."""


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class CaseOpened(_Event):
    """The header: the incident, its playbook, its operation (if any), where it came from."""

    format: Literal[1] = FORMAT
    incident: dict[str, Any]
    playbook: str
    operation: str | None = None
    source: str = ""


class Fired(_Event):
    """A playbook trigger fired by hand (a step of the lifecycle)."""

    trigger: Name


class Escalated(_Event):
    """The case raised to an escalation level by hand."""

    level: Name
    reason: Annotated[str, Field(max_length=500)] = "manual"


class Assigned(_Event):
    """Who owns the case now ('' = nobody)."""

    owner: Annotated[str, Field(max_length=80)]


class Noted(_Event):
    text: Text


class Sent(_Event):
    """An owed message sent: which obligation, to whom, the words used."""

    obligation: Name
    audience: Name
    text: Text


class Resolved(_Event):
    """Resolved by hand: the playbook path taken to its end, and the resolution."""

    path: list[str]
    resolution: Annotated[str, Field(max_length=4000)] = ""


class Expired(_Event):
    """A deadline the runtime armed came due (an SLA breach, an escalation rule, a repeated
    message, a state timer); `due` in desk minutes."""

    deadline: Name
    due: float


KINDS: dict[str, type[_Event]] = {"fired": Fired, "escalated": Escalated, "assigned": Assigned,
                                  "noted": Noted, "sent": Sent, "resolved": Resolved,
                                  "expired": Expired}


def stream_of(case_id: str) -> str:
    return STREAM_PREFIX + case_id


def payload(event: _Event) -> dict[str, Any]:
    """The event as the store keeps it."""
    return event.model_dump(mode="json")
