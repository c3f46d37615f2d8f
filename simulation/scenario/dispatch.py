"""Who may do a piece of work: the rule dispatch follows and the checks enforce.

A scenario pool may do the work of a playbook state when it fills the work's role, its
members have the work's skill (a pool's `skills`, or by default every skill its roles list in
the mix's playbooks), and, if the playbook has a pool of the same name, that pool `serves`
the state. The simulator queues work by these eligible pools (model/work.py); the scenario
checks refuse work that no pool may do (checks.py).
"""

from __future__ import annotations

from typing import Mapping

from playbooks.schema import Playbook
from simulation.scenario.model import PoolSpec

__all__ = ["pool_skills", "eligible_pools"]


def pool_skills(name: str, spec: PoolSpec, playbooks: Mapping[str, Playbook]) -> frozenset[str]:
    """The skills of a pool's members: its own `skills`, or every skill its roles have in
    the mix's playbooks."""
    if spec.skills is not None:
        return frozenset(spec.skills)
    skills: set[str] = set()
    for pb in playbooks.values():
        for role in spec.roles:
            if role in pb.roles:
                skills.update(pb.roles[role].skills)
    return frozenset(skills)


def eligible_pools(playbook: Playbook, state: str, role: str, skill: str | None,
                   staffing: Mapping[str, PoolSpec],
                   playbooks: Mapping[str, Playbook]) -> list[str]:
    """Names of the scenario pools that may do the work of `state` (in staffing order)."""
    out = []
    for name, spec in staffing.items():
        if role not in spec.roles:
            continue
        if skill is not None and skill not in pool_skills(name, spec, playbooks):
            continue
        served = playbook.resources.pools.get(name)
        if served is not None and state not in served.serves:
            continue
        out.append(name)
    return out
