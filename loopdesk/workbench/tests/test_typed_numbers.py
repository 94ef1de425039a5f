"""A work-order number typed into the link form or the reject dialog's "duplicate of" is read as the search box reads
it: full-width characters of a Chinese IME, lower case, and the short forms ("20261207-000001", today's "1"). Both
said "No work order you may see has this number" for the number the search box found."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket, TicketLink
from loopdesk.tickets.services import do_create_ticket

FULL_WIDTH = str.maketrans("0123456789-JM", "０１２３４５６７８９－ＪＭ")


def _ticket(world: World) -> Ticket:
    return do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())


def test_the_link_form_reads_full_width_and_short_numbers(world: World, client_for: Any) -> None:
    a, b, c = _ticket(world), _ticket(world), _ticket(world)
    client = client_for("agent")
    assert client.post(f"/tickets/{a.pk}/link/", {"kind": "related", "other": b.number.translate(FULL_WIDTH)}
                       ).status_code == 302
    tail = c.number.rsplit("-", 1)[1].lstrip("0")
    assert client.post(f"/tickets/{a.pk}/link/", {"kind": "related", "other": tail}).status_code == 302
    assert set(TicketLink.objects.filter(from_ticket=a).values_list("to_ticket__number", flat=True)) == {
        b.number, c.number}


def test_the_reject_dialog_reads_the_original_as_typed(world: World, client_for: Any) -> None:
    original, duplicate = _ticket(world), _ticket(world)
    response = client_for("agent").post(f"/tickets/{duplicate.pk}/act/reject/", {
        "version": duplicate.version, "reason": "duplicate", "duplicate_of": original.number.split("-", 1)[1]})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    stored = Ticket.objects.get(pk=duplicate.pk)
    assert stored.status == Status.REJECTED and stored.duplicate_of_id == original.pk


def test_an_unknown_number_is_still_a_field_error(world: World, client_for: Any) -> None:
    t = _ticket(world)
    response = client_for("agent").post(f"/tickets/{t.pk}/act/reject/", {
        "version": t.version, "reason": "duplicate", "duplicate_of": "999999"})
    assert response.status_code == 422 and response.context["form"].errors["duplicate_of"]
    assert Ticket.objects.get(pk=t.pk).status == Status.NEW
