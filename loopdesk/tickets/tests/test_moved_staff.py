"""Staff who move to another unit or city: they keep seeing none of what they registered or held there; the unit
it sits with keeps it and acts on it."""

from __future__ import annotations

import datetime as dt

import pytest

from loopdesk.conftest import T0, World
from loopdesk.core.errors import PermissionDeniedError
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Action, Status
from loopdesk.tickets.policy import allowed_actions, can_see
from loopdesk.tickets.selectors import my_open_tickets

H = dt.timedelta(hours=1)


def _zh_room(world: World) -> OrgUnit:
    return OrgUnit.objects.create(code="ZH_NET", name="珠海网络维护中心", parent=world.units["zh"],
                                  level=UnitLevel.ROOM, function=UnitFunction.SPECIALIST, province="GD",
                                  region="ZH")


def _move(world: World, key: str, unit: OrgUnit) -> None:
    user = world.user(key)
    user.unit = unit
    user.save(update_fields=["unit"])


@pytest.mark.django_db
def test_specialist_moved_to_another_city_no_longer_sees_the_ticket_they_held(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    assert t.handler_user_id == world.users["specialist"].pk
    _move(world, "specialist", _zh_room(world))

    moved = world.user("specialist")
    assert not can_see(moved, t)  # Jiangmen's customer, in Zhuhai
    assert my_open_tickets(moved) == []
    # It stays with 网络维护中心: a colleague sees and handles it.
    assert can_see(world.user("specialist2"), t)
    assert Action.REPLY in allowed_actions(world.user("specialist2"), t)


@pytest.mark.django_db
def test_room_specialist_keeps_a_ticket_of_the_parent_centre_they_hold(world: World) -> None:
    """The clause that lets a holder see what they hold: a room's specialist accepting what sits with the centre."""
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["net"], **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    assert t.handler_unit_id == world.units["net"].pk
    assert can_see(world.user("specialist"), t)
    assert [x.pk for x in my_open_tickets(world.user("specialist"))] == [t.pk]


@pytest.mark.django_db
def test_first_responder_moved_to_another_city_neither_sees_nor_answers(world: World) -> None:
    t = world.replied_ticket()
    _move(world, "agent", world.units["zh_call"])

    moved = world.user("agent")
    assert not can_see(moved, t)
    assert my_open_tickets(moved) == []
    assert allowed_actions(moved, t) == []
    with pytest.raises(PermissionDeniedError):
        s.do_answer_customer(acting_user=moved, ticket=t, answer="已告知", now=T0 + 3 * H)
    # The first-responder unit's front line answers the customer in their place.
    colleague = world.user("agent2")
    assert can_see(colleague, t)
    t = s.do_answer_customer(acting_user=colleague, ticket=t, answer="已告知", now=T0 + 3 * H)
    assert t.status == Status.ANSWERED
