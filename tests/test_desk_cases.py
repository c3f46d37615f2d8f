"""Cases on the live desk (desk/case): the playbook's rules on a clock the test moves.

Each rule is tested at its boundary and broken once: an acknowledgement exactly at its SLA
deadline is on time and a minute later is late (the breach written first); a decision on a
stale version is refused with nothing written; a key used twice is applied once; a deadline
two desks notice together is written once.
"""

from __future__ import annotations

from datetime import timedelta
import pytest

from desk.case import service as cases
from desk.desk import Desk
from desk.errors import Conflict, DeskError
from desk.projection import Changes
from incidents.model import Incident

from tests.desk_helpers import (T0, WallClock, caught_up, clock_fixture,  # noqa: F401
                                desk_fixture, events_of, open_recall, recall)


def _vip(desk: Desk, case_id: str = "VIP-1") -> str:
    cases.open_case(desk, Incident(id=case_id, kind="recall", tier="VIP", customer="赵女士",
                                   batch="B2026-0117", opened_at=desk.now()))
    return case_id


def test_a_case_is_bound_to_its_playbook_with_sla_clocks(desk: Desk) -> None:
    _vip(desk)
    view = desk.model.case("VIP-1")
    assert (view.book.name, view.state, view.level) == ("defective-batch-recall", "接待", "一线")
    due = dict(view.case.timers)
    opened = view.opened
    assert due["sla:acknowledge"] == opened + 120  # VIP: 2 hours, wall clock
    assert due["sla:initial_plan"] == opened + 24 * 60
    # 5 working days on the playbook's calendar: its weekends are working days (09:00-17:00),
    # its public holidays are not (Qingming, Monday 2026-04-06).
    assert due["sla:resolve"] == opened + 5 * 1440
    _vip(desk, "VIP-2")
    friday = T0.replace(month=4, day=3)
    cases.open_case(desk, Incident(id="VIP-3", kind="recall", tier="VIP", opened_at=friday))
    holiday = desk.model.case("VIP-3")
    assert holiday.case.timers["sla:resolve"] == holiday.opened + 6 * 1440
    assert [o.obligation for o in view.owed] == ["VIP专线回电"]
    assert "赵女士" in view.owed[0].text


@pytest.mark.parametrize("late_by, on_time", [(0, True), (1, False)])
def test_an_acknowledgement_at_its_deadline_is_on_time_a_minute_later_late(
        desk: Desk, clock: WallClock, late_by: int, on_time: bool) -> None:
    _vip(desk)
    clock.advance(hours=2, minutes=late_by)
    done = cases.ack(desk, "VIP-1")
    assert done.message == "VIP-1: acknowledged" + ("" if on_time else " (late)") + \
        ": 受理 (接待 → 登记)"
    view = desk.model.case("VIP-1")
    assert view.met["acknowledge"].on_time is on_time
    kinds = [k for k, _ in events_of(desk, "VIP-1")]
    if on_time:
        assert kinds == ["fired"] and view.level == "一线"
    else:  # the deadlines that passed are written first, by the clock's rules
        assert kinds == ["expired", "expired", "fired"]
        assert view.breaches == {"acknowledge": view.opened + 120}
        assert view.level == "主管"  # VIP未及时响应


