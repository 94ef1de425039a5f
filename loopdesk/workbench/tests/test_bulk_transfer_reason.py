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
