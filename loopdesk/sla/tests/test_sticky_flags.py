"""Overtime / problem flags set by a real crossing stay (docs/sla.md), also when a supervisor later raises the
policy's limits and the open tickets are recomputed."""

from __future__ import annotations

import datetime as dt

from django.core.management import call_command

from loopdesk.conftest import T0, World
from loopdesk.followup import services as f
from loopdesk.sla.models import SlaPolicy
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket


def test_raising_the_limits_after_a_crossing_keeps_the_flags(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    f.sweep_sla(now=t.problem_at)
    old_overtime_at = t.overtime_at
    t.refresh_from_db()
    assert t.is_overtime and t.is_problem
    SlaPolicy.objects.filter(pk=t.sla_policy_id).update(overtime_minutes=30 * 24 * 60, problem_minutes=40 * 24 * 60)
    s.do_recompute_sla(ticket=t.pk, now=t.problem_at + dt.timedelta(hours=1))
    t.refresh_from_db()
    assert t.is_overtime and t.is_problem
    assert t.overtime_at >= T0 + dt.timedelta(days=30) > old_overtime_at  # the due times follow the new limits
    # Nothing was crossed again, and the timeline still replays to the stored ticket.
    assert t.events.filter(kind="overtime").count() == 1 and t.events.filter(kind="problem").count() == 1
    call_command("check_timelines")
    # The next action keeps them too.
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t.pk, now=t.problem_at + dt.timedelta(hours=2))
    assert Ticket.objects.get(pk=t.pk).is_problem


def test_raising_the_limits_before_a_crossing_moves_it(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    SlaPolicy.objects.filter(pk=t.sla_policy_id).update(overtime_minutes=30 * 24 * 60, problem_minutes=40 * 24 * 60)
    s.do_recompute_sla(ticket=t.pk, now=T0 + dt.timedelta(hours=50))
    t.refresh_from_db()
    assert not t.is_overtime and not t.is_problem
