"""The ticket page's small forms (note, attachment, link) refused with a field error: what the user chose is
shown again as chosen, so that correcting the text and sending again does not quietly change who may see the note
or file, or what kind of link is made."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from loopdesk.tickets.choices import EventKind
from loopdesk.tickets.models import Ticket, TicketLink
from loopdesk.tickets.services import do_create_ticket


def _dispatched(world: Any) -> Ticket:
    return do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(), dispatch=True)


def _checked_radio(page: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{name}" value="([^"]+)"\s*checked', page)


def _selected_options(page: str, select_name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{select_name}"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None
    return re.findall(r'<option value="([^"]+)"\s*selected', select.group(1))


def test_a_refused_note_keeps_its_visibility(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    client = client_for("agent")
    response = client.post(f"/tickets/{ticket.pk}/note/", {"text": "长" * 4001, "visibility": "customer"})
    assert response.status_code == 422
    page = response.content.decode()
    assert _checked_radio(page, "visibility") == ["customer"]
    assert not ticket.events.filter(kind=EventKind.NOTE).exists()


def test_a_refused_attachment_keeps_its_visibility(world: Any, client_for: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    ticket = _dispatched(world)
    upload = SimpleUploadedFile("empty.txt", b"", content_type="text/plain")
    response = client_for("agent").post(f"/tickets/{ticket.pk}/attach/", {"file": upload, "visibility": "customer"})
    assert response.status_code == 422
    assert _selected_options(response.content.decode(), "visibility") == ["customer"]
    assert not ticket.attachments.exists()


def test_a_refused_link_keeps_its_kind(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    response = client_for("agent").post(f"/tickets/{ticket.pk}/link/", {"kind": "parent", "other": "JM-NO-SUCH"})
    assert response.status_code == 422
    page = response.content.decode()
    assert _selected_options(page, "kind") == ["parent"]
    assert 'value="JM-NO-SUCH"' in page
    assert not TicketLink.objects.exists()
