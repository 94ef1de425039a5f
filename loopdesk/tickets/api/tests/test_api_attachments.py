"""Our API's work-order detail lists the attachments as the page does, each with a download address that gives the
file to whoever may see the work order (an API token within its units too), and a 404 to anyone else."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from loopdesk.conftest import World
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Visibility
from loopdesk.tmf.tests.conftest import client_for, issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def as_user(world: World, key: str) -> APIClient:
    client = APIClient()
    client.force_login(world.users[key])
    return client


def test_the_detail_lists_attachments_with_a_download_that_gives_the_file(world: World) -> None:
    agent = world.user("agent")
    ticket = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    s.do_add_attachment(acting_user=agent, ticket=ticket, visibility=Visibility.CUSTOMER,
                        upload=SimpleUploadedFile("账单.txt", "账单".encode(), content_type="text/plain"))
    detail = as_user(world, "agent").get(f"/api/tickets/{ticket.pk}/").json()
    [listed] = detail["attachments"]
    assert listed["filename"] == "账单.txt" and listed["size"] == len("账单".encode())
    assert listed["visibility"] == "customer" and listed["uploaded_by"]["id"] == agent.pk
    response = as_user(world, "agent").get(listed["download"], HTTP_ACCEPT="application/octet-stream")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == "账单".encode()
    assert response["Content-Type"].startswith("text/plain")
    # A read-only token of the same scope may download too.
    token = client_for(issue_token(agent, write=False))
    assert token.get(listed["download"]).status_code == 200


def test_a_download_outside_the_scope_or_of_another_ticket_is_a_404(world: World) -> None:
    agent = world.user("agent")
    ticket = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    other = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    attachment = s.do_add_attachment(acting_user=agent, ticket=ticket,
                                     upload=SimpleUploadedFile("a.txt", b"internal", content_type="text/plain"))
    url = f"/api/tickets/{ticket.pk}/attachments/{attachment.pk}/"
    hidden = as_user(world, "zh_agent").get(url)
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    assert as_user(world, "agent").get(f"/api/tickets/{other.pk}/attachments/{attachment.pk}/").status_code == 404
    assert as_user(world, "agent").get(f"/api/tickets/{ticket.pk}/attachments/{attachment.pk + 999}/").status_code \
        == 404
    assert APIClient().get(url).status_code == 401


def test_a_file_missing_from_storage_is_a_404_saying_so_not_a_500(world: World, caplog) -> None:
    """The record is there but the storage lost the file (deleted, volume not mounted): it was a server error; now a
    404 in our error shape, in the caller's language, and the failure logged for operations."""
    agent = world.user("agent")
    ticket = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    attachment = s.do_add_attachment(acting_user=agent, ticket=ticket,
                                     upload=SimpleUploadedFile("账单.txt", b"bill", content_type="text/plain"))
    attachment.file.storage.delete(attachment.file.name)
    url = f"/api/tickets/{ticket.pk}/attachments/{attachment.pk}/"
    response = as_user(world, "agent").get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404, response.content
    body = response.json()
    assert body["code"] == "not_found" and "账单.txt is missing from storage" in body["message"]
    chinese = as_user(world, "agent").get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 404 and "在存储中缺失" in chinese.json()["message"]
    assert any(record.levelname == "ERROR" and "账单.txt" in record.getMessage() for record in caplog.records)
