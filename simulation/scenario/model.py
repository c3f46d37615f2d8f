"""The scenario language: the world a planner asks "what if" about.

A scenario says when and how fast incidents arrive (a base rate shaped by hour of day and day
of week, surges, or replayed history), which playbook each kind of incident follows, who is on
shift, what is on the shelf, what things cost, and what happens to the world on the way
(injects). Structure is checked by these models; cross-references (unknown playbook, role,
SKU, pool) by `checks.py`. The reference with examples is docs/scenarios.md.

Every number is finite (no .inf or .nan gets past the models) and inside a limit named by a
module constant below, documented in docs/scenarios.md: a scenario that would crash or run
for days is refused where it is written, with the limit in the message.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      field_validator, model_validator)

from incidents.distributions import FAMILIES as DISTRIBUTION_FAMILIES
from incidents.distributions import Distribution, DistributionField, Fixed
from incidents.model import MAX_HEADCOUNT, MAX_MONEY, MAX_UNITS, Severity, Tier
from incidents.sla import BusinessCalendar, Duration
from simulation.scenario.drill import Drill
from simulation.scenario.limits import (MAX_OVERTIME_PREMIUM, MAX_PEAK_ARRIVALS, MAX_PLAN_STEPS,
                                        MAX_RATE_PER_HOUR, MAX_RUN_DAYS, MAX_SLOWDOWN,
                                        MAX_SURGE_FACTOR, MAX_WEIGHT, MIN_SIGNAL_INTERVAL_MINUTES,
                                        MIN_SURGE_MINUTES, START_YEARS)

__all__ = [
    "Rate", "Surge", "Replay", "Demand", "Product", "MixEntry", "Messages", "Shift", "PoolSpec",
    "ReorderPolicy", "PartSpec", "Patience", "StaffPlan", "Costs", "Complaints", "Inject",
    "Queue", "Scenario",
    "WEEKDAYS", "parse_days", "MAX_RUN_DAYS", "MIN_SIGNAL_INTERVAL_MINUTES", "MAX_RATE_PER_HOUR",
    "MAX_SURGE_FACTOR", "MIN_SURGE_MINUTES", "MAX_WEIGHT", "MAX_OVERTIME_PREMIUM", "MAX_SLOWDOWN",
    "MAX_PEAK_ARRIVALS", "START_YEARS", "MAX_HEADCOUNT", "MAX_UNITS", "MAX_MONEY",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Name = Annotated[str, Field(min_length=1, max_length=80)]


class _Strict(BaseModel):
    # allow_inf_nan=False: .inf and .nan are valid YAML floats, and either would pass a ge=0
    # test (.nan compares false both ways) and crash the run (numpy refuses a NaN rate).
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _rate(value: Any) -> Any:
    """'6/h', '120/d', '0.5/min' or a number (per hour) -> arrivals per hour."""
    if isinstance(value, bool):
        raise ValueError("a rate is a number per hour, or text like '6/h', '120/d'")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer with hundreds of digits
            raise ValueError(f"the rate is more than the limit of {MAX_RATE_PER_HOUR:,.0f} "
                             "per hour") from None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*/\s*(h|hour|d|day|min|m|minute)\s*", value)
        if m:
            per = {"h": 1.0, "hour": 1.0, "d": 24.0, "day": 24.0, "min": 1 / 60, "m": 1 / 60,
                   "minute": 1 / 60}[m.group(2)]
            return float(m.group(1)) / per
    raise ValueError(f"cannot read rate {value!r}: write a number per hour, or '6/h', '120/d'")


def _rate_limit(value: float) -> float:
    """Refuse a rate over MAX_RATE_PER_HOUR, saying so in arrivals per hour."""
    if value > MAX_RATE_PER_HOUR:
        raise ValueError(f"{value:g} arrivals per hour is more than the limit of "
                         f"{MAX_RATE_PER_HOUR:,.0f} per hour")
    return value


def _in_start_years(value: datetime) -> datetime:
    """Refuse a start outside START_YEARS (the window arithmetic would leave Python's dates)."""
    first, last = START_YEARS
    if not first <= value.year <= last:
        raise ValueError(f"start must be in the years {first} to {last}, got {value.year}")
    return value


Rate = Annotated[float, BeforeValidator(lambda v: _rate(v)),
                 AfterValidator(lambda v: _rate_limit(v))]
"""Arrivals per hour: a number, or text like '6/h', '120/d'; finite, at most the limit."""
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT)]
Money = Annotated[float, Field(ge=0, le=MAX_MONEY)]


