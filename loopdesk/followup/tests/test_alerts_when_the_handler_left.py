"""A work order named to someone who has since left (deactivated) or moved to another unit: its due-soon, overtime and
problem alerts went to that person only, i.e. to nobody (or to someone no longer on it), while the unit that holds it
heard nothing. They now go to the handling unit's active staff, as for a work order nobody took."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World
from loopdesk.followup.models import StaffAlert
from loopdesk.followup.services import _alert_crossings, handlers_of
from loopdesk.org.models import User
from loopdesk.tickets.models import Ticket

H = dt.timedelta(hours=1)


def _replied(world: World) -> Ticket:
    return world.replied_ticket()


def test_the_unit_hears_of_a_work_order_whose_named_handler_left(world: World) -> None:
    t = _replied(world)
    assert (t.handler_unit, t.handler_user_id) == (world.units["call"], world.users["agent"].pk)
    assert [u.username for u in handlers_of(t)] == ["agent"]
    User.objects.filter(pk=world.users["agent"].pk).update(is_active=False)
    assert [u.username for u in handlers_of(t)] == ["agent2"]
    t = Ticket.objects.select_related("handler_unit").get(pk=t.pk)
    _alert_crossings([(t, True, False)], T0 + 3 * H)
    assert set(StaffAlert.objects.filter(kind="overtime").values_list("user__username", flat=True)) == {"agent2"}


def test_a_named_handler_who_moved_to_another_unit_is_not_the_one_alerted(world: World) -> None:
    t = _replied(world)
    User.objects.filter(pk=world.users["agent"].pk).update(unit=world.units["hall_xh"])
    assert [u.username for u in handlers_of(Ticket.objects.get(pk=t.pk))] == ["agent2"]
    t = Ticket.objects.select_related("handler_unit").get(pk=t.pk)
    _alert_crossings([(t, True, False)], T0 + 3 * H)
    assert set(StaffAlert.objects.filter(kind="overtime").values_list("user__username", flat=True)) == {"agent2"}
