"""The button that answers a request for information says what it does: it read "Information supplied" (信息已补充),
the timeline's past-tense entry, as if it were done already."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.tickets.choices import EventKind
from loopdesk.tickets.services import do_accept_ticket, do_create_ticket, do_request_info


def test_the_supply_information_button_and_its_timeline_entry(world: World, client_for: Any) -> None:
    t = do_create_ticket(acting_user=world.user("agent"), dispatch=True, **world.ticket_kwargs())
    t = do_accept_ticket(acting_user=world.user("specialist"), ticket=t, expected_version=t.version)
    t = do_request_info(acting_user=world.user("specialist"), ticket=t, question="具体地址？",
                        expected_version=t.version)
    page = client_for("agent").get(f"/tickets/{t.pk}/").content.decode()
    button = page.split('data-action="provide_info"')[1].split("</a>")[0]
    assert "Supply the information" in button
    zh = client_for("agent", "zh-hans").get(f"/tickets/{t.pk}/").content.decode()
    assert "提供补充信息" in zh.split('data-action="provide_info"')[1].split("</a>")[0]
    response = client_for("agent").post(f"/tickets/{t.pk}/act/provide_info/", {"version": t.version,
                                                                                  "info": "新会区会城街道"})
    assert response.status_code == 302
    page = client_for("agent").get(f"/tickets/{t.pk}/").content.decode()
    assert t.events.filter(kind=EventKind.PROVIDE_INFO).exists()
    assert "Information supplied" in page.split('id="timeline"')[1]
