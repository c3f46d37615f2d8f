"""Operation-wide emergency levels: aggregate signals in, level changes and unlocks out.

Like the case runtime it is pure: the host measures the signals (open backlog, arrivals per
hour, SLA breaches, stock-outs, complaints) and calls `evaluate` whenever it likes; the result
depends only on the arguments. Levels go up as far as the signals justify at once, and come
down one step at a time, only after the level's `hold` time and when its exit test holds, so a
noisy backlog does not make the level flap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping
from zoneinfo import ZoneInfo

from incidents.sla import TimeBase

from playbooks.effects import Effect, LevelChanged, MessageOwed, Revoked, Unlocked
from playbooks.errors import InvalidTrigger
from playbooks.runtime import DEFAULT_EPOCH
from playbooks.schema import LevelCondition, Playbook, SignalTest

__all__ = ["Posture", "EmergencyRuntime", "holds"]


@dataclass(frozen=True, slots=True)
class Posture:
    """The operation's emergency level (index 0 = normal) and when it was entered."""

    level: int
    since: float


def _test(test: SignalTest, signals: Mapping[str, float]) -> bool:
    value = signals.get(test.signal)
    if value is None:
        raise InvalidTrigger(f"signal {test.signal!r} was not measured")
    if test.above is not None:
        return value > test.above
    return value < test.below  # type: ignore[operator]


def holds(cond: LevelCondition, signals: Mapping[str, float]) -> bool:
    """Whether a level condition holds: any of `any`, and all of `all`."""
    ok_any = any(_test(t, signals) for t in cond.any) if cond.any else True
    ok_all = all(_test(t, signals) for t in cond.all) if cond.all else True
    return ok_any and ok_all


class EmergencyRuntime:
    """The emergency-level machine of one playbook."""

    def __init__(self, playbook: Playbook, *, epoch: datetime = DEFAULT_EPOCH) -> None:
        self.playbook = playbook
        self.timebase = TimeBase(epoch, playbook.calendar)
        self._zone = ZoneInfo(playbook.calendar.timezone)
        em = playbook.emergency
        self.names: tuple[str, ...] = (em.normal, *em.levels)
        self.specs = [None, *em.levels.values()]
        self._index = {n: i for i, n in enumerate(self.names)}

    def start(self, at: float = 0.0) -> Posture:
        return Posture(0, at)

    def name(self, posture: Posture) -> str:
        return self.names[posture.level]

    def evaluate(self, posture: Posture, signals: Mapping[str, float],
                 at: float) -> tuple[Posture, tuple[Effect, ...]]:
        """The new posture for the measured signals, and what changing to it means."""
        if at < posture.since:
            raise InvalidTrigger(f"time {at:g} is before the level was entered ({posture.since:g})")
        target = posture.level
        for i in range(len(self.specs) - 1, posture.level, -1):
            if holds(self.specs[i].enter, signals):  # type: ignore[union-attr]
                target = i
                break
        if target == posture.level and posture.level > 0:
            spec = self.specs[posture.level]
            held = at >= self.timebase.deadline(posture.since, spec.hold)  # type: ignore[union-attr]
            if held and holds(spec.exit, signals):  # type: ignore[union-attr]
                target = posture.level - 1
        if target == posture.level:
            return posture, ()
        return Posture(target, at), self.change(posture.level, target, signals, at)

    def index(self, level: str) -> int:
        """The rank of a level name (0 = normal); InvalidTrigger for an unknown one."""
        if level not in self._index:
            raise InvalidTrigger(f"unknown emergency level {level!r}; levels: "
                                 f"{', '.join(self.names)}")
        return self._index[level]

    def change(self, source: int, target: int, signals: Mapping[str, float], at: float, *,
               unlocks: bool = True) -> tuple[Effect, ...]:
        """What moving from level `source` to `target` means: LevelChanged, the unlocks of
        every level passed on the way up or left on the way down (unless `unlocks` is False:
        a drill team activates those itself), and the messages owed on the way up."""
        effects: list[Effect] = [LevelChanged(self.names[source], self.names[target])]
        for n, unlock in enumerate(self.playbook.resources.unlocks if unlocks else ()):
            i = self._index[unlock.level]
            if source < i <= target:
                available = self.timebase.deadline(at, unlock.delay)
                effects.append(Unlocked(unlock.resource, unlock.level, available, unlock.pool,
                                        unlock.headcount, unlock.hours_per_day, n))
            elif target < i <= source:
                effects.append(Revoked(unlock.resource, unlock.level, unlock.pool, n))
        if target > source:
            for name, ob in self.playbook.communications.items():
                if ob.on.emergency is not None and source < self._index[ob.on.emergency] <= target:
                    label = self.specs[self._index[ob.on.emergency]].label  # type: ignore[union-attr]
                    due = self.timebase.deadline(at, ob.deadline)
                    ctx = {**{k: _fmt(v) for k, v in signals.items()},
                           "level": ob.on.emergency, "label": label,
                           "playbook": self.playbook.name,
                           "due": self.timebase.to_datetime(due).astimezone(self._zone)
                           .strftime("%Y-%m-%d %H:%M")}
                    effects.append(MessageOwed(name, ob.audience, due, ob.template, ctx))
        return tuple(effects)


def _fmt(value: float) -> str:
    return f"{value:g}"
