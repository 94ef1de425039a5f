"""A returned work order (退单) waits to be dispatched again while its handling cycle's overtime / problem clock runs on
(from the first dispatch to the department's reply, docs/sla.md): the sweep marks its crossings at their time, alerts
the one it was returned to and escalates a problem ticket. Its watches were dropped at the return, so it stayed
"timely" on the badge, the board and the reports, unalerted, until somebody acted on it."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World
from loopdesk.followup import services as f
from loopdesk.followup.models import Escalation, StaffAlert
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import EventKind, Status
from loopdesk.tickets.models import Ticket

H = dt.timedelta(hours=1)


def test_the_sweep_marks_a_returned_tickets_crossings(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    t = s.do_return_ticket(acting_user=world.user("specialist"), ticket=t.pk, reason="不是网络问题", now=T0 + H)
    assert t.status == Status.RETURNED and t.overtime_at == T0 + 48 * H and t.problem_at == T0 + 72 * H

    f.sweep_sla(now=T0 + 48 * H)
    fresh = Ticket.objects.get(pk=t.pk)
    assert fresh.is_overtime and not fresh.is_problem
    assert fresh.events.filter(kind=EventKind.OVERTIME).count() == 1
    assert StaffAlert.objects.filter(ticket=t, kind="overtime", user=world.users["agent"]).count() == 1

    f.sweep_sla(now=T0 + 72 * H)
    fresh = Ticket.objects.get(pk=t.pk)
    assert fresh.is_problem and fresh.events.filter(kind=EventKind.PROBLEM).count() == 1
    assert list(Escalation.objects.filter(ticket=t).values_list("reason", flat=True)) == ["problem"]
    f.sweep_sla(now=T0 + 100 * H)  # once
    assert fresh.events.filter(kind__in=(EventKind.OVERTIME, EventKind.PROBLEM)).count() == 2


def test_a_replied_ticket_is_not_watched_for_its_ended_cycle(world: World) -> None:
    t = world.replied_ticket()
    f.sweep_sla(now=T0 + 100 * H)
    fresh = Ticket.objects.get(pk=t.pk)
    assert not fresh.is_overtime and not fresh.events.filter(kind=EventKind.OVERTIME).exists()


def test_the_migration_watches_the_tickets_returned_before(world: World) -> None:
    """A ticket returned before the fix had no overtime / problem watch: migration 0007 gives it them."""
    import importlib

    from django.apps import apps

    from loopdesk.followup.models import SlaWatch

    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    t = s.do_return_ticket(acting_user=world.user("specialist"), ticket=t.pk, reason="不是网络问题", now=T0 + H)
    SlaWatch.objects.filter(ticket_id=t.pk).exclude(kind="warn").delete()  # as the listener left it before
    importlib.import_module("loopdesk.followup.migrations.0007_watch_returned_tickets").watch_returned(apps, None)
    assert set(SlaWatch.objects.filter(ticket_id=t.pk).values_list("kind", "fire_at")) >= {
        ("overtime", T0 + 48 * H), ("problem", T0 + 72 * H)}
    f.sweep_sla(now=T0 + 72 * H)
    fresh = Ticket.objects.get(pk=t.pk)
    assert fresh.is_overtime and fresh.is_problem
