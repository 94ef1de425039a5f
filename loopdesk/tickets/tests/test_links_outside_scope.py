"""Linked work orders (parent/child, duplicate, related) the reader may not see are counted, never named: not on the
ticket page (its links nor its timeline), not in the REST detail, not in the TMF621 resource."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from loopdesk.conftest import World, staff_client
from loopdesk.tickets.choices import LinkKind
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_create_ticket, do_link_tickets
from loopdesk.tmf.tests.conftest import BASE, client_for, issue_token

pytestmark = pytest.mark.django_db


def _linked(world: World) -> tuple[Ticket, Ticket, Ticket]:
    """Network maintenance's work order, the parent of one with the IT centre and related to another of it: the
    agent who registered all three sees them all; the network specialist sees only its own."""
    agent = world.user("agent")
    mine = do_create_ticket(acting_user=agent, dispatch=True, dispatch_to=world.units["netmaint"],
                            **world.ticket_kwargs())
    child = do_create_ticket(acting_user=agent, dispatch=True, dispatch_to=world.units["it"], **world.ticket_kwargs())
    related = do_create_ticket(acting_user=agent, dispatch=True, dispatch_to=world.units["it"],
                               **world.ticket_kwargs())
    do_link_tickets(acting_user=agent, ticket=mine, other=child, kind=LinkKind.PARENT)
    do_link_tickets(acting_user=agent, ticket=related, other=mine, kind=LinkKind.RELATED)
    return Ticket.objects.get(pk=mine.pk), child, related


def test_the_ticket_page_counts_the_links_the_reader_may_not_see(world: World) -> None:
    mine, child, related = _linked(world)
    page = staff_client(world, "specialist", language="en").get(f"/tickets/{mine.pk}/").content.decode()
    assert child.number not in page and related.number not in page  # neither in the links nor on the timeline
    assert f"/tickets/{child.pk}/" not in page and f"/tickets/{related.pk}/" not in page
    assert "2 linked work orders you may not see" in page
    assert "a work order you may not see" in page  # the timeline's link entries
    # Who may see them gets them in full.
    page = staff_client(world, "agent", language="en").get(f"/tickets/{mine.pk}/").content.decode()
    assert f'href="/tickets/{child.pk}/"' in page and related.number in page
    assert "linked work orders you may not see" not in page and "a work order you may not see" not in page


def test_the_rest_detail_does_not_name_a_parent_the_reader_may_not_see(world: World) -> None:
    mine, child, _related = _linked(world)
    specialist = APIClient()
    specialist.force_login(world.users["it_specialist"])  # the child's handler: the parent is not theirs
    assert specialist.get(f"/api/tickets/{child.pk}/").json()["parent"] is None
    agent = APIClient()
    agent.force_login(world.users["agent"])
    assert agent.get(f"/api/tickets/{child.pk}/").json()["parent"] == mine.pk


def test_the_tmf_resource_lists_only_the_relationships_the_caller_may_see(world: World) -> None:
    mine, child, related = _linked(world)
    oss = client_for(issue_token(world.users["specialist"], system="OSS"))
    for body in (oss.get(f"{BASE}/troubleTicket/{mine.pk}").json(),
                 next(t for t in oss.get(f"{BASE}/troubleTicket").json() if t["id"] == str(mine.pk))):
        assert body["troubleTicketRelationship"] == []
    crm = client_for(issue_token(world.users["agent"]))
    shown = crm.get(f"{BASE}/troubleTicket/{mine.pk}").json()["troubleTicketRelationship"]
    assert {(r["name"], r["relationshipType"]) for r in shown} == {(child.number, "isParent"),
                                                                   (related.number, "relatedTo")}
