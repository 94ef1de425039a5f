"""Second-line dispatchers register work orders of other channels and accept some themselves (those routed to
second-line support); their home page listed neither what they must answer and call back nor what is in their hands,
and the Callbacks link and card were missing, although their callbacks fall due and alert them."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.followup.models import CallbackTask
from loopdesk.tickets.choices import Channel
from loopdesk.tickets.services import do_accept_ticket, do_create_ticket, do_reply_ticket


def test_the_dispatchers_own_work_orders_are_on_their_home_page(world: World, client_for: Any) -> None:
    dispatcher = world.user("dispatcher")
    registered = do_create_ticket(acting_user=dispatcher, dispatch=True, dispatch_to=world.units["netmaint"],
                                  **world.ticket_kwargs(channel=Channel.REGULATOR))
    registered = do_accept_ticket(acting_user=world.user("specialist"), ticket=registered,
                                  expected_version=registered.version)
    registered = do_reply_ticket(acting_user=world.user("specialist"), ticket=registered, resolution="已处理",
                                 expected_version=registered.version)
    assert CallbackTask.objects.filter(ticket=registered, assignee=dispatcher).exists()
    handled = do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units["l2"],
                               **world.ticket_kwargs())
    handled = do_accept_ticket(acting_user=dispatcher, ticket=handled, expected_version=handled.version)
    assert handled.handler_user == dispatcher

    elsewhere = do_create_ticket(acting_user=dispatcher, dispatch=True, dispatch_to=world.units["netmaint"],
                                 **world.ticket_kwargs())
    do_accept_ticket(acting_user=world.user("specialist"), ticket=elsewhere, expected_version=elsewhere.version)

    response = client_for("dispatcher").get("/")
    sections = {str(s.title): s for s in response.context["sections"]}
    assert [t.number for t in sections["Replies to answer to the customer"].rows] == [registered.number]
    in_hands = sections["In your hands"]
    assert [t.number for t in in_hands.rows] == [handled.number]
    # "See all" lists what the block counts: not the work orders they registered that a department handles now.
    listed = client_for("dispatcher").get(in_hands.link).context["rows"]
    assert [t.number for t in listed] == [handled.number]
    cards = {c.key: c for c in response.context["followup_cards"]}
    assert cards["callbacks"].count == 1
    assert 'id="nav-callbacks"' in response.content.decode()
    assert client_for("dispatcher").get("/callbacks/").status_code == 200
