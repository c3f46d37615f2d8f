"""The command post as a decision policy: the team decides, the playbook only recommends.

The simulated front line still works every case by the playbook on its own (routine: case
escalation rules, customer messages, reorder policies, escalated cases first). What the
playbook reserves for command waits for the team: the operation-wide emergency level (the
autopilot's evaluation runs in the shadow and is shown as a recommendation, never applied),
the unlocks a level allows, the messages a level makes owed to management and the public, and
the order of the queues (a case, tier or kind moved forward; another priority rule).
"""

from __future__ import annotations

from typing import Callable, Mapping

from playbooks.effects import Effect
from playbooks.emergency import EmergencyRuntime, Posture
from playbooks.runtime import Case
from simulation.model.policies import base_priority

__all__ = ["TeamPolicy"]

_TIERS = ("VIP", "tier1", "tier2")


class TeamPolicy:
    """A policy whose decisions a team takes (see the module docstring)."""

    name = "team"
    routine_operation_messages = False

    def __init__(self, emergency: EmergencyRuntime | None) -> None:
        self.emergency = emergency
        self.posture = Posture(0, 0.0)
        """The level the team declared (and since when)."""
        self.shadow = Posture(0, 0.0)
        """What the autopilot would have declared by now, from the same signals."""
        self.signals: dict[str, float] = {}
        """The signals last measured."""
        self.history: list[tuple[float, int]] = []
        """(minute, level) each time the recommendation changed: when each level's entry
        condition first held, for the after-action review."""
        self.order: tuple[str, ...] | None = None
        """The priority rule the team set (None: each playbook's own)."""
        self.case_boost: dict[int, int] = {}
        self.tier_boost: dict[int, int] = {}
        self.kind_boost: dict[int, int] = {}
        self.boosts = 0
        """How many boosts were given: a later one goes ahead of earlier ones."""
        self._tier: Callable[[int], int] = lambda cid: 2
        self._kind: Callable[[int], int] = lambda cid: 0

    def bind(self, tier_of: Callable[[int], int], kind_of: Callable[[int], int]) -> None:
        """How to read a case's tier index and kind index (the world's case table)."""
        self._tier, self._kind = tier_of, kind_of

    # -- the Policy protocol -----------------------------------------------------------------
    def priority(self, order: tuple[str, ...]) -> Callable[[Case], tuple]:
        return base_priority(self.order or order, by_level=True)

    def on_signals(self, signals: Mapping[str, float], at: float) -> tuple[Effect, ...]:
        self.signals = dict(signals)
        if self.emergency is not None:
            before = self.shadow.level
            self.shadow, _ = self.emergency.evaluate(self.shadow, signals, at)
            if self.shadow.level != before:
                self.history.append((at, self.shadow.level))
        return ()

    # -- what the team has decided -----------------------------------------------------------
    def boost(self, cid: int) -> int:
        """How far the case was moved forward: the latest boost of it, its tier or kind."""
        return max(self.case_boost.get(cid, 0), self.tier_boost.get(self._tier(cid), 0),
                   self.kind_boost.get(self._kind(cid), 0))

    def give(self, table: dict[int, int], key: int, undo: bool) -> None:
        if undo:
            table.pop(key, None)
        else:
            self.boosts += 1
            table[key] = self.boosts

    @property
    def recommended(self) -> str | None:
        """The autopilot's level now, or None without emergency levels."""
        return self.emergency.names[self.shadow.level] if self.emergency else None

    @property
    def declared(self) -> str | None:
        return self.emergency.names[self.posture.level] if self.emergency else None