def parse_days(text: str) -> frozenset[int]:
    """'mon-fri', 'sat,sun', 'mon-sun', 'daily' -> weekday numbers (0 = Monday)."""
    text = text.strip().lower()
    if text in ("daily", "all", "every day"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, b = (p.strip()[:3] for p in part.split("-", 1))
            if a not in WEEKDAYS or b not in WEEKDAYS:
                raise ValueError(f"unknown day in {part!r}; use mon..sun")
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            days.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif part[:3] in WEEKDAYS:
            days.add(WEEKDAYS.index(part[:3]))
        else:
            raise ValueError(f"unknown day {part!r}; use mon..sun, ranges like mon-fri, or daily")
    return frozenset(days)


class Surge(_Strict):
    """A demand multiplier over time: step, spike (exponential decay) or ramp."""

    kind: Literal["step", "spike", "ramp"]
    start: Duration | datetime
    """Offset from the scenario start ("2d", "36h") or a date-time."""
    factor: float = Field(gt=0, le=MAX_SURGE_FACTOR)
    """Multiplier of the arrival rate: during a step, at a spike's peak, at a ramp's top."""
    duration: Duration | None = None
    """Step: how long it lasts. Ramp: how long it takes to climb from 1 to `factor`."""
    decay: Duration | None = None
    """Spike: time for the excess over 1 to fall by a factor e."""
    hold: Duration | None = None
    """Ramp: how long it stays at `factor` after climbing (default: to the end)."""

    @model_validator(mode="after")
    def _needs(self) -> Surge:
        if self.kind == "step" and self.duration is None:
            raise ValueError("a step surge needs a duration")
        if self.kind == "spike" and self.decay is None:
            raise ValueError("a spike surge needs a decay time")
        if self.kind == "ramp" and self.duration is None:
            raise ValueError("a ramp surge needs a duration (the time to climb)")
        for name in ("duration", "decay", "hold"):
            d = getattr(self, name)
            if d is not None and d.is_working:
                raise ValueError(f"{name}: surges run on wall-clock time, not working time")
        if self.kind == "spike" and self.decay is not None \
                and self.decay.wall_minutes < MIN_SURGE_MINUTES:
            raise ValueError(f"decay: a spike's decay must be at least 1 second, not {self.decay}")
        if self.kind in ("step", "ramp") and self.duration is not None \
                and self.duration.wall_minutes < MIN_SURGE_MINUTES:
            raise ValueError(f"duration: a {self.kind} surge's duration must be at least 1 "
                             f"second, not {self.duration}")
        return self


class Replay(_Strict):
    """Historical arrival timestamps replayed as demand (instead of the Poisson process)."""

    file: str
    """CSV (or .zip/.gz of one), relative to the scenario file."""
    column: str = "opened_at"
    id_column: str | None = "number"
    """One arrival per distinct id (event logs repeat an incident on many rows)."""
    format: str = "%d/%m/%Y %H:%M"
    """strptime format, or `iso`, or `epoch`."""
    start: datetime | None = None
    """First instant replayed; default: the busiest week of the file."""
    days: float = Field(default=7.0, gt=0, le=MAX_RUN_DAYS)
    timezone: str = "UTC"

    @field_validator("start")
    @classmethod
    def _year(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _in_start_years(value)


class Demand(_Strict):
    """Arrivals: rate(t) = base_rate x hourly[hour] x weekly[day] x product of surges."""

    base_rate: Annotated[Rate, Field(ge=0)] = 4.0
    """Average arrivals per hour (the profiles are normalised to mean 1)."""
    hourly: list[Weight] | None = None
    """24 relative weights, hour 0..23 (local time of the calendar)."""
    weekly: list[Weight] | None = None
    """7 relative weights, Monday..Sunday."""
    surges: list[Surge] = Field(default_factory=list)
    replay: Replay | None = None
    profile: list[list[Weight]] | None = None
    """7 rows (Monday..Sunday) of 24 relative weights (hours 0..23, local time): the
    weekday-by-hour shape, normalised to mean 1 over the week. A weekday's own shape (a
    Friday that closes at 14:00) is what `hourly` x `weekly` cannot say; it replaces them."""

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: list[list[float]] | None) -> list[list[float]] | None:
        if value is None:
            return None
        if len(value) != 7 or any(len(row) != 24 for row in value):
            raise ValueError(f"needs 7 rows (Monday..Sunday) of 24 weights; found "
                             f"{len(value)} rows of {sorted({len(r) for r in value})}")
        total = sum(sum(row) for row in value)
        if total <= 0:
            raise ValueError("weights must be >= 0 and not all zero")
        mean = total / 168.0
        return [[v / mean for v in row] for row in value]

    @model_validator(mode="after")
    def _one_shape(self) -> Demand:
        if self.profile is not None and (self.hourly is not None or self.weekly is not None):
            raise ValueError("give either profile (weekday by hour) or hourly/weekly, not both")
        return self

    @field_validator("hourly", "weekly")
    @classmethod
    def _weights(cls, value: list[float] | None, info: Any) -> list[float] | None:
        if value is None:
            return None
        want = 24 if info.field_name == "hourly" else 7
        if len(value) != want:
            raise ValueError(f"needs {want} weights, found {len(value)}")
        if any(v < 0 for v in value) or sum(value) <= 0:
            raise ValueError("weights must be >= 0 and not all zero")
        mean = sum(value) / len(value)
        return [v / mean for v in value]


class Product(_Strict):
    name: str
    sku: str = ""
    batch: str = ""
    share: float = Field(default=1.0, gt=0, le=MAX_WEIGHT)


class Patience(_Strict):
    """How long customers wait for staff before they give up: a duration distribution for
    every tier (`all`) and/or per tier; a tier with none never gives up. Written as a bare
    distribution (`patience: {exponential: 2h}`) it applies to every tier."""

    all: DistributionField | None = None
    VIP: DistributionField | None = None
    tier1: DistributionField | None = None
    tier2: DistributionField | None = None
    parts: bool = False
    """The clock also runs while the case waits for parts (not only for staff)."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return {"all": value}
        if isinstance(value, dict) and len(value) == 1 and \
                str(next(iter(value))).strip().lower() in DISTRIBUTION_FAMILIES:
            return {"all": value}
        return value

    def for_tier(self, tier: str) -> Distribution | None:
        """The patience of customers of `tier` (VIP, tier1, tier2), or None: never give up."""
        own = getattr(self, tier, None)
        return own if own is not None else self.all


class MixEntry(_Strict):
    """One kind of incident: its playbook and what its cases look like."""

    playbook: str
    """A bundled playbook name, or a file relative to the scenario."""
    share: float = Field(default=1.0, gt=0, le=MAX_WEIGHT)
    tiers: dict[Tier, Weight] = Field(default_factory=lambda: {
        Tier.VIP: 0.05, Tier.TIER1: 0.25, Tier.TIER2: 0.70})
    severity: Severity = Severity.MEDIUM
    products: list[Product] = Field(default_factory=list)
    parts: dict[Name, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    """Override the probability that the playbook's work needs a part (sku -> p)."""
    region: str = ""
    events: dict[Name, DistributionField] = Field(default_factory=dict)
    """External playbook events the world fires: trigger -> delay after entering a state that
    accepts it (customer replies, parts arrive). Events not listed are never fired."""
    patience: Patience | None = None
    """How long its customers wait for staff before giving up (default: for ever)."""
    durations: dict[Name, DistributionField] = Field(default_factory=dict)
    """Override the duration of the playbook's work in a state (state -> distribution): one
    playbook serves many logs, each with the service or resolve time fitted to it."""


class Messages(_Strict):
    """Who sends owed messages and how long one takes; no role: sent at once."""

    role: str | None = "agent"
    duration: DistributionField = Field(default_factory=lambda: Fixed(5.0))


class Shift(_Strict):
    """Headcount on duty on some days between two local times (may cross midnight)."""

    days: str = "daily"
    start: time = time(0, 0)
    end: time = time(0, 0)
    """00:00 with start 00:00 means all day."""
    headcount: int = Field(ge=0, le=MAX_HEADCOUNT)

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML reads an unquoted 08:00 as the sexagesimal number 480.
            raise ValueError(f"write times in quotes, e.g. \"08:00\" (YAML read {value})")
        if value == "24:00":
            return time(0, 0)
        return value


class StaffPlan(_Strict):
    """An explicit on-duty headcount for each step of time from the scenario start (hour by
    hour, say), in force while it lasts; the pool's shifts take over after it. Hourly
    staffing plans through a surge (`muster size --plan hourly`) are written this way."""

    step: Duration = Field(default_factory=lambda: Duration.parse("1h"))
    headcount: list[Annotated[int, Field(ge=0, le=MAX_HEADCOUNT)]] = Field(
        min_length=1, max_length=MAX_PLAN_STEPS)

    @field_validator("step")
    @classmethod
    def _wall_step(cls, value: Duration) -> Duration:
        if value.is_working or value.wall_minutes < 1:
            raise ValueError(f"a plan step is a wall-clock time of at least 1 minute, "
                             f"got {value}")
        return value


class PoolSpec(_Strict):
    """A staff pool: which playbook roles it fills, when it is on shift, what it costs."""

    roles: list[Name] = Field(min_length=1)
    headcount: int | None = Field(default=None, ge=0, le=MAX_HEADCOUNT)
    """Round-the-clock headcount; or give `shifts`."""
    shifts: list[Shift] = Field(default_factory=list)
    wage_per_hour: Money = 0.0
    overtime_hours_per_day: float = Field(default=0.0, ge=0, le=12)
    """Extra hours after each shift when an emergency level unlocks overtime."""
    contractor: bool = False
    """Off duty until an emergency level unlocks contractors for this pool."""
    activation_delay: Duration = Field(default_factory=lambda: Duration.parse("0m"))
    skills: list[Name] | None = None
    """Skills its members have (work needing a skill goes only to pools that have it);
    default: every skill its roles list in the mix's playbooks."""
    plan: StaffPlan | None = None
    """Headcount step by step from the start, overriding the shifts while it lasts."""

    @model_validator(mode="after")
    def _one_schedule(self) -> PoolSpec:
        if (self.headcount is None) == (not self.shifts):
            raise ValueError("give either headcount (round the clock) or shifts")
        return self


class ReorderPolicy(_Strict):
    """(s,S): order up to S when the position falls to s or below; (s,Q): order Q; base
    stock: order up to `level` whenever the position is below it. All are reviewed at the
    start and whenever units are taken or lost."""

    type: Literal["sS", "sQ", "base_stock", "none"]
    s: int | None = Field(default=None, ge=0, le=MAX_UNITS)
    S: int | None = Field(default=None, ge=0, le=MAX_UNITS)
    Q: int | None = Field(default=None, ge=1, le=MAX_UNITS)
    level: int | None = Field(default=None, ge=0, le=MAX_UNITS)

    @model_validator(mode="after")
    def _params(self) -> ReorderPolicy:
        need = {"sS": ("s", "S"), "sQ": ("s", "Q"), "base_stock": ("level",), "none": ()}
        missing = [p for p in need[self.type] if getattr(self, p) is None]
        if missing:
            raise ValueError(f"policy {self.type} needs {', '.join(missing)}")
        if self.type == "sS" and self.S is not None and self.s is not None and self.S <= self.s:
            raise ValueError(f"S ({self.S}) must be above s ({self.s})")
        return self


class PartSpec(_Strict):
    initial: int = Field(ge=0, le=MAX_UNITS)
    policy: ReorderPolicy = Field(default_factory=lambda: ReorderPolicy(type="none"))
    lead_time: DistributionField = Field(default=None)  # type: ignore[assignment]
    """Supplier lead time (minutes distribution), needed by any reorder policy."""
    transfer_lead_time: Duration = Field(default_factory=lambda: Duration.parse("12h"))
    """Emergency transfer from another warehouse, once an emergency level unlocks it."""
    transfer_cost: Money = 0.0
    unit_cost: Money | None = None

    @model_validator(mode="after")
    def _lead(self) -> PartSpec:
        if self.policy.type != "none" and self.lead_time is None:
            raise ValueError("a reorder policy needs a lead_time")
        return self


class Costs(_Strict):
    overtime_premium: float = Field(default=0.5, ge=0, le=MAX_OVERTIME_PREMIUM)
    """Overtime hours cost wage x (1 + premium)."""
    contractor_rate: Money = 0.0
    """Per contractor hour on duty."""
    sla_penalty: dict[Tier, Money] = Field(default_factory=dict)
    """Per breached milestone, by tier."""
    lost_customer: dict[Tier, Money] = Field(default_factory=dict)
    """Per customer lost, by tier: a case whose customer gave up waiting or withdrew it.
    Without a price, losing a customer would cost nothing, and a response that lets
    customers go would look cheaper than one that serves them."""
    open_past_deadline: dict[Tier, Money] = Field(default_factory=dict)
    """Per case still open at the end of the run with a deadline already missed, by tier:
    the work a run leaves behind is not free either."""
    parts_charged: Literal["ordered", "used"] = "ordered"
    """When parts cost money: when they are ordered from the supplier (what a purchase
    does; an order too large costs at once), or when they are fitted."""
    holding_rate: float = Field(default=0.0, ge=0, le=10)
    """Cost of holding a unit on the shelf, as a share of its unit cost per year."""


class Complaints(_Strict):
    """A breached customer may complain: a new incident of another kind."""

    probability: float = Field(default=0.0, ge=0, le=1)
    kind: str = "complaint"
    """The mix entry complaints follow."""


class Inject(_Strict):
    """A timed change of the world (the same injects drive drills)."""

    at: Duration | datetime
    kind: Literal["staff_absence", "stock_loss", "demand_spike", "crm_outage"]
    pool: str | None = None
    headcount: int = Field(default=0, ge=0, le=MAX_HEADCOUNT)
    sku: str | None = None
    qty: int = Field(default=0, ge=0, le=MAX_UNITS)
    factor: float = Field(default=1.0, gt=0, le=MAX_SURGE_FACTOR)
    duration: Duration = Field(default_factory=lambda: Duration.parse("0m"))
    slowdown: float = Field(default=2.0, ge=1, le=MAX_SLOWDOWN)
    """CRM outage: work started during it takes this many times longer."""
    note: str = ""

    @model_validator(mode="after")
    def _fields(self) -> Inject:
        need = {"staff_absence": ("pool",), "stock_loss": ("sku",), "demand_spike": (),
                "crm_outage": ()}[self.kind]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} inject needs {', '.join(missing)}")
        if self.kind == "demand_spike" and self.duration.wall_minutes < MIN_SURGE_MINUTES:
            # The spike is a step surge for `duration`; the world builds one from it.
            raise ValueError(f"duration: a demand_spike inject needs a duration of at least 1 "
                             f"second, not {self.duration}")
        return self


