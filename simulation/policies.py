"""Decision policies: who decides what the playbook leaves open.

The model asks its policy two things: in which order waiting work is served, and what to do
when the operation-wide signals are measured (raise or lower the emergency level, and so
unlock overtime, contractors, parts transfers). `Autopilot` lets the playbook decide; `Baseline`
runs only the base procedure (no emergency levels, no escalation boost), which is the
counterfactual a drill is scored against. A drill plugs a team in through the same interface.
"""

from __future__ import annotations

from typing import Mapping, Protocol

from playbooks.effects import Effect
from playbooks.emergency import EmergencyRuntime, Posture
from playbooks.runtime import Case

__all__ = ["Policy", "Autopilot", "Baseline", "make_policy", "TIER_RANK"]

TIER_RANK = {"VIP": 0, "tier1": 1, "tier2": 2}
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class Policy(Protocol):
    name: str

    def priority(self, case: Case, order: tuple[str, ...]) -> tuple:
        """Sort key of a case's waiting work: smaller is served first."""

    def on_signals(self, signals: Mapping[str, float], at: float) -> tuple[Effect, ...]:
        """Decide on the operation-wide level; effects (LevelChanged, Unlocked, ...)."""


_DEFAULT_ORDER = ("tier", "deadline")
_INF = float("inf")


def _deadline(case: Case) -> float:
    best = float("inf")
    for key, due in case.timers.items():
        if key.startswith("sla:") and due < best:
            best = due
    return best


def base_priority(case: Case, order: tuple[str, ...]) -> tuple:
    """The playbook's priority rules: tier, then earliest SLA deadline, and so on."""
    if order == _DEFAULT_ORDER:  # the common rule, without the general loop
        return (TIER_RANK[case.incident.tier], _deadline(case) if case.timers else _INF)
    key: list[float] = []
    for rule in order:
        if rule == "tier":
            key.append(TIER_RANK[case.incident.tier])
        elif rule == "deadline":
            key.append(_deadline(case))
        elif rule == "severity":
            key.append(_SEVERITY_RANK[case.incident.severity])
        else:
            key.append(case.opened)
    return tuple(key)


class Autopilot:
    """The playbook decides: escalated cases first, emergency levels follow the signals."""

    name = "autopilot"

    def __init__(self, emergency: EmergencyRuntime | None) -> None:
        self.emergency = emergency
        self.posture: Posture | None = emergency.start(0.0) if emergency else None

    def priority(self, case: Case, order: tuple[str, ...]) -> tuple:
        if order == _DEFAULT_ORDER:  # the common rule, in one step
            timers = case.timers
            return (-case.level, TIER_RANK[case.incident.tier],
                    _deadline(case) if timers else _INF)
        return (-case.level, *base_priority(case, order))

    def on_signals(self, signals: Mapping[str, float], at: float) -> tuple[Effect, ...]:
        if self.emergency is None or self.posture is None:
            return ()
        self.posture, effects = self.emergency.evaluate(self.posture, signals, at)
        return effects


class Baseline:
    """Only the base procedure: no emergency levels, escalation does not change the order."""

    name = "none"

    def priority(self, case: Case, order: tuple[str, ...]) -> tuple:
        return base_priority(case, order)

    def on_signals(self, signals: Mapping[str, float], at: float) -> tuple[Effect, ...]:
        return ()


def make_policy(name: str, emergency: EmergencyRuntime | None) -> Policy:
    if name == "autopilot":
        return Autopilot(emergency)
    if name == "none":
        return Baseline()
    raise ValueError(f"unknown policy {name!r}: autopilot or none")
