"""References in a request are decided by their id: a `name` or `href` that contradicts the id (another trouble
ticket's number or address, another category's, another attachment's) is a 400 naming it and nothing is done,
not silently ignored; what GET shows may be sent back unchanged (relative or absolute href)."""

from __future__ import annotations

import base64

import pytest

from loopdesk.conftest import World
from loopdesk.tickets.choices import LinkKind
from loopdesk.tickets.models import Ticket, TicketLink
from loopdesk.tmf.tests.conftest import BASE, ticket_body
from loopdesk.tmf.tests.test_trouble_ticket_api import assert_error, create, patch

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def test_a_relationship_whose_href_or_name_is_another_tickets_links_nothing(world: World, crm) -> None:
    first = create(crm, world).json()
    second = create(crm, world).json()
    target = create(crm, world).json()
    wrong_href = {"id": first["id"], "href": second["href"], "relationshipType": "relatedTo"}
    assert_error(patch(crm, target["id"], {"troubleTicketRelationship": [wrong_href]}), 400,
                 "troubleTicketRelationship[0].href")
    second_number = Ticket.objects.get(pk=second["id"]).number
    wrong_name = {"id": first["id"], "name": second_number, "relationshipType": "relatedTo"}
    body = assert_error(patch(crm, target["id"], {"troubleTicketRelationship": [wrong_name]}), 400,
                        "troubleTicketRelationship[0].name")
    assert Ticket.objects.get(pk=first["id"]).number in body["errors"]["troubleTicketRelationship[0].name"][0]
    assert_error(create(crm, world, troubleTicketRelationship=[wrong_href]), 400, "troubleTicketRelationship[0].href")
    assert not TicketLink.objects.filter(kind=LinkKind.RELATED).exists() and Ticket.objects.count() == 3
    # The reference as GET shows it (name = number, href relative or absolute) links.
    number = Ticket.objects.get(pk=first["id"]).number
    right = {"id": first["id"], "href": f"https://loopdesk.example.com{first['href']}", "name": number.lower(),
             "relationshipType": "relatedTo"}
    response = patch(crm, target["id"], {"troubleTicketRelationship": [right]})
    assert response.status_code == 200, response.content
    shown = response.json()["troubleTicketRelationship"]
    assert (first["id"], number, "relatedTo") in [(r["id"], r["name"], r["relationshipType"]) for r in shown]
    assert patch(crm, target["id"], {"troubleTicketRelationship": shown}).status_code == 200


def test_a_category_or_channel_named_otherwise_than_its_id_is_refused(world: World, crm) -> None:
    indoor, other = world.categories["indoor"], world.categories["billing"]
    entity = {"id": indoor.code, "role": "category", "name": other.name}
    assert_error(create(crm, world, relatedEntity=[entity]), 400, "relatedEntity[0].name")
    entity = {"id": indoor.code, "role": "category", "href": f"/api/categories/{other.pk}/"}
    assert_error(create(crm, world, relatedEntity=[entity]), 400, "relatedEntity[0].href")
    assert_error(create(crm, world, channel={"id": "hotline", "name": "Service hall"}), 400, "channel.name")
    zh = crm.post(f"{BASE}/troubleTicket", ticket_body(world, relatedEntity=[entity]), format="json",
                  HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert "与 id 不符" in zh["errors"]["relatedEntity[0].href"][0]
    party = {"id": "13912345678", "role": "customer", "href": "https://crm.example.com/party/7"}
    assert_error(create(crm, world, relatedParty=[party]), 400, "relatedParty[0].href")
    assert Ticket.objects.count() == 0
    # As GET shows them, in either language.
    for language in ("en", "zh-hans"):
        shown = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json",
                         HTTP_ACCEPT_LANGUAGE=language).json()
        again = create(crm, world, relatedEntity=shown["relatedEntity"], channel=shown["channel"])
        assert again.status_code == 201, again.content
        assert again.json()["relatedEntity"][0]["id"] == indoor.code


def test_an_attachment_sent_back_with_another_ones_name_or_href_is_refused(world: World, crm) -> None:
    content = base64.b64encode(b"%PDF-1.4 bill").decode()
    body = create(crm, world, attachment=[
        {"name": "bill.pdf", "mimeType": "application/pdf", "content": content},
        {"name": "other.pdf", "mimeType": "application/pdf", "content": content}]).json()
    first, second = body["attachment"]
    assert_error(patch(crm, body["id"], {"attachment": [{**first, "href": second["href"]}]}), 400,
                 "attachment[0].href")
    assert_error(patch(crm, body["id"], {"attachment": [{**first, "name": "other.pdf"}]}), 400,
                 "attachment[0].name")
    assert patch(crm, body["id"], {"attachment": body["attachment"]}).status_code == 200
