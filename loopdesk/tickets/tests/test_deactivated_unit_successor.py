"""A return (退单) or a reply (回单) whose unit has been deactivated meanwhile goes to the unit standing in for it:
a return to the city's second-line support, a reply (and a reopening) to the nearest active front-line unit above
the first responder's, whose front line answers, calls back and closes it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group

from loopdesk.conftest import T0, World
from loopdesk.org.choices import Role
from loopdesk.org.models import OrgUnit, User
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Action, EventKind, Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.policy import allowed_actions, can_see
from loopdesk.tickets.timeline import replay_matches
from loopdesk.workbench.queues import queue_queryset

H = dt.timedelta(hours=1)


def _close_call_room(world: World) -> None:
    """The call room closed: its agents moved to the centre's front line, the room deactivated."""
    for key in ("agent", "agent2"):
        user = world.user(key)
        user.unit = world.units["csc"]
        user.save()
    OrgUnit.objects.filter(pk=world.units["call"].pk).update(is_active=False)


def _dispatched(world: World) -> Ticket:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    return s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)


@pytest.mark.django_db
def test_a_return_to_a_deactivated_unit_goes_to_second_line_support(world: World) -> None:
    t = _dispatched(world)
    _close_call_room(world)
    t = s.do_return_ticket(acting_user=world.user("specialist"), ticket=t, reason="不是网络问题", now=T0 + 2 * H)
    assert t.status == Status.RETURNED
    assert t.handler_unit_id == world.units["l2"].pk and t.handler_user_id is None
    event = t.events.order_by("-seq").first()
    assert event is not None and event.kind == EventKind.RETURN
    assert event.to_unit_id == world.units["l2"].pk and event.data["instead_of"] == "CALL"
    assert replay_matches(t, t.events.order_by("seq")) == []
    dispatcher = world.user("dispatcher")
    assert t.pk in set(queue_queryset(dispatcher, "dispatch").values_list("pk", flat=True))
    t = s.do_dispatch_ticket(acting_user=dispatcher, ticket=t, to_unit=world.units["it"], now=T0 + 3 * H)
    assert t.status == Status.DISPATCHED


@pytest.mark.django_db
def test_a_reply_to_a_deactivated_first_responder_unit_goes_to_the_front_line_above(world: World) -> None:
    t = _dispatched(world)
    _close_call_room(world)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已处理", now=T0 + 2 * H)
    assert t.handler_unit_id == world.units["csc"].pk and t.handler_user_id is None
    stored = Ticket.objects.select_related("first_responder_unit", "handler_unit").get(pk=t.pk)
    agent = world.user("agent2")  # now in the customer service centre's front line
    assert can_see(agent, stored)
    assert Action.ANSWER in allowed_actions(agent, stored)
    assert stored.pk in set(queue_queryset(agent, "mine").values_list("pk", flat=True))
    t = s.do_answer_customer(acting_user=agent, ticket=stored, answer="已告知", now=T0 + 3 * H)
    t = s.do_close_ticket(acting_user=agent, ticket=t, now=T0 + 4 * H)
    assert t.status == Status.CLOSED
    # Reopened: back with the centre too.
    t = s.do_reopen_ticket(acting_user=world.user("supervisor"), ticket=t, reason="客户不满意", now=T0 + 5 * H)
    assert t.handler_unit_id == world.units["csc"].pk


@pytest.mark.django_db
def test_another_front_line_does_not_stand_in(world: World) -> None:
    """Only the unit the work order came back to stands in: another branch's clerk neither sees nor answers it."""
    t = _dispatched(world)
    _close_call_room(world)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已处理", now=T0 + 2 * H)
    clerk = world.user("clerk")
    stored = Ticket.objects.get(pk=t.pk)
    assert not can_see(clerk, stored)
    assert Action.ANSWER not in allowed_actions(clerk, stored)


@pytest.mark.django_db
def test_an_active_first_responder_unit_keeps_its_work_orders(world: World) -> None:
    t = _dispatched(world)
    csc_agent = User.objects.create_user(username="csc_agent", unit=world.units["csc"])
    csc_agent.groups.add(Group.objects.get(name=Role.HOTLINE_AGENT))
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已处理", now=T0 + 2 * H)
    assert t.handler_unit_id == world.units["call"].pk and t.handler_user_id == world.users["agent"].pk
    assert not can_see(User.objects.get(pk=csc_agent.pk), Ticket.objects.get(pk=t.pk))


@pytest.mark.django_db
def test_the_standing_in_front_line_has_the_callback(world: World) -> None:
    from loopdesk.followup.selectors import my_open_callbacks
    from loopdesk.followup.services import callback_owners

    t = _dispatched(world)
    _close_call_room(world)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已处理", now=T0 + 2 * H)
    t = s.do_answer_customer(acting_user=world.user("agent2"), ticket=Ticket.objects.get(pk=t.pk), answer="已告知",
                             now=T0 + 3 * H)
    agent = world.user("agent2")
    assert agent.pk in {u.pk for u in callback_owners(Ticket.objects.get(pk=t.pk), None)}
    assert t.pk in set(my_open_callbacks(agent).values_list("ticket_id", flat=True))
