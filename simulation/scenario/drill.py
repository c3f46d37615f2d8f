"""The drill section of the scenario language: a tabletop exercise a team plays live.

A drill is a scenario (the surge, the organisation, its playbooks) plus a `drill:` section
in the vocabulary of exercise programmes (HSEEP): a briefing, the team's roles and
participants, objectives, and the master scenario events list (MSEL) of injects. Each inject
has a time, a sender, a receiving role, a method, a subject and a message, optionally a
change of the world (a demand spike, staff absent, stock lost, a CRM outage, a complaint
case), and the actions the team is expected to take with their deadlines (rated in the
after-action review). Contingency injects wait aside until the facilitator fires them.

Structure is checked here; names (roles, objectives, pools, SKUs, kinds) by `drill_checks`.
The reference with examples is docs/drills.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from incidents.model import MAX_HEADCOUNT, MAX_UNITS, Tier
from incidents.sla import Duration
from incidents.source import Diagnostic, Document, suggest
from simulation.scenario.limits import (MAX_DRILL_ITEMS, MAX_SLOWDOWN, MAX_SPEED,
                                        MAX_SURGE_FACTOR, MIN_SURGE_MINUTES)

__all__ = ["METHODS", "ACTIONS", "DEFAULT_ROLES", "Expectation", "InjectEffect", "DrillInject",
           "DrillRole", "Participant", "Objective", "Scoring", "Drill", "drill_diagnostics",
           "PARTS"]

Name = Annotated[str, Field(min_length=1, max_length=80)]

METHODS = ("phone", "e-mail", "system alert", "news", "social media", "radio", "in person",
           "chat")
"""How an inject reaches the team (the MSEL's method column)."""

ACTIONS = ("declare_level", "activate", "order_parts", "prioritise", "priority_rule",
           "escalate", "deescalate", "move_case", "send", "acknowledge", "note")
"""The decisions a team can take (simulation/drills/actions.py), by name."""

DEFAULT_ROLES = {
    "incident_commander": ("Incident commander", "Declares and lowers emergency levels; "
                           "owns the response."),
    "resources_lead": ("Resources lead", "Staff, contractors, overtime, spare parts."),
    "communications_lead": ("Communications lead", "Customers, staff, management, the "
                            "public."),
}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False,
                              populate_by_name=True)


def _wall(value: Duration | None) -> Duration | None:
    """Drill times run on the simulated wall clock: a working-time duration is refused here,
    at its key, before anything converts it."""
    if value is not None and value.is_working:
        raise ValueError(f"give simulated wall-clock time (30m, 2h, 1.5d), not working time "
                         f"({value})")
    return value


class Expectation(_Strict):
    """An action the team is expected to take after an inject, and by when."""

    action: Literal["declare_level", "activate", "order_parts", "prioritise", "priority_rule",
                    "escalate", "deescalate", "move_case", "send", "acknowledge", "note"]
    within: Duration
    """Deadline after the inject fires (wall-clock time of the simulation)."""
    allowance: Duration | None = None
    """Late by at most this still counts as done with some challenges (default: half of
    `within`); later is a major challenge."""
    objective: Name | None = None
    """The objective (drill.objectives) this critical task serves."""
    level: str | None = None
    resource: Literal["overtime", "contractors", "parts_transfer",
                      "notify_management"] | None = None
    sku: str | None = None
    audience: Literal["customer", "internal", "management", "public"] | None = None
    obligation: str | None = None
    """Match only an action with these arguments (any, when not given)."""
    pool: str | None = None
    """activate: the unlock's pool (overtime for which pool)."""
    qty: int | None = Field(default=None, ge=1, le=MAX_UNITS)
    """order_parts: at least this many units (an order of fewer does not meet the task)."""
    task: str = ""
    """The critical task in words (shown in the evaluation)."""

    _wall_times = field_validator("within", "allowance")(_wall)


class InjectEffect(_Strict):
    """What an inject does to the simulated world when it fires."""

    kind: Literal["demand_spike", "staff_absence", "stock_loss", "crm_outage", "complaint"]
    factor: float = Field(default=2.0, gt=1, le=MAX_SURGE_FACTOR)
    """demand_spike: arrivals multiplied by this for `duration`."""
    duration: Duration = Field(default_factory=lambda: Duration.parse("0m"))
    pool: str | None = None
    headcount: int = Field(default=0, ge=0, le=MAX_HEADCOUNT)
    sku: str | None = None
    qty: int = Field(default=0, ge=0, le=MAX_UNITS)
    slowdown: float = Field(default=2.0, ge=1, le=MAX_SLOWDOWN)
    case_kind: Name | None = None
    """complaint: the mix kind of the new case (default: the scenario's complaints kind if the
    mix has it, else the first kind)."""
    tier: Tier = Tier.VIP
    customer: str = ""

    _wall_duration = field_validator("duration")(_wall)

    @model_validator(mode="after")
    def _fields(self) -> InjectEffect:
        need = {"staff_absence": ("pool",), "stock_loss": ("sku",)}.get(self.kind, ())
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} effect needs {', '.join(missing)}")
        if self.kind in ("demand_spike", "staff_absence", "crm_outage") \
                and self.duration.wall_minutes < MIN_SURGE_MINUTES:
            raise ValueError(f"duration: a {self.kind} effect lasts a while; give a duration")
        return self


