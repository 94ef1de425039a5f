"""A handling role taken away (the staff member's roles edited, a role's members removed): the work orders they held
go back to the unit's queue, as on a move or a departure."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.utils import translation

from loopdesk.conftest import T0, World, post_admin_change, staff_client
from loopdesk.org.choices import Role
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import EventKind, Status
from loopdesk.tickets.models import Ticket, TicketEvent
from loopdesk.tickets.policy import can_see
from loopdesk.tickets.timeline import replay_matches

H = dt.timedelta(hours=1)


def _held(world: World) -> Ticket:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    return s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)


def _assert_released(world: World, t: Ticket) -> None:
    stored = Ticket.objects.get(pk=t.pk)
    assert stored.handler_user_id is None and stored.handler_unit_id == world.units["netmaint"].pk
    assert stored.status == Status.IN_PROGRESS
    event = stored.events.order_by("-seq").first()
    assert event is not None and event.kind == EventKind.NOTE and event.data["note"] == "handler_role"
    assert replay_matches(stored, stored.events.order_by("seq")) == []
    colleague = world.user("specialist2")
    assert can_see(colleague, stored)
    assert s.do_reply_ticket(acting_user=colleague, ticket=stored, resolution="已处理",
                             now=T0 + 3 * H).status == Status.REPLIED


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["remove", "clear", "set", "role_side", "role_cleared"])
def test_losing_the_handling_role_hands_the_work_orders_back(world: World, how: str) -> None:
    t = _held(world)
    user = world.user("specialist")
    group = Group.objects.get(name=Role.SPECIALIST)
    auditor = Group.objects.get_or_create(name=Role.AUDITOR)[0]
    if how == "remove":
        user.groups.remove(group)
    elif how == "clear":
        user.groups.clear()
    elif how == "set":
        user.groups.set([auditor])
    elif how == "role_side":
        group.user_set.remove(user)
    else:
        group.user_set.clear()
        group.user_set.add(world.users["specialist2"])  # the colleague who takes it up
    _assert_released(world, t)


@pytest.mark.django_db
def test_roles_edited_in_the_admin_hand_the_work_orders_back(world: World) -> None:
    t = _held(world)
    client = staff_client(world, "admin", superuser=True)
    user = world.user("specialist")
    auditor = Group.objects.get_or_create(name=Role.AUDITOR)[0]
    url = f"/admin/org/user/{user.pk}/change/"
    response = post_admin_change(client, url, {
        "username": user.username, "unit": user.unit_id, "display_name": user.display_name, "is_active": "on",
        "groups": [auditor.pk], "date_joined_0": "2026-11-01", "date_joined_1": "09:00:00",
        "employee_no": "", "language": "", "first_name": "", "last_name": "", "email": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    _assert_released(world, t)


@pytest.mark.django_db
def test_a_role_still_held_or_added_keeps_them(world: World) -> None:
    t = _held(world)
    user = world.user("specialist")
    user.groups.add(Group.objects.get_or_create(name=Role.DEPARTMENT_HEAD)[0])
    user.groups.remove(Group.objects.get(name=Role.SPECIALIST))  # a department head still handles
    stored = Ticket.objects.get(pk=t.pk)
    assert stored.handler_user_id == world.users["specialist"].pk and stored.version == t.version


@pytest.mark.django_db
def test_the_note_reads_in_the_readers_language(world: World) -> None:
    t = _held(world)
    world.user("specialist").groups.clear()
    events = list(TicketEvent.objects.filter(ticket_id=t.pk).order_by("seq"))
    with translation.override("en"):
        s.system_notes(events)
        assert events[-1].note == "Back to the unit's queue: the handler no longer holds a handling role."


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["deactivated", "moved"])
def test_a_bulk_update_of_staff_hands_the_work_orders_back(world: World, how: str) -> None:
    """`User.objects.filter(...).update(...)` (a script, a shell) bypasses `User.save`: it releases them too."""
    from loopdesk.org.models import User

    t = _held(world)
    staff = User.objects.filter(pk=world.users["specialist"].pk)
    if how == "deactivated":
        assert staff.update(is_active=False) == 1
    else:
        assert staff.update(unit=world.units["netopt"]) == 1
    stored = Ticket.objects.get(pk=t.pk)
    assert stored.handler_user_id is None and stored.handler_unit_id == world.units["netmaint"].pk
    event = stored.events.order_by("-seq").first()
    assert event is not None and event.data["note"] == ("handler_left" if how == "deactivated" else "handler_moved")
    assert replay_matches(stored, stored.events.order_by("seq")) == []


@pytest.mark.django_db
def test_a_bulk_update_of_other_columns_keeps_them(world: World) -> None:
    from loopdesk.org.models import User

    t = _held(world)
    assert User.objects.filter(pk=world.users["specialist"].pk).update(display_name="王工") == 1
    assert Ticket.objects.get(pk=t.pk).handler_user_id == world.users["specialist"].pk