def test_refusals_name_the_case_and_write_nothing(desk: Desk) -> None:
    open_recall(desk, 3)
    cases.resolve(desk, "RC-0000", "已更换")
    before = desk.store.position()
    where = str(desk.where)
    for call, message in [
        (lambda: cases.ack(desk, "RC-0000"), f"{where}: error: case RC-0000 is closed (归档 at "
                                             "2026-03-02 10:00); nothing changed"),
        (lambda: cases.note(desk, "RC-0000", "x"), "case RC-0000 is closed"),
        (lambda: cases.ack(desk, "RC-9999"), f"{where}: error: no case 'RC-9999' on this desk"),
        (lambda: cases.fire(desk, "RC-0001", "满意"),
         "case RC-0001: state '接待' does not accept trigger '满意' (it accepts: 受理, 撤销)"),
        (lambda: cases.escalate(desk, "RC-0001", "区域中心"), "unknown escalation level"),
        (lambda: cases.assign(desk, "RC-0001", ""), "case RC-0001 is already unassigned"),
        (lambda: cases.send(desk, "RC-0001", "公开声明"), "case RC-0001 owes no message "
                                                          "'公开声明'"),
        (lambda: cases.note(desk, "RC-0001", ""), "text: String should have at least 1"),
        (lambda: cases.ack(desk, "RC-0001", expected=1) and cases.ack(desk, "RC-0001"),
         "case RC-0001 is already acknowledged at 2026-03-02 10:00"),
    ]:
        with pytest.raises(DeskError) as info:
            call()
        assert message in str(info.value), str(info.value)
        assert len(str(info.value).splitlines()) == 1
    assert desk.store.position() == before + 1  # only the one good acknowledgement


def test_a_decision_on_a_stale_version_is_refused(desk: Desk) -> None:
    open_recall(desk, 2)
    seen = desk.model.case("RC-0001").version
    cases.assign(desk, "RC-0001", "李强")
    before = desk.store.position()
    with pytest.raises(Conflict, match=r"case RC-0001 changed meanwhile \(it is at version 2, "
                                       r"the action was decided on version 1\)"):
        cases.escalate(desk, "RC-0001", expected=seen)
    assert desk.store.position() == before
    assert cases.escalate(desk, "RC-0001", expected=seen + 1).written == 1


def test_the_same_key_is_applied_once(desk: Desk) -> None:
    open_recall(desk, 2)
    first = cases.ack(desk, "RC-0001", key="王芳:ack:77")
    again = cases.ack(desk, "RC-0001", key="王芳:ack:77", expected=1)  # a retry, as decided
    assert (first.written, first.repeated) == (1, False)
    assert again.repeated and "already done" in again.message
    assert [k for k, _ in events_of(desk, "RC-0001")] == ["fired"]
    first_open = cases.open_case(desk, recall(1, batch="B9")[0].model_copy(update={"id": "X-1"}),
                                 key="crm-import-7")
    retry = cases.open_case(desk, recall(1, batch="B9")[0].model_copy(update={"id": "X-1"}),
                            key="crm-import-7")
    assert (first_open.written, retry.repeated) == (1, True)
    note = cases.note(desk, "RC-0001", "客户已确认", key="n1")
    assert cases.note(desk, "RC-0001", "客户已确认", key="n1").repeated and note.written == 1


def test_resolve_takes_the_most_likely_path_never_the_withdrawal(desk: Desk) -> None:
    open_recall(desk, 2)
    done = cases.resolve(desk, "RC-0001", "更换完成，客户满意")
    assert done.message == "RC-0001: resolved via 受理 › 批次确认 › 确认变形 › 同意更换 › " \
                           "更换完成 › 满意"
    view = desk.model.case("RC-0001")
    assert view.closed and view.state == "归档" and view.case.timers == {}
    assert set(view.met) == {"acknowledge", "initial_plan", "resolve"}
    assert view.resolution == "更换完成，客户满意"


def test_deadlines_are_written_once_by_two_desks(live_url: str, clock: WallClock) -> None:
    path = live_url
    with Desk.open(path, operator="王芳", clock=clock) as one, \
            Desk.open(path, operator="李强", clock=clock) as two:
        open_recall(one, 10)
        two.refresh()
        clock.advance(hours=2, minutes=1)  # past the VIP acknowledgement deadline
        written = one.tick() + two.tick()
        one.refresh()
        assert written == 2  # the VIP case's SLA clock and its escalation rule, once
        expired = [p["deadline"] for k, p in events_of(one, "RC-0000") if k == "expired"]
        assert expired == ["esc:VIP未及时响应", "sla:acknowledge"]
        assert one.model.case("RC-0000").level == two.model.case("RC-0000").level == "主管"
        assert one.tick() == two.tick() == 0


