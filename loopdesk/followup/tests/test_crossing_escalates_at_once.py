"""A crossing noticed by a recompute or by an action (not by the sweep) escalates and alerts at once, as the sweep
would have, and the sweep later does not escalate it again."""

from __future__ import annotations

import datetime as dt

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import T0, World
from loopdesk.followup import services as f
from loopdesk.followup.models import Escalation, StaffAlert
from loopdesk.sla.models import SlaPolicy
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket

H = dt.timedelta(hours=1)


def _dispatched(world: World, **kwargs) -> Ticket:
    return s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                              dispatch_to=world.units["netmaint"], **world.ticket_kwargs(**kwargs))


def test_a_recompute_that_finds_a_problem_ticket_escalates_it_at_once(world: World) -> None:
    t = _dispatched(world)
    s.do_recompute_sla(ticket=t.pk, now=T0 + 73 * H)
    t.refresh_from_db()
    assert t.is_problem
    assert list(Escalation.objects.filter(ticket=t).values_list("reason", flat=True)) == ["problem"]
    assert StaffAlert.objects.filter(ticket=t, kind="escalated", user=world.users["supervisor"]).count() == 1
    assert StaffAlert.objects.filter(ticket=t, kind="problem", user=world.users["head"]).count() == 1
    assert AuditLog.objects.filter(object_id=str(t.pk), action="ticket.sla_crossed").count() == 1
    assert t.last_event_seq == t.events.count()  # the escalation's note is saved with the ticket
    f.sweep_sla(now=T0 + 80 * H)
    assert Escalation.objects.filter(ticket=t).count() == 1
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t.pk, now=T0 + 81 * H)
    assert t.status == "in_progress" and Escalation.objects.filter(ticket=t).count() == 1


def test_a_lowered_appeal_limit_escalates_the_appeal_when_recomputed(world: World) -> None:
    policy = SlaPolicy.objects.create(name="申诉", position=5, contact_type="appeal",
                                      calendar=world.calendars["24x7"])
    t = _dispatched(world, contact_type="appeal", channel="regulator")
    assert t.sla_policy_id == policy.pk
    SlaPolicy.objects.filter(pk=policy.pk).update(overtime_minutes=12 * 60, problem_minutes=24 * 60)
    s.do_recompute_sla(ticket=t.pk, now=T0 + 13 * H)
    assert list(Escalation.objects.filter(ticket=t).values_list("reason", flat=True)) == ["appeal_overtime"]
    f.sweep_sla(now=T0 + 14 * H)
    assert Escalation.objects.filter(ticket=t).count() == 1


def test_an_action_that_crosses_escalates_at_once(world: World) -> None:
    t = _dispatched(world)  # no sweep ran meanwhile
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t.pk, now=T0 + 73 * H)
    assert t.is_problem and t.last_event_seq == Ticket.objects.get(pk=t.pk).last_event_seq == t.events.count()
    assert list(Escalation.objects.filter(ticket=t).values_list("reason", flat=True)) == ["problem"]
    assert StaffAlert.objects.filter(ticket=t, kind="problem").exists()
    f.sweep_sla(now=T0 + 80 * H)
    assert Escalation.objects.filter(ticket=t).count() == 1


def test_the_sweep_escalates_once(world: World) -> None:
    t = _dispatched(world)
    assert f.sweep_sla(now=t.problem_at).escalated == 1
    assert Escalation.objects.filter(ticket=t).count() == 1
    assert t.events.filter(kind="note", data__escalation="problem").count() == 1
    assert AuditLog.objects.filter(object_id=str(t.pk), action="ticket.sla_crossed").count() == 1
