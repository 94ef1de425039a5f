"""The customer's name sent in POST /troubleTicket relatedParty is stored or refused, never silently dropped."""

from __future__ import annotations

import pytest

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import World
from loopdesk.customers.models import Customer
from loopdesk.tickets.models import Ticket
from loopdesk.tmf.tests.conftest import BASE, ticket_body

pytestmark = pytest.mark.django_db


def post(client, world: World, party: dict):
    return client.post(f"{BASE}/troubleTicket", ticket_body(world, relatedParty=[party]), format="json")


def party(**extra) -> dict:
    return {"id": "13912345670", "role": "customer", "@referredType": "Customer", **extra}


def test_a_new_customer_record_keeps_the_name_sent(world: World, crm) -> None:
    response = post(crm, world, party(name="  张三  "))
    assert response.status_code == 201, response.content
    assert Customer.objects.get(msisdn="13912345670").name == "张三"


def test_a_name_longer_than_the_record_holds_is_a_400_naming_it_and_nothing_is_stored(world: World, crm) -> None:
    tickets = Ticket.objects.count()
    response = post(crm, world, party(name="名" * 65))
    assert response.status_code == 400, response.content
    assert "relatedParty[0].name" in response.json()["errors"]
    assert not Customer.objects.filter(msisdn="13912345670").exists() and Ticket.objects.count() == tickets


def test_a_known_customer_without_a_name_gets_the_one_sent_audited(world: World, crm) -> None:
    customer = Customer.objects.create(msisdn="13912345670", name="")
    response = post(crm, world, party(name="李四"))
    assert response.status_code == 201, response.content
    customer.refresh_from_db()
    assert customer.name == "李四"
    assert AuditLog.objects.filter(action="customer.update", object_id=str(customer.pk)).exists()


def test_a_known_customer_with_the_same_name_registers(world: World, crm) -> None:
    Customer.objects.create(msisdn="13912345670", name="李四")
    assert post(crm, world, party(name="李四")).status_code == 201


def test_a_known_customer_with_another_name_is_a_400_naming_it_and_nothing_changes(world: World, crm) -> None:
    customer = Customer.objects.create(msisdn="13912345670", name="李四")
    tickets = Ticket.objects.count()
    response = post(crm, world, party(name="王五"))
    assert response.status_code == 400, response.content
    assert "relatedParty[0].name" in response.json()["errors"]
    customer.refresh_from_db()
    assert customer.name == "李四" and Ticket.objects.count() == tickets
    assert post(crm, world, party()).status_code == 201  # without a name: the known customer


def test_a_name_given_meanwhile_by_another_request_is_not_overwritten(world: World, crm, monkeypatch) -> None:
    """Two registrations for a customer without a name at once: the second read the record before the first gave it
    a name; it must not replace that name with its own (a lost update), but refuse as for any other name."""
    from loopdesk.tmf.v4 import operations

    customer = Customer.objects.create(msisdn="13912345670", name="")
    stale = Customer.objects.get(pk=customer.pk)
    Customer.objects.filter(pk=customer.pk).update(name="李四")  # the other request, committed meanwhile
    monkeypatch.setattr(operations, "get_or_create_customer", lambda **kwargs: stale)
    response = post(crm, world, party(name="王五"))
    assert response.status_code == 400, response.content
    assert "relatedParty[0].name" in response.json()["errors"]
    customer.refresh_from_db()
    assert customer.name == "李四"