def test_two_desks_see_the_same_cases(live_url: str, clock: WallClock) -> None:
    path = live_url
    with Desk.open(path, operator="王芳", clock=clock) as one, \
            Desk.open(path, operator="李强", clock=clock) as two:
        ids = open_recall(one, 30)
        assert not two.model.cases and two.poll() and len(two.model.cases) == 30
        cases.ack(two, ids[3])
        cases.assign(two, ids[4], "李强")
        assert caught_up(one).cases == {ids[3], ids[4]}
        assert not one.poll()
        for case_id in ids:
            a, b = one.model.case(case_id), two.model.case(case_id)
            assert (a.version, a.case, a.owner) == (b.version, b.case, b.owner)
        assert [e.actor for e in one.model.timeline[-2:]] == ["李强", "李强"]


def test_bulk_escalation_skips_what_it_does_not_apply_to(desk: Desk) -> None:
    ids = open_recall(desk, 12)
    cases.resolve(desk, ids[0])
    cases.escalate(desk, ids[1], "总部")
    result = cases.bulk(desk, ids, "escalate", reason="批次召回升级")
    assert len(result.done) == 10 and result.written == 10
    assert [c for c, _ in result.skipped] == [ids[0], ids[1]]
    assert "at the top level" in result.skipped[1][1]
    assert {desk.model.case(c).level for c in result.done} == {"主管"}
    sent = cases.bulk(desk, ids, "send", obligation="主管接手")  # 总部 passed 主管 too
    assert sent.done == ids[1:] and [c for c, _ in sent.skipped] == [ids[0]]
    assert not any(o.obligation == "主管接手" for c in ids for o in desk.model.case(c).owed)
    assert cases.bulk(desk, ids, "send", obligation="主管接手").done == []


def test_a_bulk_action_is_all_or_nothing_on_disk(live_url: str, clock: WallClock) -> None:
    path = live_url
    with Desk.open(path, operator="王芳", clock=clock) as one, \
            Desk.open(path, operator="李强", clock=clock) as two:
        ids = open_recall(one, 8)
        two.refresh()
        looks = two.poll
        two.poll = Changes  # type: ignore[method-assign]  # the instant between look and write
        cases.assign(one, ids[5], "王芳")
        before = one.store.position()
        with pytest.raises(Conflict, match=f"case {ids[5]} changed meanwhile"):
            cases.bulk(two, ids, "assign", owner="李强")
        assert one.store.position() == before
        assert two.model.case(ids[5]).owner == "王芳"  # refused, it shows what changed
        two.poll = looks  # type: ignore[method-assign]
        assert cases.bulk(two, ids, "assign", owner="李强").written == 8  # decided again


def test_chinese_names_everywhere(desk: Desk) -> None:
    cases.open_case(desk, Incident(id="召回-华东-001", kind="recall", customer="王芳",
                                   region="华东", batch="批次一", opened_at=desk.now()))
    cases.assign(desk, "召回-华东-001", "李强")
    cases.note(desk, "召回-华东-001", "客户要求周末上门：电话 138")
    view = desk.model.case("召回-华东-001")
    assert view.owner == "李强" and view.notes[0][2] == "客户要求周末上门：电话 138"
    assert desk.model.timeline[-1].text == "note: 客户要求周末上门：电话 138"


def test_a_case_id_too_long_or_odd_is_refused(desk: Desk) -> None:
    for bad in ("x" * 81, "a\tb"):
        with pytest.raises(DeskError, match="case id"):
            cases.open_case(desk, Incident(id=bad, kind="recall", opened_at=T0))
    with pytest.raises(DeskError, match="already on the desk"):
        cases.open_cases(desk, recall(2) + recall(1))


def test_clock_moves_but_runtime_time_never_goes_back(desk: Desk, clock: WallClock) -> None:
    ids = open_recall(desk, 3)
    cases.ack(desk, ids[1])
    clock.advance(minutes=-30)  # a clock set back: the step is taken at the case's last time
    done = cases.fire(desk, ids[1], "批次确认")
    assert done.written == 1 and desk.model.case(ids[1]).state == "检测"
    assert clock.now - timedelta(minutes=1) < T0
