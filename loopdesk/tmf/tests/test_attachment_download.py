"""An attachment of a trouble ticket can be downloaded through the API (AttachmentRefOrValue href/url), with the
API token, within the ticket's scope."""

from __future__ import annotations

import base64

import pytest

from loopdesk.conftest import World
from loopdesk.tickets.models import Attachment
from loopdesk.tmf.tests.conftest import BASE, client_for, issue_token, ticket_body

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 the bill"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def registered(world: World, client) -> dict:
    response = client.post(f"{BASE}/troubleTicket", ticket_body(world, attachment=[{
        "name": "bill.pdf", "mimeType": "application/pdf", "content": base64.b64encode(PDF).decode()}]),
        format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_an_attachment_has_a_download_address_that_gives_its_content(world: World, crm) -> None:
    body = registered(world, crm)
    attachment = body["attachment"][0]
    href = f"{BASE}/troubleTicket/{body['id']}/attachment/{attachment['id']}"
    assert attachment["href"] == attachment["url"] == href
    assert crm.get(f"{BASE}/troubleTicket/{body['id']}").json()["attachment"][0]["url"] == href
    response = crm.get(href, HTTP_ACCEPT="application/octet-stream")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert "bill.pdf" in response["Content-Disposition"]
    # A read-only token of the same scope may download too.
    reader = client_for(issue_token(world.users["agent"], write=False))
    assert reader.get(href).status_code == 200


def test_an_attachment_outside_the_tokens_scope_or_of_another_ticket_is_a_404(world: World, crm) -> None:
    body = registered(world, crm)
    other_ticket = registered(world, crm)
    attachment_id = body["attachment"][0]["id"]
    outsider = client_for(issue_token(world.users["zh_agent"]))
    hidden = outsider.get(f"{BASE}/troubleTicket/{body['id']}/attachment/{attachment_id}")
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found", hidden.content
    mixed = crm.get(f"{BASE}/troubleTicket/{other_ticket['id']}/attachment/{attachment_id}")
    assert mixed.status_code == 404 and mixed.json()["status"] == "404"
    assert crm.get(f"{BASE}/troubleTicket/{body['id']}/attachment/x").status_code == 404
    anonymous = client_for("not-a-token").get(f"{BASE}/troubleTicket/{body['id']}/attachment/{attachment_id}")
    assert anonymous.status_code == 401


def test_the_attachments_as_get_shows_them_may_be_sent_back_with_a_new_one(world: World, crm) -> None:
    """Merge patch sends the whole array: the references GET shows (href and url included) are no change."""
    body = registered(world, crm)
    more = {"name": "more.pdf", "mimeType": "application/pdf", "content": base64.b64encode(PDF).decode()}
    response = crm.patch(f"{BASE}/troubleTicket/{body['id']}", {"attachment": [*body["attachment"], more]},
                         format="json")
    assert response.status_code == 200, response.content
    names = [a["name"] for a in response.json()["attachment"]]
    assert sorted(names) == ["bill.pdf", "more.pdf"]
    assert all(a["url"].endswith(f"/attachment/{a['id']}") for a in response.json()["attachment"])


def test_a_new_attachment_by_reference_href_is_refused_not_dropped(world: World, crm) -> None:
    """A new attachment (no id) naming a file by `href` with its content: the href was silently dropped (a `url` was
    already refused). Attachments are accepted by value only."""
    item = {"name": "bill.pdf", "mimeType": "application/pdf", "content": base64.b64encode(PDF).decode(),
            "href": "https://files.example.com/bill.pdf"}
    response = crm.post(f"{BASE}/troubleTicket", ticket_body(world, attachment=[item]), format="json")
    assert response.status_code == 400, response.content
    assert "attachment[0].href" in response.json()["errors"]


def test_a_file_missing_from_storage_is_a_404_in_the_error_shape_not_a_500(world: World, crm, caplog) -> None:
    """The attachment is recorded but the storage lost its file (deleted, volume not mounted): it was a server error;
    now a 404 in the TMF error shape saying the file is missing, in the caller's language, logged for operations."""
    body = registered(world, crm)
    attachment = Attachment.objects.get(pk=body["attachment"][0]["id"])
    attachment.file.storage.delete(attachment.file.name)
    href = f"{BASE}/troubleTicket/{body['id']}/attachment/{attachment.pk}"
    response = crm.get(href, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404, response.content
    error = response.json()
    assert error["code"] == "not_found" and error["status"] == "404"
    assert "bill.pdf is missing from storage" in error["reason"]
    chinese = crm.get(href, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 404 and "在存储中缺失" in chinese.json()["reason"]
    assert any(record.levelname == "ERROR" and "bill.pdf" in record.getMessage() for record in caplog.records)
