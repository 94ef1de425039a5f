"""Escalation by hand: a supervisor (or the department head) hands an open work order to the supervisors' list
with a note; audited, on the timeline, alerts the other supervisors; refused clearly otherwise, nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.utils import translation

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import T0, World
from loopdesk.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from loopdesk.followup import services as f
from loopdesk.followup.models import Escalation, EscalationReason, StaffAlert
from loopdesk.org.choices import Role
from loopdesk.org.models import User
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import EventKind
from loopdesk.tickets.models import Ticket

H = dt.timedelta(hours=1)


def _dispatched(world: World, unit: str = "netmaint") -> Ticket:
    return s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                              dispatch_to=world.units[unit], **world.ticket_kwargs())


def _second_supervisor(world: World) -> User:
    user = User.objects.create_user(username="supervisor2", password="pw", unit=world.units["svcmgmt"],
                                    display_name="supervisor2")
    user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    return user


def test_supervisor_escalates_by_hand_with_a_note_audited_on_the_timeline_and_alerting_the_others(
        world: World) -> None:
    t = _dispatched(world)
    other = _second_supervisor(world)
    me = world.user("supervisor")
    with translation.override("en"):  # the timeline note is written in the language active at the time
        escalation = f.do_escalate_by_hand(acting_user=me, ticket=t, note="  客户第三次来电，请督办  ", now=T0 + 2 * H)
    assert (escalation.reason, escalation.note, escalation.escalated_by_id) == (
        EscalationReason.MANUAL, "客户第三次来电，请督办", me.pk)
    assert f.open_escalations().filter(pk=escalation.pk).exists()
    event = Ticket.objects.get(pk=t.pk).events.order_by("-seq").first()
    assert event.kind == EventKind.NOTE and event.actor_id == me.pk and event.created_at == T0 + 2 * H
    assert "Escalated by hand" in event.note and "客户第三次来电，请督办" in event.note
    assert event.data["escalation_id"] == escalation.pk
    assert Ticket.objects.get(pk=t.pk).last_event_seq == event.seq
    audit = AuditLog.objects.get(action="ticket.escalate", object_id=str(t.pk))
    assert audit.actor_id == me.pk and audit.data["note"] == "客户第三次来电，请督办"
    assert StaffAlert.objects.filter(user=other, ticket=t, kind="escalated").count() == 1
    assert not StaffAlert.objects.filter(user=me, ticket=t, kind="escalated").exists()


def test_an_open_escalation_by_hand_is_not_doubled_and_a_resolved_one_may_be_followed_by_another(
        world: World) -> None:
    t = _dispatched(world)
    me = world.user("supervisor")
    first = f.do_escalate_by_hand(acting_user=me, ticket=t, note="请督办", now=T0 + H)
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        f.do_escalate_by_hand(acting_user=me, ticket=t.pk, note="再次督办", now=T0 + 2 * H)
    assert "already escalated by hand" in exc.value.errors["note"][0]
    assert Escalation.objects.filter(ticket=t).count() == 1
    f.do_resolve_escalation(acting_user=me, escalation=first, note="已协调网络部")
    second = f.do_escalate_by_hand(acting_user=me, ticket=t, note="仍未解决", now=T0 + 3 * H)
    assert second.pk != first.pk and Escalation.objects.filter(ticket=t, resolved_at=None).count() == 1


def test_the_department_head_over_the_handler_may_escalate(world: World) -> None:
    t = _dispatched(world)
    escalation = f.do_escalate_by_hand(acting_user=world.user("head"), ticket=t, note="需要公司层面协调")
    assert escalation.escalated_by_id == world.users["head"].pk


@pytest.mark.parametrize("note", ["", "   ", "超" * 301])
def test_a_missing_or_too_long_note_is_a_field_error_and_nothing_is_stored(world: World, note: str) -> None:
    t = _dispatched(world)
    seq = Ticket.objects.get(pk=t.pk).last_event_seq
    with pytest.raises(ValidationFailed) as exc:
        f.do_escalate_by_hand(acting_user=world.user("supervisor"), ticket=t, note=note)
    assert "note" in exc.value.errors
    assert not Escalation.objects.exists() and Ticket.objects.get(pk=t.pk).last_event_seq == seq
    assert not AuditLog.objects.filter(action="ticket.escalate").exists()


def test_others_may_not_escalate_and_nothing_is_stored(world: World) -> None:
    t = _dispatched(world)
    with pytest.raises(PermissionDeniedError):
        f.do_escalate_by_hand(acting_user=world.user("specialist"), ticket=t, note="请督办")
    with pytest.raises(NotFoundError):  # the Zhuhai agent does not even see it
        f.do_escalate_by_hand(acting_user=world.user("zh_agent"), ticket=t, note="请督办")
    other_department = _dispatched(world, unit="mkt")
    with pytest.raises(NotFoundError):
        f.do_escalate_by_hand(acting_user=world.user("head"), ticket=other_department, note="请督办")
    assert not Escalation.objects.exists()


def test_a_finished_work_order_is_not_escalated_and_the_refusal_is_translated(world: World) -> None:
    t = _dispatched(world)
    t = s.do_withdraw_ticket(acting_user=world.user("agent"), ticket=t, reason="客户撤诉")
    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as exc:
        f.do_escalate_by_hand(acting_user=world.user("supervisor"), ticket=t, note="请督办")
    assert exc.value.errors["note"] == ["只有未结的工单才能升级。"]
    assert not Escalation.objects.exists()
