"""The decisions a drill team takes, as records: checked at the edge, applied by the session.

Each action names its kind and what it acts on; the session stamps it with the acting role
and the simulated and wall-clock minute it was taken. An action script (headless drills,
trainers comparing strategies) is a YAML list of the same records, each with `at`, the
simulated time it is taken: `{at: 2h, role: resources_lead, kind: order_parts, sku: X,
qty: 500}`. The reference is docs/drills.md.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from incidents.model import MAX_UNITS, Tier

__all__ = ["DeclareLevel", "Activate", "OrderParts", "Prioritise", "PriorityRule", "Escalate",
           "Deescalate", "MoveCase", "Send", "Acknowledge", "Note", "FireInject", "AdHocInject",
           "Action",
           "ACTION_TYPES", "describe"]

Name = Annotated[str, Field(min_length=1, max_length=80)]


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    role: Name | None = None
    """The acting role (default: the session's current role)."""
    by: Name | None = None
    """The person who took it, when a seat knows (`muster drill NAME --seat ... --as NAME`):
    the after-action report says who acted, not only in which role."""


class DeclareLevel(_Action):
    """Declare (raise or lower) the operation-wide emergency level."""

    kind: Literal["declare_level"] = "declare_level"
    level: Name


class Activate(_Action):
    """Activate an emergency unlock the current level allows (by its number in the
    playbook's `resources.unlocks`, or by resource and pool)."""

    kind: Literal["activate"] = "activate"
    unlock: StrictInt | None = Field(default=None, ge=0, le=10_000)
    resource: Literal["overtime", "contractors", "parts_transfer",
                      "notify_management"] | None = None
    pool: Name | None = None

    @model_validator(mode="after")
    def _which(self) -> Activate:
        if (self.unlock is None) == (self.resource is None):
            raise ValueError("name the unlock by `unlock` (its number) or by `resource` "
                             "(and `pool`), not both")
        return self


class OrderParts(_Action):
    """Order spare parts from the supplier now (beyond the reorder policy)."""

    kind: Literal["order_parts"] = "order_parts"
    sku: Name
    qty: StrictInt = Field(ge=1, le=MAX_UNITS)


class Prioritise(_Action):
    """Move a case, or a class of cases (a tier, a kind), ahead of the others."""

    kind: Literal["prioritise"] = "prioritise"
    case: StrictInt | None = Field(default=None, ge=0)
    tier: Tier | None = None
    case_kind: Name | None = None
    undo: StrictBool = False
    """Take a boost back instead."""

    @model_validator(mode="after")
    def _one(self) -> Prioritise:
        given = [f for f in ("case", "tier", "case_kind") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError("prioritise exactly one of: case, tier, case_kind")
        return self


class PriorityRule(_Action):
    """Change the order in which waiting work is served."""

    kind: Literal["priority_rule"] = "priority_rule"
    order: list[Literal["tier", "deadline", "severity", "opened"]] = Field(min_length=1,
                                                                         max_length=4)


class Escalate(_Action):
    """Raise a case to a higher escalation level (default: the next one)."""

    kind: Literal["escalate"] = "escalate"
    case: StrictInt = Field(ge=0)
    level: Name | None = None


class Deescalate(_Action):
    """Lower a case's escalation level (default: one down)."""

    kind: Literal["deescalate"] = "deescalate"
    case: StrictInt = Field(ge=0)
    level: Name | None = None


class MoveCase(_Action):
    """Have another pool take the case's work (a pool of the same role and skill)."""

    kind: Literal["move_case"] = "move_case"
    case: StrictInt = Field(ge=0)
    pool: Name


class Send(_Action):
    """Send a message from one of the playbook's templates (an operation-wide obligation
    the emergency level made due, or any template on the team's own initiative)."""

    kind: Literal["send"] = "send"
    obligation: Name
    case: StrictInt | None = Field(default=None, ge=0)


class Acknowledge(_Action):
    """Acknowledge an inject (it stops being highlighted; the time counts)."""

    kind: Literal["acknowledge"] = "acknowledge"
    inject: Name


class Note(_Action):
    """A note in the log: the team's, or an observer's tagged to a critical task."""

    kind: Literal["note"] = "note"
    text: str = Field(min_length=1, max_length=4000)
    task: str | None = Field(default=None, max_length=200)
    observer: StrictBool = False


class FireInject(_Action):
    """The facilitator fires a contingency inject now."""

    kind: Literal["fire_inject"] = "fire_inject"
    inject: Name


class AdHocInject(_Action):
    """The controller writes an inject that is not in the MSEL and sends it now (HSEEP's
    ad-hoc inject). It changes nothing in the world but the message; since it is a decision
    in the record, replay and the counterfactuals send it at the same minute."""

    kind: Literal["adhoc_inject"] = "adhoc_inject"
    subject: str = Field(min_length=1, max_length=200)
    message: str = Field(default="", max_length=4000)
    to: Name
    """The drill role it is addressed to."""
    method: Literal["phone", "e-mail", "system alert", "news", "social media", "radio",
                    "in person", "chat"] = "phone"
    sender: str = Field(default="controller", max_length=200)


Action = Annotated[Union[DeclareLevel, Activate, OrderParts, Prioritise, PriorityRule,
                         Escalate, Deescalate, MoveCase, Send, Acknowledge, Note, FireInject,
                         AdHocInject],
                   Field(discriminator="kind")]
"""Any action, told apart by `kind`."""

ACTION_TYPES: dict[str, type[_Action]] = {
    cls.model_fields["kind"].default: cls
    for cls in (DeclareLevel, Activate, OrderParts, Prioritise, PriorityRule, Escalate,
                Deescalate, MoveCase, Send, Acknowledge, Note, FireInject, AdHocInject)}


def describe(action: _Action) -> str:
    """A short line for logs, timelines and reports."""
    fields = action.model_dump(exclude_none=True, exclude={"kind", "role", "by"})
    args = ", ".join(f"{k}={v}" for k, v in fields.items() if v not in (False, ""))
    return f"{action.kind}({args})"  # type: ignore[attr-defined]