class Queue(_Strict):
    """A plain textbook queue: Poisson arrivals, one service stage, c servers (M/G/c)."""

    arrival_rate: Annotated[Rate, Field(gt=0)]
    service: DistributionField
    servers: int = Field(ge=1, le=MAX_HEADCOUNT)
    patience: Patience | None = None
    """Customers give up waiting after this (M/M/c+M with an exponential patience: Erlang A)."""



class Scenario(_Strict):
    """A whole what-if: horizon, demand, mix, staff, parts, costs, injects."""

    muster: Literal[1] = 1
    name: Name
    title: str = ""
    description: str = ""
    start: datetime = datetime.fromisoformat("2026-03-02T00:00:00+08:00")
    """Scenario start (a time zone is required); model time is minutes since then."""
    horizon: Duration
    """How long arrivals keep coming; open cases are followed until `drain` after it."""
    drain: Duration = Field(default_factory=lambda: Duration.parse("0m"))
    warmup: Duration = Field(default_factory=lambda: Duration.parse("0m"))
    """Incidents opened before this are simulated but left out of the metrics."""
    calendar: BusinessCalendar | None = None
    """Default: the calendar of the first playbook in the mix."""
    policy: Literal["autopilot", "none"] = "autopilot"
    """autopilot: escalation and emergency levels run and unlock resources; none: baseline."""
    demand: Demand = Field(default_factory=Demand)
    queue: Queue | None = None

    def arrival_demand(self) -> Demand:
        """The demand arrivals are drawn from: `demand`, or for a textbook `queue:` its
        `arrival_rate` shaped by `demand`'s profiles and surges (the checks refuse a
        `demand.base_rate` or `replay` beside a queue, which would say the rate twice)."""
        if self.queue is None:
            return self.demand
        return self.demand.model_copy(update={"base_rate": self.queue.arrival_rate})
    mix: dict[Name, MixEntry] = Field(default_factory=dict)
    staffing: dict[Name, PoolSpec] = Field(default_factory=dict)
    parts: dict[Name, PartSpec] = Field(default_factory=dict)
    costs: Costs = Field(default_factory=Costs)
    complaints: Complaints = Field(default_factory=Complaints)
    messages: Messages = Field(default_factory=Messages)
    injects: list[Inject] = Field(default_factory=list)
    signal_interval: Duration = Field(default_factory=lambda: Duration.parse("1h"))
    """How often aggregate signals are measured for emergency levels and the backlog plot."""
    service_level: list[Duration] = Field(default_factory=list, max_length=20)
    """Wait thresholds (`[20s, 60s, 2h]`) for the share of work served within each."""
    drill: Drill | None = None
    """A tabletop exercise played on this scenario (scenario/drill.py, docs/drills.md)."""

    @field_validator("service_level")
    @classmethod
    def _thresholds(cls, value: list[Duration]) -> list[Duration]:
        for d in value:
            if d.is_working or d.wall_minutes <= 0:
                raise ValueError(f"service-level thresholds are wall-clock waits longer than "
                                 f"zero, got {d}")
        return value

    @field_validator("horizon", "drain", "warmup", "signal_interval")
    @classmethod
    def _wall(cls, value: Duration, info: Any) -> Duration:
        if value.is_working:
            raise ValueError("give wall-clock time (h, d), not working time")
        if info.field_name == "horizon" and value.wall_minutes <= 0:
            raise ValueError("must be longer than zero")
        if info.field_name == "signal_interval" \
                and value.wall_minutes < MIN_SIGNAL_INTERVAL_MINUTES:
            raise ValueError(f"must be at least {MIN_SIGNAL_INTERVAL_MINUTES:g} minute "
                             f"(the limit), got {value}")
        return value

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a time zone, e.g. 2026-03-02T00:00:00+08:00")
        return _in_start_years(value)

    @model_validator(mode="after")
    def _run_length(self) -> Scenario:
        days = (self.horizon.wall_minutes + self.drain.wall_minutes) / 1440.0
        if days > MAX_RUN_DAYS:
            raise ValueError(f"horizon: horizon + drain ({self.horizon} + {self.drain}) is "
                             f"{days:,.6g} days, more than the limit of {MAX_RUN_DAYS} days "
                             "(10 years)")
        return self

    @model_validator(mode="after")
    def _shape(self) -> Scenario:
        if self.queue is None and not self.mix:
            raise ValueError("a scenario needs a `mix` of incident kinds (or a textbook `queue`)")
        if self.queue is not None and (self.mix or self.staffing):
            raise ValueError("a textbook `queue` scenario has no mix or staffing of its own")
        return self
