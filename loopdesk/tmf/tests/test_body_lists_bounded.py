"""Every list in a request body is bounded: the TMF relatedParty and relatedEntity arrays (100,000 parties in a 3 MB
body took seconds and answered 26 MB of errors) and our API's external_refs (each one a query and a row, shown in
every read and event of the work order). Over the bound: a 400 naming it, nothing stored."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from loopdesk.conftest import World
from loopdesk.tickets.models import ExternalRef, Ticket
from loopdesk.tmf.tests.test_trouble_ticket_api import assert_error, create

pytestmark = pytest.mark.django_db


def test_tmf_related_party_and_entity_arrays_are_bounded(world: World, crm) -> None:
    customer = {"id": "13912345678", "role": "customer"}
    parties = [customer] + [{"id": str(i), "role": "handler"} for i in range(1000)]
    body = assert_error(create(crm, world, relatedParty=parties), 400, "relatedParty")
    assert len(body["errors"]) == 1 and len(str(body)) < 1000
    entity = {"id": world.categories["indoor"].code, "role": "category"}
    assert_error(create(crm, world, relatedEntity=[entity] * 11), 400, "relatedEntity")
    assert Ticket.objects.count() == 0


def test_our_api_external_refs_are_bounded(world: World) -> None:
    client = APIClient()
    client.force_login(world.users["agent"])
    body = {"msisdn": "13912345678", "contact_type": "complaint", "category": world.categories["indoor"].pk,
            "channel": "hotline", "description": "室内无信号",
            "external_refs": {f"SYS{i}": f"id-{i}" for i in range(11)}}
    response = client.post("/api/tickets/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["external_refs"]
    assert not Ticket.objects.exists() and not ExternalRef.objects.exists()
    body["external_refs"] = {f"SYS{i}": f"id-{i}" for i in range(10)}
    assert client.post("/api/tickets/", body, format="json").status_code == 201
