"""The vocabulary every layer speaks: incidents, customer tiers, SLA milestones, staff, parts.

These are pydantic models because everything here arrives from outside (YAML playbooks and
scenarios, the live desk, the store) and must be validated at the edge with located errors.
They are frozen: state changes are new events, never edits in place.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from incidents.sla import Duration

__all__ = [
    "Tier",
    "Severity",
    "Channel",
    "Milestone",
    "MILESTONES",
    "Incident",
    "SlaTargets",
    "Role",
    "Part",
    "INCIDENT_FIELDS",
    "MAX_HEADCOUNT",
    "MAX_UNITS",
    "MAX_MONEY",
]

MAX_HEADCOUNT = 100_000
"""Most people any pool, shift, unlock or inject may count. A service organisation has a few
hundred; the simulator keeps one record per person on duty, so a typo of six extra digits
would look like a hang rather than an error."""

MAX_UNITS = 10**9
"""Most units of one part anything may hold, order or use: past any real warehouse, and far
inside the integers every layer (numpy columns included) handles exactly."""

MAX_MONEY = 1e9
"""Largest price, wage, rate or penalty (per unit, hour or breach). Totals over ten years and
a hundred thousand people stay finite floats, so every reported cost is a number."""


class Tier(str, Enum):
    """Customer grade; each grade has its own response targets (industry service standard)."""

    VIP = "VIP"
    TIER1 = "tier1"
    TIER2 = "tier2"

    @classmethod
    def _missing_(cls, value: object) -> Tier | None:
        # Accept the spellings people actually type: "vip", "Tier 1", "tier-2", "T1".
        if isinstance(value, str):
            key = value.strip().lower().replace(" ", "").replace("-", "").replace("_", "")
            aliases = {"vip": cls.VIP, "tier1": cls.TIER1, "t1": cls.TIER1,
                       "tier2": cls.TIER2, "t2": cls.TIER2}
            return aliases.get(key)
        return None


class Severity(str, Enum):
    """How bad one case is for its customer; conditions and priorities may use it."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Channel(str, Enum):
    """Where the case came in; complaints arrive on several channels (industry standard)."""

    PHONE = "phone"
    WEB = "web"
    EMAIL = "email"
    STORE = "store"
    APP = "app"
    SOCIAL = "social"
    FIELD = "field"


Milestone = Literal["acknowledge", "initial_plan", "resolve", "investigation_start", "answer"]
MILESTONES: tuple[str, ...] = ("acknowledge", "initial_plan", "resolve", "investigation_start",
                               "answer")

_NAME = Annotated[str, Field(min_length=1, max_length=200)]


class Incident(BaseModel):
    """One customer case: a repair request, a complaint, a return.

    Only `id`, `kind` and `opened_at` are required, so the live desk can open a case from a
    phone call in seconds and fill in the rest later (as new events, not edits).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False,
                              allow_inf_nan=False)

    id: _NAME
    """Stable identifier, unique within a store or a simulation run."""
    kind: _NAME
    """Which kind of case (repair, complaint, recall, ...); selects the playbook."""
    title: str = ""
    """One line a person reads in a list."""
    customer: str = ""
    """Customer name as the customer gives it (any script)."""
    tier: Tier = Tier.TIER2
    """Customer grade: VIP, tier 1 or tier 2."""
    severity: Severity = Severity.MEDIUM
    channel: Channel = Channel.PHONE
    region: str = ""
    product: str = ""
    """Product name, e.g. 实木复合地板 or a mink coat."""
    sku: str = ""
    batch: str = ""
    """Production batch; a defective batch is what turns cases into a surge."""
    opened_at: datetime
    """When the case was opened (timezone-aware)."""
    affected_customers: int = Field(default=1, ge=1)
    """How many customers this case stands for (a recall case may stand for thousands)."""

    @field_validator("opened_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("opened_at must carry a time zone (e.g. 2026-03-02T09:00:00+08:00)")
        return value


# Fields a playbook may name in conditions and message templates.
INCIDENT_FIELDS: tuple[str, ...] = tuple(Incident.model_fields)


class SlaTargets(BaseModel):
    """Time limits per customer tier and milestone.

    Defaults are those of the industry service standard: any enquiry answered within 24 h,
    an initial plan for a complex problem within 48 h, VIP response within 2 h; complaint
    investigation started within 3 working days and answered within 7 working days.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    VIP: dict[Milestone, Duration] = Field(default_factory=lambda: {
        "acknowledge": Duration.parse("2h"), "initial_plan": Duration.parse("24h")})
    tier1: dict[Milestone, Duration] = Field(default_factory=lambda: {
        "acknowledge": Duration.parse("8h"), "initial_plan": Duration.parse("48h")})
    tier2: dict[Milestone, Duration] = Field(default_factory=lambda: {
        "acknowledge": Duration.parse("24h"), "initial_plan": Duration.parse("48h")})

    def for_tier(self, tier: Tier | str) -> dict[str, Duration]:
        """The targets that apply to one tier (milestone -> allowed time)."""
        return dict(getattr(self, Tier(tier).value))


class Role(BaseModel):
    """A kind of staff member and the skills they bring (product materials they master)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: _NAME
    skills: list[str] = Field(default_factory=list)
    """Skills, e.g. flooring, sanitary, mink; a specialist masters at least 3 materials."""
    description: str = ""


class Part(BaseModel):
    """A spare part kept in stock for repairs."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    sku: _NAME
    name: str = ""
    """Human name, any script (e.g. 铰链)."""
    unit_cost: float = Field(default=0.0, ge=0, le=MAX_MONEY)
