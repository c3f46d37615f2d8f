"""Decision policies: who decides what the playbook leaves open.

The model asks its policy two things: in which order waiting work is served, and what to do
when the operation-wide signals are measured (raise or lower the emergency level, and so
unlock overtime, contractors, parts transfers). `Autopilot` lets the playbook decide; `Baseline`
runs only the base procedure (no emergency levels, no escalation boost), which is the
counterfactual a drill is scored against. A drill plugs a team in through the same interface.
"""

from __future__ import annotations

from typing import Callable, Mapping, Protocol

from incidents.model import MILESTONES
from playbooks.effects import Effect
from playbooks.emergency import EmergencyRuntime, Posture
from playbooks.runtime import Case

__all__ = ["Policy", "Autopilot", "Baseline", "make_policy", "TIER_RANK"]

TIER_RANK = {"VIP": 0, "tier1": 1, "tier2": 2}
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class Policy(Protocol):
    name: str
    routine_operation_messages: bool
    """Whether the messages an emergency level makes owed (to management, the public) are
    written by the front line as routine (True), or left to a team that sends them."""

    def priority(self, order: tuple[str, ...]) -> Callable[[Case], tuple]:
        """The sort key of waiting work under the playbook's `order`: smaller is served
        first. Asked once per playbook; the key is then called for every queued job."""

    def on_signals(self, signals: Mapping[str, float], at: float) -> tuple[Effect, ...]:
        """Decide on the operation-wide level; effects (LevelChanged, Unlocked, ...)."""


_INF = float("inf")
_SLA_KEYS = frozenset(f"sla:{ms}" for ms in MILESTONES)
"""The runtime's deadline keys of SLA clocks (`Runtime`: "sla:" + milestone)."""


def _deadline(case: Case) -> float:
    """The earliest SLA deadline the case still has armed (infinity: none)."""
    best = _INF
    for key, due in case.timers.items():
        if due < best and key in _SLA_KEYS:
            best = due
    return best


def _tier(case: Case) -> float:
    return TIER_RANK[case.incident.tier]


def _severity(case: Case) -> float:
    return _SEVERITY_RANK[case.incident.severity]


def _opened(case: Case) -> float:
    return case.opened


_RULES: dict[str, Callable[[Case], float]] = {"tier": _tier, "deadline": _deadline,
                                               "severity": _severity, "opened": _opened}


def base_priority(order: tuple[str, ...], by_level: bool = False) -> Callable[[Case], tuple]:
    """The playbook's priority rules (tier, earliest SLA deadline, severity, opened) as one
    key function; with `by_level`, escalated cases come first. The key is called for every
    job that has to wait, so it is built for its number of rules (no list per call); the
    two most common orders are written out in full."""
    if order == ("tier", "deadline"):
        if by_level:
            return lambda c: (-c.level, TIER_RANK[c.incident.tier], _deadline(c))
        return lambda c: (TIER_RANK[c.incident.tier], _deadline(c))
    if order == ("opened",):
        return (lambda c: (-c.level, c.opened)) if by_level else (lambda c: (c.opened,))
    rules = [_RULES[r] for r in order]
    if len(rules) == 1:
        (a,) = rules
        return (lambda c: (-c.level, a(c))) if by_level else (lambda c: (a(c),))
    if len(rules) == 2:
        a, b = rules
        return (lambda c: (-c.level, a(c), b(c))) if by_level else (lambda c: (a(c), b(c)))
    if len(rules) == 3:
        a, b, d = rules
        if by_level:
            return lambda c: (-c.level, a(c), b(c), d(c))
        return lambda c: (a(c), b(c), d(c))
    if by_level:
        return lambda c: (-c.level, *[rule(c) for rule in rules])
    return lambda c: tuple(rule(c) for rule in rules)


class Autopilot:
    """The playbook decides: escalated cases first, emergency levels follow the signals."""

    name = "autopilot"
    routine_operation_messages = True

    def __init__(self, emergency: EmergencyRuntime | None) -> None:
        self.emergency = emergency
        self.posture: Posture | None = emergency.start(0.0) if emergency else None

    def priority(self, order: tuple[str, ...]) -> Callable[[Case], tuple]:
        return base_priority(order, by_level=True)

    def on_signals(self, signals: Mapping[str, float], at: float) -> tuple[Effect, ...]:
        if self.emergency is None or self.posture is None:
            return ()
        self.posture, effects = self.emergency.evaluate(self.posture, signals, at)
        return effects


class Baseline:
    """Only the base procedure: no emergency levels, escalation does not change the order."""

    name = "none"
    routine_operation_messages = True

    def priority(self, order: tuple[str, ...]) -> Callable[[Case], tuple]:
        return base_priority(order)

    def on_signals(self, signals: Mapping[str, float], at: float) -> tuple[Effect, ...]:
        return ()


def make_policy(name: str, emergency: EmergencyRuntime | None) -> Policy:
    if name == "autopilot":
        return Autopilot(emergency)
    if name == "none":
        return Baseline()
    raise ValueError(f"unknown policy {name!r}: autopilot or none")
