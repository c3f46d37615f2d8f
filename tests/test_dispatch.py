"""Who may take a piece of work: role, playbook `serves`, and skills; and honest books.

Dispatch honours the playbook's pools (a scenario pool named like a playbook pool serves only
that pool's states) and skills (only a pool whose members have the skill takes the work).
Busy time never exceeds on-duty time, on every bundled scenario, in every window.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.model.world import run
from simulation.scenario.loader import bundled_scenarios, load_scenario

PLAYBOOK = """\
name: two-steps
roles:
  tech: {skills: [doors, floors]}
sla: {VIP: {}, tier1: {}, tier2: {}}
lifecycle:
  initial: check
  states:
    check: {work: {role: tech, duration: 30m}, outcomes: {checked: fix}}
    fix: {work: {role: tech, skill: floors, duration: 30m}, outcomes: {fixed: done}}
    done: {final: true}
resources:
  pools:
    fixers: {role: tech, serves: [fix]}
"""


def scenario(extra_pool: str = "") -> str:
    return f"""\
name: dispatch
horizon: 2d
drain: 1d
demand: {{base_rate: 3/h}}
mix:
  job: {{playbook: two-steps.yaml}}
staffing:
  fixers: {{roles: [tech], headcount: 2}}
  generalists: {{roles: [tech], headcount: 2}}
{extra_pool}messages: {{role: null}}
"""


def served_by(tmp: Path, text: str) -> dict[str, set[str]]:
    (tmp / "two-steps.yaml").write_text(PLAYBOOK, encoding="utf-8")
    (tmp / "s.yaml").write_text(text, encoding="utf-8")
    results = run(load_scenario(tmp / "s.yaml"), 3)
    names = results.log.names.items
    assigned = results.log.select("assigned")
    out: dict[str, set[str]] = {}
    for pool, state in zip(assigned["a"].tolist(), assigned["b"].tolist()):
        out.setdefault(names[state], set()).add(names[pool])
    return out


def test_a_pool_named_in_the_playbook_serves_only_its_states(tmp_path: Path) -> None:
    by = served_by(tmp_path, scenario())
    assert by["check"] == {"generalists"}            # fixers serve only `fix`
    assert by["fix"] == {"fixers", "generalists"}


def test_only_pools_with_the_skill_take_the_work(tmp_path: Path) -> None:
    pool = ("  door_team: {roles: [tech], headcount: 3, skills: [doors]}\n")
    by = served_by(tmp_path, scenario(pool))
    assert "door_team" in by["check"]                 # no skill needed
    assert "door_team" not in by["fix"]               # `floors` needed: not theirs


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_busy_time_never_exceeds_on_duty_time(path: Path) -> None:
    loaded = load_scenario(path)
    for seed in (1, 2):
        results = run(loaded, seed)
        for name, pool in results.pools.items():
            total_busy = total_duty = 0.0
            for window, t in pool["windows"].items():
                assert t["busy_minutes"] <= t["on_duty_minutes"] + 1e-6, (name, window, t)
                assert t["on_duty_minutes"] >= t["capacity_minutes"] - 1e-6
                total_busy += t["busy_minutes"]
                total_duty += t["on_duty_minutes"]
            assert total_busy <= total_duty + 1e-6


def test_a_staff_plan_overrides_the_shifts_while_it_lasts(tmp_path: Path) -> None:
    """Plan [2, 0, 3] by the hour, then the shifts (1 round the clock) take over."""
    from simulation.model.world import World

    (tmp_path / "two-steps.yaml").write_text(PLAYBOOK, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(scenario().replace(
        "  generalists: {roles: [tech], headcount: 2}",
        "  generalists: {roles: [tech], headcount: 1, plan: {step: 1h, headcount: [2, 0, 3]}}"),
        encoding="utf-8")
    world = World(load_scenario(tmp_path / "s.yaml"), 1)
    seen = {}
    for at in (30, 90, 150, 210, 2000):
        world.env.timeout(at).callbacks.append(
            lambda _, at=at: seen.__setitem__(at, world.pools["generalists"].scheduled))
    world.advance(2100)
    assert seen == {30: 2, 90: 0, 150: 3, 210: 1, 2000: 1}
