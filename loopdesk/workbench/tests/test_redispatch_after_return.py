"""Re-dispatch after a return (退单): the dispatch form's default, "where the routing rules send it", sent a work
order straight back to the unit that had just returned it as not theirs (the same rules), to be returned again
while the clock ran. That default is now refused on the unit field; choosing a unit (even that one) still works."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_create_ticket, do_dispatch_ticket, do_return_ticket


def _returned(world: World) -> Ticket:
    t = do_create_ticket(acting_user=world.user("agent"), dispatch=True, **world.ticket_kwargs())
    assert t.handler_unit == world.units["netmaint"]  # where the rules send it
    return do_return_ticket(acting_user=world.user("specialist"), ticket=t, reason="不是网络问题",
                            expected_version=t.version)


def test_the_routing_default_does_not_send_it_back_to_the_unit_that_returned_it(world: World,
                                                                                client_for: Any) -> None:
    ticket = _returned(world)
    client = client_for("agent")
    response = client.post(f"/tickets/{ticket.pk}/act/dispatch/", {"version": ticket.version, "to_unit": ""})
    assert response.status_code == 422
    errors = response.context["form"].errors["to_unit"]
    assert "returned it as not theirs" in errors[0] and "netmaint" in errors[0]
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.status == Status.RETURNED and stored.version == ticket.version
    zh = client_for("agent2", "zh-hans").post(f"/tickets/{ticket.pk}/act/dispatch/",
                                              {"version": ticket.version, "to_unit": ""})
    assert "网络维护中心" in zh.context["form"].errors["to_unit"][0]
    ok = client.post(f"/tickets/{ticket.pk}/act/dispatch/",
                     {"version": ticket.version, "to_unit": world.units["netopt"].pk, "note": "转网优"})
    assert ok.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).handler_unit == world.units["netopt"]


def test_naming_the_same_unit_again_is_the_dispatchers_choice(world: World) -> None:
    ticket = _returned(world)
    again = do_dispatch_ticket(acting_user=world.user("agent"), ticket=ticket, to_unit=world.units["netmaint"],
                               note="请再核实", expected_version=ticket.version)
    assert again.status == Status.DISPATCHED and again.handler_unit == world.units["netmaint"]


def test_a_new_ticket_still_goes_where_the_rules_send_it(world: World) -> None:
    t = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    t = do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, expected_version=t.version)
    assert t.handler_unit == world.units["netmaint"]


def test_bulk_dispatch_by_the_rules_reports_it_and_moves_the_others(world: World, client_for: Any) -> None:
    returned = _returned(world)
    fresh = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    response = client_for("agent").post("/queues/bulk-dispatch/", {
        "ids": [returned.pk, fresh.pk], f"version_{returned.pk}": returned.version,
        f"version_{fresh.pk}": fresh.version, "to_unit": ""}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any(returned.number in m and "returned it as not theirs" in m for m in messages), messages
    assert Ticket.objects.get(pk=returned.pk).status == Status.RETURNED
    assert Ticket.objects.get(pk=fresh.pk).handler_unit == world.units["netmaint"]