class DrillInject(_Strict):
    """One row of the master scenario events list."""

    id: Name
    at: Duration | None = None
    """Offset from the scenario start; contingency injects have none (fired by hand)."""
    sender: str = Field(default="", alias="from", max_length=200)
    to: Name
    """The drill role it is addressed to."""
    method: Literal["phone", "e-mail", "system alert", "news", "social media", "radio",
                    "in person", "chat"] = "phone"
    subject: str = Field(min_length=1, max_length=200)
    message: str = Field(default="", max_length=4000)
    effect: InjectEffect | None = None
    expect: list[Expectation] = Field(default_factory=list, max_length=50)

    _wall_at = field_validator("at")(_wall)


class DrillRole(_Strict):
    title: str = Field(min_length=1, max_length=80)
    description: str = ""


class Participant(_Strict):
    name: str = Field(min_length=1, max_length=80)
    role: Name


class Objective(_Strict):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    capability: str = ""
    """The capability it exercises (an HSEEP core capability, say)."""


def _default_roles() -> dict[str, DrillRole]:
    return {k: DrillRole(title=t, description=d) for k, (t, d) in DEFAULT_ROLES.items()}


PARTS = ("tasks", "service", "customers_lost", "cost", "communications")
"""The score's parts: the critical tasks, and four outcomes placed between the drill's two
counterfactuals (docs/drills.md)."""


class Scoring(_Strict):
    """How the after-action review rates and scores a drill (docs/drills.md): the weights of
    the score's parts, and the rules for the critical tasks the playbook implies."""

    weights: dict[Literal["tasks", "service", "customers_lost", "cost", "communications"],
                  Annotated[float, Field(ge=0, le=1000)]] = Field(
        default_factory=lambda: {"tasks": 40.0, "service": 20.0, "customers_lost": 15.0,
                                 "cost": 15.0, "communications": 10.0})
    """Relative weights; a part missing from the map weighs 0."""
    tier_weights: dict[Tier, Annotated[float, Field(ge=0, le=1000)]] = Field(
        default_factory=lambda: {Tier.VIP: 4.0, Tier.TIER1: 2.0, Tier.TIER2: 1.0})
    """How much a customer of each tier counts in the service and customers-lost parts
    (VIP first); a tier missing from the map counts 0."""
    level_within: Duration = Field(default_factory=lambda: Duration.parse("30m"))
    """An emergency level is due this long after its entry condition first holds."""
    level_allowance: Duration = Field(default_factory=lambda: Duration.parse("30m"))
    """Declared later than that by at most this: some challenges (S); later still: M."""
    service_levels: tuple[float, float, float] = (0.95, 0.90, 0.80)
    """SLA attainment at or above these rates P, S, M (below the last: U)."""
    objectives: dict[Literal["levels", "communications", "service"], Name] = Field(
        default_factory=dict)
    """The drill objective each group of playbook tasks belongs to (default: its own)."""
    cost_plan: float | None = Field(default=None, ge=0, le=1e12)

    _wall_times = field_validator("level_within", "level_allowance")(_wall)
    """The planned cost of the response; more than 25% over it is a side effect that makes
    the decisions that cost money (unlocks, orders) major challenges (M)."""

    @model_validator(mode="after")
    def _levels(self) -> Scoring:
        p, s, m = self.service_levels
        if not 1 >= p >= s >= m >= 0:
            raise ValueError("service_levels: three rates, 1 >= P >= S >= M >= 0")
        if not sum(self.weights.values()) > 0:
            raise ValueError("weights: at least one part must weigh more than zero")
        if not sum(self.tier_weights.values()) > 0:
            raise ValueError("tier_weights: at least one tier must weigh more than zero")
        return self


class Drill(_Strict):
    """A tabletop exercise on top of the scenario it belongs to."""

    title: str = Field(min_length=1, max_length=200)
    briefing: str = Field(min_length=1, max_length=20000)
    length: Duration
    """Simulated time played, from the scenario start (at most horizon + drain)."""
    speed: float = Field(default=60.0, gt=0, le=MAX_SPEED)
    """Default speed: simulated seconds per second of play (60: an hour a minute)."""
    forms_pause: bool = True
    """Whether the clock stops while a form is open (a decision is thought through with
    the clock stopped); false: it runs on, as in a real command post, and every form says
    so. Seats never pause for one person's form: the controller owns the clock."""
    team: str = Field(default="", max_length=80)
    roles: dict[Name, DrillRole] = Field(default_factory=_default_roles,
                                         max_length=MAX_DRILL_ITEMS)
    participants: list[Participant] = Field(default_factory=list, max_length=MAX_DRILL_ITEMS)
    objectives: dict[Name, Objective] = Field(default_factory=dict, max_length=MAX_DRILL_ITEMS)
    injects: list[DrillInject] = Field(default_factory=list, max_length=MAX_DRILL_ITEMS)
    contingency: list[DrillInject] = Field(default_factory=list, max_length=MAX_DRILL_ITEMS)
    scoring: Scoring = Field(default_factory=Scoring)
    """How the after-action review rates and scores it (docs/drills.md)."""

    _wall_length = field_validator("length")(_wall)

    @model_validator(mode="after")
    def _times(self) -> Drill:
        if self.length.wall_minutes <= 0:
            raise ValueError("length: a wall-clock time longer than zero")
        for inject in self.injects:
            if inject.at is None:
                raise ValueError(f"inject {inject.id!r} needs `at` (only contingency injects "
                                 "are fired by hand)")
        for inject in self.contingency:
            if inject.at is not None:
                raise ValueError(f"contingency inject {inject.id!r} has `at`: contingency "
                                 "injects are fired by hand (move it to `injects` to fire it "
                                 "at a set time)")
        return self

    def all_injects(self) -> list[DrillInject]:
        return [*self.injects, *self.contingency]


