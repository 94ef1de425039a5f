"""A refused transfer names the unit in the user's language (an English page said “网络优化中心” works for region
ZH; the rest of the page says Network optimisation)."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.tickets.services import do_accept_ticket, do_create_ticket


def _in_progress(world: World) -> Any:
    t = do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units["netmaint"],
                         **world.ticket_kwargs())
    return do_accept_ticket(acting_user=world.user("specialist"), ticket=t, expected_version=t.version)


def _bulk(client: Any, ticket: Any, unit: OrgUnit) -> list[str]:
    response = client.post("/queues/bulk-dispatch/", {"ids": [ticket.pk], f"version_{ticket.pk}": ticket.version,
                                                      "to_unit": unit.pk, "note": "转"}, follow=True)
    return [str(m) for m in response.context["messages"]]


def test_another_regions_unit_is_named_in_english(world: World, client_for: Any) -> None:
    zh_net = OrgUnit.objects.create(code="ZH_NET", name="珠海网络部", name_en="Zhuhai network",
                                    parent=world.units["zh"], level=UnitLevel.CENTRE, function=UnitFunction.SPECIALIST,
                                    province="GD", region="ZH")
    ticket = _in_progress(world)
    messages = _bulk(client_for("supervisor", "en"), ticket, zh_net)
    assert any("“Zhuhai network” works for region ZH" in m for m in messages), messages
    assert not any("珠海网络部" in m for m in messages)
    messages = _bulk(client_for("supervisor", "zh-hans"), ticket, zh_net)
    assert any("珠海网络部" in m for m in messages), messages


def test_a_handler_outside_the_unit_is_told_in_english(world: World, client_for: Any) -> None:
    ticket = _in_progress(world)
    response = client_for("supervisor", "en").post("/queues/bulk-dispatch/", {
        "ids": [ticket.pk], f"version_{ticket.pk}": ticket.version, "to_unit": world.units["netopt"].pk,
        "to_user": world.users["it_specialist"].pk, "note": "转"}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any("it_specialist does not work in netopt" in m for m in messages), messages
