"""A reopened work order's new handling cycle is chased like the first: when its department keeps it past the
overtime / problem limits, the crossing is marked on the timeline, the handlers and heads are alerted and a problem
ticket is escalated (one per ticket, reason and cycle, docs/sla.md). The ticket-level flags of the first cycle
(the timeliness KPI) stay set; they made every later crossing pass unnoticed."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World
from loopdesk.followup import services as f
from loopdesk.followup.models import Escalation, StaffAlert
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import CallbackVerdict, EventKind
from loopdesk.tickets.models import Ticket

H = dt.timedelta(hours=1)


def _problem_then_reopened(world: World) -> tuple[Ticket, dt.datetime]:
    """A first cycle that became a problem ticket, answered, called back dissatisfied, reopened and dispatched
    again; returns the ticket and the start of its second cycle."""
    agent, specialist = world.user("agent"), world.user("specialist")
    t = s.do_create_ticket(acting_user=agent, now=T0, dispatch=True, dispatch_to=world.units["netmaint"],
                           **world.ticket_kwargs())
    f.sweep_sla(now=T0 + 73 * H)
    t = s.do_accept_ticket(acting_user=specialist, ticket=t.pk, now=T0 + 74 * H)
    t = s.do_reply_ticket(acting_user=specialist, ticket=t, resolution="ok", now=T0 + 75 * H)
    t = s.do_answer_customer(acting_user=agent, ticket=t, answer="ok", now=T0 + 76 * H)
    t = s.do_callback(acting_user=agent, ticket=t, verdict=CallbackVerdict.DISSATISFIED, now=T0 + 77 * H)
    t = s.do_reopen_ticket(acting_user=agent, ticket=t, reason="仍无信号", now=T0 + 78 * H)
    start = T0 + 79 * H
    t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netmaint"], now=start)
    assert t.is_overtime and t.is_problem  # the first cycle's timeliness stays
    assert Escalation.objects.filter(ticket=t).count() == 1
    return t, start


def test_the_sweep_marks_and_escalates_the_second_cycles_crossings(world: World) -> None:
    t, start = _problem_then_reopened(world)
    assert t.overtime_at == start + 48 * H and t.problem_at == start + 72 * H
    f.sweep_sla(now=start + 47 * H)
    assert t.events.filter(kind=EventKind.OVERTIME).count() == 1
    f.sweep_sla(now=start + 48 * H)
    assert t.events.filter(kind=EventKind.OVERTIME).count() == 2
    # The first round crossed both at once (one problem alert); this round's overtime is alerted now.
    assert StaffAlert.objects.filter(ticket=t, kind="overtime", user=world.users["head"]).count() == 1
    f.sweep_sla(now=start + 72 * H)
    assert t.events.filter(kind=EventKind.PROBLEM).count() == 2
    assert StaffAlert.objects.filter(ticket=t, kind="problem", user=world.users["head"]).count() == 2
    assert list(Escalation.objects.filter(ticket=t).values_list("reason", flat=True)) == ["problem", "problem"]
    f.sweep_sla(now=start + 100 * H)  # once per cycle
    assert t.events.filter(kind=EventKind.PROBLEM).count() == 2 and Escalation.objects.filter(ticket=t).count() == 2
    fresh = Ticket.objects.get(pk=t.pk)
    assert fresh.is_overtime and fresh.is_problem


def test_an_action_that_finds_the_second_cycle_crossed_marks_it_once(world: World) -> None:
    t, start = _problem_then_reopened(world)
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t.pk, now=start + 80 * H)
    assert t.events.filter(kind=EventKind.OVERTIME).count() == 2
    assert t.events.filter(kind=EventKind.PROBLEM).count() == 2
    assert Escalation.objects.filter(ticket=t).count() == 2
    s.do_add_note(acting_user=world.user("specialist"), ticket=t, text="x", now=start + 81 * H)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t.pk, resolution="ok", now=start + 82 * H)
    assert t.events.filter(kind=EventKind.PROBLEM).count() == 2 and Escalation.objects.filter(ticket=t).count() == 2


def test_a_first_cycle_that_stayed_within_its_limits_is_unchanged(world: World) -> None:
    agent = world.user("agent")
    t = s.do_create_ticket(acting_user=agent, now=T0, dispatch=True, dispatch_to=world.units["netmaint"],
                           **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t.pk, now=T0 + H)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="ok", now=T0 + 2 * H)
    t = s.do_answer_customer(acting_user=agent, ticket=t, answer="ok", now=T0 + 3 * H)
    t = s.do_reopen_ticket(acting_user=agent, ticket=t, reason="再来电", now=T0 + 4 * H)
    t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netmaint"], now=T0 + 5 * H)
    f.sweep_sla(now=T0 + 5 * H + 48 * H)
    t.refresh_from_db()
    assert t.is_overtime and not t.is_problem
    assert t.events.filter(kind=EventKind.OVERTIME).count() == 1


def test_an_action_that_finds_only_the_second_cycles_overtime_alerts_it(world: World) -> None:
    t, start = _problem_then_reopened(world)
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t.pk, now=start + 50 * H)
    assert t.events.filter(kind=EventKind.OVERTIME).count() == 2
    assert t.events.filter(kind=EventKind.PROBLEM).count() == 1
    assert StaffAlert.objects.filter(ticket=t, kind="overtime", user=world.users["specialist"]).count() == 1
