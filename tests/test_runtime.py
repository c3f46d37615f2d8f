"""The clock-free runtime: deadlines, milestones, escalation, messages, errors.

Expected times are worked out by hand from the playbook text in each test.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from playbooks.effects import (Arm, Breached, Cancel, Closed, Escalated, MessageOwed,
                               MilestoneMet, Transitioned, WorkRequested)
from playbooks.errors import InvalidTrigger
from playbooks.runtime import Runtime
from tests.rt_helpers import EPOCH, incident, playbook_from_text

BASE = """
name: t
calendar: {timezone: UTC, working_hours: "mon-fri 09:00-17:00"}
sla:
  VIP: {acknowledge: 2h, resolve: 3 working days}
  tier1: {acknowledge: 8h}
  tier2: {acknowledge: 24h}
roles: {agent: {}}
lifecycle:
  initial: new
  events: [route, chase, cancel]
  milestones: {acknowledge: triage, resolve: done}
  states:
    new:
      work: {role: agent, duration: 10m}
      outcomes: {taken: triage}
      on: {cancel: done}
    triage:
      on:
        route:
          - {to: fast, when: {tier: VIP}}
          - {to: slow}
    fast:
      work: {role: agent, duration: 30m}
      outcomes:
        fixed: {to: done, p: 0.8}
        failed: {to: triage, p: 0.2}
    slow:
      on: {chase: done, timeout: done}
      timers: [{after: 2 working days, fire: timeout}]
    done: {final: true}
escalation:
  levels: [front_line, supervisor, regional_centre, headquarters]
  rules:
    vip-late:
      when: {tier: VIP}
      after: 1h
      until: acknowledge
      to: supervisor
    ack-breach: {on_breach: acknowledge, to: next}
    failed-twice: {on_trigger: failed, count: 2, to: headquarters}
communications:
  ack:
    audience: customer
    on: {enter: triage}
    deadline: 30m
    template: "Dear {customer}, case {id} is {state} at level {level}."
  status:
    audience: customer
    on: {enter: fast}
    when: {tier: VIP}
    deadline: 15m
    repeat: {every: 4h, until: done}
    template: "{id}: status {state}"
  hq:
    audience: management
    on: {escalation: headquarters}
    template: "{id} at {level}"
