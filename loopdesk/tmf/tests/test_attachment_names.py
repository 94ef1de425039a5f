"""An attachment named "." or ".." (or a path ending in a separator) got Django's bare HTML "Bad Request (400)":
the storage refuses such names (SuspiciousFileOperation), outside the TMF Error shape and the caller's language.
Now a field error on the attachment's name, and nothing is registered; a path's folders are dropped as before."""

from __future__ import annotations

import base64

import pytest

from loopdesk.conftest import World
from loopdesk.tickets.models import Attachment, Ticket
from loopdesk.tmf.tests.conftest import BASE, ticket_body

pytestmark = pytest.mark.django_db

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 64).decode()


def _attachment(name: str) -> list[dict[str, str]]:
    return [{"name": name, "mimeType": "image/png", "content": PNG}]


@pytest.mark.parametrize("name", ["..", ".", "photos/", "a\\..", "../"])
def test_a_name_that_names_no_file_is_a_field_error_in_the_callers_language(world: World, crm, name: str) -> None:
    response = crm.post(f"{BASE}/troubleTicket", ticket_body(world, attachment=_attachment(name)), format="json",
                        HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert list(response.json()["errors"]) == ["attachment[0].name"]
    assert "文件名" in response.json()["errors"]["attachment[0].name"][0]
    assert not Ticket.objects.exists() and not Attachment.objects.exists()


def test_a_path_keeps_its_file_name(world: World, crm) -> None:
    response = crm.post(f"{BASE}/troubleTicket", ticket_body(world, attachment=_attachment("../信号截图.png")),
                        format="json")
    assert response.status_code == 201, response.content
    assert Attachment.objects.get().filename == "信号截图.png"
