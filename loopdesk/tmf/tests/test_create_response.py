"""POST /troubleTicket answers with the resource built from what the creation wrote (no read-back): it must be
exactly what GET returns for the same ticket, whatever the creation did (repeat link, dispatch, external id,
parent, a requested date with an offset), and the ETag the same."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loopdesk.conftest import World
from loopdesk.tickets.models import Ticket
from loopdesk.tmf.tests.conftest import BASE, ticket_body

pytestmark = pytest.mark.django_db
# Within the year ahead a committed time may be (services.MAX_COMMITTED_AHEAD), with microseconds and an offset.
SOON = (dt.date.today() + dt.timedelta(days=200)).isoformat()


def post_then_get(client, world: World, **overrides):
    created = client.post(f"{BASE}/troubleTicket", ticket_body(world, **overrides), format="json")
    assert created.status_code == 201, created.content
    read = client.get(created["Location"])
    assert read.status_code == 200
    return created, read


@pytest.mark.parametrize("overrides", [
    {},
    {"status": "inProgress"},
    {"externalId": "CRM-77", "expectedResolutionDate": f"{SOON}T03:04:05.123456+08:00",
     "requestedResolutionDate": f"{SOON}T10:00:00-05:00"},
    {"ticketType": "consultation", "severity": "Minor", "priority": "Low", "name": ""},
], ids=["plain", "dispatched", "dates-and-external-id", "consultation"])
def test_the_201_body_is_what_get_returns(world: World, crm, overrides) -> None:
    created, read = post_then_get(crm, world, **overrides)
    assert created.json() == read.json()
    assert created["ETag"] == read["ETag"]


def test_a_repeat_complaint_shows_its_link_as_get_does(world: World, crm) -> None:
    first, _ = post_then_get(crm, world)
    created, read = post_then_get(crm, world)
    body = created.json()
    assert body == read.json()
    assert [r["id"] for r in body["troubleTicketRelationship"]] == [first.json()["id"]]
    assert body["troubleTicketRelationship"][0]["name"] == first.json()["characteristic"][0]["value"]
    assert {"name": "isRepeat", "valueType": "boolean", "value": True} in body["characteristic"]


def test_a_child_shows_its_parent_as_get_does(world: World, crm) -> None:
    parent = crm.post(f"{BASE}/troubleTicket", ticket_body(world, ticketType="fault"), format="json").json()
    created, read = post_then_get(crm, world, ticketType="fault",
                                  troubleTicketRelationship=[{"id": parent["id"], "relationshipType": "isChild"}])
    assert created.json() == read.json()
    assert Ticket.objects.get(pk=created.json()["id"]).parent_id == int(parent["id"])


def test_a_note_sent_with_the_ticket_is_in_the_201_body(world: World, crm) -> None:
    created, read = post_then_get(crm, world, note=[{"text": "客户很着急", "@type": "CustomerNote"}])
    assert created.json() == read.json()
    assert [n["text"] for n in created.json()["note"]] == ["客户很着急"]


def test_the_201_body_costs_no_read_back(world: World, crm) -> None:
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")  # warm: reference copy, roles
    with CaptureQueriesContext(connection) as queries:
        created = crm.post(f"{BASE}/troubleTicket", ticket_body(world, status="inProgress"), format="json")
    assert created.status_code == 201
    reads = [q["sql"] for q in queries.captured_queries
             if q["sql"].startswith("SELECT") and ('FROM "tickets_ticketevent"' in q["sql"]
                                                   or 'FROM "tickets_ticketlink"' in q["sql"])]
    assert reads == []


def test_a_related_ticket_sent_with_the_ticket_is_in_the_201_body(world: World, crm) -> None:
    other = crm.post(f"{BASE}/troubleTicket", ticket_body(world, ticketType="fault"), format="json").json()
    created, read = post_then_get(crm, world, ticketType="fault",
                                  troubleTicketRelationship=[{"id": other["id"], "relationshipType": "relatedTo"}])
    assert created.json() == read.json()
    assert [r["relationshipType"] for r in created.json()["troubleTicketRelationship"]] == ["relatedTo"]


def test_a_post_reads_the_reference_token_once(world: World, crm) -> None:
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    # Another top category: not a repeat complaint (which also locks, and so reads, the complaint it repeats).
    other = [{"id": world.categories["dispute"].code, "role": "category", "@referredType": "Category"}]
    with CaptureQueriesContext(connection) as queries:
        assert crm.post(f"{BASE}/troubleTicket", ticket_body(world, relatedEntity=other),
                        format="json").status_code == 201
    assert sum('"sla_referenceversion"' in q["sql"] for q in queries.captured_queries) == 1


def test_a_category_edited_between_two_posts_counts_for_the_second(world: World, crm) -> None:
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    category = world.categories["indoor"]
    category.is_active = False
    category.save(update_fields=["is_active"])
    refused = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    assert refused.status_code == 400 and "relatedEntity" in refused.json()["errors"]
