"""The customer's name sent in POST /troubleTicket relatedParty is stored or refused, never silently dropped."""

from __future__ import annotations

import pytest

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import World
from loopdesk.customers.models import Customer
from loopdesk.tickets.choices import EventKind, Visibility
from loopdesk.tickets.models import Ticket, TicketEvent
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


def name_notes(ticket_id: str) -> list[tuple[str, str]]:
    return list(TicketEvent.objects.filter(ticket_id=int(ticket_id), kind=EventKind.NOTE)
                .values_list("note", "visibility"))


def test_a_new_customer_keeps_the_name_sent_on_the_ticket_too(world: World, crm) -> None:
    response = post(crm, world, party(name="张三"))
    assert response.status_code == 201, response.content
    assert name_notes(response.json()["id"]) == [("CRM integration 提供的姓名：张三", Visibility.INTERNAL)]


@pytest.mark.parametrize("sent", ["李四", "王五"])
def test_a_known_customers_name_is_neither_refused_nor_told_nor_changed(world: World, crm, sent: str) -> None:
    """A 400 for a name other than the stored one told any caller whether a guessed name belongs to a mobile number
    (personal data, whose reveal is otherwise audited). The ticket registers either way, the stored name is kept,
    the name sent is an internal note, and the answer is the same whether the name sent is the stored one or not."""
    customer = Customer.objects.create(msisdn="13912345670", name="李四")
    response = post(crm, world, party(name=sent))
    assert response.status_code == 201, response.content
    customer.refresh_from_db()
    assert customer.name == "李四"
    body = response.json()
    assert "李四" not in response.content.decode() or sent == "李四"
    assert [p["name"] for p in body["relatedParty"] if p["role"] == "customer"] == ["139****5670"]
    assert name_notes(body["id"]) == [(f"CRM integration 提供的姓名：{sent}", Visibility.INTERNAL)]
    assert [n["@type"] for n in body["note"]] == ["InternalNote"]
    assert not AuditLog.objects.filter(action="customer.update", object_id=str(customer.pk)).exists()


def test_the_name_note_is_in_the_deployments_language(world: World, crm, settings) -> None:
    """Whatever the request's language: staff and the timeline read the deployment's (Chinese by default, above)."""
    settings.LANGUAGE_CODE = "en"
    Customer.objects.create(msisdn="13912345670", name="李四")
    response = crm.post(f"{BASE}/troubleTicket", ticket_body(world, relatedParty=[party(name="王五")]), format="json",
                        HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 201, response.content
    assert name_notes(response.json()["id"]) == [("Name given by CRM integration: 王五", Visibility.INTERNAL)]


def test_a_name_given_meanwhile_by_another_request_is_not_overwritten(world: World, crm, monkeypatch) -> None:
    """Two registrations for a customer without a name at once: the second read the record before the first gave it
    a name; it must not replace that name with its own (a lost update); its name is kept as the ticket's note."""
    from loopdesk.tmf.v4 import operations

    customer = Customer.objects.create(msisdn="13912345670", name="")
    stale = Customer.objects.get(pk=customer.pk)
    Customer.objects.filter(pk=customer.pk).update(name="李四")  # the other request, committed meanwhile
    monkeypatch.setattr(operations, "get_or_create_customer", lambda **kwargs: stale)
    response = post(crm, world, party(name="王五"))
    assert response.status_code == 201, response.content
    customer.refresh_from_db()
    assert customer.name == "李四"
    assert name_notes(response.json()["id"]) == [("CRM integration 提供的姓名：王五", Visibility.INTERNAL)]
