"""The desk's repeat warning says what registering will do: the service counts a complaint as a repeat after any
complaint of the customer in the same top category within 30 days that was not rejected, whoever registered it.
The warning counted the contacts this user may see, rejected ones included: silent about the hall's complaint
(then the new work order came out "repeat"), and warning about a rejected one (then it did not)."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.tickets.choices import ContactType
from loopdesk.tickets.policy import can_see
from loopdesk.tickets.services import do_create_ticket, do_reject_ticket

WARNING = "in the last 30 days: a new one is a repeat complaint"


def _desk(client_for: Any, msisdn: str) -> str:
    return client_for("agent").get("/desk/", {"caller": msisdn}).content.decode()


def test_a_complaint_registered_at_the_hall_is_warned_about(world: World, client_for: Any) -> None:
    customer = world.customer()
    hall = do_create_ticket(acting_user=world.user("clerk"), **world.ticket_kwargs(customer=customer))
    assert not can_see(world.user("agent"), hall)
    page = _desk(client_for, customer.msisdn)
    assert WARNING in page and hall.number not in page
    new = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(customer=customer))
    assert new.is_repeat  # what the warning announced


def test_a_rejected_complaint_is_not_warned_about(world: World, client_for: Any) -> None:
    customer = world.customer()
    t = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(customer=customer))
    do_reject_ticket(acting_user=world.user("agent"), ticket=t, reason="invalid", expected_version=t.version)
    assert WARNING not in _desk(client_for, customer.msisdn)
    new = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(customer=customer))
    assert not new.is_repeat


def test_a_consultation_is_not_counted(world: World, client_for: Any) -> None:
    customer = world.customer()
    do_create_ticket(acting_user=world.user("agent"),
                     **world.ticket_kwargs(customer=customer, contact_type=ContactType.CONSULTATION))
    assert WARNING not in _desk(client_for, customer.msisdn)
