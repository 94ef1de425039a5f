"""A work order a supervisor dispatched and the department returned (退单) goes back to the supervisor's unit; no
block of the supervisor's home page listed it (the "to be dispatched" block is the second line's), so it waited
unseen while its clock ran."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.tickets.choices import Action, Status
from loopdesk.tickets.policy import allowed_actions
from loopdesk.tickets.services import do_create_ticket, do_dispatch_ticket, do_return_ticket


def test_a_work_order_returned_to_the_supervisors_unit_is_on_their_home_page(world: World,
                                                                             client_for: Any) -> None:
    t = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    t = do_dispatch_ticket(acting_user=world.user("supervisor"), ticket=t, to_unit=world.units["netmaint"],
                           expected_version=t.version)
    t = do_return_ticket(acting_user=world.user("specialist"), ticket=t, reason="不是网络问题",
                         expected_version=t.version)
    assert t.status == Status.RETURNED and t.handler_unit == world.units["svcmgmt"]
    assert Action.DISPATCH in allowed_actions(world.user("supervisor"), t)
    client = client_for("supervisor")
    sections = {str(s.title): s for s in client.get("/").context["sections"]}
    block = sections["Returned to your unit: dispatch again"]
    assert [r.number for r in block.rows] == [t.number]
    assert [r.number for r in client.get(block.link).context["rows"]] == [t.number]
