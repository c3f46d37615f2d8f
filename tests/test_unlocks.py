"""Emergency unlocks as written: crews of the size the playbook says, overtime of the length it
says, and leaving a level takes back exactly what that level unlocked.

The levels are moved by hand (the emergency runtime's own effects, fed to the world at set
minutes), so every expected headcount is read off the playbook below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from playbooks.emergency import EmergencyRuntime
from simulation.model.world import World
from simulation.scenario.loader import load_scenario

PLAYBOOK = """\
name: unlocking
roles: {agent: {}}
sla: {VIP: {}, tier1: {}, tier2: {}}
calendar: {name: utc, timezone: UTC, working_hours: "mon-sun 00:00-24:00"}
lifecycle:
  initial: s
  states:
    s: {work: {role: agent, duration: 10m}, outcomes: {done: end}}
    end: {final: true}
emergency:
  levels:
    IV: {enter: {any: [{signal: open_backlog, above: 10}]}, exit: {all: [{signal: open_backlog, below: 5}]}}
    III: {enter: {any: [{signal: open_backlog, above: 20}]}, exit: {all: [{signal: open_backlog, below: 15}]}}
    II: {enter: {any: [{signal: open_backlog, above: 30}]}, exit: {all: [{signal: open_backlog, below: 25}]}}
resources:
  pools: {front: {role: agent, serves: [s]}}
  unlocks:
    - {level: IV, resource: overtime, pool: front, hours_per_day: 2}
    - {level: III, resource: contractors, pool: front, headcount: 3}
    - {level: II, resource: contractors, pool: front, headcount: 8}
    - {level: II, resource: overtime, pool: front}
"""

SCENARIO = """\
name: unlocks
start: 2026-03-02T00:00:00+00:00
horizon: 3d
policy: none
demand: {base_rate: 0}
mix:
  s: {playbook: unlocking.yaml}
staffing:
  desk:
    roles: [agent]
    shifts: [{days: daily, start: "09:00", end: "17:00", headcount: 2}]
    overtime_hours_per_day: 1
  temps:
    roles: [agent]
    contractor: true
    shifts: [{days: daily, start: "00:00", end: "00:00", headcount: 10}]
messages: {role: null}
"""


@pytest.fixture()
def world(tmp_path: Path) -> World:
    (tmp_path / "unlocking.yaml").write_text(PLAYBOOK, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    w = World(load_scenario(tmp_path / "s.yaml"), 1)
    w.begin()
    return w


def test_crews_follow_the_unlocked_headcount_and_go_back_exactly(world: World) -> None:
    em = EmergencyRuntime(world.lead)
    steps = [(60.0, 0, 2), (120.0, 2, 3), (180.0, 3, 2), (240.0, 2, 1), (300.0, 1, 0)]
    seen: dict[float, tuple[int, float]] = {}
    for at, source, target in steps:
        def go(_: object, source: int = source, target: int = target, at: float = at) -> None:
            world.emergency_effects(em.change(source, target, {}, at))

        def look(_: object, at: float = at) -> None:  # a minute later: grants in force
            temps, desk = world.pools["temps"], world.pools["desk"]
            seen[at] = (temps.capacity, desk.overtime_hours)
        world.env.timeout(at).callbacks.append(go)
        world.env.timeout(at + 1).callbacks.append(look)
    world.advance(400.0)
    assert seen[60.0] == (3, 2.0)    # III: 3 contractors (not the 10 of the schedule)
    assert seen[120.0] == (8, 2.0)   # II: the larger crew; II's overtime: desk's own 1 h
    assert seen[180.0] == (3, 2.0)   # back to III: 3 again, IV's 2 h overtime kept
    assert seen[240.0] == (0, 2.0)   # IV: contractors gone, overtime still IV's
    assert seen[300.0] == (0, 0.0)   # normal: nothing left


def test_overtime_lasts_as_long_as_the_unlock_says(world: World) -> None:
    """Unlocked at IV with hours_per_day 2 (the pool's own is 1): at the 17:00 shift end the
    two desk agents stay until 19:00, and those four hours are overtime."""
    em = EmergencyRuntime(world.lead)
    world.env.timeout(600.0).callbacks.append(
        lambda _: world.emergency_effects(em.change(0, 1, {}, 600.0)))
    capacity: dict[float, int] = {}
    for at in (17 * 60 + 1, 18 * 60 + 59, 19 * 60 + 1):
        world.env.timeout(at).callbacks.append(
            lambda _, at=at: capacity.__setitem__(at, world.pools["desk"].capacity))
    world.advance(20 * 60.0)
    assert capacity == {17 * 60 + 1: 2, 18 * 60 + 59: 2, 19 * 60 + 1: 0}
    assert world.pools["desk"].totals()["overtime_minutes"] == pytest.approx(2 * 120.0)


def test_a_delayed_unlock_taken_back_before_it_comes_never_comes(world: World) -> None:
    from playbooks.effects import Revoked, Unlocked

    world.env.timeout(10.0).callbacks.append(lambda _: world.emergency_effects((
        Unlocked("contractors", "III", 100.0, "front", 3, 0.0, 1),)))
    world.env.timeout(50.0).callbacks.append(lambda _: world.emergency_effects((
        Revoked("contractors", "III", "front", 1),)))
    world.advance(200.0)
    assert world.pools["temps"].capacity == 0
    assert world.pools["temps"].totals()["on_duty_minutes"] == 0.0
