"""The repeat-complaint window (docs/workflow.md): an earlier complaint registered at most 30 × 24 hours before, i.e.
the same clock time 30 calendar days earlier in Asia/Shanghai (no daylight-saving time there), boundary included;
the ticket services and the desk's repeat warning count alike."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World
from loopdesk.tickets import services as s
from loopdesk.workbench.customer360 import recent_complaints


def _complaint(world: World, customer, at: dt.datetime):
    return s.do_create_ticket(acting_user=world.user("agent"), now=at, **world.ticket_kwargs(customer=customer))


def test_thirty_days_to_the_minute(world: World) -> None:
    customer = world.customer()
    first = _complaint(world, customer, T0)
    on_the_edge = _complaint(world, customer, T0 + dt.timedelta(days=30))
    assert on_the_edge.is_repeat
    other = world.customer()
    _complaint(world, other, T0)
    past_it = _complaint(world, other, T0 + dt.timedelta(days=30, minutes=1))
    assert not past_it.is_repeat
    assert first.number != on_the_edge.number
    assert recent_complaints(customer, T0 + dt.timedelta(days=30))  # the desk warns on the edge too
    assert not recent_complaints(other, T0 + dt.timedelta(days=60, minutes=2))
