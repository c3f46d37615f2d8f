"""Incident conditions (`when:`) compiled once into plain predicates.

The runtime evaluates them on every conditional transition, so they are compiled into small
closures rather than interpreted from the YAML mapping each time.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Callable

from incidents.model import Channel, Incident, Severity, Tier
from playbooks.schema import Condition

__all__ = ["Predicate", "compile_condition"]

Predicate = Callable[[Incident], bool]


_ENUM_FIELDS: dict[str, type[Enum]] = {"tier": Tier, "severity": Severity, "channel": Channel}


def _norm(field: str, value: Any) -> Any:
    """Expected values as the incident holds them: enum members for enum fields."""
    enum = _ENUM_FIELDS.get(field)
    return enum(value) if enum is not None else value


def compile_condition(cond: Condition) -> Predicate | None:
    """A predicate for a validated condition, or None when it matches every incident."""
    if not cond:
        return None
    tests: list[tuple[str, Any]] = []
    for field, expected in cond.items():
        if isinstance(expected, dict):
            tests.append((field, (expected.get("min"), expected.get("max"))))
        else:
            values = expected if isinstance(expected, list) else [expected]
            tests.append((field, frozenset(_norm(field, v) for v in values)))

    def predicate(incident: Incident) -> bool:
        for field, test in tests:
            value = getattr(incident, field)
            if isinstance(test, tuple):
                lo, hi = test
                if (lo is not None and value < lo) or (hi is not None and value > hi):
                    return False
            elif value not in test:
                return False
        return True

    return predicate
