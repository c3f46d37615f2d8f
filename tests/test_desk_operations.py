"""Operations on the live desk (desk/operation): level, roles, updates on cadence, tasks.

Boundaries: an update is owed exactly one cadence after the last; a reminder is written at
due minus its lead time and again when overdue, once each, by whichever desk notices; the
lead cannot be left empty and is handed over only with a summary; two coordinators declaring
a level on the same version: one is refused.
"""

from __future__ import annotations

import pytest

from desk.case import service as cases
from desk.desk import Desk
from desk.errors import Conflict, DeskError
from desk.operation import service as ops

from tests.desk_helpers import (T0, WallClock, caught_up, clock_fixture,  # noqa: F401
                                desk_fixture, open_recall)


def test_a_level_with_its_reason_unlocks_and_owes_messages(desk: Desk) -> None:
    open_recall(desk, 30)
    advice, signals = ops.recommended_level(desk, "R1")
    assert signals["open_backlog"] == 30 and signals["arrivals_per_hour"] == 30
    assert advice == "III"  # more than 25 arrivals an hour
    ops.declare_level(desk, "R1", "III", "召回公告后来电激增")
    op = desk.model.operation("R1")
    assert op.level_label == "III (黄色)"
    assert {(g.resource, g.pool) for g in op.grants.values()} == \
        {("overtime", "客服组"), ("overtime", "现场技术组"), ("contractors", "现场技术组")}
    assert [(o.obligation, o.audience) for o in op.owed] == [("管理层简报", "management")]
    assert "积压30件" in op.owed[0].text
    ops.declare_level(desk, "R1", "IV", "来电回落")
    assert {g.resource for g in desk.model.operation("R1").grants.values()} == {"overtime"}
    assert [line[3] for line in desk.model.operation("R1").levels] == \
        ["召回公告后来电激增", "来电回落"]
    with pytest.raises(DeskError, match="already at level IV"):
        ops.declare_level(desk, "R1", "IV", "x")
    with pytest.raises(DeskError, match="unknown emergency level 'V'; levels of "
                                        "defective-batch-recall: normal, IV, III, II, I"):
        ops.declare_level(desk, "R1", "V", "x")
    with pytest.raises(DeskError, match="reason: String should have at least 1"):
        ops.declare_level(desk, "R1", "II", "  ")


def test_the_lead_is_always_named_and_handed_over_with_a_summary(desk: Desk,
                                                                 clock: WallClock) -> None:
    open_recall(desk, 2)
    assert desk.model.operation("R1").lead == "王芳"
    with pytest.raises(DeskError, match="the incident lead is always named"):
        ops.take_role(desk, "R1", "lead", "")
    with pytest.raises(DeskError, match="needs a summary"):
        ops.take_role(desk, "R1", "lead", "李强")
    ops.take_role(desk, "R1", "scribe", "张伟")
    clock.advance(hours=8)
    done = ops.take_role(desk, "R1", "lead", "李强", "VIP 回电 3 件未完成；仓库调拨待确认")
    assert done.message == "operation R1: incident lead handed over from 王芳 to 李强"
    op = desk.model.operation("R1")
    assert op.lead == "李强"
    old, new = [h for h in op.role_history if h.role == "lead"]
    assert (old.person, old.until) == ("王芳", new.since) and new.until is None
    assert new.summary == "VIP 回电 3 件未完成；仓库调拨待确认"
    ops.take_role(desk, "R1", "scribe", "")
    assert "scribe" not in desk.model.operation("R1").roles
    assert desk.model.timeline[-1].text == "scribe left empty"


def test_updates_are_owed_on_the_cadence(desk: Desk, clock: WallClock) -> None:
    open_recall(desk, 2)
    op = desk.model.operation("R1")
    assert op.update_due("tactical") == op.opened_at + 120  # from the start
    assert op.update_due("management") is None  # only above normal
    ops.declare_level(desk, "R1", "III", "来电激增")
    raised = desk.model.operation("R1").level_since
    assert desk.model.operation("R1").update_due("management") == raised + 240
    clock.advance(minutes=30)
    done = ops.update(desk, "R1", "management", text="积压 2 件")
    op = desk.model.operation("R1")
    assert op.owed == [] and op.updates[-1].due == raised + 120  # the brief the level owed
    assert op.update_due("management") == op.updates[-1].at + 240
    assert done.message == "operation R1: management brief sent"
    tactical = op.update_due("tactical")
    clock.now = T0 + (clock.now - T0) + __import__("datetime").timedelta(
        minutes=tactical - desk.minute())
    ops.update(desk, "R1", "tactical", conditions="积压", actions="加班", needs="技术员 6 人")
    assert desk.model.timeline[-1].text == "tactical update: conditions, actions, needs sent"
    clock.advance(minutes=1)
    ops.update(desk, "R1", "tactical", conditions="仍积压")
    assert desk.model.timeline[-1].text.endswith("sent")  # one a minute later is not late
    with pytest.raises(DeskError, match="a status update says something"):
        ops.update(desk, "R1", "public")
    draft = ops.update_draft(desk, "R1", "tactical")
    assert draft["conditions"].startswith("批次 B2026-0117 召回: emergency level III (黄色); "
                                          "2 cases open")


