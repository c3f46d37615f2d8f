"""The playbook language as pydantic models: what a valid playbook file may say.

Structure is checked here (types, unknown keys, value ranges); meaning across sections
(unknown states, unreachable states, ambiguous transitions) is checked by `lint.py`, which
needs the whole playbook at once and reports every problem, not only the first.
The reference with examples is docs/playbooks.md; keep the two in step.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from incidents.distributions import DistributionField
from incidents.model import Milestone, Part, Role, SlaTargets
from incidents.sla import BusinessCalendar, Duration

__all__ = [
    "Condition",
    "Alternative",
    "Outcome",
    "PartUse",
    "Work",
    "StateTimer",
    "State",
    "Lifecycle",
    "EscalationRule",
    "Escalation",
    "SignalTest",
    "LevelCondition",
    "EmergencyLevel",
    "Emergency",
    "Pool",
    "Unlock",
    "Resources",
    "Repeat",
    "CommTrigger",
    "Obligation",
    "Playbook",
    "SIGNALS",
    "PRIORITY_KEYS",
    "AUDIENCES",
]

Name = Annotated[str, Field(min_length=1, max_length=80)]

SIGNALS = ("open_backlog", "arrivals_per_hour", "sla_breaches_24h", "stock_outs",
           "complaints_24h", "escalated_cases")
"""Aggregate signals the host measures and emergency levels react to."""

PRIORITY_KEYS = ("tier", "deadline", "severity", "opened")
AUDIENCES = ("customer", "internal", "management", "public")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Condition = dict[str, Any]
"""Incident test: field -> value, or list of values (any of), or {min:, max:} for numbers."""


class Alternative(_Strict):
    """One way a trigger can go: to a state, optionally only for matching incidents."""

    to: Name
    when: Condition = Field(default_factory=dict)
    """Only for incidents matching this test; alternatives are tried in order."""


class Outcome(_Strict):
    """A possible result of the work in a state; the host draws one by probability."""

    to: Name
    p: float = Field(default=1.0, gt=0, le=1)
    """Probability of this outcome when the work is done (a drill team chooses instead)."""


class PartUse(_Strict):
    """A spare part the work may consume."""

    qty: int = Field(default=1, ge=1)
    p: float = Field(default=1.0, gt=0, le=1)
    """Probability that this work needs the part at all."""


class Work(_Strict):
    """Work a staff member does in a state: who, how long, what it consumes."""

    role: Name
    skill: str | None = None
    duration: DistributionField
    """Minutes of hands-on work, a distribution: 30m, {exponential: 30m}, {lognormal: ...}."""
    parts: dict[Name, PartUse] = Field(default_factory=dict)

    @field_validator("parts", mode="before")
    @classmethod
    def _short_parts(cls, value: Any) -> Any:
        # `parts: {HINGE-01: 0.6}` is shorthand for {qty: 1, p: 0.6}.
        if isinstance(value, dict):
            return {k: ({"p": v} if isinstance(v, (int, float)) and not isinstance(v, bool)
                        else v) for k, v in value.items()}
        return value


class StateTimer(_Strict):
    """A timer armed on entering a state and cancelled on leaving it."""

    after: Duration
    fire: Name
    """The trigger fired when the timer runs out; the state must accept it."""


class State(_Strict):
    """One state of the case lifecycle."""

    description: str = ""
    final: bool = False
    work: Work | None = None
    outcomes: dict[Name, Outcome] = Field(default_factory=dict)
    """Triggers the host fires when the work is done, each with a probability."""
    on: dict[Name, list[Alternative]] = Field(default_factory=dict)
    """Triggers fired from outside (the customer, the team, a timer) and where they lead."""
    timers: list[StateTimer] = Field(default_factory=list)

    @field_validator("outcomes", mode="before")
    @classmethod
    def _short_outcomes(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({"to": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("on", mode="before")
    @classmethod
    def _short_on(cls, value: Any) -> Any:
        # `on: {register: registration}` and `on: {x: {to: y, when: ...}}` are shorthands.
        if not isinstance(value, dict):
            return value
        out: dict[Any, Any] = {}
        for trigger, target in value.items():
            if isinstance(target, str):
                out[trigger] = [{"to": target}]
            elif isinstance(target, dict):
                out[trigger] = [target]
            else:
                out[trigger] = target
        return out

    @model_validator(mode="after")
    def _outcome_sum(self) -> State:
        if self.outcomes:
            total = sum(o.p for o in self.outcomes.values())
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"outcome probabilities add up to {total:g}, not 1")
            if self.work is None:
                raise ValueError("outcomes need work: say who does the work and how long it takes")
        if self.work is not None and not self.outcomes:
            raise ValueError("a state with work needs outcomes: where the case goes when it is done")
        return self


class Lifecycle(_Strict):
    """The states a case walks through; the default is the seven-step service procedure."""

    initial: Name
    states: dict[Name, State] = Field(min_length=1)
    events: list[Name] = Field(default_factory=list)
    """External triggers the outside world may fire (customer replied, parts arrived...)."""
    milestones: dict[Milestone, Name] = Field(default_factory=dict)
    """SLA milestone -> the state whose entry meets it."""


class EscalationRule(_Strict):
    """When a case moves up a level: after a time, on a breach, on a trigger, on a state."""

    to: Name
    """Target level, or `next` for one level up."""
    when: Condition = Field(default_factory=dict)
    after: Duration | None = None
    """Timed rule: escalate this long after `since` unless `until` is reached first."""
    since: str = "opened"
    """`opened` or a state name: when the clock of a timed rule starts."""
    until: str | None = None
    """A milestone or state name whose reaching cancels a timed rule (default: final)."""
    on_breach: Milestone | None = None
    on_trigger: Name | None = None
    count: int = Field(default=1, ge=1)
    """With on_trigger: escalate when the trigger has fired this many times."""
    on_enter: Name | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> EscalationRule:
        kinds = [k for k in ("after", "on_breach", "on_trigger", "on_enter")
                 if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("an escalation rule needs exactly one of after, on_breach, "
                             f"on_trigger, on_enter (found {', '.join(kinds) or 'none'})")
        return self


class Escalation(_Strict):
    """Per-case escalation levels, lowest first, and the rules that raise a case."""

    levels: list[Name] = Field(
        default_factory=lambda: ["front_line", "supervisor", "regional_centre", "headquarters"],
        min_length=1)
    rules: dict[Name, EscalationRule] = Field(default_factory=dict)


class SignalTest(_Strict):
    """A test on one aggregate signal: strictly above or strictly below a threshold."""

    signal: Literal["open_backlog", "arrivals_per_hour", "sla_breaches_24h", "stock_outs",
                    "complaints_24h", "escalated_cases"]
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> SignalTest:
        if (self.above is None) == (self.below is None):
            raise ValueError("a signal test needs exactly one of above, below")
        return self


class LevelCondition(_Strict):
    """Any (or all) of several signal tests."""

    any: list[SignalTest] = Field(default_factory=list)
    all: list[SignalTest] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> LevelCondition:
        if not self.any and not self.all:
            raise ValueError("a condition needs `any:` or `all:` signal tests")
        return self


class EmergencyLevel(_Strict):
    """One operation-wide emergency level (IV blue .. I red)."""

    label: str = ""
    enter: LevelCondition
    exit: LevelCondition
    hold: Duration = Field(default_factory=lambda: Duration.parse("0m"))
    """Stay at least this long before stepping down, so the level does not flap."""


class Emergency(_Strict):
    """Operation-wide levels, least severe first."""

    levels: dict[Name, EmergencyLevel] = Field(default_factory=dict)
    normal: Name = "normal"
    """Name of the state below the first level."""


class Pool(_Strict):
    """A staff pool and the states whose work it serves."""

    role: Name
    serves: list[Name] = Field(min_length=1)


class Unlock(_Strict):
    """A resource an emergency level makes available, after a delay."""

    level: Name
    resource: Literal["overtime", "contractors", "parts_transfer", "notify_management"]
    delay: Duration = Field(default_factory=lambda: Duration.parse("0m"))
    pool: str | None = None
    headcount: int = Field(default=0, ge=0)
    hours_per_day: float = Field(default=0.0, ge=0, le=12)


class Resources(_Strict):
    """Resource allocation: who serves what, in which order, and what emergencies unlock."""

    priority: list[Literal["tier", "deadline", "severity", "opened"]] = Field(
        default_factory=lambda: ["tier", "deadline"])
    pools: dict[Name, Pool] = Field(default_factory=dict)
    unlocks: list[Unlock] = Field(default_factory=list)


class Repeat(_Strict):
    """Owe the message again every so often until a state is reached."""

    every: Duration
    until: Name


class CommTrigger(_Strict):
    """What makes a message owed: exactly one of these."""

    opened: bool | None = None
    enter: Name | None = None
    escalation: Name | None = None
    emergency: Name | None = None
    breach: Milestone | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CommTrigger:
        set_ = [k for k in ("opened", "enter", "escalation", "emergency", "breach")
                if getattr(self, k) not in (None, False)]
        if len(set_) != 1:
            raise ValueError("a communication trigger needs exactly one of opened, enter, "
                             f"escalation, emergency, breach (found {', '.join(set_) or 'none'})")
        return self


class Obligation(_Strict):
    """A message somebody is owed: audience, trigger, deadline, cadence, template."""

    audience: Literal["customer", "internal", "management", "public"]
    on: CommTrigger
    deadline: Duration = Field(default_factory=lambda: Duration.parse("1h"))
    repeat: Repeat | None = None
    when: Condition = Field(default_factory=dict)
    template: str = Field(min_length=1)
    """Text with {placeholders}: incident fields, state, level, due."""


class Playbook(_Strict):
    """A whole emergency response: lifecycle, escalation, resources, communications."""

    muster: Literal[1] = 1
    """Format version of the playbook language."""
    name: Name
    title: str = ""
    description: str = ""
    source: str = ""
    """Where the time limits come from (e.g. industry service standard)."""
    kinds: list[Name] = Field(default_factory=list)
    """Incident kinds this playbook serves."""
    calendar: BusinessCalendar = Field(default_factory=BusinessCalendar)
    sla: SlaTargets = Field(default_factory=SlaTargets)
    roles: dict[Name, Role] = Field(default_factory=dict)
    parts: dict[Name, Part] = Field(default_factory=dict)
    lifecycle: Lifecycle
    escalation: Escalation = Field(default_factory=Escalation)
    emergency: Emergency = Field(default_factory=Emergency)
    resources: Resources = Field(default_factory=Resources)
    communications: dict[Name, Obligation] = Field(default_factory=dict)

    @field_validator("roles", mode="before")
    @classmethod
    def _role_names(cls, value: Any) -> Any:
        # Roles and parts are keyed by name; copy the key in so users need not repeat it.
        if isinstance(value, dict):
            return {k: {"name": k, **(v or {})} if isinstance(v, dict) or v is None else v
                    for k, v in value.items()}
        return value

    @field_validator("parts", mode="before")
    @classmethod
    def _part_skus(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"sku": k, **(v or {})} if isinstance(v, dict) or v is None else v
                    for k, v in value.items()}
        return value

