"""The closed loop through the services: each test states one rule of the domain."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import T0, World
from loopdesk.core.errors import ConflictError, InvalidTransition, PermissionDeniedError, ValidationFailed
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import CallbackVerdict, ContactType, EventKind, LinkKind, RejectReason, Status
from loopdesk.tickets.models import Ticket, TicketEvent, TicketLink
from loopdesk.tickets.policy import allowed_actions

H = dt.timedelta(hours=1)


def create(world: World, user: str = "agent", at: dt.datetime = T0, **kwargs) -> Ticket:
    return s.do_create_ticket(acting_user=world.user(user), now=at, **world.ticket_kwargs(**kwargs))


def kinds(ticket: Ticket) -> list[str]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("seq").values_list("kind", flat=True))


def test_create_makes_the_agent_first_responder_and_numbers_by_region_and_day(world: World) -> None:
    first = create(world)
    second = create(world, at=T0 + H)
    assert re.fullmatch(r"JM-20261102-\d{6}", first.number)
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1
    assert first.first_responder == world.users["agent"]
    assert first.first_responder_unit == world.units["call"]
    assert first.status == Status.NEW and first.handler_unit == world.units["call"]
    assert kinds(first) == [EventKind.CREATE]
    assert AuditLog.objects.filter(action="ticket.create", object_id=str(first.pk)).count() == 1


def test_whole_loop_create_dispatch_accept_reply_answer_callback_close(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    assert t.status == Status.DISPATCHED
    assert t.handler_unit == world.units["netmaint"]  # routed: 基础通信 → 网络维护中心
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    assert t.status == Status.IN_PROGRESS and t.handler_user == world.users["specialist"]
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已调整天线", now=T0 + 5 * H)
    assert t.status == Status.REPLIED
    assert (t.handler_unit, t.handler_user) == (world.units["call"], world.users["agent"])
    t = s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已为您处理", now=T0 + 6 * H)
    t = s.do_callback(acting_user=world.user("agent2"), ticket=t, verdict=CallbackVerdict.SATISFIED, now=T0 + 7 * H)
    t = s.do_close_ticket(acting_user=world.user("agent"), ticket=t, now=T0 + 8 * H)
    assert t.status == Status.CLOSED and not t.is_open and t.closed_at == T0 + 8 * H
    assert t.first_responder == world.users["agent"]
    assert not t.is_overtime
    assert kinds(t) == ["create", "dispatch", "accept", "reply", "answer", "callback", "close"]
    fresh = Ticket.objects.get(pk=t.pk)
    assert fresh.version == t.version == 7 and fresh.status == Status.CLOSED
    # One audit record per action, in order, each by the user who acted and at the time of the action.
    audit = list(AuditLog.objects.filter(object_type="tickets.ticket", object_id=str(t.pk)).order_by("created_at", "id")
                 .values_list("action", "actor__username", "created_at"))
    assert audit == [
        ("ticket.create", "agent", T0), ("ticket.dispatch", "agent", T0), ("ticket.accept", "specialist", T0 + H),
        ("ticket.reply", "specialist", T0 + 5 * H), ("ticket.answer", "agent", T0 + 6 * H),
        ("ticket.callback", "agent2", T0 + 7 * H), ("ticket.close", "agent", T0 + 8 * H),
    ]


def test_first_contact_resolution_answers_without_dispatch_but_needs_the_resolution(world: World) -> None:
    t = create(world, contact_type=ContactType.CONSULTATION)
    with pytest.raises(ValidationFailed) as err:
        s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已告知", now=T0 + H)
    assert err.value.field == "resolution"
    t = s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已告知", resolution="查询套餐",
                             now=T0 + H)
    assert t.status == Status.ANSWERED and t.dispatch_count == 0


def test_invalid_action_names_the_current_state_and_what_is_allowed(world: World) -> None:
    t = create(world)
    with pytest.raises(InvalidTransition) as err:
        s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="x", now=T0 + H)
    assert "Registered" in err.value.message or "已受理" in err.value.message
    assert err.value.params["status"] == Status.NEW
    # The caller's own allowed actions (policy.allowed_actions), not every action of the status: the specialist
    # may not dispatch, reject or answer a registered work order (each of them a 403).
    assert err.value.params["allowed_actions"] == [] and "Dispatch" not in err.value.message
    assert Ticket.objects.get(pk=t.pk).version == t.version
    with pytest.raises(InvalidTransition) as err:
        s.do_close_ticket(acting_user=world.user("agent"), ticket=t, now=T0 + H)
    assert err.value.params["allowed_actions"] == allowed_actions(world.user("agent"), t)
    assert "dispatch" in err.value.params["allowed_actions"]
    with translation.override("en"), pytest.raises(InvalidTransition) as err:
        s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="x", now=T0 + H)
    assert err.value.message.endswith("Possible now: none.")


def test_stale_version_is_a_conflict_and_changes_nothing(world: World) -> None:
    t = create(world)
    seen_by_b = Ticket.objects.get(pk=t.pk)
    s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units["netmaint"], now=T0 + H)
    with pytest.raises(ConflictError):
        s.do_withdraw_ticket(acting_user=world.user("agent2"), ticket=seen_by_b, reason="客户撤诉", now=T0 + H)
    fresh = Ticket.objects.get(pk=t.pk)
    assert fresh.status == Status.DISPATCHED
    assert kinds(fresh) == ["create", "dispatch"]


def test_return_requires_a_reason_and_goes_back_to_the_dispatching_unit(world: World) -> None:
    t = create(world, user="dispatcher")
    t = s.do_dispatch_ticket(acting_user=world.user("dispatcher"), ticket=t, to_unit=world.units["it"], now=T0 + H)
    with pytest.raises(ValidationFailed) as err:
        s.do_return_ticket(acting_user=world.user("it_specialist"), ticket=t, reason="  ", now=T0 + 2 * H)
    assert err.value.field == "reason"
    assert Ticket.objects.get(pk=t.pk).status == Status.DISPATCHED
    t = s.do_return_ticket(acting_user=world.user("it_specialist"), ticket=t, reason="非计费问题", now=T0 + 2 * H)
    assert t.status == Status.RETURNED and t.handler_unit == world.units["l2"] and t.return_count == 1


def test_specialist_of_another_unit_may_not_accept(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    with pytest.raises(PermissionDeniedError):
        s.do_accept_ticket(acting_user=world.user("it_specialist"), ticket=t, now=T0 + H)
    with pytest.raises(PermissionDeniedError):
        s.do_accept_ticket(acting_user=world.user("auditor"), ticket=t, now=T0 + H)


def test_reply_after_48h_marks_overtime_and_after_72h_problem(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    assert t.overtime_at == T0 + 48 * H and t.problem_at == T0 + 72 * H
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + 49 * H)
    assert t.is_overtime and not t.is_problem
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="ok", now=T0 + 73 * H)
    assert t.is_overtime and t.is_problem
    assert kinds(t).count(EventKind.OVERTIME) == 1 and kinds(t).count(EventKind.PROBLEM) == 1


def test_waiting_for_information_pauses_every_clock(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    t = s.do_request_info(acting_user=world.user("specialist"), ticket=t, question="具体楼层？", now=T0 + 2 * H)
    assert t.sla_paused and t.status == Status.PENDING_INFO
    t = s.do_provide_info(acting_user=world.user("agent"), ticket=t, info="18楼", now=T0 + 12 * H)
    assert not t.sla_paused
    assert t.overtime_at == T0 + 58 * H  # 48 h + the 10 h pause
    assert t.hop_due_at == T0 + 58 * H
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="ok", now=T0 + 55 * H)
    assert not t.is_overtime


def test_suspension_needs_the_department_head(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    t = s.do_request_hold(acting_user=world.user("specialist"), ticket=t, reason="待建基站", now=T0 + 2 * H)
    assert t.status == Status.HOLD_REQUESTED and not t.sla_paused
    with pytest.raises(PermissionDeniedError):
        s.do_approve_hold(acting_user=world.user("specialist2"), ticket=t, now=T0 + 3 * H)
    t = s.do_approve_hold(acting_user=world.user("head"), ticket=t, now=T0 + 3 * H)
    assert t.status == Status.ON_HOLD and t.sla_paused
    t = s.do_resume_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + 103 * H)
    assert t.overtime_at == T0 + 148 * H and not t.is_overtime


def test_dissatisfied_callback_blocks_close_and_reopen_starts_a_new_cycle(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="ok", now=T0 + 2 * H)
    t = s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="ok", now=T0 + 3 * H)
    t = s.do_callback(acting_user=world.user("agent"), ticket=t, verdict=CallbackVerdict.DISSATISFIED, now=T0 + 4 * H)
    with pytest.raises(ValidationFailed):
        s.do_close_ticket(acting_user=world.user("agent"), ticket=t, now=T0 + 5 * H)
    t = s.do_reopen_ticket(acting_user=world.user("agent"), ticket=t, reason="客户仍无信号", now=T0 + 5 * H)
    assert t.status == Status.NEW and t.reopen_count == 1 and t.resolution == "" and t.callback_verdict == ""
    t = s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, now=T0 + 6 * H)
    assert t.cycle_started_at == T0 + 6 * H and t.overtime_at == T0 + 54 * H


def test_repeat_complaint_same_customer_same_top_category_within_30_days(world: World) -> None:
    customer = world.customer()
    first = create(world, customer=customer)
    again = create(world, customer=customer, category=world.categories["calls"], at=T0 + 29 * 24 * H)
    billing = create(world, customer=customer, category=world.categories["dispute"], at=T0 + 29 * 24 * H)
    later = create(world, customer=customer, category=world.categories["billing"], at=T0 + 70 * 24 * H)
    assert not first.is_repeat
    assert Ticket.objects.get(pk=again.pk).is_repeat
    assert TicketLink.objects.filter(from_ticket=again, to_ticket=first, kind=LinkKind.REPEAT).exists()
    assert not Ticket.objects.get(pk=billing.pk).is_repeat
    assert not Ticket.objects.get(pk=later.pk).is_repeat


def test_an_older_complaint_registered_later_does_not_repeat_a_newer_one(world: World) -> None:
    """A legacy work order imported with its own (earlier) registration time repeats only what came before it, as
    the bulk import decides (a complaint of ten days later is not the earlier one)."""
    customer = world.customer()
    newer = create(world, customer=customer, at=T0 + 10 * 24 * H)
    older = create(world, customer=customer, category=world.categories["calls"], at=T0)
    assert not Ticket.objects.get(pk=older.pk).is_repeat
    assert not TicketLink.objects.filter(from_ticket=older, to_ticket=newer).exists()


def test_bad_input_gives_field_errors_and_stores_nothing(world: World) -> None:
    before = Ticket.objects.count()
    with pytest.raises(ValidationFailed) as err:
        create(world, description="", channel="pigeon", contact_type="nonsense")
    assert set(err.value.errors) == {"description", "channel", "contact_type"}
    with pytest.raises(ValidationFailed) as err:
        create(world, description="长" * 4001)
    assert "4000" in err.value.errors["description"][0]
    assert Ticket.objects.count() == before


def test_reject_as_duplicate_needs_the_original(world: World) -> None:
    original = create(world)
    copy = create(world, at=T0 + H)
    with pytest.raises(ValidationFailed) as err:
        s.do_reject_ticket(acting_user=world.user("agent"), ticket=copy, reason=RejectReason.DUPLICATE, now=T0 + H)
    assert err.value.field == "duplicate_of"
    copy = s.do_reject_ticket(acting_user=world.user("agent"), ticket=copy, reason=RejectReason.DUPLICATE,
                              duplicate_of=original, now=T0 + 2 * H)
    assert copy.status == Status.REJECTED and copy.duplicate_of == original


def test_the_original_of_a_duplicate_is_not_a_rejected_or_withdrawn_work_order(world: World) -> None:
    # Rejecting B as a duplicate of A after A was rejected as a duplicate of B left the customer's complaint with
    # nobody: both rejected, each pointing at the other. A withdrawn original is handled by nobody either.
    agent = world.user("agent")
    a, b = create(world), create(world, at=T0 + H)
    a = s.do_reject_ticket(acting_user=agent, ticket=a, reason=RejectReason.DUPLICATE, duplicate_of=b, now=T0 + 2 * H)
    gone = s.do_withdraw_ticket(acting_user=agent, ticket=create(world, at=T0 + H), reason="客户撤销", now=T0 + 2 * H)
    for original in (a, gone):
        with pytest.raises(ValidationFailed) as err:
            s.do_reject_ticket(acting_user=agent, ticket=b, reason=RejectReason.DUPLICATE, duplicate_of=original,
                               now=T0 + 3 * H)
        assert err.value.field == "duplicate_of" and original.number in err.value.errors["duplicate_of"][0]
    b.refresh_from_db()
    assert b.status == Status.NEW and b.duplicate_of is None
    assert not TicketLink.objects.filter(from_ticket=b).exists()


def test_rejecting_as_invalid_while_naming_an_original_is_a_field_error(world: World) -> None:
    original = create(world)
    copy = create(world, at=T0 + H)
    with pytest.raises(ValidationFailed) as err:
        s.do_reject_ticket(acting_user=world.user("agent"), ticket=copy, reason=RejectReason.INVALID,
                           duplicate_of=original, now=T0 + 2 * H)
    assert err.value.field == "duplicate_of"
    copy.refresh_from_db()
    assert copy.status != Status.REJECTED and copy.duplicate_of is None
    assert not TicketLink.objects.filter(from_ticket=copy, kind=LinkKind.DUPLICATE).exists()


def test_vip_gets_a_shorter_committed_time(world: World) -> None:
    regular = create(world)
    vip = create(world, customer=world.customer(vip_level="gold", brand="gotone"))
    assert vip.sla_policy == world.policies["vip"]
    assert vip.committed_at < regular.committed_at
    assert vip.first_response_due_at == T0 + dt.timedelta(minutes=30)


def test_committed_time_change_is_visible_to_the_customer(world: World) -> None:
    t = create(world)
    t = s.do_set_committed_time(acting_user=world.user("agent"), ticket=t, committed_at=T0 + 200 * H,
                                reason="需现场测试", now=T0 + H)
    event = TicketEvent.objects.get(ticket=t, kind=EventKind.COMMIT_TIME)
    assert event.visibility == "customer" and t.committed_at == T0 + 200 * H
    with pytest.raises(PermissionDeniedError):
        s.do_set_committed_time(acting_user=world.user("specialist"), ticket=t, committed_at=T0 + 300 * H,
                                reason="x", now=T0 + H)
    with pytest.raises(PermissionDeniedError):  # not a conflict: nothing about versions to one who may not
        s.do_set_committed_time(acting_user=world.user("specialist"), ticket=t, committed_at=T0 + 300 * H,
                                reason="x", now=T0 + H, expected_version=t.version - 1)


def test_the_committed_time_cannot_change_once_the_customer_is_answered_until_reopened(world: World) -> None:
    """After the answer (答复客户) the customer has the result: a new committed time would send a "time changed" SMS
    about work already done. Refused under the field (zh and en) while answered or called back; a reopening (a new
    cycle) allows it again."""
    t = create(world)
    t = s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已解决", resolution="已解决",
                             now=T0 + H)
    for language, text in (("en", "answered"), ("zh-hans", "已答复客户")):
        with translation.override(language), pytest.raises(ValidationFailed) as err:
            s.do_set_committed_time(acting_user=world.user("agent"), ticket=t, committed_at=T0 + 200 * H,
                                    reason="x", now=T0 + 2 * H)
        assert text in err.value.errors["committed_at"][0], err.value.errors
    t = s.do_callback(acting_user=world.user("agent"), ticket=t, verdict=CallbackVerdict.SATISFIED, now=T0 + 3 * H)
    with pytest.raises(ValidationFailed):
        s.do_set_committed_time(acting_user=world.user("agent"), ticket=t, committed_at=T0 + 200 * H, reason="x",
                                now=T0 + 4 * H)
    assert not TicketEvent.objects.filter(ticket=t, kind=EventKind.COMMIT_TIME).exists()
    t = s.do_reopen_ticket(acting_user=world.user("agent"), ticket=t, reason="客户再来电", now=T0 + 5 * H)
    t = s.do_set_committed_time(acting_user=world.user("agent"), ticket=t, committed_at=T0 + 200 * H, reason="x",
                                now=T0 + 6 * H)
    assert t.committed_at == T0 + 200 * H


def test_withdrawn_after_dispatch_stops_the_department_clock(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    t = s.do_withdraw_ticket(acting_user=world.user("agent"), ticket=t, reason="客户撤诉", now=T0 + 10 * H)
    assert not t.is_overtime
    later = s.do_recompute_sla(ticket=t, now=T0 + 100 * H)
    assert not later.is_overtime and not later.is_problem


def test_after_the_answer_the_callback_and_closing_are_what_falls_due(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="ok", now=T0 + 2 * H)
    t = s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="ok", now=T0 + 100 * H)
    assert t.resolution_due_at < T0 + 100 * H  # answered late ...
    assert t.due_at == T0 + 148 * H  # ... but what is due now is the callback, 48 h after the answer


@pytest.mark.parametrize("target", ["call", "hall_xh", "zh_call"])
def test_dispatching_to_the_front_line_or_another_city_is_a_field_error(world: World, target: str) -> None:
    t = create(world)
    with pytest.raises(ValidationFailed) as err:
        s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units[target], now=T0 + H)
    assert err.value.field == "to_unit"
    t = s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units["netmaint"],
                             now=T0 + H)
    with pytest.raises(ValidationFailed) as err:
        s.do_transfer_ticket(acting_user=world.user("dispatcher"), ticket=t, to_unit=world.units[target],
                             note="转", now=T0 + 2 * H)
    assert err.value.field == "to_unit"
    assert Ticket.objects.get(pk=t.pk).handler_unit_id == world.units["netmaint"].pk


def test_a_reopened_ticket_gets_a_fresh_resolution_time_limit_from_the_reopening(world: World) -> None:
    """A ticket reopened a week after its first round (a repeat complaint about the same fault) is handled again
    within the policy's resolution limit counted from the reopening, as the customer's renewed committed time
    says: not overdue at once by a limit counted from the original registration. The first round's timeliness
    (a timely cycle) stays as it was."""
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="ok", now=T0 + 2 * H)
    t = s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="ok", now=T0 + 3 * H)
    t = s.do_callback(acting_user=world.user("agent"), ticket=t, verdict=CallbackVerdict.SATISFIED, now=T0 + 4 * H)
    t = s.do_close_ticket(acting_user=world.user("agent"), ticket=t, now=T0 + 5 * H)
    first_round_due = t.resolution_due_at
    assert first_round_due == T0 + 72 * H
    reopened_at = T0 + 7 * 24 * H
    t = s.do_reopen_ticket(acting_user=world.user("agent"), ticket=t, reason="客户再次来电", now=reopened_at)
    assert t.resolution_due_at == reopened_at + 72 * H
    assert t.due_at == reopened_at + 72 * H and t.due_at == t.committed_at
    t = s.do_recompute_sla(ticket=t, now=reopened_at + H)
    assert t.resolution_due_at == reopened_at + 72 * H
    assert not t.is_overtime and not t.is_problem


def test_a_work_order_is_not_sent_to_another_provinces_department(world: World) -> None:
    """A provincial department takes its own province's work orders: dispatch or transfer of a Jiangmen (GD) work
    order to another province's department is a field error (zh and en), nothing changed, no access granted."""
    from loopdesk.org.choices import UnitFunction, UnitLevel
    from loopdesk.org.models import OrgUnit
    from loopdesk.tickets.models import TicketUnitAccess

    js = OrgUnit.objects.create(code="JS", name="江苏公司", name_en="Jiangsu", parent=world.units["hq"],
                                level=UnitLevel.PROVINCE, function=UnitFunction.MANAGEMENT, province="JS", region="JS")
    js_net = OrgUnit.objects.create(code="JSNET", name="江苏省网络部", name_en="Jiangsu network", parent=js,
                                    level=UnitLevel.PROVINCE, function=UnitFunction.SPECIALIST, province="JS",
                                    region="JS")
    t = create(world)
    for language, text in (("en", "province JS"), ("zh-hans", "省份 JS")):
        with translation.override(language), pytest.raises(ValidationFailed) as err:
            s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=js_net)
        assert text in err.value.errors["to_unit"][0], err.value.errors
    t = s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, now=T0 + H)
    with pytest.raises(ValidationFailed) as err:
        s.do_transfer_ticket(acting_user=world.user("dispatcher"), ticket=t, to_unit=js_net, note="x",
                             now=T0 + 2 * H)
    assert "to_unit" in err.value.errors
    assert Ticket.objects.get(pk=t.pk).handler_unit == world.units["netmaint"]
    assert not TicketUnitAccess.objects.filter(ticket=t, unit=js_net).exists()
