"""Operation-wide emergency levels: up as far as justified, down one step after the hold."""

from __future__ import annotations

import pytest

from playbooks.effects import LevelChanged, MessageOwed, Revoked, Unlocked
from playbooks.emergency import EmergencyRuntime, Posture
from playbooks.errors import InvalidTrigger
from tests.rt_helpers import EPOCH, playbook_from_text

PB = """
name: em
roles: {a: {}}
lifecycle:
  initial: s
  states:
    s: {work: {role: a, duration: 1m}, outcomes: {go: end}}
    end: {final: true}
emergency:
  levels:
    IV:
      label: blue
      enter: {any: [{signal: open_backlog, above: 50}]}
      exit: {all: [{signal: open_backlog, below: 30}]}
      hold: 2h
    III:
      label: yellow
      enter: {any: [{signal: open_backlog, above: 100}, {signal: stock_outs, above: 1}]}
      exit: {all: [{signal: open_backlog, below: 80}, {signal: stock_outs, below: 1}]}
      hold: 4h
    II:
      label: orange
      enter: {all: [{signal: open_backlog, above: 200}, {signal: complaints_24h, above: 10}]}
      exit: {all: [{signal: open_backlog, below: 150}]}
resources:
  pools: {desk: {role: a, serves: [s]}}
  unlocks:
    - {level: IV, resource: overtime, hours_per_day: 2}
    - {level: III, resource: contractors, pool: desk, headcount: 5, delay: 24h}
    - {level: II, resource: parts_transfer, delay: 6h}
communications:
  brief:
    audience: management
    on: {emergency: III}
    deadline: 30m
    template: "Level {level} ({label}): backlog {open_backlog}, stock-outs {stock_outs}"
"""


def signals(backlog: float, stock_outs: float = 0, complaints: float = 0) -> dict[str, float]:
    return {"open_backlog": backlog, "arrivals_per_hour": 0, "sla_breaches_24h": 0,
            "stock_outs": stock_outs, "complaints_24h": complaints, "escalated_cases": 0}


@pytest.fixture(scope="module")
def em() -> EmergencyRuntime:
    return EmergencyRuntime(playbook_from_text(PB), epoch=EPOCH)


def test_quiet_signals_change_nothing(em: EmergencyRuntime) -> None:
    posture = em.start(0.0)
    assert em.evaluate(posture, signals(50), 10.0) == (posture, ())  # 50 is not above 50


def test_jumps_straight_to_the_highest_justified_level(em: EmergencyRuntime) -> None:
    posture, effects = em.evaluate(em.start(0.0), signals(120), 10.0)
    assert em.name(posture) == "III" and posture.since == 10.0
    assert effects[0] == LevelChanged("normal", "III")
    assert Unlocked("overtime", "IV", 10.0, None, 0, 2.0, 0) in effects
    assert Unlocked("contractors", "III", 10.0 + 24 * 60, "desk", 5, 0.0, 1) in effects
    owed = [(m.obligation, m.audience, m.due, m.text) for m in effects
            if isinstance(m, MessageOwed)]
    assert owed == [("brief", "management", 40.0, "Level III (yellow): backlog 120, stock-outs 0")]


def test_all_condition_needs_every_signal(em: EmergencyRuntime) -> None:
    posture = Posture(2, 0.0)
    assert em.evaluate(posture, signals(250, complaints=5), 10.0)[0] == posture
    up, effects = em.evaluate(posture, signals(250, complaints=11), 10.0)
    assert em.name(up) == "II"
    assert Unlocked("parts_transfer", "II", 10.0 + 360, None, 0, 0.0, 2) in effects


def test_steps_down_one_level_only_after_hold_and_exit(em: EmergencyRuntime) -> None:
    posture = Posture(2, 0.0)                                  # III since minute 0, hold 4h
    assert em.evaluate(posture, signals(10), 239.0)[0] == posture      # hold not over
    assert em.evaluate(posture, signals(10, stock_outs=1), 240.0)[0] == posture  # exit fails
    down, effects = em.evaluate(posture, signals(10), 240.0)
    assert em.name(down) == "IV"                               # one step, not to normal
    assert effects == (LevelChanged("III", "IV"), Revoked("contractors", "III", "desk", 1))
    down2, _ = em.evaluate(down, signals(10), 240.0 + 119.0)
    assert down2 == down                                       # IV's own 2h hold
    assert em.name(em.evaluate(down, signals(10), 360.0)[0]) == "normal"


def test_leaving_levels_revokes_exactly_what_they_unlocked(em: EmergencyRuntime) -> None:
    """Each unlock comes back once, from the level that granted it, naming the unlock: the
    one unlocked at IV stays while the operation steps down from II to IV."""
    posture, up = em.evaluate(em.start(0.0), signals(250, complaints=11), 10.0)
    granted = {e.unlock for e in up if isinstance(e, Unlocked)}
    assert granted == {0, 1, 2}
    revoked: list[int] = []
    for at in (10.0 + 1440, 10.0 + 2 * 1440):                  # II -> III -> IV
        posture, effects = em.evaluate(posture, signals(10), at)
        revoked += [e.unlock for e in effects if isinstance(e, Revoked)]
    assert em.name(posture) == "IV" and revoked == [2, 1]      # overtime (IV's) kept
    posture, effects = em.evaluate(posture, signals(10), 10.0 + 3 * 1440)
    assert [e.unlock for e in effects if isinstance(e, Revoked)] == [0]


def test_missing_signal_and_time_travel_are_errors(em: EmergencyRuntime) -> None:
    with pytest.raises(InvalidTrigger, match="stock_outs"):
        em.evaluate(em.start(0.0), {"open_backlog": 60.0}, 1.0)
    with pytest.raises(InvalidTrigger, match="before"):
        em.evaluate(Posture(1, 100.0), signals(0), 50.0)