def drill_diagnostics(drill: Drill, doc: Document, *, kinds: Iterable[str],
                      pools: Iterable[str], skus: Iterable[str], levels: Iterable[str],
                      end_minutes: float, obligations: Iterable[str] = (),
                      unlocks: Iterable[tuple[str, str | None]] = ()) -> list[Diagnostic]:
    """Names a drill uses that the scenario and its playbooks do not have, and times past
    the end of the run; each at its line."""
    found: list[Diagnostic] = []
    kinds, pools, skus, levels = list(kinds), list(pools), list(skus), list(levels)
    obligations, unlocks = list(obligations), list(unlocks)
    roles = list(drill.roles)

    def add(path: tuple[Any, ...], message: str, severity: Literal["error", "warning"] = "error",
            key: bool = False) -> None:
        found.append(doc.diag(("drill", *path), message, severity=severity, key=key))

    for group, objective in drill.scoring.objectives.items():
        if objective not in drill.objectives:
            add(("scoring", "objectives", group), f"unknown objective {objective!r}"
                f"{suggest(objective, drill.objectives)}")
    if drill.length.wall_minutes > end_minutes + 1e-9:
        add(("length",), f"the drill plays {drill.length}, longer than the scenario runs "
            f"(horizon + drain = {end_minutes / 1440:g} days)")
    for i, person in enumerate(drill.participants):
        if person.role not in roles:
            add(("participants", i, "role"), f"unknown role {person.role!r}"
                f"{suggest(person.role, roles)}")
    seen: dict[str, tuple[str, int]] = {}
    for section in ("injects", "contingency"):
        for i, inject in enumerate(getattr(drill, section)):
            here = (section, i)
            if inject.id in seen:
                add(here + ("id",), f"inject id {inject.id!r} is used twice (first at "
                    f"{seen[inject.id][0]}[{seen[inject.id][1]}])")
            seen[inject.id] = (section, i)
            if inject.to not in roles:
                add(here + ("to",), f"unknown role {inject.to!r}{suggest(inject.to, roles)}")
            if inject.at is not None and inject.at.wall_minutes > drill.length.wall_minutes:
                add(here + ("at",), f"inject {inject.id!r} at {inject.at} comes after the drill "
                    f"ends ({drill.length}): it would never fire", "warning")
            effect = inject.effect
            if effect is not None:
                if effect.pool is not None and effect.pool not in pools:
                    add(here + ("effect", "pool"), f"unknown pool {effect.pool!r}"
                        f"{suggest(effect.pool, pools)}")
                if effect.sku is not None and effect.sku not in skus:
                    add(here + ("effect", "sku"), f"unknown SKU {effect.sku!r}: not in parts"
                        f"{suggest(effect.sku, skus)}")
                if effect.case_kind is not None and effect.case_kind not in kinds:
                    add(here + ("effect", "case_kind"), f"unknown mix kind "
                        f"{effect.case_kind!r}{suggest(effect.case_kind, kinds)}")
            for j, exp in enumerate(inject.expect):
                where = here + ("expect", j)
                if exp.objective is not None and exp.objective not in drill.objectives:
                    add(where + ("objective",), f"unknown objective {exp.objective!r}"
                        f"{suggest(exp.objective, drill.objectives)}")
                if exp.level is not None and exp.level not in levels:
                    add(where + ("level",), f"unknown emergency level {exp.level!r}"
                        f"{suggest(exp.level, levels)}")
                if exp.sku is not None and exp.sku not in skus:
                    add(where + ("sku",), f"unknown SKU {exp.sku!r}{suggest(exp.sku, skus)}")
                if exp.obligation is not None and exp.obligation not in obligations:
                    add(where + ("obligation",), f"no message template {exp.obligation!r} in "
                        f"the playbooks{suggest(exp.obligation, obligations)}")
                if exp.resource is not None and not any(
                        r == exp.resource and (exp.pool is None or p == exp.pool)
                        for r, p in unlocks):
                    what = exp.resource + (f" for pool {exp.pool!r}" if exp.pool else "")
                    add(where + ("resource",), f"the lead playbook unlocks no {what}: this "
                        "task could never be met")
    return found
