"""A callback that found the customer not satisfied stays in the satisfaction figures after the reopen it leads to."""

from __future__ import annotations

import datetime as dt

import pytest

from loopdesk.conftest import World
from loopdesk.reports import measures as m
from loopdesk.reports import rollups
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import CallbackVerdict
from loopdesk.tickets.models import Ticket

NOV = m.Period.month(2026, 11)


def test_a_dissatisfied_callback_is_not_erased_by_the_reopen(world: World, history: list[Ticket]) -> None:
    """November: callbacks 3 satisfied, 1 not satisfied (satisfaction 3/4). A customer not satisfied at the callback
    has the work order reopened (closing it is refused), which cleared its verdict: once handled again and called
    back satisfied, the month read 4/4 satisfied (100 %), so the rate could hardly ever fall below 100 %."""
    supervisor = world.user("supervisor")
    assert m.report(supervisor, NOV).values["satisfaction"] == pytest.approx(3 / 4)
    unhappy = Ticket.objects.get(callback_verdict=CallbackVerdict.DISSATISFIED)
    agent, spec = world.user("agent"), world.user("specialist")
    at = unhappy.answered_at + dt.timedelta(hours=3)
    t = s.do_reopen_ticket(acting_user=agent, ticket=unhappy, reason="客户不满意", now=at)
    t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netmaint"], now=at)
    t = s.do_accept_ticket(acting_user=spec, ticket=t, now=at)
    t = s.do_reply_ticket(acting_user=spec, ticket=t, resolution="再次处理", now=at + dt.timedelta(hours=2))
    t = s.do_answer_customer(acting_user=agent, ticket=t, answer="再次答复", now=at + dt.timedelta(hours=3))
    s.do_callback(acting_user=agent, ticket=t, verdict=CallbackVerdict.SATISFIED, now=at + dt.timedelta(hours=4))
    rollups.fold_pending()
    values = m.report(supervisor, NOV).values
    assert values["satisfaction"] == pytest.approx(3 / 4) and values["satisfied"] == 3
    assert m.drilldown(supervisor, "satisfied", NOV).count() == 3
    assert values["callbacks"] == 4  # called back (the ticket once)
    # The recount agrees with the rollups the fold kept.
    assert rollups.check().ok
