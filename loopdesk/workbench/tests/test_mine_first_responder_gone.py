"""The first responder owns a work order until the customer has the answer; when they leave (deactivated) or move to
another unit, their unit's front line (the next shift) answers, calls back and closes in their place: those work
orders are in the colleagues' "mine" lists (home page and queue), as the callback tasks are, not in nobody's."""

from __future__ import annotations

from typing import Any

import pytest

from loopdesk.conftest import World
from loopdesk.tickets.choices import Status
from loopdesk.tickets.services import do_create_ticket
from loopdesk.workbench.queues import queue_queryset


def _gone(world: World, key: str, how: str) -> None:
    user = world.user(key)
    if how == "left":
        user.is_active = False
    else:
        user.unit = world.units["hall_xh"]
    user.save()


@pytest.mark.parametrize("how", ["left", "moved"])
def test_colleagues_get_the_work_orders_of_a_first_responder_who_left_or_moved(world: World, client_for: Any,
                                                                               how: str) -> None:
    replied = world.replied_ticket()
    waiting = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    assert replied.handler_user_id == world.users["agent"].pk
    assert queue_queryset(world.user("agent2"), "mine").count() == 0  # the agent's own, while they are there
    _gone(world, "agent", how)

    colleague = world.user("agent2")
    assert set(queue_queryset(colleague, "mine").values_list("pk", flat=True)) == {replied.pk, waiting.pk}
    page = client_for("agent2", "en").get("/queues/mine/").content.decode()
    assert replied.number in page and waiting.number in page
    home = client_for("agent2", "en").get("/").content.decode()
    assert replied.number in home
    # Not another unit's front line.
    assert queue_queryset(world.user("clerk"), "mine").count() == 0
    assert replied.status == Status.REPLIED
