"""What can happen to an operation (an emergency grouping many cases): one model per kind.

An operation is the stream `operation:ID`. Its header names the playbook whose emergency
levels, unlocks and level-change messages it runs, the first incident lead, and the cadence of
its status updates. Later events: the emergency level declared with a reason (and the signals
it was decided on, so every desk replays the same owed messages), a role taken or handed over
with a summary, a status update sent, a task added, reassigned or done, a reminder written by
the clock (under a deterministic key: once, whichever desk notices), a note, the close.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from incidents.sla import Duration

from desk.case.events import Name, Text

__all__ = ["STREAM_PREFIX", "STREAM_KIND", "FORMAT", "ROLES", "UPDATE_KINDS", "DEFAULT_CADENCE",
           "OperationOpened", "LevelDeclared", "RoleTaken", "StatusUpdate", "TaskAdded",
           "TaskOwner", "TaskDone", "Reminded", "OperationNoted", "OperationClosed",
           "stream_of"]

STREAM_PREFIX = "operation:"
STREAM_KIND = "live-operation"
FORMAT = 1

ROLES: dict[str, str] = {"lead": "incident lead", "communications": "communications lead",
                         "resources": "resources lead", "scribe": "scribe"}
"""The coordination roles (key -> title). The lead is always named: it is handed over, never
left empty."""

UPDATE_KINDS: dict[str, tuple[str, str]] = {
    "tactical": ("internal", "tactical update: conditions, actions, needs"),
    "management": ("management", "management brief"),
    "public": ("public", "customer notice"),
}
"""Status update kinds -> (the playbook audience they answer, what they are)."""

DEFAULT_CADENCE: dict[str, str] = {"tactical": "2h", "management": "4h", "public": "8h"}
"""How often each kind of update is owed while the operation runs (tactical from the start;
management and public once the emergency level is above normal). Set per operation."""

Role = Literal["lead", "communications", "resources", "scribe"]
UpdateKind = Literal["tactical", "management", "public"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class OperationOpened(_Event):
    format: Literal[1] = FORMAT
    title: Annotated[str, Field(min_length=1, max_length=200)]
    playbook: str
    lead: Name
    summary: Annotated[str, Field(max_length=4000)] = ""
    cadence: dict[UpdateKind, str] = Field(default_factory=lambda: dict(DEFAULT_CADENCE))
    opened_at: str
    """ISO time the emergency began (default: when the operation was opened)."""

    @field_validator("cadence")
    @classmethod
    def _durations(cls, value: dict[str, str]) -> dict[str, str]:
        for kind, text in value.items():
            duration = Duration.parse(text)
            if duration.is_working or duration.wall_minutes < 5:
                raise ValueError(f"{kind}: a cadence is wall-clock time of 5 minutes or more, "
                                 f"not {text!r}")
        return value


class LevelDeclared(_Event):
    level: Name
    reason: Annotated[str, Field(min_length=1, max_length=1000)]
    signals: dict[str, float] = Field(default_factory=dict)


class RoleTaken(_Event):
    """`person` takes `role` (a handoff if someone held it: `summary` says what is handed
    over); '' leaves a role other than the lead empty."""

    role: Role
    person: Annotated[str, Field(max_length=80)]
    summary: Annotated[str, Field(max_length=4000)] = ""


class StatusUpdate(_Event):
    kind: UpdateKind
    conditions: Annotated[str, Field(max_length=4000)] = ""
    actions: Annotated[str, Field(max_length=4000)] = ""
    needs: Annotated[str, Field(max_length=4000)] = ""
    text: Annotated[str, Field(max_length=4000)] = ""


class TaskAdded(_Event):
    """A task: its id is `T` and the sequence number of this event in the operation."""

    title: Annotated[str, Field(min_length=1, max_length=300)]
    owner: Name
    due: str | None = None
    """ISO time it is due by."""
    remind: float = Field(default=15.0, ge=0, le=7 * 1440)
    """Minutes before `due` the owner is reminded (and again when it is overdue)."""
    case: str | None = None
    """The case it follows up, if any."""


class TaskOwner(_Event):
    task: Name
    owner: Name


class TaskDone(_Event):
    task: Name
    note: Annotated[str, Field(max_length=2000)] = ""


class Reminded(_Event):
    """Written by the clock: a task is due soon, or overdue."""

    task: Name
    when: Literal["soon", "overdue"]


class OperationNoted(_Event):
    text: Text


class OperationClosed(_Event):
    summary: Text


def stream_of(operation_id: str) -> str:
    return STREAM_PREFIX + operation_id
