"""A work order returned (退单) went back to the dispatching unit with nobody named: after the first responder's
dispatch (and a transfer on), every member of the hotline room got its due-soon, overtime and problem alerts, and
nobody had it in hand. It goes back to the unit that dispatched it, to the person who dispatched it (the actor of the
last dispatch, while active and still in that unit), as they passed it on; else to the unit as before."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World
from loopdesk.followup.services import handlers_of
from loopdesk.org.models import User
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import TicketEvent

H = dt.timedelta(hours=1)


def test_a_return_after_a_transfer_goes_back_to_the_agent_who_dispatched_it(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    t = s.do_transfer_ticket(acting_user=world.user("specialist"), ticket=t, to_unit=world.units["netopt"],
                             note="属网优", now=T0 + H)
    t = s.do_return_ticket(acting_user=world.user("optimiser"), ticket=t, reason="非本部门问题", now=T0 + 2 * H)
    assert t.status == Status.RETURNED and t.handler_unit == world.units["call"]
    assert t.handler_user_id == world.users["agent"].pk
    assert [u.username for u in handlers_of(t)] == ["agent"]  # not agent2 too
    event = TicketEvent.objects.filter(ticket=t).order_by("-seq").first()
    assert event.to_user_id == world.users["agent"].pk


def test_a_dispatcher_gets_back_what_they_dispatched(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    t = s.do_dispatch_ticket(acting_user=world.user("dispatcher"), ticket=t, to_unit=world.units["it"], now=T0 + H)
    t = s.do_return_ticket(acting_user=world.user("it_specialist"), ticket=t, reason="非计费问题", now=T0 + 2 * H)
    assert (t.handler_unit, t.handler_user_id) == (world.units["l2"], world.users["dispatcher"].pk)


def test_a_dispatcher_who_left_the_unit_leaves_it_to_the_unit(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    User.objects.filter(pk=world.users["agent"].pk).update(is_active=False)
    t = s.do_return_ticket(acting_user=world.user("specialist"), ticket=t, reason="非本部门问题", now=T0 + H)
    assert (t.handler_unit, t.handler_user) == (world.units["call"], None)
    assert [u.username for u in handlers_of(t)] == ["agent2"]


def test_a_return_after_the_second_lines_transfer_goes_back_to_that_dispatcher(world: World) -> None:
    """The hotline's flow: the agent passes it to second-line support, whose dispatcher takes it and sends it on to a
    department (a transfer, "the dispatch it waited for"). A department that returns it as not theirs sends it back
    to that dispatcher, who routed it, not to the hotline room that only passed it on."""
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, dispatch_to=world.units["l2"],
                           **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("dispatcher"), ticket=t, now=T0 + H)
    t = s.do_transfer_ticket(acting_user=world.user("dispatcher"), ticket=t, to_unit=world.units["netopt"],
                             note="属网优", now=T0 + 2 * H)
    t = s.do_return_ticket(acting_user=world.user("optimiser"), ticket=t, reason="非本部门问题", now=T0 + 3 * H)
    assert (t.handler_unit, t.handler_user_id) == (world.units["l2"], world.users["dispatcher"].pk)


def test_a_departments_own_transfer_leaves_the_return_to_the_dispatcher(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    t = s.do_dispatch_ticket(acting_user=world.user("dispatcher"), ticket=t, to_unit=world.units["netmaint"],
                             now=T0 + H)
    t = s.do_transfer_ticket(acting_user=world.user("specialist"), ticket=t, to_unit=world.units["netopt"],
                             note="属网优", now=T0 + 2 * H)
    t = s.do_return_ticket(acting_user=world.user("optimiser"), ticket=t, reason="非本部门问题", now=T0 + 3 * H)
    assert (t.handler_unit, t.handler_user_id) == (world.units["l2"], world.users["dispatcher"].pk)