"""


@pytest.fixture(scope="module")
def rt() -> Runtime:
    return Runtime(playbook_from_text(BASE), epoch=EPOCH)


def kinds(effects: tuple, cls: type) -> list:
    return [e for e in effects if isinstance(e, cls)]


def messages(effects: tuple) -> list[tuple[str, str, float, str]]:
    """Owed messages as (obligation, audience, due, rendered text)."""
    return [(m.obligation, m.audience, m.due, m.text) for m in kinds(effects, MessageOwed)]


def test_open_arms_sla_clocks_per_tier(rt: Runtime) -> None:
    step = rt.open(incident(tier="VIP"), at=0.0)
    # VIP: acknowledge 2h -> 120; resolve 3 working days from Mon 00:00 UTC: rolls to Mon 09:00,
    # + 3 working days keeping 09:00 -> Thu 09:00 = 3 days 9 h = 4860 min; escalation after 1h.
    assert dict(step.case.timers) == {"sla:acknowledge": 120.0, "sla:resolve": 4860.0,
                                      "esc:vip-late": 60.0}
    assert step.effects[0] == Transitioned("open", None, "new")
    assert kinds(step.effects, WorkRequested)[0].role == "agent"
    tier2 = rt.open(incident(tier="tier2"), at=5.0)
    assert dict(tier2.case.timers) == {"sla:acknowledge": 5.0 + 24 * 60}


def test_milestone_met_on_time_cancels_clock_and_timed_escalation(rt: Runtime) -> None:
    step = rt.open(incident(tier="VIP"), at=0.0)
    step = rt.fire(step.case, "taken", at=45.0)
    assert step.case.state == "triage"
    assert MilestoneMet("acknowledge", 120.0, True) in step.effects
    assert Cancel("sla:acknowledge") in step.effects and Cancel("esc:vip-late") in step.effects
    assert set(step.case.timers) == {"sla:resolve"}
    assert messages(step.effects) == [("ack", "customer", 75.0,
                                       "Dear , case C1 is triage at level front_line.")]


def test_breach_escalates_and_late_milestone_is_not_on_time(rt: Runtime) -> None:
    step = rt.open(incident(tier="VIP"), at=0.0)
    step = rt.expire(step.case, "esc:vip-late", at=60.0)
    assert Escalated("front_line", "supervisor", "vip-late") in step.effects
    step = rt.expire(step.case, "sla:acknowledge", at=120.0)
    assert Breached("acknowledge", 120.0) in step.effects
    # on_breach goes to `next`: supervisor -> regional_centre.
    assert Escalated("supervisor", "regional_centre", "ack-breach") in step.effects
    step = rt.fire(step.case, "taken", at=130.0)
    assert MilestoneMet("acknowledge", None, False) in step.effects


def test_conditional_route_by_tier(rt: Runtime) -> None:
    vip = rt.fire(rt.fire(rt.open(incident(tier="VIP"), 0.0).case, "taken", 1.0).case, "route", 2.0)
    t2 = rt.fire(rt.fire(rt.open(incident(tier="tier2"), 0.0).case, "taken", 1.0).case, "route", 2.0)
    assert (vip.case.state, t2.case.state) == ("fast", "slow")


def test_state_timer_uses_working_days_and_is_cancelled_on_leaving(rt: Runtime) -> None:
    case = rt.open(incident(tier="tier2"), 0.0).case
    case = rt.fire(case, "taken", 600.0).case          # Mon 10:00
    step = rt.fire(case, "route", 600.0)               # enter slow at Mon 10:00
    # 2 working days from Mon 10:00 keeping the time of day -> Wed 10:00 = 2 days 10 h.
    assert Arm("timer:slow:0", 2 * 1440 + 600.0) in step.effects
    chased = rt.fire(step.case, "chase", 700.0)
    assert Cancel("timer:slow:0") in chased.effects and chased.case.closed
    expired = rt.expire(step.case, "timer:slow:0", 2 * 1440 + 600.0)
    assert Transitioned("timeout", "slow", "done") in expired.effects


def test_repeat_message_until_state_and_final_cancels_everything(rt: Runtime) -> None:
    case = rt.open(incident(tier="VIP", customer="王芳"), 0.0).case
    case = rt.fire(case, "taken", 10.0).case
    step = rt.fire(case, "route", 20.0)
    assert messages(step.effects) == [("status", "customer", 35.0, "C1: status fast")]
    assert step.case.timers["comm:status"] == 20.0 + 240.0
    again = rt.expire(step.case, "comm:status", 260.0)
    assert messages(again.effects) == [("status", "customer", 275.0, "C1: status fast")]
    assert again.case.timers["comm:status"] == 500.0
    done = rt.fire(again.case, "fixed", 300.0)
    assert done.case.closed and not done.case.timers
    assert Cancel("comm:status") in done.effects and Cancel("sla:resolve") in done.effects
    assert done.effects[-1] == Closed("done")


def test_counted_trigger_escalates_once_and_messages_on_level(rt: Runtime) -> None:
    case = rt.fire(rt.open(incident(tier="VIP"), 0.0).case, "taken", 1.0).case
    levels = []
    for i in range(3):
        case = rt.fire(case, "route", 10.0 * i + 2).case
        step = rt.fire(case, "failed", 10.0 * i + 5)
        case = step.case
        levels.append(rt.level_name(case))
        if i == 1:
            assert Escalated("front_line", "headquarters", "failed-twice") in step.effects
            assert ("hq", "management", 10.0 * i + 5 + 60.0, "C1 at headquarters") \
                in messages(step.effects)
    assert levels == ["front_line", "headquarters", "headquarters"]


def test_invalid_triggers_are_errors(rt: Runtime) -> None:
    case = rt.open(incident(), 0.0).case
    with pytest.raises(InvalidTrigger, match="does not accept trigger 'route'"):
        rt.fire(case, "route", 1.0)
    with pytest.raises(InvalidTrigger, match="before its last step"):
        rt.fire(rt.fire(case, "taken", 10.0).case, "route", 5.0)
    with pytest.raises(InvalidTrigger, match="no deadline"):
        rt.expire(case, "sla:resolve", 10.0)
    with pytest.raises(InvalidTrigger, match="due at"):
        rt.expire(case, "sla:acknowledge", 10.0)
    closed = rt.fire(case, "cancel", 2.0).case
    with pytest.raises(InvalidTrigger, match="closed"):
        rt.fire(closed, "taken", 3.0)
    assert rt.triggers(closed) == ()


def test_manual_escalation_only_goes_up(rt: Runtime) -> None:
    case = rt.open(incident(), 0.0).case
    up = rt.escalate(case, "regional_centre", 5.0, reason="coordinator")
    assert up.effects == (Escalated("front_line", "regional_centre", "coordinator"),)
    with pytest.raises(InvalidTrigger, match="only goes up"):
        rt.escalate(up.case, "supervisor", 6.0)
    with pytest.raises(InvalidTrigger, match="unknown escalation level"):
        rt.escalate(case, "boss", 6.0)


def test_cases_are_immutable_values(rt: Runtime) -> None:
    case = rt.open(incident(), 0.0).case
    before = dict(case.timers)
    rt.fire(case, "taken", 1.0)
    assert dict(case.timers) == before and case.state == "new"


def test_chinese_states_triggers_and_templates() -> None:
    pb = playbook_from_text("""
        name: zh
        roles: {客服: {}}
        lifecycle:
          initial: 接待
          milestones: {acknowledge: 登记}
          states:
            接待:
              work: {role: 客服, duration: 5分钟}
              outcomes: {受理: 登记}
            登记:
              work: {role: 客服, duration: 10m}
              outcomes: {完成: 归档}
            归档: {final: true}
        communications:
          告知:
            audience: customer
            on: {enter: 登记}
            template: "尊敬的{customer}，您的工单{id}（{product}）已进入{state}。"
        """)
    rt = Runtime(pb, epoch=EPOCH)
    inc = incident(customer="李娜", product="貂皮大衣")
    step = rt.fire(rt.open(inc, 0.0).case, "受理", 5.0)
    assert step.case.state == "登记"
    assert kinds(step.effects, MessageOwed)[0].text == "尊敬的李娜，您的工单C1（貂皮大衣）已进入登记。"
    assert rt.fire(step.case, "完成", 15.0).case.closed


def test_due_placeholder_renders_in_calendar_zone() -> None:
    pb = playbook_from_text("""
        name: tz
        calendar: {timezone: Asia/Shanghai}
        roles: {a: {}}
        lifecycle:
          initial: s
          states:
            s: {work: {role: a, duration: 1m}, outcomes: {go: end}}
            end: {final: true}
        communications:
          m: {audience: customer, on: {opened: true}, deadline: 90m, template: "by {due}"}
        """)
    rt = Runtime(pb, epoch=datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))
    msg = kinds(rt.open(incident(), 0.0).effects, MessageOwed)[0]
    # 01:00 UTC + 90 min = 02:30 UTC = 10:30 in Shanghai (UTC+8).
    assert msg.text == "by 2026-03-02 10:30"
