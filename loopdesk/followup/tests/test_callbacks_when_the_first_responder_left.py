"""A callback task (回访) stays named to the first responder who registered the contact. When they left (deactivated)
or moved to another unit, the task stayed in their list only: their front-line colleagues of the unit, who may record
it (the next shift), never saw it, and its due and overdue alerts reached nobody there (only the supervisors heard
of it once it was overdue). The unit's front-line staff now have it in their callback lists and get its alerts, as
for the SLA alerts of a work order whose named handler left."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loopdesk.conftest import T0, World
from loopdesk.followup import selectors
from loopdesk.followup.models import CallbackTask, StaffAlert
from loopdesk.followup.services import sweep_callbacks
from loopdesk.org.models import User
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket

H = dt.timedelta(hours=1)


def _replied(world: World) -> Ticket:
    return world.replied_ticket()


def _listed(world: World, key: str) -> list[int]:
    return list(selectors.my_open_callbacks(world.user(key)).values_list("ticket_id", flat=True))


def test_a_colleague_sees_the_callback_of_a_first_responder_who_was_deactivated(world: World) -> None:
    t = _replied(world)
    assert (_listed(world, "agent"), _listed(world, "agent2")) == ([t.pk], [])
    User.objects.filter(pk=world.users["agent"].pk).update(is_active=False)
    assert _listed(world, "agent2") == [t.pk]
    assert _listed(world, "clerk") == []  # another front-line unit: not theirs


def test_a_colleague_sees_the_callback_of_a_first_responder_who_moved(world: World, client: Any) -> None:
    t = _replied(world)
    User.objects.filter(pk=world.users["agent"].pk).update(unit=world.units["hall_xh"])
    assert _listed(world, "agent2") == [t.pk]
    assert _listed(world, "agent") == []  # no longer theirs: the unit's (as its alerts)
    assert _listed(world, "clerk") == []  # the agent's new colleagues: not theirs
    client.force_login(world.user("agent2"))
    page = client.get("/callbacks/")
    assert page.status_code == 200 and t.number in page.content.decode()


def test_the_overdue_alert_reaches_the_unit_when_the_first_responder_left(world: World) -> None:
    t = _replied(world)
    User.objects.filter(pk=world.users["agent"].pk).update(is_active=False)
    task = CallbackTask.objects.get(ticket=t)
    assert sweep_callbacks(now=task.due_at + H) == 1
    alerted = set(StaffAlert.objects.filter(kind="callback_overdue").values_list("user__username", flat=True))
    assert "agent2" in alerted and "agent" not in alerted


def test_the_due_alert_reaches_the_unit_when_the_first_responder_left_before_the_reply(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    User.objects.filter(pk=world.users["agent"].pk).update(is_active=False)
    s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已处理", now=T0 + 2 * H)
    alerted = set(StaffAlert.objects.filter(kind="callback_due").values_list("user__username", flat=True))
    assert alerted == {"agent2"}


def test_the_ticket_page_tells_a_colleague_to_answer_the_customer_first(world: World, client: Any) -> None:
    t = _replied(world)
    User.objects.filter(pk=world.users["agent"].pk).update(is_active=False)
    User.objects.filter(pk=world.users["agent2"].pk).update(language="en")
    client.force_login(world.user("agent2"))
    page = client.get(f"/tickets/{t.pk}/").content.decode()
    assert "Callback due" in page
    assert "Answer the customer first, then record the callback." in page
