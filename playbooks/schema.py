"""The playbook language as pydantic models: what a valid playbook file may say.

Structure is checked here (types, unknown keys, value ranges); meaning across sections
(unknown states, unreachable states, ambiguous transitions) is checked by `lint.py`, which
needs the whole playbook at once and reports every problem, not only the first.
The reference with examples is docs/playbooks.md; keep the two in step.

Every number is finite (no .inf or .nan) and inside the limits named below or in
incidents.model, so a playbook that loads can run: nothing a user writes here can make a
simulation crash or spin in place.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, field_validator,
                      model_validator)

from incidents.distributions import DistributionField
from incidents.model import MAX_HEADCOUNT, MAX_UNITS, Milestone, Part, Role, SlaTargets
from incidents.sla import BusinessCalendar, Duration

__all__ = [
    "Condition",
    "Abandon",
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
    "MIN_REPEAT_MINUTES",
    "MAX_TRIGGER_COUNT",
]

MIN_REPEAT_MINUTES = 1.0
"""Shortest `repeat.every` of a message (a working hour or day counted as a wall-clock one):
each repeat re-arms the next, so `every: 0m` would owe messages forever at one instant."""

MAX_TRIGGER_COUNT = 1_000_000
"""Largest `count` of an escalation rule: how many times a trigger fires before a case is
escalated. More could never happen to one case."""

Name = Annotated[str, Field(min_length=1, max_length=80)]

SIGNALS = ("open_backlog", "arrivals_per_hour", "sla_breaches_24h", "stock_outs",
           "complaints_24h", "escalated_cases")
"""Aggregate signals the host measures and emergency levels react to."""

PRIORITY_KEYS = ("tier", "deadline", "severity", "opened")
AUDIENCES = ("customer", "internal", "management", "public")


class _Strict(BaseModel):
    # allow_inf_nan=False: YAML reads .inf and .nan as floats; neither is a threshold or a
    # probability anyone means, and NaN passes every range test (it compares false).
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _check_condition(value: dict[str, Any]) -> dict[str, Any]:
    """Values the compiled predicate can use: scalars (hashable, finite) or lists of them, and
    range bounds that are finite numbers. Field names and enum values are lint's business."""
    for field, expected in value.items():
        if isinstance(expected, dict):
            for bound, limit in expected.items():
                number = isinstance(limit, (int, float)) and not isinstance(limit, bool)
                finite = number and (isinstance(limit, int) or math.isfinite(limit))
                if limit is not None and not finite:
                    raise ValueError(f"{field}.{bound}: a range bound must be a finite number, "
                                     f"got {limit!r}")
            continue
        for item in expected if isinstance(expected, list) else [expected]:
            if isinstance(item, (list, dict)):
                raise ValueError(f"{field}: a condition value is text or a number, or a list of "
                                 f"them, not a {'list' if isinstance(item, list) else 'mapping'}"
                                 " inside a list")
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"{field}: {item!r} is not a finite number")
    return value


Condition = Annotated[dict[str, Any], AfterValidator(_check_condition)]
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

    qty: int = Field(default=1, ge=1, le=MAX_UNITS)
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


class Abandon(_Strict):
    """What happens to a case whose customer gives up waiting for staff (where the scenario
    gives customers a patience): fire `trigger`, or move to state `to`; with neither, the
    case closes in the pseudo-state `abandoned`."""

    to: Name | None = None
    trigger: Name | None = None
    states: list[Name] = Field(default_factory=list)
    """States whose waits customers may give up in (default: every state with work)."""

    @model_validator(mode="after")
    def _one(self) -> Abandon:
        if self.to is not None and self.trigger is not None:
            raise ValueError("give `to` (a state) or `trigger`, not both")
        return self


class Lifecycle(_Strict):
    """The states a case walks through; the default is the seven-step service procedure."""

    initial: Name
    states: dict[Name, State] = Field(min_length=1)
    events: list[Name] = Field(default_factory=list)
    """External triggers the outside world may fire (customer replied, parts arrived...)."""
    milestones: dict[Milestone, Name] = Field(default_factory=dict)
    """SLA milestone -> the state whose entry meets it."""
    abandon: Abandon | None = None
    """Where a case goes when its customer gives up waiting (see `Abandon`)."""


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
    count: int = Field(default=1, ge=1, le=MAX_TRIGGER_COUNT)
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
    headcount: int = Field(default=0, ge=0, le=MAX_HEADCOUNT)
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

    @field_validator("every")
    @classmethod
    def _not_too_often(cls, value: Duration) -> Duration:
        if value.is_working:
            nominal = value.amount * (60.0 if value.unit == "working_hours" else 1440.0)
        else:
            nominal = value.wall_minutes
        if nominal < MIN_REPEAT_MINUTES:
            raise ValueError(f"a message cannot repeat more often than every "
                             f"{MIN_REPEAT_MINUTES:g} minute (the limit), got {value}")
        return value


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

