"""SLA policies, business calendars and their date overrides, and the category tree have no region: they apply to the
work orders of every region. Yet a city's supervisor, whose role has the admin's add/change permissions on them,
could shorten every city's time limits, move the national holidays or re-arrange the category tree from the admin.
They read them now (view-only pages, a save, an addition or a deletion is a 403 and changes nothing, whatever model
permissions they hold); the province's (or the group's) supervisors and the administrators keep them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from loopdesk.conftest import World, post_admin_change, staff_client
from loopdesk.routing.tests.test_admin_scope import supervisors_may_edit_policy
from loopdesk.sla.models import BusinessCalendar, CalendarDay, SlaPolicy
from loopdesk.tickets.models import Category
from loopdesk.workbench.tests.test_sms_template_scope import province_supervisor

MODELS = {"slapolicy": SlaPolicy, "businesscalendar": BusinessCalendar, "calendarday": CalendarDay,
          "category": Category}


def _objects(world: World) -> dict[str, Any]:
    supervisors_may_edit_policy()
    return {"slapolicy": world.policies["default"], "businesscalendar": world.calendars["workdays"],
            "calendarday": CalendarDay.objects.create(calendar=world.calendars["workdays"], date=dt.date(2026, 12, 31),
                                                      is_workday=False, note="本地假日"),
            "category": world.categories["basic"]}


def _grant_everything(user: Any) -> None:
    """Every model permission on the policy, delete included: the scope decides, not the permissions."""
    user.user_permissions.add(*Permission.objects.filter(content_type__model__in=list(MODELS),
                                                         content_type__app_label__in=["sla", "tickets"]))


def _url(name: str, obj: Any, action: str = "change") -> str:
    app = "tickets" if name == "category" else "sla"
    return f"/admin/{app}/{name}/{obj.pk}/{action}/" if obj is not None else f"/admin/{app}/{name}/add/"


def _stored() -> list[Any]:
    return [list(model.objects.order_by("pk").values()) for model in MODELS.values()]


@pytest.mark.parametrize("name", list(MODELS))
def test_a_city_supervisor_reads_the_policy_of_every_region_but_may_not_change_add_or_delete_it(
        world: World, name: str) -> None:
    obj = _objects(world)[name]
    _grant_everything(world.users["supervisor"])
    client = staff_client(world, "supervisor", language="en")
    before = _stored()
    assert client.get(f"/admin/{'tickets' if name == 'category' else 'sla'}/{name}/").status_code == 200
    page = client.get(_url(name, obj))
    assert page.status_code == 200 and 'name="edit_state"' not in page.content.decode()  # view only
    assert client.post(_url(name, obj), {"name": "改", "position": 1}).status_code == 403
    assert client.get(_url(name, None)).status_code == 403
    assert client.post(_url(name, None), {"name": "新", "code": "NEW"}).status_code == 403
    assert client.post(_url(name, obj, "delete"), {"post": "yes"}).status_code == 403
    assert _stored() == before


@pytest.mark.parametrize("name", list(MODELS))
def test_the_province_supervisor_keeps_the_policy_of_every_region(world: World, name: str) -> None:
    obj = _objects(world)[name]
    key = province_supervisor(world)
    client = staff_client(world, key, language="en")
    page = client.get(_url(name, obj))
    assert page.status_code == 200 and 'name="edit_state"' in page.content.decode()
    assert client.get(_url(name, None)).status_code == 200


def test_the_province_supervisor_changes_a_time_limit(world: World) -> None:
    policy = _objects(world)["slapolicy"]
    client = staff_client(world, province_supervisor(world), language="en")
    url = _url("slapolicy", policy)
    form = client.get(url).context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items()
            if name in form.fields and not form.fields[name].disabled and name != "edit_state"}
    data.update(overtime_minutes=36 * 60, is_active="on")
    response = post_admin_change(client, url, data)
    assert response.status_code == 302, response.content.decode()
    assert SlaPolicy.objects.get(pk=policy.pk).overtime_minutes == 36 * 60


def test_the_follow_up_policy_of_every_region_is_read_only_for_a_city_supervisor_given_its_permissions(
        world: World) -> None:
    """The follow-up policy (quiet hours, the daily SMS cap, what a dissatisfied callback does) is one for every region
    as well: a city's supervisor given its model permissions reads it, a province's changes it."""
    from loopdesk.followup.models import FollowupPolicy

    policy = FollowupPolicy.current()
    if policy.pk is None:
        policy.save()
    for key in ("supervisor", province_supervisor(world)):
        world.users[key].user_permissions.add(*Permission.objects.filter(content_type__app_label="followup",
                                                                         content_type__model="followuppolicy"))
    url = f"/admin/followup/followuppolicy/{policy.pk}/change/"
    city = staff_client(world, "supervisor", language="en")
    before = list(FollowupPolicy.objects.values())
    page = city.get(url)
    assert page.status_code == 200 and 'name="edit_state"' not in page.content.decode()
    assert city.post(url, {"daily_cap": 50}).status_code == 403
    assert list(FollowupPolicy.objects.values()) == before
    province = staff_client(world, "gd_supervisor", language="en")
    assert 'name="edit_state"' in province.get(url).content.decode()
