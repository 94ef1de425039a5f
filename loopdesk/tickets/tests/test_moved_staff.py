"""Staff who move to another unit or city: they keep seeing none of what they registered or held there; the unit
it sits with keeps it and acts on it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from loopdesk.conftest import T0, World
from loopdesk.core.errors import PermissionDeniedError
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Action, EventKind, Status
from loopdesk.tickets.models import Ticket, TicketEvent
from loopdesk.tickets.policy import allowed_actions, can_see
from loopdesk.tickets.selectors import my_open_tickets
from loopdesk.tickets.timeline import replay_matches

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
    t = Ticket.objects.get(pk=t.pk)  # as the colleague opens it
    assert can_see(colleague, t)
    t = s.do_answer_customer(acting_user=colleague, ticket=t, answer="已告知", now=T0 + 3 * H)
    assert t.status == Status.ANSWERED


def _held(world: World, to: str = "netmaint") -> Ticket:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, dispatch_to=world.units[to],
                           **world.ticket_kwargs())
    return s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["moved", "left"])
def test_the_tickets_they_held_go_back_to_the_units_queue(world: World, how: str) -> None:
    t = _held(world)
    closed = _held(world)
    closed = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=closed, resolution="已处理",
                               now=T0 + 2 * H)
    user = world.user("specialist")
    if how == "moved":
        user.unit = _zh_room(world)
    else:
        user.is_active = False
    user.save()

    stored = Ticket.objects.get(pk=t.pk)
    assert stored.handler_user_id is None and stored.handler_unit_id == world.units["netmaint"].pk
    assert stored.status == Status.IN_PROGRESS and stored.version == t.version + 1
    event = stored.events.order_by("-seq").first()
    assert event is not None and event.kind == EventKind.NOTE and event.actor_id is None
    assert event.to_unit_id == world.units["netmaint"].pk
    assert replay_matches(stored, stored.events.order_by("seq")) == []
    # A reply already sent back to the first responder is not theirs to release.
    assert Ticket.objects.get(pk=closed.pk).handler_user_id == world.users["agent"].pk
    # The unit's staff have it in their queue and reply.
    colleague = world.user("specialist2")
    assert can_see(colleague, stored)
    stored = s.do_reply_ticket(acting_user=colleague, ticket=stored, resolution="已处理", now=T0 + 3 * H)
    assert stored.status == Status.REPLIED


@pytest.mark.django_db
def test_a_move_within_the_handling_unit_keeps_what_they_hold(world: World) -> None:
    """Moved from the centre's room up to the centre (or between rooms of it) while holding what sits with the
    centre: still theirs."""
    t = _held(world, to="net")
    _move(world, "specialist", world.units["net"])
    assert Ticket.objects.get(pk=t.pk).handler_user_id == world.users["specialist"].pk
    _move(world, "specialist", world.units["netopt"])
    assert Ticket.objects.get(pk=t.pk).handler_user_id == world.users["specialist"].pk


@pytest.mark.django_db
def test_the_release_note_reads_in_the_readers_language(world: World) -> None:
    t = _held(world)
    _move(world, "specialist", _zh_room(world))
    events = list(TicketEvent.objects.filter(ticket_id=t.pk).order_by("seq"))
    with translation.override("en"):
        s.system_notes(events)
        assert events[-1].note == "Back to the unit's queue: the handler moved to another unit."
    with translation.override("zh-hans"):
        s.system_notes(events)
        assert "队列" in events[-1].note
