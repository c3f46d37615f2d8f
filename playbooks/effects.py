"""What the runtime asks its host to do: small frozen records, one per effect.

The runtime never acts; it returns effects and the host (simulator, drill, live desk) carries
them out with its own clock: arm and cancel deadlines, assign work, send messages.
All times are float minutes since the host's epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

__all__ = [
    "Effect", "Transitioned", "Arm", "Cancel", "WorkRequested", "MilestoneMet", "Breached",
    "Escalated", "Deescalated", "MessageOwed", "Closed", "LevelChanged", "Unlocked", "Revoked",
    "arm", "milestone_met", "message_owed",
]


@dataclass(frozen=True, slots=True)
class Effect:
    """Base of all effects."""


@dataclass(frozen=True, slots=True)
class Transitioned(Effect):
    trigger: str
    source: str | None
    dest: str


@dataclass(frozen=True, slots=True)
class Arm(Effect):
    """Schedule `key` to expire at `due`; the host calls `Runtime.expire` then."""

    key: str
    due: float


@dataclass(frozen=True, slots=True)
class Cancel(Effect):
    """Forget the deadline `key`; it will never expire."""

    key: str


@dataclass(frozen=True, slots=True)
class WorkRequested(Effect):
    """The case needs a staff member of `role` for a duration drawn from `duration`."""

    state: str
    role: str
    skill: str | None
    duration: object
    parts: tuple[tuple[str, int, float], ...]
    """(sku, quantity, probability the work needs it)."""


@dataclass(frozen=True, slots=True)
class MilestoneMet(Effect):
    milestone: str
    due: float | None
    on_time: bool


@dataclass(frozen=True, slots=True)
class Breached(Effect):
    milestone: str
    due: float


@dataclass(frozen=True, slots=True)
class Escalated(Effect):
    source: str
    dest: str
    rule: str


@dataclass(frozen=True, slots=True)
class Deescalated(Effect):
    """A case moved down a level by hand (a team or coordinator decided it)."""

    source: str
    dest: str
    rule: str


@dataclass(frozen=True, slots=True)
class MessageOwed(Effect):
    """A message somebody is owed by minute `due`.

    The text is rendered on demand from the template and a context snapshot: a surge
    simulation owes hundreds of thousands of messages and mostly counts them, while a drill or
    the live desk reads every one.
    """

    obligation: str
    audience: str
    due: float
    template: str = field(repr=False)
    context: Mapping[str, object] = field(repr=False)

    @property
    def text(self) -> str:
        return self.template.format_map(self.context)


@dataclass(frozen=True, slots=True)
class Closed(Effect):
    state: str


@dataclass(frozen=True, slots=True)
class LevelChanged(Effect):
    """The operation-wide emergency level moved."""

    source: str
    dest: str


@dataclass(frozen=True, slots=True)
class Unlocked(Effect):
    """An emergency resource becomes available at `available_at`.

    `unlock` is the entry's index in the playbook's `resources.unlocks`: the host keeps each
    unlock as a grant of its own, so that leaving a level takes back exactly that one."""

    resource: str
    level: str
    available_at: float
    pool: str | None
    headcount: int
    hours_per_day: float
    unlock: int = -1


@dataclass(frozen=True, slots=True)
class Revoked(Effect):
    """An emergency resource is withdrawn because the level went below its unlock level:
    the grant of `resources.unlocks[unlock]`, and nothing another level still holds."""

    resource: str
    level: str
    pool: str | None = None
    unlock: int = -1


# -- fast constructors for the effects a simulation makes by the million -------------------
# A frozen dataclass's __init__ sets each field through object.__setattr__ looked up per
# field, behind type.__call__: about 4,300 machine instructions for an Arm (callgrind). These
# build the very same objects (same class, fields, equality, hash) in about 2,800: a new
# instance and each slot set through its descriptor. Only for classes without defaults or
# __post_init__, whose __init__ does nothing else.

_new = object.__new__
_ARM_KEY, _ARM_DUE = Arm.__dict__["key"].__set__, Arm.__dict__["due"].__set__
_MET = tuple(MilestoneMet.__dict__[f].__set__ for f in ("milestone", "due", "on_time"))
_OWED = tuple(MessageOwed.__dict__[f].__set__
              for f in ("obligation", "audience", "due", "template", "context"))


def arm(key: str, due: float) -> Arm:
    """`Arm(key, due)`, built faster."""
    effect = _new(Arm)
    _ARM_KEY(effect, key)
    _ARM_DUE(effect, due)
    return effect


def milestone_met(milestone: str, due: float | None, on_time: bool) -> MilestoneMet:
    """`MilestoneMet(milestone, due, on_time)`, built faster."""
    effect = _new(MilestoneMet)
    set_milestone, set_due, set_on_time = _MET
    set_milestone(effect, milestone)
    set_due(effect, due)
    set_on_time(effect, on_time)
    return effect


def message_owed(obligation: str, audience: str, due: float, template: str,
                 context: Mapping[str, object]) -> MessageOwed:
    """`MessageOwed(obligation, audience, due, template, context)`, built faster."""
    effect = _new(MessageOwed)
    set_obligation, set_audience, set_due, set_template, set_context = _OWED
    set_obligation(effect, obligation)
    set_audience(effect, audience)
    set_due(effect, due)
    set_template(effect, template)
    set_context(effect, context)
    return effect