def test_task_reminders_are_written_once_at_their_times(live_url: str,
                                                        clock: WallClock) -> None:
    path = live_url
    with Desk.open(path, operator="王芳", clock=clock) as one, \
            Desk.open(path, operator="李强", clock=clock) as two:
        open_recall(one, 2)
        task = ops.add_task(one, "R1", "联系仓库调拨替换板", "李强", due="60m", remind="15m")
        assert task.subject == "T2"
        two.refresh()
        clock.advance(minutes=44)
        assert one.tick() + two.tick() == 0  # 16 minutes before: not yet
        clock.advance(minutes=1, seconds=1)
        assert one.tick() + two.tick() == 1  # 15 minutes before, written once
        clock.advance(minutes=15)
        assert two.tick() + one.tick() == 1  # overdue
        assert one.tick() + two.tick() == 0
        one.refresh()
        lines = [e.text for e in one.model.timeline if e.kind == "reminded"]
        assert lines == ["reminder: task T2 (李强) is due soon",
                         "reminder: task T2 (李强) is overdue"]
        ops.task_owner(two, "R1", "T2", "张伟")
        caught_up(one)  # the new owner seen (on PostgreSQL a moment after the commit)
        assert one.tick() == 2  # the new owner is reminded too
        ops.task_done(one, "R1", "T2", "已调拨 2000 块")
        with pytest.raises(DeskError, match="task T2 is already done"):
            ops.task_done(two, "R1", "T2")
        with pytest.raises(DeskError, match="no task 'T9'"):
            ops.task_owner(one, "R1", "T9", "x")


def test_two_coordinators_declaring_a_level_at_once(live_url: str, clock: WallClock) -> None:
    path = live_url
    with Desk.open(path, operator="王芳", clock=clock) as one, \
            Desk.open(path, operator="李强", clock=clock) as two:
        open_recall(one, 2)
        two.refresh()
        seen = two.model.operation("R1").version
        ops.declare_level(one, "R1", "IV", "召回公告")
        with pytest.raises(Conflict, match="operation R1 changed meanwhile"):
            ops.declare_level(two, "R1", "III", "来电激增", expected=seen)
        assert two.model.operation("R1").level_name == "IV"  # it sees what won, then decides
        ops.declare_level(two, "R1", "III", "来电激增")
        ops.note(one, "R1", "李强已升至 III 级")  # notes never conflict
        one.refresh()
        assert one.model.operation("R1").level_name == "III"


def test_a_closed_operation_refuses_changes(desk: Desk) -> None:
    ids = open_recall(desk, 3)
    done = ops.close(desk, "R1", "召回完成")
    assert done.message == "operation R1: closed (3 of its cases still open)"
    for call in (lambda: ops.declare_level(desk, "R1", "IV", "x"),
                 lambda: ops.note(desk, "R1", "x"),
                 lambda: cases.open_cases(desk, [], operation="R1")):
        with pytest.raises(DeskError, match="operation R1 is closed"):
            call()
    assert cases.ack(desk, ids[0]).written == 1  # its cases go on
    assert desk.model.due_next(operation="R1")[0].kind in ("sla", "message")
    with pytest.raises(DeskError, match="no operation 'R2'"):
        ops.note(desk, "R2", "x")


def test_due_next_is_soonest_first_across_cases_and_operation(desk: Desk,
                                                              clock: WallClock) -> None:
    open_recall(desk, 20)
    ops.add_task(desk, "R1", "核对批次清单", "张伟", due="30m")
    due = desk.model.due_next()
    assert [d.due for d in due] == sorted(d.due for d in due)
    assert (due[0].kind, due[0].owner) == ("task", "张伟")  # due in 30 minutes
    assert next(d for d in due if d.kind == "message").tier == "VIP"  # VIP专线回电 (2 h)
    assert {d.kind for d in due} == {"message", "sla", "escalation", "update", "task"}
    clock.advance(hours=3)
    desk.tick()
    overdue = desk.model.due_next()[0]
    assert overdue.due < desk.minute()
