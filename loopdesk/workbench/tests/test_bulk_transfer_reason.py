"""Bulk dispatch of work orders already with a department transfers them, and a transfer needs its reason (docs/
workflow.md; the form says "Note (required when transferring)"): without a note they were transferred with the
made-up reason "Bulk dispatch". Now each is reported and stays; with a note they move."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.tickets.choices import EventKind, Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_create_ticket


def _with_netmaint(world: World) -> Ticket:
    return do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units["netmaint"],
                            **world.ticket_kwargs())


def _post(client: Any, t: Ticket, note: str) -> list[str]:
    response = client.post("/queues/bulk-dispatch/", {"ids": [t.pk], f"version_{t.pk}": t.version,
                                                      "to_unit": "", "note": note, "to_user": ""}, follow=True)
    return [str(m) for m in response.context["messages"]]


def test_a_transfer_without_a_reason_is_reported_and_nothing_moves(world: World, client_for: Any) -> None:
    t = _with_netmaint(world)
    client = client_for("dispatcher")
    data = {"ids": [t.pk], f"version_{t.pk}": t.version, "to_unit": world.units["netopt"].pk, "note": " "}
    messages = [str(m) for m in client.post("/queues/bulk-dispatch/", data, follow=True).context["messages"]]
    assert any(t.number in m and "reason" in m for m in messages), messages
    stored = Ticket.objects.get(pk=t.pk)
    assert stored.handler_unit == world.units["netmaint"] and stored.version == t.version
    zh = client_for("dispatcher", "zh-hans").post("/queues/bulk-dispatch/", data, follow=True)
    assert any("原因" in str(m) for m in zh.context["messages"])


def test_a_transfer_with_a_reason_moves(world: World, client_for: Any) -> None:
    t = _with_netmaint(world)
    client_for("dispatcher").post("/queues/bulk-dispatch/", {
        "ids": [t.pk], f"version_{t.pk}": t.version, "to_unit": world.units["netopt"].pk, "note": "覆盖问题"})
    stored = Ticket.objects.get(pk=t.pk)
    assert stored.handler_unit == world.units["netopt"] and stored.status == Status.DISPATCHED
    assert stored.events.filter(kind=EventKind.TRANSFER).get().note == "覆盖问题"


def test_the_standard_note_of_a_bulk_dispatch_reads_in_the_readers_language(world: World, client_for: Any) -> None:
    """From second-line support's own queue a bulk dispatch needs no note: the standard one ("Bulk dispatch") was
    stored in the dispatcher's language, so the readers in the other language read it untranslated."""
    t = do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units["l2"],
                         **world.ticket_kwargs())
    client_for("dispatcher", "en").post("/queues/bulk-dispatch/", {
        "ids": [t.pk], f"version_{t.pk}": t.version, "to_unit": world.units["netopt"].pk, "note": ""})
    stored = Ticket.objects.get(pk=t.pk)
    assert stored.handler_unit == world.units["netopt"]
    zh_page = client_for("agent", "zh-hans").get(f"/tickets/{t.pk}/").content.decode()
    assert "批量派单" in zh_page and "Bulk dispatch" not in zh_page
    en_page = client_for("optimiser", "en").get(f"/tickets/{t.pk}/").content.decode()
    assert "Bulk dispatch" in en_page and "批量派单" not in en_page
    zh_api = client_for("agent", "zh-hans").get(f"/api/tickets/{t.pk}/").json()
    assert [e["note"] for e in zh_api["timeline"] if e["kind"] == EventKind.TRANSFER] == ["批量派单"]
