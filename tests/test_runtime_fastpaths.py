"""The runtime's fast paths are pure optimisations: with them switched off, every step is the
same (state, timers, milestones, effects, closed).

The fast paths: a move that only requests the next state's work (`Route.plain`), an opening
that arms nothing (`Runtime._open_fixed`), and a move into a final state when the case holds
no deadlines (`Route.closing`). The simulator relies on them for its speed; this checks them
against the general path on random and bundled playbooks and on the textbook queue.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playbooks.loader import library_files, load_playbook
from playbooks.runtime import Runtime
from playbooks.schema import Playbook
from simulation.scenario.loader import queue_playbook
from simulation.scenario.model import Queue
from tests.rt_helpers import EPOCH, incident
from tests.test_runtime_properties import COMMON, TIERS, drive, finish, random_playbooks


def general_only(pb: Playbook) -> Runtime:
    """A runtime of the playbook with every fast path switched off."""
    rt = Runtime(pb, epoch=EPOCH)
    rt._open_fixed = {}
    for plan in rt.plan.states.values():
        plan.routes = {t: tuple(r._replace(plain=False, closing=()) for r in routes)
                       for t, routes in plan.routes.items()}
    return rt


def same_walk(pb: Playbook, actions: list[int], tier: str) -> None:
    fast, slow = Runtime(pb, epoch=EPOCH), general_only(pb)
    fast_steps, fast_ledger = drive(fast, actions, tier)
    slow_steps, slow_ledger = drive(slow, actions, tier)
    assert fast_steps == slow_steps
    assert finish(fast, fast_steps[-1], fast_ledger) == finish(slow, slow_steps[-1], slow_ledger)


@COMMON
@given(pb=random_playbooks(sparse=True), actions=st.lists(st.integers(0, 1000), max_size=40),
       tier=st.sampled_from(TIERS))
def test_fast_paths_equal_general_path_on_random_playbooks(pb, actions, tier) -> None:
    same_walk(pb, actions, tier)


@pytest.mark.parametrize("path", library_files(), ids=lambda p: p.stem)
@COMMON
@given(actions=st.lists(st.integers(0, 1000), max_size=60), tier=st.sampled_from(TIERS))
def test_fast_paths_equal_general_path_on_library_playbooks(path, actions, tier) -> None:
    same_walk(load_playbook(path), actions, tier)


def test_textbook_queue_takes_the_fast_paths_and_matches_the_general_path() -> None:
    pb = queue_playbook(Queue.model_validate({"arrival_rate": 6, "service": "10m",
                                              "servers": 2}))
    fast, slow = Runtime(pb, epoch=EPOCH), general_only(pb)
    for tier in TIERS:
        opened = fast.open(incident(tier=tier), 0.0)
        assert opened.effects is fast._open_fixed[tier]  # nothing computed at opening
        assert opened == slow.open(incident(tier=tier), 0.0)
        done = fast.fire(opened.case, "served", 10.0)
        route = fast.plan.states["service"].routes["served"][0]
        assert done.effects is route.closing and done.case.closed
        assert done == slow.fire(opened.case, "served", 10.0)
